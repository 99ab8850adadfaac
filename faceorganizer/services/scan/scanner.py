"""Scanning folders into the library: walk, tell new/changed/moved/removed files apart, run the
engine on what needs it, and store each batch of photos in one short transaction.

Threading: ``scan`` runs on the caller's thread, which owns the database connection and does all
writes; the engine runs on a producer thread (its own decode threads and batched models inside),
so decoding, inference and writes overlap. A photo's faces are written in the same transaction
that records the photo, so a crash or ``kill -9`` loses at most the photos in flight and the next
scan redoes exactly those. Each photo is stored in a savepoint of its batch: a photo that cannot
be stored (a bug) is recorded as failed with its traceback in the log, and never takes the
batch's other photos down with it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from faceorganizer.core.models.registry import DETECTOR_RECIPE, recipe_of
from faceorganizer.core.types import PhotoEngine, PhotoFaces
from faceorganizer.services.scan import same_face
from faceorganizer.services.scan.files import (
    FileEntry,
    Walk,
    content_hash,
    normalise,
    stored_path,
    under,
)
from faceorganizer.services.types import ScanProgress, ScanSummary
from faceorganizer.storage import faces, persons, photos, sidecars
from faceorganizer.storage.db import savepoint, transaction, translate_error
from faceorganizer.storage.photos import PhotoRow

log = logging.getLogger(__name__)

BATCH_PHOTOS = 32
BATCH_SECONDS = 1.0

_DONE = object()


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
        if entry.problem is not None:
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


def store_result(
    db: Database,
    job: Job,
    result: PhotoFaces,
    model_id: str,
    min_cosine: float,
    dropped: list[tuple[str, str]] | None = None,
) -> int:
    """Write one photo's outcome (inside the caller's transaction); returns faces added. Old
    faces whose decisions could not be carried over are reported in ``dropped``."""
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
        detector=DETECTOR_RECIPE,
    )
    old = faces.of_photo(db, job.photo_id) if job.photo_id is not None else []
    if job.photo_id is None:
        taken_at = _taken_at(e.os_path) if status == "ok" else None
        photo_id = photos.insert(db, path=e.path, taken_at=taken_at, **values)
    else:
        photo_id = job.photo_id
        photos.update(db, photo_id, path=e.path, **values)
        sidecars.forget_signature(db, photo_id)  # faces cut from its regions are gone
    new_ids = [faces.insert(db, photo_id, f) for f in result.faces]
    if old:
        same_bytes = job.hash is not None and job.hash == job.old_hash
        lost = same_face.carry_over(
            db, old, new_ids, result.faces, None if same_bytes else min_cosine
        )
        if lost and dropped is not None:
            dropped.append((e.path, same_face.lost_text(lost)))
    return len(new_ids)


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
    listed = [j for j in plan.jobs if j.entry.problem is not None]
    jobs = [j for j in plan.jobs if j.entry.problem is None]
    writer = _Writer(db, model_id, summary)
    writer.store([(j, PhotoFaces(path=j.entry.os_path, error=j.entry.problem)) for j in listed])
    state.total, state.phase = len(jobs), "scanning"
    report(state)
    if jobs and not cancel.is_set():
        loading = time.monotonic()
        ready = engine() if callable(engine) else engine
        summary.engine_seconds = time.monotonic() - loading
        _process(writer, jobs, ready, state, report, cancel, pause)
    summary.cancelled = cancel.is_set()
    summary.seconds = time.monotonic() - started
    return summary


class _Writer:
    """Stores batches of results, one transaction per batch and a savepoint per photo."""

    def __init__(self, db: Database, model_id: str, summary: ScanSummary) -> None:
        self.db, self.model_id, self.summary = db, model_id, summary
        self.min_cosine = same_face.min_cosine(model_id)

    def store(self, batch: Sequence[tuple[Job, PhotoFaces]]) -> None:
        if not batch:
            return
        with transaction(self.db):
            for job, result in batch:
                self._store_one(job, result)

    def _store_one(self, job: Job, result: PhotoFaces) -> None:
        s = self.summary
        if result.error and job.photo_id is not None and faces.of_photo(self.db, job.photo_id):
            # A known photo that cannot be read now (being written, a sync half done, a link
            # whose drive is away): its faces and people stay, and the next scan tries again.
            s.failed += 1
            s.errors.append((job.entry.path, f"{result.error}; its faces are kept until it reads"))
            return
        try:
            with savepoint(self.db):
                added = store_result(
                    self.db, job, result, self.model_id, self.min_cosine, s.decisions_dropped
                )
        except Exception as exc:
            if isinstance(exc, sqlite3.Error) and translate_error(exc) is not None:
                raise  # the library itself failed (disk full, locked, damaged): stop the scan
            log.exception("could not store %s", job.entry.path)
            result = PhotoFaces(path=result.path, error=f"could not be stored ({exc!r})")
            try:
                with savepoint(self.db):
                    store_result(self.db, job, result, self.model_id, self.min_cosine)
            except Exception:
                log.exception("could not record the failure of %s", job.entry.path)
                return
            added = 0
        s.faces_added += added
        if result.error:
            s.failed += 1
            s.errors.append((job.entry.path, result.error))


def _process(
    writer: _Writer,
    jobs: list[Job],
    engine: PhotoEngine,
    state: ScanProgress,
    report: Callable[[ScanProgress], None],
    cancel: threading.Event,
    pause: threading.Event | None,
) -> None:
    by_path = {j.entry.os_path: j for j in jobs}
    producer = _Producer(engine, [j.entry.os_path for j in jobs], cancel, pause)
    producer.start()
    t0 = time.monotonic()
    batch: list[tuple[Job, PhotoFaces]] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal last_flush
        writer.store(batch)
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
            job = by_path.get(item.path) or by_path.get(normalise(item.path))
            if job is not None:
                batch.append((job, item))
            for stage, seconds in item.timings.items():
                writer.summary.stages[stage] = writer.summary.stages.get(stage, 0.0) + seconds
            state.done += 1
            state.faces += len(item.faces)
            state.failed += bool(item.error)
            state.current = job.entry.path if job is not None else ""
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
