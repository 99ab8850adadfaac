"""Face sub-commands beside the library ones: marking detections that are not faces."""

from __future__ import annotations

import argparse
from typing import Any

from faceorganizer.cli.library_access import edit_done, library_option, run_with
from faceorganizer.services.library import Library


def cmd_not_face(args: argparse.Namespace, lib: Library) -> int:
    return edit_done(args, lib.mark_not_face(args.faces, not args.restore), "")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    lib = library_option()
    text = "mark detections that are not faces (out of people, search and grouping; undoable)"
    p = sub.add_parser("not-face", parents=[common, lib], help=text, description=text)
    p.add_argument("faces", nargs="+", type=int, metavar="FACE")
    p.add_argument("--restore", action="store_true", help="they are faces after all")
    p.set_defaults(func=run_with(cmd_not_face))
