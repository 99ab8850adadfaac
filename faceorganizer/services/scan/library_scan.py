"""The ``Library``'s scan part: one scan holds the scan lock, checks the file, stores what the
engine finds (``scanner``), reads the names of the photos whose XMP changed, and places the new
faces into people as one history entry.

Runs on the Library's thread; folders arrive normalised (the ``Library`` does that once).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlite_utils import Database

from faceorganizer.services.errors import LibraryError
from faceorganizer.services.scan import scanner
from faceorganizer.services.types import ClusterChanges, ScanProgress, ScanSummary, XmpImportSummary
from faceorganizer.storage import locks, settings

if TYPE_CHECKING:
    from faceorganizer.core.pipeline import FaceEngine
    from faceorganizer.core.types import PhotoEngine


# What a scan needs of the Library's other parts (``LibrarySettings``, ``Xmp``, ``Edits``).


class Folders(Protocol):
    def scan_roots(self, roots: list[str] | None) -> list[str]: ...


class Names(Protocol):
    def import_after_scan(
        self,
        roots: list[str],
        engine: Callable[[], PhotoEngine],
        progress: Callable[[int, int], None],
        cancel: threading.Event,
    ) -> XmpImportSummary | None: ...


class Grouping(Protocol):
    def cluster(
        self, dry_run: bool, source: str, run_id: str | None, checked: bool = False
    ) -> ClusterChanges: ...


class Scan:
    """Scans folders into the library."""

    def __init__(
        self,
        db: Database,
        path: Path,
        folders: Folders,
        xmp: Names,
        edits: Grouping,
        engine: Callable[[], FaceEngine],
        check: Callable[[], None],
    ) -> None:
        self.db = db
        self.path = path
        self._folders = folders
        self._xmp = xmp
        self._edits = edits
        self._engine = engine
        self._check = check

    def scan(
        self,
        folders: list[str] | None,
        engine: PhotoEngine | None,
        progress: Callable[[ScanProgress], None] | None,
        cancel: threading.Event | None,
        pause: threading.Event | None,
        cluster: bool,
        run_id: str | None,
    ) -> ScanSummary:
        """Scan ``folders`` (added to the library's folders) or all the library's folders, with
        ``engine`` (else the shared one, loaded only when a photo needs it). ``progress`` is
        called on this thread, ``cancel`` stops after the photos in flight, ``pause`` holds the
        engine. New faces are placed at the end unless cancelled or ``cluster`` is False, as one
        "Scan: ..." history entry that groupings made while the scan runs
        (``cluster(source="Scan", run_id=...)``) share."""
        roots = self._folders.scan_roots(folders)
        make: Callable[[], PhotoEngine] = self._engine if engine is None else lambda: engine
        cancel = cancel or threading.Event()
        report = progress or (lambda _p: None)
        model_id = str(settings.get(self.db, "model_id"))
        made_by = getattr(engine, "model_id", model_id)
        if made_by != model_id:  # its vectors would be stored as another model's
            raise LibraryError(f"the engine runs {made_by}, the library holds {model_id}")
        with locks.scan_lock(self.path):
            self._check()
            summary = scanner.run_scan(
                self.db, roots, make, model_id, progress=progress, cancel=cancel, pause=pause
            )
            if not summary.cancelled:

                def names(done: int, total: int) -> None:
                    report(ScanProgress(total=total, done=done, phase="names"))

                summary.xmp = self._xmp.import_after_scan(roots, make, names, cancel)
                summary.cancelled = summary.xmp is not None and cancel.is_set()
            if cluster and not summary.cancelled:
                report(ScanProgress(phase="clustering"))
                run = run_id or uuid.uuid4().hex
                changes = self._edits.cluster(False, "Scan", run, checked=True)
                summary.placed = changes.edit.description if changes.edit else None
        report(ScanProgress(phase="done"))
        return summary
