"""Library sub-commands: scan, people and faces, edits with undo/redo."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from faceorganizer.cli.arguments import positive_int
from faceorganizer.cli.library_access import Handler, command_adder, edit_done, person_ref
from faceorganizer.cli.output import CliError, emit, face_line
from faceorganizer.cli.progress import Progress
from faceorganizer.cli.ray_arguments import add_ray_arguments, ray_options
from faceorganizer.cli.xmp_commands import import_text
from faceorganizer.core.text import for_terminal as shown
from faceorganizer.services.library import Library
from faceorganizer.services.types import EditInfo, ScanProgress, ScanSummary

# scan


class _Bar:
    """``ScanProgress`` (files, faces, rate and ETA) on stderr: a bar on a terminal, plain lines
    elsewhere (``cli.progress``)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Progress | None = None

    def __call__(self, p: ScanProgress) -> None:
        if not self.enabled or p.phase != "scanning":
            if p.phase == "clustering" and self.enabled:
                self.close()
                print("grouping faces into people…", file=sys.stderr)
            elif p.phase == "names" and p.done == 0 and self.enabled:
                self.close()
                print(f"reading face names from XMP ({p.total} photos)…", file=sys.stderr)
            return
        if self.bar is None:
            self.bar = Progress("scanning", "photo", p.total)
        self.bar.update(p.done, p.total, faces=p.faces, failed=p.failed)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _summary_text(s: ScanSummary) -> str:
    counts = (
        f"new {s.new}, changed {s.changed}, unchanged {s.unchanged}, moved {s.moved}, "
        f"removed {s.removed}, failed {s.failed}; {s.faces_added} faces added in {s.seconds:.1f} s"
    )
    if s.cancelled:  # "new 32" alone read as if all 32 had been read
        head = f"scan stopped after {s.read} of {s.to_read} photos (the next scan goes on)"
        counts = f"{head}: {counts}"
    lines = [counts]
    for path, reason in s.folders:
        lines.append(f"  {shown(path)}: {shown(reason)}")
    if s.placed:
        lines.append(f"{s.placed} (undo reverts it)")
    for path, reason in s.errors[:10]:
        lines.append(f"  cannot read {shown(path)}: {shown(reason)}")
    if len(s.errors) > 10:
        lines.append(f"  … {len(s.errors) - 10} more: faceorganizer photos --errors")
    for path, what in s.decisions_dropped:
        lines.append(f"  {shown(path)}: {shown(what)}")
    if s.xmp is not None and s.xmp.with_regions:
        lines.append(import_text(s.xmp))
    return "\n".join(lines)


def cmd_scan(args: argparse.Namespace, lib: Library) -> int:
    if args.model:
        lib.set_setting("model_id", args.model)
    cancel = threading.Event()

    def on_sigint(_sig: int, _frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\nstopping after the photos in flight (Ctrl-C again to abort)…", file=sys.stderr)

    ray = ray_options(args)
    previous = signal.signal(signal.SIGINT, on_sigint)
    bar = _Bar(enabled=not args.json and not args.quiet)
    try:
        summary = lib.scan(
            args.folders or None,
            progress=bar,
            cancel=cancel,
            cluster=not args.no_cluster,
            ray=ray,
        )
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)
    emit(args, asdict(summary), _summary_text(summary))
    return 130 if summary.cancelled else 0


def cmd_cluster(args: argparse.Namespace, lib: Library) -> int:
    changes = lib.cluster(dry_run=args.dry_run)
    lines = ["would change:" if changes.dry_run else "changed:"]
    for pid, fids in sorted(changes.joined.items()):
        lines.append(f"  person {pid}: +{len(fids)} face(s)")
    for pid, fids in sorted(changes.left.items()):
        lines.append(f"  person {pid}: -{len(fids)} face(s)")
    for group in changes.new_groups:
        lines.append(f"  new group of {len(group)} face(s)")
    for pid in changes.dissolved:
        lines.append(f"  person {pid} dissolved")
    if len(lines) == 1:
        lines = ["nothing to change"]
    if changes.edit is not None:
        lines.append(f"{changes.edit.description} (edit {changes.edit.edit_id}; undo reverts it)")
    emit(args, asdict(changes), "\n".join(lines))
    return 0


