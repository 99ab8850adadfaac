"""Face names between the library and XMP, both ways.

Import: each photo's face regions (``services.xmp_regions``) are matched to its detected faces
by overlap (``core.regions.match``); a region the detector missed becomes a face cut from the
region and embedded with the library's model. Named regions arrive as user decisions: the face
is confirmed in the person of that name (found case-insensitively, or created), all of one
import run in one undoable edit. Regions FaceOrganizer itself wrote for faces it had grouped on
its own (``Confirmed`` False) come back as such: in the person, not confirmed. A name that
disagrees with the library (the face is someone else there, or the user said it is not that
person) is reported and left alone.

Write: the named faces of photos go into their sidecars (``photo.jpg.xmp``); after a write the
photo's XMP signature is recorded, so the next scan does not read our own names back.

Threading: like a ``Library``, these run on the thread that owns the database connection.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from faceorganizer.core import regions as geo
from faceorganizer.services.people import edits
from faceorganizer.services.scan.files import under
from faceorganizer.services.types import NameConflict, XmpImportSummary, XmpWriteSummary
from faceorganizer.services.xmp.regions import (
    NamedFace,
    SidecarError,
    photo_orientation,
    read_regions,
    sidecar_candidates,
    write_regions,
)
from faceorganizer.storage import faces, persons, photos, sidecars
from faceorganizer.storage.db import transaction
from faceorganizer.storage.photos import PhotoRow

log = logging.getLogger(__name__)

EngineSource = Callable[[], Any]


def signature(photo: PhotoRow) -> str:
    """What decides whether a photo's XMP must be read again: the photo's bytes (its hash), the
    model and recipe its faces came from (a re-embedded photo loses faces cut from regions), and
    each sidecar's size and modification time."""
    parts = [photo.hash or "", photo.model_id or "", str(photo.recipe)]
    for path in sidecar_candidates(photo.path):
        try:
            st = os.stat(path)
        except OSError:
            continue
        parts.append(f"{os.path.basename(path)}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def photos_under(
    db: Database, roots: Iterable[str] | None = None, changed_only: bool = False
) -> list[PhotoRow]:
    """Readable photos (under ``roots`` when given), by path; with ``changed_only`` only those
    whose XMP changed since it was last read or written."""
    known = sidecars.signatures(db) if changed_only else {}
    wanted = list(roots) if roots is not None else None
    return [
        p
        for p in sorted(photos.all_photos(db), key=lambda p: p.path)
        if p.status == "ok"
        and (wanted is None or under(p.path, wanted))
        and (not changed_only or known.get(p.id) != signature(p))
    ]


@dataclass
class _Planned:
    face_id: int
    name: str
    photo: str
    by: str = edits.USER  # "auto" for a region we wrote for a face the user never confirmed


def _cut_faces(
    db: Database,
    photo: PhotoRow,
    boxes: list[tuple[float, float, float, float]],
    engine: Any,
    summary: XmpImportSummary,
) -> list[int | None]:
    """Store faces cut from ``boxes``; their ids (None where the photo could not be read)."""
    embed_boxes = getattr(engine, "embed_boxes", None)
    if embed_boxes is None:
        log.warning("engine %r cannot cut faces from regions; %s skipped", engine, photo.path)
        return [None] * len(boxes)
    result = embed_boxes(photo.path, boxes)
    if result.error:
        summary.errors.append((photo.path, result.error))
        return [None] * len(boxes)
    with transaction(db):
        ids: list[int | None] = [faces.insert(db, photo.id, f) for f in result.faces]
    summary.cut += len(ids)
    return ids


def _plan_photo(
    db: Database,
    photo: PhotoRow,
    engine: EngineSource,
    summary: XmpImportSummary,
    planned: list[_Planned],
) -> None:
    read = read_regions(photo.path, photo_orientation(photo.path))
    summary.photos += 1
    summary.errors.extend((photo.path, e) for e in read.errors)
    if not read.regions or photo.width <= 0 or photo.height <= 0:
        return
    summary.with_regions += 1
    rows = faces.of_photo(db, photo.id)
    boxes = [geo.to_pixels(r.box, photo.width, photo.height) for r in read.regions]
    pairs = geo.match(boxes, [f.box for f in rows])
    face_of: dict[int, int | None] = {i: rows[j].id for i, j in pairs.items()}
    missing = [i for i in range(len(boxes)) if i not in pairs]
    if missing:
        cut = _cut_faces(db, photo, [boxes[i] for i in missing], engine(), summary)
        face_of.update(zip(missing, cut, strict=True))
    for i, region in enumerate(read.regions):
        fid = face_of.get(i)
        if fid is not None and region.name:
            by = edits.USER if region.confirmed else "auto"
            planned.append(_Planned(fid, region.name, photo.path, by))


def _decide(db: Database, planned: list[_Planned], summary: XmpImportSummary) -> list[_Planned]:
    """The planned names the library takes; conflicts go to the summary."""
    states = faces.states(db, [p.face_id for p in planned])
    rejected = faces.rejections_of(db, [p.face_id for p in planned])
    taken: list[_Planned] = []
    for p in planned:
        state = states.get(p.face_id)
        if state is None or state.hidden:
            continue
        current = persons.get(db, state.person_id) if state.person_id is not None else None
        target = persons.by_name(db, p.name)
        if current is not None and current.name:
            if current.name.casefold() != p.name.casefold():
                summary.conflicts.append(
                    NameConflict(p.photo, p.face_id, p.name, current.name, "named otherwise")
                )
                continue
            if state.assigned_by == edits.USER or p.by != edits.USER:
                continue
            summary.confirmed += 1
        if target and (p.face_id, target[0].id) in rejected:
            summary.conflicts.append(
                NameConflict(p.photo, p.face_id, p.name, None, "marked as not this person")
            )
            continue
        taken.append(p)
    return taken


