"""The XMP face-region methods of ``Library`` (``services.library``), kept in their own module:
reading names from XMP, writing sidecars, and keeping them up to date after edits.

A mixin: it relies on the ``Library`` attributes declared below and runs on the Library's thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from faceorganizer.services.people import edits
from faceorganizer.services.scan.files import normalise
from faceorganizer.services.types import EditInfo, XmpImportSummary, XmpWriteSummary
from faceorganizer.services.xmp import sync as xmp_sync
from faceorganizer.storage import edit_log, settings
from faceorganizer.storage.db import known_errors

if TYPE_CHECKING:
    from faceorganizer.core.pipeline import FaceEngine
    from faceorganizer.core.types import PhotoEngine

log = logging.getLogger(__name__)


class XmpMethods:
    path: Path
    db: Database
    read_only: bool

    def engine(self) -> FaceEngine:
        raise NotImplementedError

    def _engine_source(self, engine: PhotoEngine | None) -> Callable[[], Any]:
        """What makes the engine when one is needed: ``engine`` as given, else the shared one."""
        return self.engine if engine is None else lambda: engine

    def _sidecars_on(self) -> bool:
        return not self.read_only and bool(settings.get(self.db, "xmp_write_sidecars"))

    def _write_sidecars(self, photo_ids: Iterable[int]) -> XmpWriteSummary:
        summary = xmp_sync.write_sidecars(self.db, photo_ids)
        for path, reason in summary.errors:
            log.warning("sidecar of %s not updated: %s", path, reason)
        return summary

    def _sync_edit(self, info: EditInfo | None) -> None:
        """With ``xmp_write_sidecars`` on, rewrite the sidecars of the photos an edit (or its
        undo/redo) changed; a sidecar that cannot be written is logged, the edit stands."""
        if info is None or not self._sidecars_on():
            return
        row = edit_log.get(self.db, info.edit_id)
        if row is None:
            return
        try:
            self._write_sidecars(xmp_sync.photos_touched_by_edit(self.db, row.payload))
        except Exception:  # the edit is committed: a failing sidecar must not undo it
            log.exception("sidecars after edit %d not updated", info.edit_id)

    def import_xmp(
        self,
        paths: Iterable[str | os.PathLike[str]] | None = None,
        *,
        changed_only: bool = False,
        engine: PhotoEngine | None = None,
    ) -> XmpImportSummary:
        """Read face names from the XMP of the library's photos (those under ``paths`` when
        given; with ``changed_only``, only photos whose XMP changed since last read). Names arrive
        as one undoable edit; names that disagree with the library are reported, not applied."""
        with known_errors(self.path):
            roots = [normalise(p) for p in paths] if paths is not None else None
            rows = xmp_sync.photos_under(self.db, roots, changed_only)
            return xmp_sync.import_regions(self.db, rows, self._engine_source(engine))

    def write_xmp(self, person: int | str | None = None) -> XmpWriteSummary:
        """Write the names of ``person``'s photos (all named faces of those photos), or of the
        whole library, into XMP sidecars (``photo.jpg.xmp``); photos are never written."""
        with known_errors(self.path):
            pid = edits.resolve_person(self.db, person) if person is not None else None
            return self._write_sidecars(xmp_sync.photos_for_write(self.db, pid))
