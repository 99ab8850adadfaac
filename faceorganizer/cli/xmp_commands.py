"""`faceorganizer xmp`: face names to and from XMP (MWG regions in photo.jpg.xmp sidecars)."""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict
from typing import Any

from faceorganizer.cli.library_access import library_option, person_ref, run_with
from faceorganizer.cli.output import CliError, emit
from faceorganizer.core.text import for_terminal as shown
from faceorganizer.services.library import Library
from faceorganizer.services.types import XmpImportSummary, XmpWriteSummary

MAX_LISTED = 20


def import_text(s: XmpImportSummary) -> str:
    """The human report of an import (also used by `scan`)."""
    lines = [
        f"read XMP of {s.photos} photo(s), {s.with_regions} with face regions: "
        f"{s.named} face(s) named ({s.confirmed} confirmed in their person), "
        f"{s.cut} face(s) cut from regions the detector missed"
        + (f" (edit {s.edit_id}, undo to take it back)" if s.edit_id else "")
    ]
    for c in s.conflicts[:MAX_LISTED]:
        now = f"named {c.library_name!r} in the library" if c.library_name else c.reason
        lines.append(
            f"  not applied: face {c.face_id} is {c.xmp_name!r} in XMP but {now}: {c.photo}"
        )
    if len(s.conflicts) > MAX_LISTED:
        lines.append(f"  … {len(s.conflicts) - MAX_LISTED} more names not applied (--json)")
    lines += [f"  {shown(line)}" for line in s.error_lines()[:MAX_LISTED]]
    if len(s.errors) > MAX_LISTED:
        lines.append(f"  … {len(s.errors) - MAX_LISTED} more (--json)")
    return "\n".join(lines)


def write_text(s: XmpWriteSummary) -> str:
    lines = [
        f"{s.faces} named face(s) in {s.photos} photo(s): {s.written} sidecar(s) written, "
        f"{s.unchanged} already up to date"
    ]
    for path, name in s.replaced[:MAX_LISTED]:
        lines.append(f"  replaced a region named {name!r} written by another app: {path}")
    for _path, reason in s.errors[:MAX_LISTED]:
        lines.append(f"  not written: {shown(reason)}")
    if len(s.errors) > MAX_LISTED:
        lines.append(f"  … {len(s.errors) - MAX_LISTED} more not written (--json)")
    return "\n".join(lines)


def cmd_import(args: argparse.Namespace, lib: Library) -> int:
    for path in args.paths:  # a typo read nothing and said so only as "0 photo(s)"
        if not os.path.isdir(path):
            raise CliError(f"no such folder: {path}")
    summary = lib.import_xmp(args.paths or None, changed_only=args.changed)
    emit(args, asdict(summary), import_text(summary))
    return 0


def cmd_write(args: argparse.Namespace, lib: Library) -> int:
    if not args.all and not args.person:
        raise CliError("give --person PERSON or --all")
    summary = lib.write_xmp(person_ref(args.person) if args.person else None)
    emit(args, asdict(summary), write_text(summary))
    return 1 if summary.errors else 0


def cmd_show(args: argparse.Namespace) -> int:
    from faceorganizer.services.xmp.regions import read_regions

    if not os.path.lexists(args.photo):  # "no face regions" for a typo
        raise CliError(f"no such file: {args.photo}")
    found = read_regions(args.photo)
    lines = []
    for r in found.regions:
        box = ", ".join(f"{v:.3f}" for v in r.box)
        who = r.name or "(no name)"
        lines.append(f"{shown(who)}  [{box}]  {r.scheme.upper()} in {shown(r.source)}")
    lines += [shown(e) for e in found.errors]
    emit(args, asdict(found), "\n".join(lines) or "no face regions")
    return 1 if found.errors and not found.regions else 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    lib = library_option()
    xmp = sub.add_parser(
        "xmp",
        parents=[common],
        help="face names to and from XMP (digiKam, Lightroom, exiftool)",
        description="Face names as MWG regions in XMP sidecars (photo.jpg.xmp); photos are "
        "never written.",
    )
    verbs = xmp.add_subparsers(dest="xmp_command", metavar="ACTION", required=True)

    p = verbs.add_parser(
        "import",
        parents=[common, lib],
        help="read face names from XMP regions (sidecars and photos) into the library",
    )
    p.add_argument("paths", nargs="*", metavar="FOLDER", help="only photos under these")
    p.add_argument("--changed", action="store_true", help="only photos whose XMP changed")
    p.set_defaults(func=run_with(cmd_import))

    p = verbs.add_parser("write", parents=[common, lib], help="write face names into XMP sidecars")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--person", help="the photos of this person (id or name)")
    who.add_argument("--all", action="store_true", help="every photo with a named face")
    p.set_defaults(func=run_with(cmd_write))

    p = verbs.add_parser(
        "show",
        parents=[common],
        help="list the face regions of a photo",
        description="List the face regions in a photo's sidecars and its embedded XMP. Each "
        "file that cannot be read is named with the reason; the exit status is 1 when no region "
        "was found and some XMP could not be read.",
    )
    p.add_argument("photo")
    p.set_defaults(func=cmd_show)
