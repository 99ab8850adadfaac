"""The search sub-command: faces like a library face, a face in a photo, or a person."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from faceorganizer.cli.arguments import index, percent, positive_int
from faceorganizer.cli.library_access import command_adder, person_ref
from faceorganizer.cli.output import CliError, emit, face_line
from faceorganizer.services.library import Library


def cmd_search(args: argparse.Namespace, lib: Library) -> int:
    if sum(x is not None for x in (args.face, args.image, args.like_person)) != 1:
        raise CliError("give exactly one of --face ID, --image FILE or --like-person PERSON")
    if args.face_index is not None and args.image is None:
        raise CliError("--face-index chooses a face of --image; a library --face is one face")
    hits = lib.search(
        face_id=args.face,
        image=args.image,
        face_index=args.face_index,
        threshold=args.threshold,
        limit=args.limit,
        person=person_ref(args.person) if args.person else None,
        like_person=person_ref(args.like_person) if args.like_person else None,
    )
    lines = [f"{h.percent:5.1f} %  {face_line(h.face)}" for h in hits]
    data: dict[str, Any] = {"hits": [asdict(h) for h in hits]}
    if args.move_to and hits:
        info = lib.move_faces([h.face.face_id for h in hits], person_ref(args.move_to))
        data["edit"] = asdict(info)
        lines.append(
            f"{info.description} (edit {info.edit_id})" if info.changed else info.description
        )
    floor = args.threshold if args.threshold is not None else lib.settings()["threshold_percent"]
    emit(args, data, "\n".join(lines) or f"no face at or above {floor:g} %")
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    add = command_adder(sub, common)

    p = add(
        "search",
        cmd_search,
        "faces like a library face, a face in a photo, or a person",
        read_only=lambda args: not args.move_to,
    )
    p.add_argument("--face", type=int, metavar="ID")
    p.add_argument("--image", metavar="FILE")
    p.add_argument("--like-person", metavar="PERSON", help="faces like this whole person")
    p.add_argument("--face-index", type=index, metavar="N", help="which face of --image (0: first)")
    p.add_argument(
        "--threshold",
        type=percent,
        default=None,
        help="percent, 0 to 100 (default: the library's 'same person at' setting)",
    )
    p.add_argument("--limit", type=positive_int)
    p.add_argument("--person", help="only faces of this person")
    p.add_argument("--move-to", metavar="PERSON", help="move every face found to PERSON")
