"""The export sub-command: a folder per named person, or a table of faces."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from faceorganizer.cli.library_access import command_adder
from faceorganizer.cli.output import emit
from faceorganizer.core.text import for_terminal as shown
from faceorganizer.services.library import Library


def cmd_export(args: argparse.Namespace, lib: Library) -> int:
    if args.format:
        result = lib.export(args.dest, fmt=args.format, force=args.force)
        human = f"wrote {result.files} faces to {result.dest}"
    else:
        mode = "copy" if args.copy else "link"
        result = lib.export(args.dest, mode=mode, contact_sheet=args.contact_sheet)
        human = (
            f"{result.folders} person folder(s), {result.files} photo(s) "
            f"({result.linked} linked, {result.copied} copied) in {result.dest}"
            + (f"; {result.sheets} contact sheet page(s)" if args.contact_sheet else "")
        ) + "".join(f"\n  not exported: {shown(p)}: {r}" for p, r in result.errors)
    emit(args, asdict(result), human)
    return 1 if result.errors and not result.files else 0  # nothing at all could be exported


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    add = command_adder(sub, common)

    p = add("export", cmd_export, "a folder per named person, or a table of faces", read_only=True)
    p.add_argument("dest")
    p.add_argument("--by-person", action="store_true", default=True)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--link", action="store_true", help="symlinks (default)")
    how.add_argument("--copy", action="store_true", help="copies")
    p.add_argument("--format", choices=("csv", "json"), help="faces table instead of folders")
    p.add_argument("--force", action="store_true", help="replace an existing table file")
    p.add_argument(
        "--contact-sheet", action="store_true", help="and a JPEG grid of faces in each folder"
    )
