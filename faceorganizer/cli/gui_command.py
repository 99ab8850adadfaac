"""`faceorganizer gui [FOLDER] [--library L]`: the desktop app."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from typing import Any, NoReturn

from faceorganizer.cli.output import CliError


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "gui",
        parents=[common],
        help="open the desktop app",
        description="Open the desktop app, optionally on a folder of photos to scan.",
    )
    p.add_argument("folder", nargs="?", help="a folder of photos to add and scan")
    p.add_argument("--library", help="the library file (default: the last one used)")
    # For tests of an installed app or a bundle: close the window after MS milliseconds.
    p.add_argument("--quit-after", type=int, metavar="MS", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.folder and not os.path.isdir(args.folder):
        raise CliError(f"not a folder: {args.folder}")
    _check_display()
    _check_qt_libraries()
    try:
        from faceorganizer.ui.app import run_gui
    except ImportError as exc:
        raise CliError(f"the desktop app cannot start: {exc}") from exc
    status = run_gui(args.folder, args.library, device=args.device, quit_after_ms=args.quit_after)
    _leave(status)


def _leave(status: int) -> NoReturn:
    """End the process now that the window has closed cleanly (the library closed, the threads
    ended, the settings and the log written): the interpreter's own teardown, native destructors
    of torch and Qt, took another 4-5 s after the window was gone (benchmarks/quit_time.py)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


def _check_display() -> None:
    """Qt aborts the process (no exception) when Linux has no screen: say so first."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise CliError(
            "no display found: the desktop app needs a graphical session (or run it under "
            "xvfb-run); every other command works without one"
        )


def _check_qt_libraries() -> None:
    """Qt also aborts when its platform plugin lacks a system library, naming the wrong one:
    name every missing library and its package first."""
    from faceorganizer.ui.qt_libraries import check_qt_libraries

    message = check_qt_libraries()
    if message:
        raise CliError(message)
