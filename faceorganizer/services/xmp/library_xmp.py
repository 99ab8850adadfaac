"""The ``Library``'s XMP part: reading names from XMP, writing sidecars, and keeping them up to
date after edits, regroupings and their undo.

Runs on the Library's thread; paths arrive normalised (the ``Library`` does that once).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database

from faceorganizer.services.people import edits
from faceorganizer.services.types import EditInfo, XmpImportSummary, XmpWriteSummary
from faceorganizer.services.xmp import sync as xmp_sync
from faceorganizer.storage import edit_log, settings
from faceorganizer.storage.db import transaction

if TYPE_CHECKING:
    from faceorganizer.core.pipeline import FaceEngine
    from faceorganizer.core.types import PhotoEngine

log = logging.getLogger(__name__)


class Xmp:
    """Face names between the library and XMP (``services.xmp.sync``)."""

    def __init__(
        self, db: Database, read_only: bool, engine: Callable[[], FaceEngine], path: Path
    ) -> None:
        self.db = db
        self.read_only = read_only
        self._engine = engine
        self.path = path

    def sidecars_on(self) -> bool:
        return not self.read_only and bool(settings.get(self.db, "xmp_write_sidecars"))

    def write_sidecars(self, photo_ids: Iterable[int]) -> XmpWriteSummary:
        summary = xmp_sync.write_sidecars(self.db, photo_ids)
        for path, reason in summary.errors:
            log.warning("sidecar of %s not updated: %s", path, reason)
        return summary

    def sync_edit(self, info: EditInfo | None) -> None:
        """With ``xmp_write_sidecars`` on, rewrite the sidecars of the photos an edit (or its
        undo/redo) changed; a sidecar that cannot be written is logged, the edit stands."""
        if info is None or not self.sidecars_on():
            return
        row = edit_log.get(self.db, info.edit_id)
        if row is None:
            return
        try:
            self.write_sidecars(xmp_sync.photos_touched_by_edit(self.db, row.payload))
        except Exception:  # the edit is committed: a failing sidecar must not undo it
            log.exception("sidecars after edit %d not updated", info.edit_id)

    def import_xmp(
        self, roots: list[str] | None, changed_only: bool, engine: PhotoEngine | None
    ) -> XmpImportSummary:
        """Names from the XMP of the photos under ``roots`` (all when None) as one edit; a
        region the detector missed is embedded with ``engine`` (else the shared one)."""
        rows = xmp_sync.photos_under(self.db, roots, changed_only)
        make: Callable[[], PhotoEngine] = self._engine if engine is None else lambda: engine
        return xmp_sync.import_regions(self.db, rows, make)

    def import_after_scan(
        self,
        roots: list[str],
        engine: Callable[[], PhotoEngine],
        progress: Callable[[int, int], None],
        cancel: threading.Event,
    ) -> XmpImportSummary | None:
        """With ``xmp_import_on_scan`` on, the names of the scanned photos whose XMP changed."""
        if not settings.get(self.db, "xmp_import_on_scan"):
            return None
        rows = xmp_sync.photos_under(self.db, roots, changed_only=True)
        return xmp_sync.import_regions(self.db, rows, engine, progress, cancel)

    def write_xmp(self, person: int | str | None) -> XmpWriteSummary:
        """Write the names of ``person``'s photos (all named faces of those photos), or of the
        whole library, into XMP sidecars (``photo.jpg.xmp``); photos are never written."""
        pid = edits.resolve_person(self.db, person) if person is not None else None
        with transaction(self.db, self.path):
            # A library that cannot record the write refuses before any sidecar: a write that
            # changes nothing (BEGIN IMMEDIATE alone passes on a read-only file).
            self.db.execute("DELETE FROM settings WHERE 0")
        return self.write_sidecars(xmp_sync.photos_for_write(self.db, pid))