# reading


def cmd_people(args: argparse.Namespace, lib: Library) -> int:
    found = lib.people(include_hidden=args.all, name_filter=args.filter)
    rows = [f"{'id':>6}  {'faces':>5}  {'photos':>6}  name"]
    for p in found:
        hidden = "  (hidden)" if p.hidden else ""
        rows.append(f"{p.person_id:>6}  {p.face_count:>5}  {p.photo_count:>6}  "
                    f"{shown(p.name or 'Unnamed')}{hidden}")  # fmt: skip
    emit(args, [asdict(p) for p in found], "\n".join(rows))
    return 0


def cmd_faces(args: argparse.Namespace, lib: Library) -> int:
    person = person_ref(args.person) if args.person else None
    found = lib.faces(
        person,
        unassigned=args.unassigned,
        include_hidden=args.all,
        limit=args.limit,
        other=args.other,
    )
    rows = [asdict(f) for f in found]
    if args.embeddings or args.npy:
        vectors = lib.face_embeddings([f.face_id for f in found])
        for k, (row, (vector, model_id)) in enumerate(zip(rows, vectors, strict=True)):
            row.update(row=k, model_id=model_id)
            if args.embeddings:
                row["embedding"] = [float(v) for v in vector]
        if args.npy:
            lib.export_embeddings(args.npy, [f.face_id for f in found], force=args.force)
    human = "\n".join(face_line(f) for f in found) or "no faces"
    if args.npy:
        human += f"\nwrote {len(found)} embeddings to {args.npy} (row k is the k-th face above)"
    emit(args, rows, human)
    return 0


