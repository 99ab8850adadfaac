"""Opening the library's SQLite file: WAL, busy timeout, one transaction helper, known errors.

A ``Database`` is used from one thread. Writers take the lock up front (``BEGIN IMMEDIATE``)
and keep transactions short, so readers on other connections never wait on a long scan.
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlite_utils import Database

from faceorganizer.storage.errors import (
    DiskFullError,
    LibraryCorruptError,
    LibraryError,
    LibraryLockedError,
    ReadOnlyLibraryError,
)

BUSY_TIMEOUT_S = 10.0


def translate_error(exc: BaseException, path: str | Path = "") -> LibraryError | None:
    """The ``LibraryError`` a known SQLite/OS failure stands for, or None for a bug."""
    where = f" ({path})" if path else ""
    if isinstance(exc, LibraryError):
        return exc
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return DiskFullError(f"the disk holding the library is full{where}")
    if not isinstance(exc, sqlite3.Error):
        return None
    msg = str(exc).lower()
    code = getattr(exc, "sqlite_errorcode", None)
    if "locked" in msg or "busy" in msg or code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return LibraryLockedError(
            f"the library is in use by another FaceOrganizer process{where}; "
            "close it or wait for its scan to finish"
        )
    if "database or disk is full" in msg or code == sqlite3.SQLITE_FULL:
        return DiskFullError(f"the disk holding the library is full{where}")
    if (
        "not a database" in msg
        or "malformed" in msg
        or code
        in (
            sqlite3.SQLITE_CORRUPT,
            sqlite3.SQLITE_NOTADB,
        )
    ):
        return LibraryCorruptError(
            f"the library file is damaged or not a FaceOrganizer library{where}; "
            "restore a backup or choose another library"
        )
    if "readonly" in msg or "read-only" in msg or code == sqlite3.SQLITE_READONLY:
        return ReadOnlyLibraryError(f"the library is read-only{where}")
    if "unable to open" in msg or code == sqlite3.SQLITE_CANTOPEN:
        return LibraryError(f"cannot open the library{where}: {exc}")
    return None


@contextlib.contextmanager
def known_errors(path: str | Path = "") -> Iterator[None]:
    """Re-raise known SQLite/OS failures as ``LibraryError``; let bugs through untouched."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        mapped = translate_error(exc, path)
        if mapped is None:
            raise
        raise mapped from exc


def connect(path: str | Path, read_only: bool = False, timeout: float = BUSY_TIMEOUT_S) -> Database:
    """Open (creating when writable) the library file in WAL mode with a busy timeout."""
    path = Path(path)
    with known_errors(path):
        if read_only:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=timeout)
        db = Database(conn)
        db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if not read_only:
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                db.execute("PRAGMA journal_mode = wal")
            db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return db


@contextlib.contextmanager
def transaction(db: Database, path: str | Path = "") -> Iterator[Database]:
    """One short write transaction (``BEGIN IMMEDIATE``); nested calls become savepoints."""
    with known_errors(path):
        if db.conn.in_transaction:
            with db.atomic():
                yield db
            return
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
        try:
            db.conn.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise


def row_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just made (always set after a successful insert)."""
    if cursor.lastrowid is None:
        raise RuntimeError("INSERT returned no row id")
    return int(cursor.lastrowid)


def change_stamp(db: Database) -> tuple[int, int]:
    """Changes when anything was written to the library since: by another connection (SQLite's
    ``data_version``) or by this one (its ``total_changes``). Cheap; for caches of table reads."""
    other = int(db.execute("PRAGMA data_version").fetchone()[0])
    return other, int(db.conn.total_changes)
