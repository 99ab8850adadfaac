"""Library work off the GUI thread: a worker QObject on its own QThread with its own Library.

Threading contract: ``LibraryWorker`` is moved to a ``QThread`` and opens its writer
``Library`` there on first use, so the connection and the models live on that thread only.
The GUI talks to it through ``WorkerHandle``: jobs go in as queued calls, results come back
as signals. A long job (a scan) is stopped by a ``threading.Event`` the Library checks
between photos; pause is another event (set while paused) the scan waits on.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from faceorganizer import logs
from faceorganizer.core.weights import WeightsError
from faceorganizer.services.errors import LibraryError
from faceorganizer.services.types import ScanProgress

if TYPE_CHECKING:
    from faceorganizer.services.library import Library

log = logging.getLogger(__name__)

Job = Callable[["Library"], Any]  # called with the worker's Library, on the worker thread


def expected_failure(exc: BaseException) -> bool:
    """A failure the user can act on (a library, file, disk, model or device problem), as
    opposed to a bug, which must leave its traceback in the log."""
    from faceorganizer.core.device import DeviceUnavailableError  # torch: loaded only when needed

    return isinstance(exc, (LibraryError, WeightsError, DeviceUnavailableError, OSError))


def user_message(exc: BaseException) -> str:
    """A sentence a user can act on, never a traceback; a bug's message says where its
    traceback is."""
    if isinstance(exc, LibraryError):
        return str(exc)
    if isinstance(exc, PermissionError):
        return f"Permission denied: {exc.filename or exc}"
    if isinstance(exc, FileNotFoundError):
        return f"File not found: {exc.filename or exc}"
    if isinstance(exc, OSError) and exc.errno == 28:
        return "The disk is full. Free some space and try again."
    reason = getattr(exc, "reason", None)
    text = str(reason or exc) or type(exc).__name__
    text = text[:1].upper() + text[1:]
    if not expected_failure(exc):
        text += f" (this is a bug in FaceOrganizer; the details are in {logs.where()})"
    return text


class LibraryWorker(QObject):
    """Runs jobs against its own Library on the thread it was moved to."""

    job_done = Signal(int, str, object)  # job id, kind, result
    job_failed = Signal(int, str, str)  # job id, kind, human message
    progress_ready = Signal()  # take_progress() has a new state
    busy_changed = Signal(bool)

    def __init__(
        self, library_path: str | None, read_only: bool = False, device: str = "auto"
    ) -> None:
        super().__init__()
        self.library_path = library_path
        self.read_only = read_only
        self.device = device
        self.cancel_event = threading.Event()
        self.pause_event = threading.Event()  # set while paused (the scan waits between photos)
        self._library: Library | None = None
        self._progress_lock = threading.Lock()
        self._progress_queued = False
        self._latest: ScanProgress | None = None

    def library(self) -> Library:
        if self._library is None:
            from faceorganizer.services.library import Library

            self._library = Library.open(
                self.library_path, read_only=self.read_only, device=self.device
            )
        return self._library

    @Slot(str)
    def use_device(self, device: str) -> None:
        """The device of the Library this worker opens, and of the one it has open."""
        self.device = device
        if self._library is not None:
            self._library.device = device

    @Slot(int, str, object)
    def run_job(self, job_id: int, kind: str, job: Job) -> None:
        self.busy_changed.emit(True)
        try:
            result = job(self.library())
        except Exception as exc:
            if expected_failure(exc):
                log.warning("%s job failed: %s", kind, exc)
            else:
                log.exception("%s job failed", kind)
            self.job_failed.emit(job_id, kind, user_message(exc))
        else:
            self.job_done.emit(job_id, kind, result)
        finally:
            self.busy_changed.emit(False)

    def report(self, progress: ScanProgress) -> None:
        """The scan's progress callback (scan thread): keeps the latest state and signals only
        when the GUI has taken the previous one, so a burst of photos never floods the event
        loop and the last state is always what is shown."""
        with self._progress_lock:
            self._latest = replace(progress)
            if self._progress_queued:
                return
            self._progress_queued = True
        self.progress_ready.emit()

    def take_progress(self) -> ScanProgress | None:
        with self._progress_lock:
            self._progress_queued = False
            latest, self._latest = self._latest, None
        return latest

    def interrupt(self) -> None:
        """Abort the query running now (thread-safe; for read-only workers)."""
        lib = self._library
        conn = getattr(getattr(lib, "db", None), "conn", None)
        if conn is not None:
            conn.interrupt()

    @Slot()
    def close_library(self) -> None:
        if self._library is not None:
            close = getattr(self._library, "close", None)
            if close:
                close()
            self._library = None


class WorkerHandle(QObject):
    """The GUI side of one worker thread: submit jobs, get callbacks on the GUI thread."""

    _submit = Signal(int, str, object)
    _set_device = Signal(str)
    _close = Signal()
    progress = Signal(object)
    busy_changed = Signal(bool)
    job_done = Signal(int, str, object)
    job_failed = Signal(int, str, str)

    _ids = itertools.count(1)

    def __init__(
        self,
        library_path: str | None,
        name: str,
        read_only: bool = False,
        parent: QObject | None = None,
        device: str = "auto",
    ) -> None:
        super().__init__(parent)
        self.worker_thread = QThread()
        self.worker_thread.setObjectName(name)
        self.worker = LibraryWorker(library_path, read_only, device)
        self.worker.moveToThread(self.worker_thread)
        self._submit.connect(self.worker.run_job)
        self._set_device.connect(self.worker.use_device)
        self._close.connect(self.worker.close_library)
        self.worker.job_done.connect(self._on_done)
        self.worker.job_failed.connect(self._on_failed)
        self.worker.progress_ready.connect(self._on_progress_ready)
        self.worker.busy_changed.connect(self._on_busy)
        self._callbacks: dict[
            int, tuple[Callable[[Any], None] | None, Callable[[str], None] | None]
        ]
        self._callbacks = {}
        self._busy = 0
        self.worker_thread.start()

    @property
    def library_path(self) -> str | None:
        return self.worker.library_path

    def submit(
        self,
        kind: str,
        job: Job,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> int:
        job_id = next(self._ids)
        self._callbacks[job_id] = (on_done, on_error)
        self._busy += 1
        self._submit.emit(job_id, kind, job)
        return job_id

    def pending(self) -> int:
        """Jobs submitted and not finished yet."""
        return self._busy

    def scan(
        self,
        folders: list[str] | None = None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        run_id: str | None = None,
    ) -> int:
        """Start a scan; progress arrives on ``progress``; ``cancel()`` stops it. ``run_id``
        names the scan's history entry, shared with groupings made while it runs."""
        w = self.worker
        w.cancel_event.clear()
        w.pause_event.clear()

        def job(lib: Any) -> Any:
            return lib.scan(
                folders or None,
                progress=w.report,
                cancel=w.cancel_event,
                pause=w.pause_event,
                run_id=run_id,
            )

        return self.submit("scan", job, on_done, on_error)

    def set_device(self, device: str) -> None:
        """Where this worker's Library computes from its next job on (scans, searches,
        clustering): set once, on the worker's thread, in order with the jobs."""
        self._set_device.emit(device)

    def cancel(self) -> None:
        self.worker.cancel_event.set()
        self.worker.pause_event.clear()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self.worker.pause_event.set()
        else:
            self.worker.pause_event.clear()

    def is_paused(self) -> bool:
        return self.worker.pause_event.is_set()

    def stop(self, timeout_ms: int = 30000) -> bool:
        """Cancel what runs, close the Library on its thread, end the thread; True if it ended."""
        self.cancel()
        if self.worker.read_only:
            self.worker.interrupt()
        self._close.emit()
        self.worker_thread.quit()
        ended = self.worker_thread.wait(timeout_ms)
        return bool(ended)

    @Slot()
    def _on_progress_ready(self) -> None:
        latest = self.worker.take_progress()
        if latest is not None:
            self.progress.emit(latest)

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.busy_changed.emit(busy)

    @Slot(int, str, object)
    def _on_done(self, job_id: int, kind: str, result: object) -> None:
        self._busy -= 1
        on_done, _ = self._callbacks.pop(job_id, (None, None))
        if on_done:
            on_done(result)
        self.job_done.emit(job_id, kind, result)

    @Slot(int, str, str)
    def _on_failed(self, job_id: int, kind: str, message: str) -> None:
        self._busy -= 1
        _, on_error = self._callbacks.pop(job_id, (None, None))
        if on_error:
            on_error(message)
        self.job_failed.emit(job_id, kind, message)
