"""`library check|backup|recover`: keeping the library file whole, and getting back what a
damaged one still holds."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from faceorganizer.cli.library_access import library_option
from faceorganizer.cli.output import CliError, emit
from faceorganizer.services.errors import LibraryError
from faceorganizer.services.library import Library, default_library_path, maintenance


def _library_path(args: argparse.Namespace) -> Path:
    return Path(args.library).expanduser() if args.library else default_library_path()


def cmd_check(args: argparse.Namespace) -> int:
    try:
        with Library.open(args.library, read_only=True, create=False) as lib:
            report = lib.check()
    except LibraryError as exc:
        raise CliError(str(exc)) from exc
    if report.ok:
        emit(args, asdict(report), f"{report.library}: ok")
        return 0
    lines = [f"{report.library} is damaged:", *(f"  {p}" for p in report.problems)]
    lines.append(
        "Nothing more is written to it. Recover with `faceorganizer library recover NEW_FILE"
        f" --library {report.library}`, or copy a backup over it and check again."
    )
    emit(args, {**asdict(report), "ok": False}, "\n".join(lines))
    return 1


def cmd_backup(args: argparse.Namespace) -> int:
    try:
        with Library.open(args.library, read_only=True, create=False) as lib:
            report = lib.backup(args.dest, force=args.force)
    except LibraryError as exc:
        raise CliError(str(exc)) from exc
    emit(
        args, asdict(report), f"backed up {report.library} to {report.dest} ({report.size:,} bytes)"
    )
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    try:
        report = maintenance.recover(_library_path(args), Path(args.dest))
    except LibraryError as exc:
        raise CliError(str(exc)) from exc
    lines = [f"recovered into {report.dest}:"]
    for table, n in report.tables.items():
        expected = f" of {n['expected']}" if n["expected"] is not None else ""
        dropped = f", {n['dropped']} left out (inconsistent)" if n["dropped"] else ""
        lines.append(f"  {table}: {n['copied']}{expected}{dropped}")
    lines.append(
        "Use it with --library (or move it over the damaged file), then scan: photos whose "
        "rows were lost are found again"
        + (
            f", and the {report.redetect} photo(s) left without faces are detected again."
            if report.redetect
            else "."
        )
    )
    if report.problems:
        lines.append(f"the new library has problems too: {report.problems[0]}")
    emit(args, asdict(report), "\n".join(lines))
    return 1 if report.problems else 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parents = [common, library_option(argparse.SUPPRESS)]
    group = sub.add_parser(
        "library",
        parents=[common, library_option()],
        help="check, back up or recover the library file",
        description="Keep the library file whole: check it, back it up, recover a damaged one.",
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = actions.add_parser(
        "check",
        parents=parents,
        help="full integrity check (exit 1 when damaged)",
        description="Check every page, index and reference of the library file.",
    )
    p.set_defaults(func=cmd_check)
    p = actions.add_parser(
        "backup",
        parents=parents,
        help="a checked copy of the library (also while the app runs)",
        description="Copy the library with SQLite's online backup, check the copy, then move "
        "it into place. DEST is a file, or a folder for a dated copy.",
    )
    p.add_argument("dest", metavar="DEST")
    p.add_argument("--force", action="store_true", help="replace an existing DEST file")
    p.set_defaults(func=cmd_backup)
    p = actions.add_parser(
        "recover",
        parents=parents,
        help="copy what a damaged library still holds into a new one",
        description="Read the (damaged) library and copy every readable row into a new library "
        "at DEST; the damaged file is only read.",
    )
    p.add_argument("dest", metavar="DEST")
    p.set_defaults(func=cmd_recover)
