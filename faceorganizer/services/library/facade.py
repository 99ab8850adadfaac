"""The library use cases behind the CLI and the GUI: open, scan, read, edit, search, export.

``Library`` is a facade: each public method is a one-line forward to the part that owns the
use case (``LibrarySettings``, ``Contents``, ``Scan``, ``Edits``, ``Search``, ``Xmp``,
``Review``, ``Maintenance``), under one error guard: known SQLite and OS failures leave it as
``LibraryError``s, and damage SQLite reports on the way marks the library damaged. The parts
raise plain errors and never guard themselves.

A ``Library`` owns one SQLite connection and is used from one thread. Readers (the GUI thread)
open their own ``Library`` (``read_only=True``); WAL keeps them from waiting on a scan. The
``device`` a Library is opened with is where its scans, searches and clustering compute,
resolved once to a ``torch.device``; the face engine is shared by every Library of the process
(``engines``). Folder paths (a scan's, an XMP import's) are normalised here, once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from faceorganizer.services import quality
from faceorganizer.services.export.export import export_embeddings, export_library
from faceorganizer.services.library import engines
from faceorganizer.services.library import file as library_file
from faceorganizer.services.library.contents import Contents
from faceorganizer.services.library.file import default_library_path
from faceorganizer.services.library.maintenance import BackupReport, CheckReport, Maintenance
from faceorganizer.services.library.settings import LibrarySettings
from faceorganizer.services.people.library_edits import Edits
from faceorganizer.services.review.library_review import Review
from faceorganizer.services.scan.files import normalise
from faceorganizer.services.scan.library_scan import Scan
from faceorganizer.services.search.library_search import Search
from faceorganizer.services.types import (
    ClusterChanges,
    EditInfo,
    ExportSummary,
    FaceInfo,
    ImageFace,
    PersonInfo,
    PhotoInfo,
    ScanProgress,
    ScanSummary,
    SearchHit,
    Suggestion,
    XmpImportSummary,
    XmpWriteSummary,
)
from faceorganizer.services.xmp.library_xmp import Xmp
from faceorganizer.storage import locks
from faceorganizer.storage.db import BUSY_TIMEOUT_S

if TYPE_CHECKING:  # torch loads in seconds: the engine only when a scan or search needs it
    import numpy as np
    import torch

    from faceorganizer.core.pipeline import FaceEngine
    from faceorganizer.core.ray_engine import RayOptions
    from faceorganizer.core.types import PhotoEngine

Folders = Iterable[str | os.PathLike[str]]


def _normalised(folders: Folders | None) -> list[str] | None:
    return [normalise(f) for f in folders] if folders is not None else None


@library_file.guard_public_methods
class Library:
    """One photo library (one SQLite file), used from one thread; every public method and
    property runs under ``library_file.known_errors``."""

    def __init__(
        self,
        path: Path,
        db: Database,
        read_only: bool,
        device: str = "auto",
        session: locks.SessionLock | None = None,
    ) -> None:
        self.path = path
        self.db = db
        self.read_only = read_only
        self._device = engines.Device(device)
        self._session = session
        self._settings = LibrarySettings(db, path)
        self._contents = Contents(db)
        self._xmp = Xmp(db, read_only, self.engine, path)
        self._edits = Edits(db, self._xmp, self.torch_device, self._check_now)
        self._scan = Scan(
            db, path, self._settings, self._xmp, self._edits, self.engine, self._check_now
        )
        self._search = Search(db, self.engine, self.torch_device)
        self._review = Review(db, self.torch_device, self._edits.run)
        self._maintenance = Maintenance(db, path)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None = None,
        read_only: bool = False,
        busy_timeout: float = BUSY_TIMEOUT_S,
        device: str = "auto",
        create: bool = True,
    ) -> Library:
        """Open (upgrade in place; create only with ``create``, else ``NotFoundError``) the
        library at ``path`` or the default location; one marked damaged opens only read-only.

        ``busy_timeout``: seconds a write waits for another writer before ``LibraryLockedError``;
        ``device``: where scans, searches and clustering run (``auto|cpu|cuda|mps``).
        """
        p = Path(path).expanduser() if path is not None else default_library_path()
        db, session = library_file.open_database(
            p, read_only=read_only, create=create, busy_timeout=busy_timeout
        )
        library = cls(p, db, read_only, device, session)
        if not read_only:  # faces judged by an older fit are judged again before any read
            try:
                with library_file.known_errors(p):
                    quality.refresh_if_stale(db)
            except BaseException:
                library.close()
                raise
        return library

    def close(self) -> None:
        self._search.close()
        self.db.close()
        if self._session is not None:
            self._session.release()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_now(self) -> None:
        library_file.check_now(self.db, self.path)

    # the device and the engine

    @property
    def device(self) -> str:
        """The device choice (``auto|cpu|cuda|mps``); setting it applies from the next job."""
        return self._device.choice

    @device.setter
    def device(self, choice: str) -> None:
        self._device = engines.Device(choice)

    def torch_device(self) -> torch.device:
        """The device, resolved once; one this machine lacks is a ``LibraryError``."""
        return self._device.resolved()

    def engine(self) -> FaceEngine:
        """The face engine of the library's settings on its device, shared in the process."""
        return self._settings.engine(self.torch_device())

    # settings and folders

    def settings(self) -> dict[str, Any]:
        return self._settings.all()

    def set_setting(self, key: str, value: Any) -> None:
        """Store a setting (declared in ``faceorganizer.config``), checked."""
        return self._settings.set(key, value)

    @property
    def model_id(self) -> str:
        return self._settings.model_id()

    def folders(self) -> list[str]:
        return self._settings.folders()

    def add_folder(self, folder: str | os.PathLike[str]) -> list[str]:
        return self._settings.add_folder(normalise(folder))

    def remove_folder(self, folder: str | os.PathLike[str]) -> list[str]:
        return self._settings.remove_folder(normalise(folder))

    # scanning and clustering

    def scan(
        self,
        folders: Folders | None = None,
        *,
        progress: Callable[[ScanProgress], None] | None = None,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
        cluster: bool = True,
        engine: PhotoEngine | None = None,
        run_id: str | None = None,
        ray: RayOptions | None = None,
    ) -> ScanSummary:
        """Scan ``folders`` (added to the library's), else all its folders (``Scan.scan``)."""
        return self._scan.scan(
            _normalised(folders), engine, progress, cancel, pause, cluster, run_id, ray
        )

    def cluster(
        self, dry_run: bool = False, source: str = "Regroup", run_id: str | None = None
    ) -> ClusterChanges:
        """Place new and unassigned faces into people (faces in a person never move), as one
        history entry named by ``source``; see ``services.people.clustering``. Checked for
        damage first unless ``dry_run``."""
        return self._edits.cluster(dry_run, source, run_id)

    # reading

    def counts(self) -> dict[str, int]:
        return self._contents.counts()

    def people(
        self, include_hidden: bool = False, name_filter: str | None = None
    ) -> list[PersonInfo]:
        return self._contents.people(include_hidden, name_filter)

    def person(self, ref: int | str) -> PersonInfo:
        return self._contents.person(ref)

    def people_named(self, name: str, exclude: int | None = None) -> list[PersonInfo]:
        """Other people with this name (case-insensitive): a rename to it offers a merge."""
        return self._contents.people_named(name, exclude)

    def faces(
        self,
        person_id: int | str | None = None,
        unassigned: bool = False,
        include_hidden: bool = False,
        limit: int | None = None,
        offset: int = 0,
        other: bool = False,
    ) -> list[FaceInfo]:
        return self._contents.faces(person_id, unassigned, include_hidden, limit, offset, other)

    def face_count(
        self,
        person_id: int | str | None = None,
        unassigned: bool = False,
        include_hidden: bool = False,
        other: bool = False,
    ) -> int:
        return self._contents.face_count(person_id, unassigned, include_hidden, other)

    def face(self, face_id: int) -> FaceInfo:
        return self._contents.face(face_id)

    def face_thumbnail(self, face_id: int) -> bytes:
        return self._contents.face_thumbnail(face_id)

    def photo(self, photo_id: int) -> PhotoInfo:
        return self._contents.photo(photo_id)

    def photo_faces(self, photo_id: int) -> list[FaceInfo]:
        return self._contents.photo_faces(photo_id)

    def photo_errors(self) -> list[PhotoInfo]:
        return self._contents.photo_errors()

    # edits (each one undoable edit-log entry)

    def name_person(self, person: int | str, name: str | None) -> EditInfo:
        return self._edits.name_person(person, name)

    def merge_people(self, target: int | str, others: Sequence[int | str]) -> EditInfo:
        return self._edits.merge_people(target, others)

    def move_faces(
        self, face_ids: Sequence[int], to: int | str | None, new_name: str | None = None
    ) -> EditInfo:
        """Move faces to ``to``, or to a new person (named ``new_name`` when given)."""
        return self._edits.move_faces(face_ids, to, new_name)

    def reject_faces(self, face_ids: Sequence[int], from_person: int | str) -> EditInfo:
        return self._edits.reject_faces(face_ids, from_person)

    def confirm_faces(self, face_ids: Sequence[int]) -> EditInfo:
        return self._edits.confirm_faces(face_ids)

    def hide_person(self, person: int | str, hidden: bool = True) -> EditInfo:
        return self._edits.hide_person(person, hidden)

    def hide_faces(self, face_ids: Sequence[int], hidden: bool = True) -> EditInfo:
        return self._edits.hide_faces(face_ids, hidden)

    def set_cover(self, person: int | str, face_id: int) -> EditInfo:
        return self._edits.set_cover(person, face_id)

    def mark_not_face(self, face_ids: Sequence[int], not_face: bool = True) -> EditInfo:
        """Detections that are not faces leave people, search and clustering (undoable)."""
        return self._edits.mark_not_face(face_ids, not_face)

    def undo(self) -> EditInfo | None:
        return self._edits.undo()

    def redo(self) -> EditInfo | None:
        return self._edits.redo()

    def history(self, limit: int | None = 50) -> list[EditInfo]:
        return self._edits.history(limit)

    def next_undo(self) -> EditInfo | None:
        return self._edits.next_undo()

    def next_redo(self) -> EditInfo | None:
        return self._edits.next_redo()

    # similar faces

    def image_faces(self, image: str | os.PathLike[str]) -> list[ImageFace]:
        """The faces of a photo from outside the library, to search with one of them."""
        return self._search.image_faces(image)

    def search(
        self,
        face_id: int | None = None,
        image: str | os.PathLike[str] | None = None,
        face_index: int | None = None,
        threshold: float | None = None,
        limit: int | None = None,
        person: int | str | None = None,
        like_person: int | str | None = None,
    ) -> list[SearchHit]:
        """Faces ranked by the chance that each is the query's person (``Search.search``)."""
        return self._search.search(
            face_id, image, face_index, threshold, limit, person, like_person
        )

    def face_embeddings(self, face_ids: Sequence[int]) -> list[tuple[np.ndarray, str]]:
        """Each face's stored embedding and the model that made it (``faces --embeddings``)."""
        return self._search.face_embeddings(face_ids)

    def export_embeddings(
        self, dest: str | os.PathLike[str], face_ids: Sequence[int], force: bool = False
    ) -> str:
        """These faces' embeddings as a float32 ``.npy`` matrix (``Search.export_embeddings``)."""
        return export_embeddings(
            self.db, self.path, Path(dest).expanduser(), [int(f) for f in face_ids], force
        )

    # the review queue

    def review_queue(
        self, limit: int | None = None, skipped: Iterable[str] = ()
    ) -> list[Suggestion]:
        """The review questions to ask now, best first (``skipped`` ids left out)."""
        return self._review.queue(limit, skipped)

    def review_accept(self, suggestion_id: str, excluded: Sequence[int] = ()) -> EditInfo:
        """Do what the question proposes (``excluded`` faces: "not this person"); one edit."""
        return self._review.accept(suggestion_id, excluded)

    def review_reject(self, suggestion_id: str) -> EditInfo:
        """Record the opposite of what the question proposes, for good; one edit."""
        return self._review.reject(suggestion_id)

    # XMP

    def import_xmp(
        self,
        paths: Folders | None = None,
        *,
        changed_only: bool = False,
        engine: PhotoEngine | None = None,
    ) -> XmpImportSummary:
        """Face names from the XMP of the photos (under ``paths``) as one undoable edit;
        names that disagree with the library are reported, not applied."""
        return self._xmp.import_xmp(_normalised(paths), changed_only, engine)

    def write_xmp(self, person: int | str | None = None) -> XmpWriteSummary:
        """Names of ``person``'s photos (or all) into XMP sidecars; photos are never written."""
        return self._xmp.write_xmp(person)

    # export and maintenance

    def export(
        self,
        dest: str | os.PathLike[str],
        by_person: bool = True,
        mode: str = "link",
        fmt: str | None = None,
        force: bool = False,
        contact_sheet: bool = False,
    ) -> ExportSummary:
        """Person folders, or a faces table (``fmt``); never into the library's folders."""
        return export_library(self.db, self.path, dest, by_person, mode, fmt, force, contact_sheet)

    def check(self) -> CheckReport:
        """A full integrity check; damage marks the library, a clean result clears the mark."""
        return self._maintenance.check()

    def backup(self, dest: str | os.PathLike[str], force: bool = False) -> BackupReport:
        """A checked copy of this library at ``dest`` (works while others read and write)."""
        return self._maintenance.backup(Path(dest), force)
