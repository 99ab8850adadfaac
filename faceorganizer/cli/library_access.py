"""How a command reaches its library: opened for the command (read-only where it only reads;
only `scan` creates a missing one), library errors turned into one clear line, and the shared
report of an edit. Every library command module builds on these."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from faceorganizer.cli.output import CliError, emit
from faceorganizer.services.errors import LibraryError
from faceorganizer.services.library import Library
from faceorganizer.services.types import EditInfo

Handler = Callable[[argparse.Namespace, Library], int | None]


@contextmanager
def opened(args: argparse.Namespace, read_only: bool = False, create: bool = False):
    """The library of ``--library``; only a scan creates a missing one."""
    try:
        lib = Library.open(args.library, read_only=read_only, device=args.device, create=create)
    except LibraryError as exc:
        raise CliError(str(exc)) from exc
    try:
        yield lib
    except LibraryError as exc:
        raise CliError(str(exc)) from exc
    finally:
        lib.close()


ReadOnly = bool | Callable[[argparse.Namespace], bool]


def run_with(
    handler: Handler, read_only: ReadOnly = False, create: bool = False
) -> Callable[[argparse.Namespace], int]:
    """The parser's ``func``: open the library, run ``handler`` on it, close it."""

    def run(args: argparse.Namespace) -> int:
        ro = read_only(args) if callable(read_only) else read_only
        with opened(args, ro, create=create) as lib:
            return int(handler(args, lib) or 0)

    return run


def person_ref(text: str) -> int | str:
    return int(text) if text.strip().isdigit() else text


def edit_done(args: argparse.Namespace, info: EditInfo | None, empty: str) -> int:
    if info is None:
        emit(args, None, empty)
        return 1
    if not info.changed:
        raise CliError(info.description)  # "nothing to change: …", and no history entry
    emit(args, asdict(info), f"{info.description} (edit {info.edit_id})")
    return 0


def library_option(default: object = None) -> argparse.ArgumentParser:
    """The ``--library`` option every library command takes (a parent parser). An action under a
    command that takes it too (``library --library X check``) gets ``argparse.SUPPRESS``, so its
    own default does not replace the command's value."""
    lib = argparse.ArgumentParser(add_help=False)
    lib.add_argument(
        "--library",
        metavar="PATH",
        default=default,
        help="library file (default: $FACEORGANIZER_LIBRARY or the user data folder)",
    )
    return lib


def command_adder(
    sub: Any, common: argparse.ArgumentParser
) -> Callable[..., argparse.ArgumentParser]:
    """``add(name, handler, help, read_only=False, create=False)``: a library command, with the
    common options and ``--library``, that runs ``handler`` on the opened library."""
    parents = [common, library_option()]

    def add(
        name: str, handler: Handler, help: str, read_only: ReadOnly = False, create: bool = False
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=parents, help=help, description=help)
        p.set_defaults(func=run_with(handler, read_only, create=create))
        return p

    return add
