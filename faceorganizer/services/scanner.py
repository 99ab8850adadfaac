"""Scanning folders into the library: walk, tell new/changed/moved/removed files apart, run the
engine on what needs it, and store each batch of photos in one short transaction.

Threading: ``scan`` runs on the caller's thread, which owns the database connection and does all
writes; the engine runs on a producer thread (its own decode threads and batched models inside),
so decoding, inference and writes overlap. A photo's faces are written in the same transaction
that records the photo, so a crash or ``kill -9`` loses at most the photos in flight and the next
scan redoes exactly those.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from faceorganizer.core.models.registry import recipe_of
from faceorganizer.core.types import PhotoEngine, PhotoFaces
from faceorganizer.services.files import FileEntry, content_hash, normalise, under, walk
from faceorganizer.services.types import ScanProgress, ScanSummary
from faceorganizer.storage import faces, persons, photos
from faceorganizer.storage.db import transaction
from faceorganizer.storage.photos import PhotoRow

BATCH_PHOTOS = 32
BATCH_SECONDS = 1.0
SAME_FACE_IOU = 0.5

_DONE = object()


@dataclass
class Job:
    entry: FileEntry
    hash: str | None
    photo_id: int | None = None  # set for a changed file already in the library


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    moves: list[tuple[int, FileEntry]] = field(default_factory=list)
    touched: list[tuple[int, FileEntry]] = field(default_factory=list)  # same bytes, new mtime
    removed: list[int] = field(default_factory=list)
    unchanged: int = 0
    new: int = 0
    changed: int = 0


def plan_scan(db: Database, roots: Sequence[str], model_id: str) -> Plan:
    """Compare the files on disk with the library; hash only files whose size/mtime changed.

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
    for entry in walk(roots):
        seen.add(entry.path)
        row = known.get(entry.path)
        if row is None:
            candidates.append(entry)
        elif (
            (row.size, row.mtime) == (entry.size, entry.mtime)
            and row.companion_paths == entry.companions
            and _current(row, model_id, recipe)
        ):
            plan.unchanged += 1
        else:
            digest = _hash(entry.path)
            if digest is not None and digest == row.hash and _current(row, model_id, recipe):
                plan.touched.append((row.id, entry))
                plan.unchanged += 1
            else:
                plan.jobs.append(Job(entry, digest, row.id))
                plan.changed += 1
    gone = [p for p in known.values() if p.path not in seen and under(p.path, roots)]
    same_shot = {p.path: p for p in gone}
    same_shot.update({c: p for p in gone for c in p.companion_paths})
    taken_over: set[int] = set()
    missing = {p.hash: p for p in gone if p.hash and p.status == "ok"}
    for entry in candidates:
        digest = _hash(entry.path)
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
            plan.jobs.append(Job(entry, digest, shot.id))
            plan.changed += 1
        elif moved is not None:
            plan.moves.append((moved.id, entry))
        else:
            plan.jobs.append(Job(entry, digest))
            plan.new += 1
    kept = {pid for pid, _ in plan.moves} | taken_over
    plan.removed = [p.id for p in gone if p.id not in kept]
    plan.jobs.sort(key=lambda j: j.entry.path)
    return plan


