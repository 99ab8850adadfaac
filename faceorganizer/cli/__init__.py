"""The `faceorganizer` command line: one sub-command per use case, over the services.

Each module in ``COMMAND_MODULES`` exposes ``register(subparsers, common)``, adding its
sub-commands with ``set_defaults(func=handler)``; a handler takes the parsed args and
returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from faceorganizer import __version__, config, logs
from faceorganizer.cli.output import CliError, print_error

log = logging.getLogger(__name__)

COMMAND_MODULES = (
    "faceorganizer.cli.engine_commands",
    "faceorganizer.cli.models_commands",
    "faceorganizer.cli.library_commands",
    "faceorganizer.cli.search_commands",
    "faceorganizer.cli.export_commands",
    "faceorganizer.cli.face_commands",
    "faceorganizer.cli.maintenance_commands",
    "faceorganizer.cli.review_commands",
    "faceorganizer.cli.xmp_commands",
    "faceorganizer.cli.gui_command",
)


def _add_common(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--json", action="store_true", default=default, help="machine output")
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="print the log as it goes"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="print the detailed log, and a traceback when a command fails",
    )
    parser.add_argument(
        "--device",
        default=default,
        choices=config.DEVICE_CHOICES,
        help="where the models run (auto: cuda, then mps, then cpu)",
    )


def build_parser() -> argparse.ArgumentParser:
    # Sub-commands repeat the common options with SUPPRESS defaults, so `--json people` and
    # `people --json` both work and a sub-parser never overwrites the top-level value.
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="faceorganizer",
        description="Find every face in a folder of photos, group them into people, "
        "name and correct them, and search by face. Offline.",
    )
    _add_common(parser, None)
    parser.set_defaults(json=False, verbose=False, debug=False, device=config.default("device"))
    parser.add_argument("--version", action="version", version=f"faceorganizer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    console = logging.DEBUG if args.debug else logging.INFO if args.verbose else None
    logs.setup_logging(console)
    log.info("command: %s", " ".join(sys.argv[1:] if argv is None else argv))
    from faceorganizer.storage.errors import LibraryError

    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        log.warning("%s", exc)
        print_error(str(exc), json_mode=args.json)
        return exc.status
    except LibraryError as exc:
        log.warning("%s", exc)
        print_error(str(exc), json_mode=args.json)
        return 1
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print_error("interrupted", json_mode=getattr(args, "json", False))
        return 130
    except Exception as exc:
        log.exception("the command failed")
        if args.debug:
            raise
        print_error(
            f"{type(exc).__name__}: {exc} — this is a bug in FaceOrganizer; the details are in "
            f"{logs.where()}",
            json_mode=args.json,
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
