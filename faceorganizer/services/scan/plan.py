"""What a scan has to do: walk the folders and tell new, changed, moved, renamed and removed
files apart from the photos the library knows (by path, size and mtime, then content hash), and
apply the moves and removals before any photo is read.

Runs on the scan's thread (the one that owns the database connection); ``roots`` are normalised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from faceorganizer.core.models.registry import DETECTOR_RECIPE, recipe_of
from faceorganizer.services.scan.files import (
    FileEntry,
    Walk,
    content_hash,
    is_folder_reason,
    readable,
    stored_path,
    under,
)
from faceorganizer.storage import faces, persons, photos
from faceorganizer.storage.db import transaction
from faceorganizer.storage.photos import PhotoRow

# Failures that a change of permissions (which leaves size and time as they were) can mend.
RETRIED = frozenset({"permission denied"})


@dataclass
class Job:
    entry: FileEntry
    hash: str | None
    photo_id: int | None = None  # set for a changed file already in the library
    old_hash: str | None = None  # the bytes it had then


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    moves: list[tuple[int, FileEntry]] = field(default_factory=list)
    touched: list[tuple[int, FileEntry]] = field(default_factory=list)  # same bytes, new mtime
    removed: list[int] = field(default_factory=list)
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    # folders that could not be listed (path, reason): no photos, said once per scan; their row
    # (what ``photos --errors`` lists) is stored when new or its reason changed
    folders: list[tuple[str, str]] = field(default_factory=list)
    folder_rows: int = 0  # of ``removed``, rows of folders that can be listed again


def plan_scan(db: Database, roots: Sequence[str], model_id: str) -> Plan:
    """Compare the files on disk with the library; hash only files whose size/mtime changed.

    What the library knows under a folder that could not be listed (an unplugged drive, a
    folder without permission) is kept as it is, never taken for removed.

    A RAW+JPEG pair is one photo (the JPEG, with the RAW as its companion). When a pair forms
    or breaks (a JPEG appears beside a RAW already scanned, or the JPEG of a pair is deleted),
    the file that now stands for the shot takes over the existing photo, so its faces keep
    their people.
    """
    known = {p.path: p for p in photos.all_photos(db)}
    recipe = recipe_of(model_id)
    plan = Plan()
    seen: set[str] = set()
    candidates: list[FileEntry] = []
    walker = Walk(roots)
    for entry in walker:
        seen.add(entry.path)
        row = known.get(entry.path)
        if entry.folder and entry.problem is not None:
            plan.folders.append((entry.path, entry.problem))
            if row is None or (row.status, row.error) != ("error", entry.problem):
                plan.jobs.append(Job(entry, None, row.id if row else None))
        elif entry.problem is not None:
            if row is None:
                plan.jobs.append(Job(entry, None))
                plan.new += 1
            elif (row.status, row.error, row.size, row.mtime) == (
                "error",
                entry.problem,
                entry.size,
                entry.mtime,
            ):
                plan.unchanged += 1
            else:
                plan.jobs.append(Job(entry, None, row.id, row.hash))
                plan.changed += 1
        elif row is None:
            candidates.append(entry)
        elif (
            (row.size, row.mtime) == (entry.size, entry.mtime)
            and row.companion_paths == entry.companions
            and _current(row, model_id, recipe)
            and not (row.error in RETRIED and readable(entry.os_path))
        ):
            plan.unchanged += 1
        else:
            digest = _hash(entry.os_path)
            if digest is not None and digest == row.hash and _current(row, model_id, recipe):
                plan.touched.append((row.id, entry))
                plan.unchanged += 1
            else:
                plan.jobs.append(Job(entry, digest, row.id, row.hash))
                plan.changed += 1
    stored_roots = [stored_path(r) or r for r in roots]
    unlisted = [stored_path(f) or f for f in walker.unlisted]
    gone = [
        p
        for p in known.values()
        if p.path not in seen and under(p.path, stored_roots) and not under(p.path, unlisted)
    ]
    same_shot = {p.path: p for p in gone}
    same_shot.update({c: p for p in gone for c in p.companion_paths})
    taken_over: set[int] = set()
    missing = {p.hash: p for p in gone if p.hash and p.status == "ok"}
    for entry in candidates:
        digest = _hash(entry.os_path)
        shot = next(
            (
                same_shot[path]
                for path in (entry.path, *entry.companions)
                if path in same_shot and same_shot[path].id not in taken_over
            ),
            None,
        )
        moved = missing.pop(digest, None) if digest and shot is None else None
        if shot is not None:
            taken_over.add(shot.id)
            plan.jobs.append(Job(entry, digest, shot.id, shot.hash))
            plan.changed += 1
        elif moved is not None:
            plan.moves.append((moved.id, entry))
        else:
            plan.jobs.append(Job(entry, digest))
            plan.new += 1
    kept = {pid for pid, _ in plan.moves} | taken_over
    plan.removed = [p.id for p in gone if p.id not in kept]
    plan.folder_rows = sum(p.id not in kept and is_folder_reason(p.error) for p in gone)
    plan.jobs.sort(key=lambda j: j.entry.path)
    return plan


def _current(row: PhotoRow, model_id: str, recipe: int) -> bool:
    """A photo needs no work when it failed to read, or its faces came from this model's current
    recipe and the current detector (a photo of an older recipe is detected and embedded again
    and keeps its faces' people)."""
    return row.status == "error" or (
        row.model_id == model_id and row.recipe == recipe and row.detector == DETECTOR_RECIPE
    )


def _hash(path: str) -> str | None:
    try:
        return content_hash(path)
    except OSError:
        return None


def apply_moves_and_removals(db: Database, plan: Plan) -> None:
    with transaction(db):
        for photo_id, entry in plan.moves:
            photos.update(
                db,
                photo_id,
                path=entry.path,
                size=entry.size,
                mtime=entry.mtime,
                companions=photos.join_paths(entry.companions),
            )
        for photo_id, entry in plan.touched:
            photos.update(
                db,
                photo_id,
                size=entry.size,
                mtime=entry.mtime,
                companions=photos.join_paths(entry.companions),
            )
        affected: set[int] = set()
        for photo_id in plan.removed:
            old = faces.of_photo(db, photo_id)
            affected |= {f.person_id for f in old if f.person_id is not None}
            faces.delete(db, [f.id for f in old])
            photos.delete(db, photo_id)
        persons.delete_empty_unnamed(db, sorted(affected))
