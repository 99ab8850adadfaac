"""The library use cases behind the CLI and the GUI: open, scan, read, edit, search, export.

A ``Library`` owns one SQLite connection and is used from one thread. Readers (the GUI thread)
open their own ``Library`` (``read_only=True``); WAL keeps them from waiting on a scan. The
``device`` a Library is opened with is where its scans, searches and clustering compute; the face
engine is shared by every Library of the process (``services.engines``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import platformdirs
from sqlite_utils import Database

from faceorganizer import config
from faceorganizer.services import quality
from faceorganizer.services.errors import LibraryError, NotFoundError
from faceorganizer.services.library import engines
from faceorganizer.services.library import file as library_file
from faceorganizer.services.library.library_maintenance import MaintenanceMethods
from faceorganizer.services.people import clustering as people
from faceorganizer.services.people import edits
from faceorganizer.services.review.library_review import ReviewMethods
from faceorganizer.services.rows import face_info, person_info
from faceorganizer.services.scan import scanner
from faceorganizer.services.scan.files import normalise
from faceorganizer.services.search.library_search import SearchMethods
from faceorganizer.services.search.query_faces import QueryFaces
from faceorganizer.services.search.similar import LibrarySearch
from faceorganizer.services.types import (
    ClusterChanges,
    EditInfo,
    ExportSummary,
    FaceInfo,
    PersonInfo,
    PhotoInfo,
    ScanProgress,
    ScanSummary,
)
from faceorganizer.services.xmp import sync as xmp_sync
from faceorganizer.services.xmp.library_xmp import XmpMethods
from faceorganizer.storage import faces, locks, persons, photos, settings, sidecars
from faceorganizer.storage.db import BUSY_TIMEOUT_S, transaction

if TYPE_CHECKING:  # torch loads in seconds: the engine only when a scan or search needs it
    import torch

    from faceorganizer.core.pipeline import FaceEngine
    from faceorganizer.core.types import PhotoEngine

LIBRARY_ENV = "FACEORGANIZER_LIBRARY"
T = TypeVar("T")


def default_library_path() -> Path:
    """``$FACEORGANIZER_LIBRARY``, else ``library.sqlite3`` in the user's data folder."""
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("FaceOrganizer")) / "library.sqlite3"


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Known SQLite/OS failures leave a public method as ``LibraryError``s."""

    @functools.wraps(method)
    def wrapper(self: Library, *args: Any, **kwargs: Any) -> T:
        with self._known_errors():
            return method(self, *args, **kwargs)

    return wrapper


class Library(XmpMethods, MaintenanceMethods, ReviewMethods, SearchMethods):
    """One photo library (one SQLite file). Not thread-safe: one thread per instance."""

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
        self.device = device
        self._session = session
        self._search: LibrarySearch | None = None
        self._queries = QueryFaces()

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
        if not read_only:
            with library._known_errors():
                quality.refresh_if_stale(db)
        return library

    def _known_errors(self) -> contextlib.AbstractContextManager[None]:
        return library_file.known_errors(self.path)

    def close(self) -> None:
        self._search = None
        self.db.close()
        if self._session is not None:
            self._session.release()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # settings and folders

    @_guarded
    def settings(self) -> dict[str, Any]:
        return settings.get_all(self.db)

    @_guarded
    def set_setting(self, key: str, value: Any) -> None:
        """Store a library setting (declared in ``faceorganizer.config``); a value that does not
        fit, or an unknown model, is a ``LibraryError`` saying so."""
        try:
            if key == "model_id":
                from faceorganizer.core.models.registry import get_spec

                get_spec(str(value))
            with transaction(self.db, self.path):
                settings.put(self.db, key, value)
        except (config.SettingError, ValueError) as exc:
            raise LibraryError(str(exc)) from None

    @property
    def model_id(self) -> str:
        return str(settings.get(self.db, "model_id"))

    @_guarded
    def folders(self) -> list[str]:
        return list(settings.get(self.db, "folders") or [])

    @_guarded
    def add_folder(self, folder: str | os.PathLike[str]) -> list[str]:
        path = normalise(folder)
        if not os.path.isdir(path):
            raise NotFoundError(f"no such folder: {path}")
        current = self.folders()
        if path not in current:
            self.set_setting("folders", [*current, path])
        return self.folders()

    @_guarded
    def remove_folder(self, folder: str | os.PathLike[str]) -> list[str]:
        path = normalise(folder)
        self.set_setting("folders", [f for f in self.folders() if f != path])
        return self.folders()

    # scanning and clustering

    def torch_device(self) -> torch.device:
        """This Library's device, resolved; a device this machine lacks is a ``LibraryError``."""
        from faceorganizer.core.device import DeviceUnavailableError, resolve_device

        try:
            return resolve_device(self.device)
        except DeviceUnavailableError as exc:
            raise LibraryError(str(exc)) from None

    def engine(self) -> FaceEngine:
        """The face engine for the library's model and minimum face size on this Library's
        device, shared with every other Library of the process."""
        min_size = settings.get(self.db, "min_face_size")
        device = str(self.torch_device())
        return engines.engine_for(self.model_id, device, int(min_size) if min_size else None)

    @_guarded
    def scan(
        self,
        folders: Iterable[str | os.PathLike[str]] | None = None,
        *,
        progress: Callable[[ScanProgress], None] | None = None,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
        cluster: bool = True,
        engine: PhotoEngine | None = None,
        run_id: str | None = None,
    ) -> ScanSummary:
        """Scan ``folders`` (added to the library's folders) or all the library's folders.

        ``progress`` is called on this thread; set ``cancel`` to stop after the photos in
        flight, ``pause`` to hold the engine. New faces are placed into people at the end unless
        cancelled or ``cluster=False``, as one "Scan: ..." history entry; groupings done while the
        scan runs (``cluster(source="Scan", run_id=...)`` with the same ``run_id``) share it.
        """
        if folders is not None:
            for f in folders:
                self.add_folder(f)
            roots = [normalise(f) for f in folders]
        else:
            roots = self.folders()
        if not roots:
            raise LibraryError("no folders to scan: add a folder first")
        cancel = cancel or threading.Event()
        source = self._engine_source(engine)
        with locks.scan_lock(self.path):
            library_file.check_now(self.db, self.path)
            summary = scanner.run_scan(
                self.db, roots, source, self.model_id, progress=progress, cancel=cancel, pause=pause
            )
            if not summary.cancelled and settings.get(self.db, "xmp_import_on_scan"):
                rows = xmp_sync.photos_under(self.db, roots, changed_only=True)

                def names(done: int, total: int) -> None:
                    if progress is not None:
                        progress(ScanProgress(total=total, done=done, phase="names"))

                summary.xmp = xmp_sync.import_regions(self.db, rows, source, names, cancel)
                summary.cancelled = cancel.is_set()
            if cluster and not summary.cancelled:
                if progress is not None:
                    progress(ScanProgress(phase="clustering"))
                changes = self._cluster(False, "Scan", run_id or uuid.uuid4().hex)
                summary.placed = changes.edit.description if changes.edit else None
        if progress is not None:
            progress(ScanProgress(phase="done"))
        return summary

    @_guarded
    def cluster(
        self, dry_run: bool = False, source: str = "Regroup", run_id: str | None = None
    ) -> ClusterChanges:
        """Place new and unassigned faces into people (faces in a person never move), as one
        history entry named by ``source``; see ``services.people``. Checked for damage first
        unless ``dry_run``."""
        if not dry_run:
            library_file.check_now(self.db, self.path)
        return self._cluster(dry_run, source, run_id)

    def _cluster(self, dry_run: bool, source: str, run_id: str | None) -> ClusterChanges:
        changes = people.apply_clustering(
            self.db, dry_run, device=self.torch_device(), source=source, run_id=run_id
        )
        if not dry_run and self._sidecars_on():
            moved = [f for ids in (*changes.joined.values(), *changes.left.values()) for f in ids]
            self._write_sidecars(sidecars.photos_of_faces(self.db, moved))
        return changes

    # reading

    @_guarded
    def counts(self) -> dict[str, int]:
        return {
            "photos": photos.count(self.db),
            "photo_errors": photos.count(self.db, "error"),
            "faces": faces.count(self.db),
            "unassigned": faces.count_unassigned(self.db, quality.bar(self.db)),
            "other": faces.count_other(self.db, quality.bar(self.db)),
            "people": len(persons.summaries(self.db, include_hidden=True)),
            "named": persons.count_named(self.db),
        }

    @_guarded
    def people(
        self, include_hidden: bool = False, name_filter: str | None = None
    ) -> list[PersonInfo]:
        found = persons.summaries(self.db, include_hidden, name_filter)
        return [person_info(s) for s in found]

    @_guarded
    def person(self, ref: int | str) -> PersonInfo:
        pid = edits.resolve_person(self.db, ref)
        found = persons.summaries(self.db, person_id=pid)
        if found:
            return person_info(found[0])
        row = persons.get(self.db, pid)
        assert row is not None
        return PersonInfo(pid, row.name, 0, 0, None, bool(row.hidden))

    def _person_id(self, person: int | str | None) -> int | None:
        return edits.resolve_person(self.db, person) if person is not None else None

    @_guarded
    def faces(
        self,
        person_id: int | str | None = None,
        unassigned: bool = False,
        include_hidden: bool = False,
        limit: int | None = None,
        offset: int = 0,
        other: bool = False,
    ) -> list[FaceInfo]:
        """A person's faces, or those in no person (``unassigned``: at or above the quality bar;
        ``other``: under it, each saying why)."""
        pid = self._person_id(person_id)
        cut = quality.bar(self.db)
        found = faces.listing(
            self.db, pid, unassigned or other, include_hidden, limit, offset,
            cut if unassigned or other else None, other,
        )  # fmt: skip
        return [face_info(r, cut) for r in found]

    @_guarded
    def face_count(
        self,
        person_id: int | str | None = None,
        unassigned: bool = False,
        include_hidden: bool = False,
        other: bool = False,
    ) -> int:
        pid = self._person_id(person_id)
        cut = quality.bar(self.db) if unassigned or other else None
        return faces.listing_count(self.db, pid, unassigned or other, include_hidden, cut, other)

    @_guarded
    def face(self, face_id: int) -> FaceInfo:
        row = faces.get(self.db, int(face_id))
        if row is None:
            raise NotFoundError(f"no face with id {face_id}")
        return face_info(row, quality.bar(self.db))

    @_guarded
    def face_thumbnail(self, face_id: int) -> bytes:
        data = faces.thumbnail(self.db, int(face_id))
        if data is None:
            raise NotFoundError(f"no face with id {face_id}")
        return data

    @_guarded
    def photo(self, photo_id: int) -> PhotoInfo:
        row = photos.get(self.db, int(photo_id))
        if row is None:
            raise NotFoundError(f"no photo with id {photo_id}")
        n = sum(not f.not_face for f in faces.of_photo(self.db, row.id))
        return PhotoInfo(row.id, row.path, row.width, row.height, row.status, row.error, n)

    @_guarded
    def photo_faces(self, photo_id: int) -> list[FaceInfo]:
        cut = quality.bar(self.db)
        return [face_info(r, cut) for r in faces.of_photo(self.db, int(photo_id)) if not r.not_face]

    @_guarded
    def photo_errors(self) -> list[PhotoInfo]:
        return [
            PhotoInfo(r.id, r.path, r.width, r.height, r.status, r.error, 0)
            for r in photos.errors(self.db)
        ]

    # edits (each one undoable edit-log entry)

    def _edit(self, fn: Callable[..., EditInfo], *args: Any) -> EditInfo:
        with self._known_errors():
            info = fn(self.db, *args)
            self._sync_edit(info)
            return info

    def name_person(self, person: int | str, name: str | None) -> EditInfo:
        return self._edit(edits.name_person, person, name)

    def merge_people(self, target: int | str, others: Sequence[int | str]) -> EditInfo:
        return self._edit(edits.merge_people, target, others)

    def move_faces(
        self, face_ids: Sequence[int], to: int | str | None, new_name: str | None = None
    ) -> EditInfo:
        """Move faces to ``to``, or to a new person (named ``new_name`` when given)."""
        return self._edit(edits.move_faces, face_ids, to, new_name)

    def reject_faces(self, face_ids: Sequence[int], from_person: int | str) -> EditInfo:
        return self._edit(edits.reject_faces, face_ids, from_person)

    def confirm_faces(self, face_ids: Sequence[int]) -> EditInfo:
        return self._edit(edits.confirm_faces, face_ids)

    def hide_person(self, person: int | str, hidden: bool = True) -> EditInfo:
        return self._edit(edits.hide_person, person, hidden)

    def hide_faces(self, face_ids: Sequence[int], hidden: bool = True) -> EditInfo:
        return self._edit(edits.hide_faces, face_ids, hidden)

    def set_cover(self, person: int | str, face_id: int) -> EditInfo:
        return self._edit(edits.set_cover, person, face_id)

    def mark_not_face(self, face_ids: Sequence[int], not_face: bool = True) -> EditInfo:
        """Detections that are not faces leave people, search and clustering (undoable)."""
        return self._edit(edits.mark_not_face, face_ids, not_face)

    @_guarded
    def people_named(self, name: str, exclude: int | None = None) -> list[PersonInfo]:
        """Other people with this name (case-insensitive): a rename to it offers a merge."""
        found = [p.id for p in persons.by_name(self.db, name.strip()) if p.id != exclude]
        return [self.person(p) for p in found]

    @_guarded
    def undo(self) -> EditInfo | None:
        info = edits.undo(self.db)
        self._sync_edit(info)
        return info

    @_guarded
    def redo(self) -> EditInfo | None:
        info = edits.redo(self.db)
        self._sync_edit(info)
        return info

    @_guarded
    def history(self, limit: int | None = 50) -> list[EditInfo]:
        return edits.history(self.db, limit)

    @_guarded
    def next_undo(self) -> EditInfo | None:
        return edits.next_undo(self.db)

    @_guarded
    def next_redo(self) -> EditInfo | None:
        return edits.next_redo(self.db)

    # export

    @_guarded
    def export(
        self,
        dest: str | os.PathLike[str],
        by_person: bool = True,
        mode: str = "link",
        fmt: str | None = None,
        force: bool = False,
        contact_sheet: bool = False,
    ) -> ExportSummary:
        """Person folders, or a faces table (``fmt``; replacing a file only with ``force``);
        never inside the library's folders or onto a photo."""
        from faceorganizer.services.export import export

        if fmt is not None:
            return export.export_table(self.db, Path(dest).expanduser(), fmt, force)
        if not by_person:
            raise LibraryError("choose --by-person or --format csv|json")
        return export.export_by_person(self.db, Path(dest).expanduser(), mode, contact_sheet)
