"""Opening the library's SQLite file: WAL, busy timeout, one transaction helper, known errors.

A ``Database`` is used from one thread. Writers take the lock up front (``BEGIN IMMEDIATE``)
and keep transactions short, so readers on other connections never wait on a long scan.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import shutil
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

log = logging.getLogger(__name__)


# Below this much free space an SQLite I/O error is the disk being full (SQLite reports a full
# disk as SQLITE_FULL only when the database file itself cannot grow; growing the WAL index in
# the -shm file fails as a plain I/O error).
FULL_DISK_BYTES = 1 << 20

_DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _disk_full(path: str | Path) -> bool:
    """Whether the disk holding ``path`` (or its nearest existing folder) is (nearly) full."""
    if not path:
        return False
    folder = Path(path).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free < FULL_DISK_BYTES
    except OSError:
        return False


def _os_error(exc: OSError, path: str | Path, where: str) -> LibraryError:
    if exc.errno in _DISK_FULL_ERRNOS:
        return DiskFullError(f"the disk holding the library is full{where}; free some space")
    if exc.errno == errno.EROFS:
        return ReadOnlyLibraryError(f"the library is on a read-only disk{where}")
    name = exc.filename or path
    if isinstance(exc, NotADirectoryError) or (
        isinstance(exc, FileExistsError) and name and not Path(name).is_dir()
    ):
        return LibraryError(f"cannot use {name}: a part of that path is a file, not a folder")
    reason = (exc.strerror or str(exc)).lower()
    return LibraryError(f"cannot use {name}: {reason}")


def translate_error(exc: BaseException, path: str | Path = "") -> LibraryError | None:
    """The ``LibraryError`` a known SQLite/OS failure stands for, or None for a bug."""
    where = f" ({path})" if path else ""
    if isinstance(exc, LibraryError):
        return exc
    if isinstance(exc, OSError):
        return _os_error(exc, path, where)
    if not isinstance(exc, sqlite3.Error):
        return None
    msg = str(exc).lower()
    code = getattr(exc, "sqlite_errorcode", None)
    name = getattr(exc, "sqlite_errorname", "") or ""
    if "locked" in msg or "busy" in msg or code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return LibraryLockedError(
            f"the library is in use by another FaceOrganizer process{where}; "
            "close it or wait for its scan to finish"
        )
    if "database or disk is full" in msg or code == sqlite3.SQLITE_FULL:
        return DiskFullError(f"the disk holding the library is full{where}; free some space")
    if (
        "not a database" in msg
        or "malformed" in msg
        or "could not decode to utf-8" in msg
        or code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    ):
        return LibraryCorruptError(
            f"the library file is damaged or not a FaceOrganizer library{where}; "
            "restore a backup or choose another library"
        )
    if "readonly" in msg or "read-only" in msg or code == sqlite3.SQLITE_READONLY:
        return ReadOnlyLibraryError(f"the library is read-only{where}")
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in msg:
        if _disk_full(path):
            return DiskFullError(f"the disk holding the library is full{where}; free some space")
        return LibraryError(f"cannot read or write the library{where}: disk I/O error")
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
    """Open (creating when writable) the library file in WAL mode with a busy timeout.

    A read-only open works where SQLite cannot write beside the file (a full disk, a read-only
    folder): the WAL index then lives in memory instead of the ``-shm`` file.
    """
    path = Path(path)
    with known_errors(path):
        if read_only:
            return _with_pragmas(_read_only(path, timeout), timeout, read_only)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=timeout)
        try:
            return _with_pragmas(conn, timeout, read_only)
        except BaseException:
            conn.close()
            raise


def _with_pragmas(conn: sqlite3.Connection, timeout: float, read_only: bool) -> Database:
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


def _read_only(path: Path, timeout: float) -> sqlite3.Connection:
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.Error as exc:
        conn.close()
        name = getattr(exc, "sqlite_errorname", "") or ""
        if not (name.startswith("SQLITE_IOERR") or name.startswith("SQLITE_CANTOPEN")):
            raise
    wal = path.with_name(path.name + "-wal")
    if not wal.exists() or wal.stat().st_size == 0:
        # Nothing waits in a WAL: the file alone is the whole library, read without locks.
        log.info("reading %s without its WAL index (%s)", path, "disk full or read-only")
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=timeout)
    # Committed pages wait in the WAL: exclusive locking keeps the WAL index in heap memory.
    log.info("reading %s with an in-memory WAL index (the -shm file cannot grow)", path)
    conn = sqlite3.connect(str(path), timeout=timeout)
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("PRAGMA query_only = 1")
    return conn


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


@contextlib.contextmanager
def savepoint(db: Database) -> Iterator[None]:
    """A part of the current transaction that can fail alone (rolled back to its start)."""
    db.conn.execute("SAVEPOINT part")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK TO SAVEPOINT part")
            db.conn.execute("RELEASE SAVEPOINT part")
        raise
    db.conn.execute("RELEASE SAVEPOINT part")


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