def _apply(db: Database, taken: list[_Planned], n_photos: int) -> int:
    """Name the faces in one undoable edit; returns its id."""
    face_ids = sorted({p.face_id for p in taken})
    existing = {p.name.casefold(): persons.by_name(db, p.name) for p in taken}
    person_ids = {rows[0].id for rows in existing.values() if rows}

    def change() -> list[int]:
        created: list[int] = []
        by_name: dict[str, int] = {k: rows[0].id for k, rows in existing.items() if rows}
        groups: dict[tuple[int, str], list[int]] = defaultdict(list)
        for p in taken:
            key = p.name.casefold()
            if key not in by_name:
                by_name[key] = persons.create(db, p.name.strip())
                created.append(by_name[key])
            groups[(by_name[key], p.by)].append(p.face_id)
        for (pid, by), fids in groups.items():
            faces.assign(db, sorted(set(fids)), pid, by)
        return created

    n = len(face_ids)
    what = (
        f"Import {n} face name{'s' * (n != 1)} from XMP ({n_photos} photo{'s' * (n_photos != 1)})"
    )
    return edits.run_edit(db, "import", what, face_ids, person_ids, change).edit_id


def import_regions(
    db: Database,
    photo_rows: Iterable[PhotoRow],
    engine: EngineSource,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> XmpImportSummary:
    """Read the XMP face regions of ``photo_rows`` into the library (see the module doc).

    ``engine`` is called (once) only when a region needs a face cut from it; ``progress(done,
    total)`` is called on this thread; once ``cancel`` is set no further photo is read, the
    names read so far are applied and the rest wait for the next run.
    """
    rows = list(photo_rows)
    summary = XmpImportSummary()
    planned: list[_Planned] = []
    checked: list[PhotoRow] = []
    cached: list[Any] = []

    def shared_engine() -> Any:
        if not cached:
            cached.append(engine())
        return cached[0]

    for done, photo in enumerate(rows):
        if progress is not None and done % 50 == 0:
            progress(done, len(rows))
        if cancel is not None and cancel.is_set():
            break
        if photo.status != "ok":
            continue
        _plan_photo(db, photo, shared_engine, summary, planned)
        checked.append(photo)
    taken = _decide(db, planned, summary)
    if taken:
        named_photos = len({p.photo for p in taken})
        summary.edit_id = _apply(db, taken, named_photos)
        summary.named = len({p.face_id for p in taken})
    with transaction(db):
        fresh = {p.id: p for p in photos.all_photos(db)}
        sidecars.set_signatures(
            db, [(p.id, signature(fresh[p.id])) for p in checked if p.id in fresh]
        )
    for c in summary.conflicts:
        log.info("%s: face %d is %r in XMP but %s", c.photo, c.face_id, c.xmp_name, c.reason)
    return summary


# writing


def write_sidecars(db: Database, photo_ids: Iterable[int]) -> XmpWriteSummary:
    """Write the named faces of these photos into their sidecars (removing names the library no
    longer has from regions we wrote before)."""
    ids = sorted(set(photo_ids))
    by_photo: dict[int, list[NamedFace]] = defaultdict(list)
    for r in sidecars.named_faces(db, ids):
        by_photo[r.photo_id].append(NamedFace(r.face_id, r.name, r.box, r.assigned_by == "user"))
    summary = XmpWriteSummary()
    done: list[int] = []
    for pid in ids:
        photo = photos.get(db, pid)
        if photo is None or photo.status != "ok" or photo.width <= 0:
            continue
        named = by_photo.get(pid, [])
        try:
            result = write_regions(
                photo.path, named, (photo.width, photo.height), photo_orientation(photo.path)
            )
        except SidecarError as exc:
            summary.errors.append((photo.path, str(exc)))
            log.warning("%s", exc)
            continue
        if result is None:
            continue
        summary.photos += 1
        summary.faces += result.written
        summary.written += result.changed
        summary.unchanged += not result.changed
        summary.replaced.extend((result.path, n) for n in result.replaced)
        done.append(pid)
    if done:
        with transaction(db):
            rows = [photos.get(db, pid) for pid in done]
            sidecars.set_signatures(db, [(r.id, signature(r)) for r in rows if r is not None])
    return summary


def photos_for_write(db: Database, person_id: int | None = None) -> list[int]:
    """Photos a write should touch: those with named faces (of ``person_id`` when given); for
    the whole library also those whose sidecar we may have written before."""
    chosen = set(sidecars.photos_with_named_faces(db, person_id))
    if person_id is None:
        chosen |= {
            p.id
            for p in photos.all_photos(db)
            if p.status == "ok" and any(os.path.exists(s) for s in sidecar_candidates(p.path))
        }
    return sorted(chosen)


def photos_touched_by_edit(db: Database, payload: dict[str, Any]) -> set[int]:
    """Photos whose sidecars an edit (its logged before/after states) changes: those of faces
    that moved, and every photo of a person whose name or visibility changed."""
    before, after = payload.get("before", {}), payload.get("after", {})
    face_ids = {int(f) for side in (before, after) for f in side.get("faces", {})}
    changed_persons = set()
    for pid in set(before.get("persons", {})) | set(after.get("persons", {})):
        a, b = before.get("persons", {}).get(pid), after.get("persons", {}).get(pid)
        if (a or {}).get("name") != (b or {}).get("name") or (a or {}).get("hidden") != (
            b or {}
        ).get("hidden"):
            changed_persons.add(int(pid))
    return sidecars.photos_of_faces(db, face_ids) | sidecars.photos_of_persons(db, changed_persons)