def _current(row: PhotoRow, model_id: str, recipe: int) -> bool:
    """A photo needs no work when it failed to read, or its faces came from this model's current
    recipe (a photo of an older recipe is re-embedded and keeps its faces' people)."""
    return row.status == "error" or (row.model_id == model_id and row.recipe == recipe)


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


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _taken_at(path: str) -> str | None:
    """EXIF DateTimeOriginal (or DateTime) when the header has it; cheap, header only."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            exif = im.getexif()
            value = exif.get_ifd(0x8769).get(36867) or exif.get(306)
    except Exception:
        return None
    return str(value).strip() or None if value else None


def store_result(db: Database, job: Job, result: PhotoFaces, model_id: str) -> int:
    """Write one photo's outcome (inside the caller's transaction); returns faces added."""
    e = job.entry
    status = "error" if result.error else "ok"
    values: dict[str, Any] = dict(
        size=e.size,
        mtime=e.mtime,
        hash=job.hash,
        width=result.width,
        height=result.height,
        status=status,
        error=result.error,
        model_id=model_id,
        recipe=recipe_of(model_id),
        companions=photos.join_paths(e.companions),
    )
    old = faces.of_photo(db, job.photo_id) if job.photo_id is not None else []
    if job.photo_id is None:
        photo_id = photos.insert(db, path=e.path, taken_at=_taken_at(e.path), **values)
    else:
        photo_id = job.photo_id
        photos.update(db, photo_id, path=e.path, **values)
    new_ids = [faces.insert(db, photo_id, f) for f in result.faces]
    if old:
        _carry_over(db, old, new_ids, [f.detection.box for f in result.faces])
    return len(new_ids)


def _carry_over(db: Database, old: list[faces.FaceRow], new_ids: list[int], boxes: list) -> None:
    """A re-detected photo keeps each face's person, pin, hidden flag and rejections where the
    new face is the same (IoU of boxes); old faces are then deleted."""
    pairs = sorted(
        ((iou(o.box, b), i, j) for i, o in enumerate(old) for j, b in enumerate(boxes)),
        reverse=True,
    )
    used_old: set[int] = set()
    used_new: set[int] = set()
    old_rej = faces.rejections_of(db, [o.id for o in old])
    for overlap, i, j in pairs:
        if overlap < SAME_FACE_IOU or i in used_old or j in used_new:
            continue
        used_old.add(i)
        used_new.add(j)
        o, nid = old[i], new_ids[j]
        faces.set_state(db, nid, faces.FaceState(o.person_id, o.assigned_by, o.hidden))
        faces.add_rejections(db, [(nid, p) for f, p in old_rej if f == o.id])
        persons.repoint_cover(db, o.id, nid)
    affected = sorted({o.person_id for o in old if o.person_id is not None})
    faces.delete(db, [o.id for o in old])
    persons.delete_empty_unnamed(db, affected)


class _Producer(threading.Thread):
    """Drives the engine and hands its results to the writer through a bounded queue."""

    def __init__(
        self,
        engine: PhotoEngine,
        paths: list[str],
        cancel: threading.Event,
        pause: threading.Event | None,
    ) -> None:
        super().__init__(name="faceorganizer-scan-engine", daemon=True)
        self.engine, self.paths, self.cancel, self.pause = engine, paths, cancel, pause
        self.out: queue.Queue = queue.Queue(maxsize=256)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for result in self.engine.process(self.paths, cancel=self.cancel):
                while self.pause is not None and self.pause.is_set() and not self.cancel.is_set():
                    time.sleep(0.05)
                self.out.put(result)
                if self.cancel.is_set():
                    break
        except BaseException as exc:  # handed to the writer thread, which re-raises it
            self.error = exc
        finally:
            self.out.put(_DONE)


def run_scan(
    db: Database,
    roots: Iterable[str],
    engine: PhotoEngine | Callable[[], PhotoEngine],
    model_id: str,
    progress: Callable[[ScanProgress], None] | None = None,
    cancel: threading.Event | None = None,
    pause: threading.Event | None = None,
) -> ScanSummary:
    """Scan ``roots`` into ``db`` with ``engine`` (anything with ``process(paths, cancel)``, or
    a callable returning one, called only when some photo needs the engine)."""
    started = time.monotonic()
    cancel = cancel or threading.Event()
    roots = [normalise(r) for r in roots]
    state = ScanProgress(phase="walking")
    report = progress or (lambda _p: None)
    report(state)
    plan = plan_scan(db, roots, model_id)
    apply_moves_and_removals(db, plan)
    summary = ScanSummary(
        new=plan.new,
        changed=plan.changed,
        unchanged=plan.unchanged,
        moved=len(plan.moves),
        removed=len(plan.removed),
    )
    state.total, state.phase = len(plan.jobs), "scanning"
    report(state)
    if plan.jobs and not cancel.is_set():
        ready = engine() if callable(engine) else engine
        _process(db, plan.jobs, ready, model_id, state, report, cancel, pause, summary)
    summary.cancelled = cancel.is_set()
    summary.seconds = time.monotonic() - started
    return summary


def _process(
    db: Database,
    jobs: list[Job],
    engine: PhotoEngine,
    model_id: str,
    state: ScanProgress,
    report: Callable[[ScanProgress], None],
    cancel: threading.Event,
    pause: threading.Event | None,
    summary: ScanSummary,
) -> None:
    by_path = {j.entry.path: j for j in jobs}
    producer = _Producer(engine, [j.entry.path for j in jobs], cancel, pause)
    producer.start()
    t0 = time.monotonic()
    batch: list[PhotoFaces] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal last_flush
        if batch:
            with transaction(db):
                for result in batch:
                    job = by_path.get(normalise(result.path))
                    if job is None:
                        continue
                    summary.faces_added += store_result(db, job, result, model_id)
                    if result.error:
                        summary.failed += 1
                        summary.errors.append((job.entry.path, result.error))
            batch.clear()
        last_flush = time.monotonic()

    try:
        while True:
            try:
                item = producer.out.get(timeout=BATCH_SECONDS)
            except queue.Empty:
                flush()
                continue
            if item is _DONE:
                break
            batch.append(item)
            for stage, seconds in item.timings.items():
                summary.stages[stage] = summary.stages.get(stage, 0.0) + seconds
            state.done += 1
            state.faces += len(item.faces)
            state.failed += bool(item.error)
            state.current = item.path
            elapsed = time.monotonic() - t0
            state.rate = state.done / elapsed if elapsed > 0 else 0.0
            left = state.total - state.done
            state.eta_s = left / state.rate if state.rate > 0 else None
            report(state)
            if len(batch) >= BATCH_PHOTOS or time.monotonic() - last_flush >= BATCH_SECONDS:
                flush()
        flush()
    except BaseException:
        cancel.set()
        raise
    finally:
        while producer.is_alive():
            with contextlib.suppress(queue.Empty):
                producer.out.get(timeout=0.1)
        producer.join()
    if producer.error is not None:
        raise producer.error
