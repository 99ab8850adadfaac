"""Scanning folders into the library: walk and tell new/changed/moved/removed files apart
(``plan``), run the engine on what needs it, and store each batch of photos in one short
transaction.

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
from collections.abc import Callable, Sequence
from typing import Any

from sqlite_utils import Database

from faceorganizer.core.exif_date import taken_at as taken_at_of
from faceorganizer.core.models.registry import DETECTOR_RECIPE, recipe_of
from faceorganizer.core.types import PhotoEngine, PhotoFaces
from faceorganizer.services.scan import same_face
from faceorganizer.services.scan.files import normalise
from faceorganizer.services.scan.plan import Job, apply_moves_and_removals, plan_scan
from faceorganizer.services.types import ScanProgress, ScanSummary
from faceorganizer.storage import faces, photos, sidecars
from faceorganizer.storage.db import savepoint, transaction, translate_error

log = logging.getLogger(__name__)

BATCH_PHOTOS = 32
BATCH_SECONDS = 1.0

_DONE = object()


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
        taken_at = taken_at_of(e.os_path) if status == "ok" else None
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
    roots: Sequence[str],
    engine: PhotoEngine | Callable[[], PhotoEngine],
    model_id: str,
    progress: Callable[[ScanProgress], None] | None = None,
    cancel: threading.Event | None = None,
    pause: threading.Event | None = None,
) -> ScanSummary:
    """Scan ``roots`` (normalised folders) into ``db`` with ``engine`` (anything with
    ``process(paths, cancel)``, or a callable returning one, called only when some photo needs
    the engine)."""
    started = time.monotonic()
    cancel = cancel or threading.Event()
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
        removed=len(plan.removed) - plan.folder_rows,
        folders=plan.folders,
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
    summary.to_read, summary.read = state.total, state.done
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
        if result.error and not job.entry.folder:  # a folder is said in ``folders``
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
