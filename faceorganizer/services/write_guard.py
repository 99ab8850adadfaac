"""What an export, a backup or a recovery must never write onto: the library file and the files
SQLite and FaceOrganizer keep beside it, the library's photos, and (for exports, which a scan
would take for new photos) anything inside the library's scanned folders."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from faceorganizer.core.writer import Guard
from faceorganizer.services.scan.files import stored_path
from faceorganizer.storage import photos, settings

# Beside ``library.sqlite3``: SQLite's WAL, shared memory and journal; our locks and damage mark.
COMPANIONS = ("-wal", "-shm", "-journal", ".lock", ".scan.lock", ".damaged")


def library_files(library: Path) -> dict[str, str]:
    """The library file and its companions -> how a refusal names each."""
    out = {str(library): f"the library {library}"}
    for suffix in COMPANIONS:
        out[str(library.with_name(library.name + suffix))] = f"a file of the library {library}"
    return out


def library_guard(db: Database | None, library: Path, outside_scanned: bool = False) -> Guard:
    """The guard for writes made on behalf of the library at ``library`` (``db`` open on it)."""
    files = library_files(library)
    if db is None:
        return Guard(files=tuple(files), what=files)

    def is_photo(path: str) -> bool:
        return photos.by_path(db, stored_path(path) or path) is not None

    folders = tuple(settings.get(db, "folders") or []) if outside_scanned else ()
    return Guard(files=tuple(files), is_photo=is_photo, folders=folders, what=files)