def cmd_photos(args: argparse.Namespace, lib: Library) -> int:
    if args.errors:
        found = lib.photo_errors()
        human = "\n".join(f"{shown(p.path)}: {shown(p.error or '')}" for p in found)
        human = human or "no unreadable photos"
        emit(args, [asdict(p) for p in found], human)
        return 0
    counts = lib.counts()
    emit(args, counts, ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_history(args: argparse.Namespace, lib: Library) -> int:
    found = lib.history(args.limit)
    lines = [
        f"{e.edit_id:>5}  {e.created_at}  {e.description}{'  (undone)' if e.undone else ''}"
        for e in found
    ]
    emit(args, [asdict(e) for e in found], "\n".join(lines) or "no edits yet")
    return 0


# edits


def cmd_name(args: argparse.Namespace, lib: Library) -> int:
    pid = lib.person(person_ref(args.person)).person_id
    status = edit_done(args, lib.name_person(pid, args.name), "")
    same = lib.people_named(args.name, exclude=pid) if args.name.strip() else []
    if same and not args.json:
        first = same[0].person_id
        hint = f"`faceorganizer merge {first} {pid}` makes them one"
        print(f"note: person {first} is also named {args.name.strip()!r}; {hint}", file=sys.stderr)
    return status


def cmd_merge(args: argparse.Namespace, lib: Library) -> int:
    refs = [person_ref(p) for p in args.persons]
    return edit_done(args, lib.merge_people(refs[0], refs[1:]), "")


def cmd_move(args: argparse.Namespace, lib: Library) -> int:
    to = None if args.new else person_ref(args.to)
    return edit_done(args, lib.move_faces(args.faces, to), "")


def cmd_reject(args: argparse.Namespace, lib: Library) -> int:
    return edit_done(args, lib.reject_faces(args.faces, person_ref(args.from_person)), "")


def cmd_confirm(args: argparse.Namespace, lib: Library) -> int:
    return edit_done(args, lib.confirm_faces(args.faces), "")


def _hide(hidden: bool) -> Handler:
    def handler(args: argparse.Namespace, lib: Library) -> int:
        if args.face:
            return edit_done(args, lib.hide_faces(args.face, hidden), "")
        if not args.person:
            raise CliError("give a PERSON or --face ID...")
        return edit_done(args, lib.hide_person(person_ref(args.person), hidden), "")

    return handler


def cmd_cover(args: argparse.Namespace, lib: Library) -> int:
    return edit_done(args, lib.set_cover(person_ref(args.person), args.face), "")


def cmd_undo(args: argparse.Namespace, lib: Library) -> int:
    return _replayed(args, lib.undo(), "undo", "undid")


def cmd_redo(args: argparse.Namespace, lib: Library) -> int:
    return _replayed(args, lib.redo(), "redo", "redid")


def _replayed(args: argparse.Namespace, info: EditInfo | None, verb: str, done: str) -> int:
    if info is None:
        emit(args, None, f"nothing to {verb}")
        return 1
    if info.missing_faces:
        n = info.missing_faces
        gone = f"{n} of its faces {'are' if n != 1 else 'is'} gone (photo removed)"
        if not info.changed:
            emit(args, asdict(info), f"could not {verb} {info.description}: {gone}")
            return 1
        emit(args, asdict(info), f"{done}: {info.description}; {gone}")
        return 0
    emit(args, asdict(info), f"{done}: {info.description}")
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    add = command_adder(sub, common)
    p = add(
        "scan",
        cmd_scan,
        "find faces in folders (incremental) and group them into people",
        create=True,
    )
    p.add_argument("folders", nargs="*", metavar="FOLDER", help="default: the library's folders")
    p.add_argument("--model", help="embedding model id for this library")
    p.add_argument("--no-cluster", action="store_true", help="do not regroup people afterwards")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_ray_arguments(p)

    p = add("cluster", cmd_cluster, "regroup faces into people, keeping every user decision")
    p.add_argument("--dry-run", action="store_true", help="only show what would change")

    p = add("people", cmd_people, "list people (id, name, faces, photos)", read_only=True)
    p.add_argument("--all", action="store_true", help="include hidden people")
    p.add_argument("--filter", help="only names containing this text")

    p = add("faces", cmd_faces, "list faces", read_only=True)
    p.add_argument("--person", help="person id or name")
    p.add_argument(
        "--unassigned", action="store_true", help="faces in no person, good enough to judge"
    )
    p.add_argument(
        "--other", action="store_true", help="faces in no person too poor to recognise, and why"
    )
    p.add_argument("--all", action="store_true", help="include hidden faces")
    p.add_argument("--limit", type=positive_int)
    p.add_argument(
        "--embeddings", action="store_true", help="with --json: each face's embedding and model"
    )
    p.add_argument(
        "--npy",
        type=Path,
        metavar="FILE",
        help="write the embeddings as a float32 .npy matrix, one row per face listed, in order",
    )
    p.add_argument("--force", action="store_true", help="replace an existing --npy file")

    p = add(
        "photos", cmd_photos, "library counts, or unreadable photos with --errors", read_only=True
    )
    p.add_argument("--errors", action="store_true", help="list photos that could not be read")

    p = add("name", cmd_name, "name or rename a person")
    p.add_argument("person", help="person id or name")
    p.add_argument("name", help="new name ('' removes it)")

    p = add("merge", cmd_merge, "merge people into the first one")
    p.add_argument("persons", nargs="+", metavar="PERSON", help="target, then people to merge")

    p = add("move", cmd_move, "move faces to a person (or a new one)")
    p.add_argument("faces", nargs="+", type=int, metavar="FACE")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="PERSON")
    target.add_argument("--new", action="store_true", help="to a new person")

    p = add("reject", cmd_reject, "'not this person': take faces out of a person for good")
    p.add_argument("faces", nargs="+", type=int, metavar="FACE")
    p.add_argument("--from", dest="from_person", required=True, metavar="PERSON")

    p = add("confirm", cmd_confirm, "confirm faces in their person (re-clustering keeps them)")
    p.add_argument("faces", nargs="+", type=int, metavar="FACE")

    for name, hidden in (("hide", True), ("unhide", False)):
        p = add(name, _hide(hidden), f"{name} a person, or faces with --face")
        p.add_argument("person", nargs="?", help="person id or name")
        p.add_argument("--face", type=int, nargs="+", metavar="FACE")

    p = add("cover", cmd_cover, "choose the face shown for a person")
    p.add_argument("person")
    p.add_argument("face", type=int)

    add("undo", cmd_undo, "undo the last edit")
    add("redo", cmd_redo, "redo the last undone edit")
    p = add("history", cmd_history, "list edits, newest first", read_only=True)
    p.add_argument("--limit", type=positive_int, default=50)
