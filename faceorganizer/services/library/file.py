"""Opening a library file: created only when asked, upgraded in place, checked after an unclean
shutdown, and never written to while it is marked damaged.

Threading: called on the thread that will own the returned connection.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import platformdirs
from sqlite_utils import Database

from faceorganizer.core.reader import ReadRefused, not_a_file, open_file
from faceorganizer.core.writer import reason_of
from faceorganizer.services.errors import LibraryCorruptError, LibraryError, NotFoundError
from faceorganizer.storage import integrity, migrations
from faceorganizer.storage.db import connect
from faceorganizer.storage.db import known_errors as _sqlite_known_errors
from faceorganizer.storage.locks import SessionLock, beside

log = logging.getLogger(__name__)

LIBRARY_ENV = "FACEORGANIZER_LIBRARY"


def default_library_path() -> Path:
    """``$FACEORGANIZER_LIBRARY``, else ``library.sqlite3`` in the user's data folder."""
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("FaceOrganizer")) / "library.sqlite3"


def damaged_error(path: Path, recorded: str) -> LibraryCorruptError:
    """The message for a library marked damaged: what was found and how to recover."""
    lines = recorded.splitlines()
    found = lines[1] if len(lines) > 1 else lines[0] if lines else "unknown damage"
    return LibraryCorruptError(
        f"the library {path} is damaged ({found}); to protect it, nothing more is written to "
        f"it. To recover, run `faceorganizer library recover NEW_FILE --library {path}` "
        "(it copies everything still readable into a new library), or copy a backup over it; "
        "then `faceorganizer library check` clears this state"
    )


@contextlib.contextmanager
def known_errors(path: Path) -> Iterator[None]:
    """Known failures as ``LibraryError``s; damage SQLite reports on the way marks the library,
    so that no later writer adds to it."""
    try:
        with _sqlite_known_errors(path):
            yield
    except LibraryCorruptError as exc:
        if not isinstance(exc.__cause__, sqlite3.DatabaseError):
            raise
        integrity.mark_damaged(path, [str(exc.__cause__)])
        raise damaged_error(path, "\n" + str(exc.__cause__)) from exc


class _HasPath(Protocol):
    path: Path


T = TypeVar("T")
C = TypeVar("C", bound=type)


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def wrapper(self: _HasPath, *args: Any, **kwargs: Any) -> T:
        with known_errors(self.path):
            return method(self, *args, **kwargs)

    return wrapper


def guard_public_methods(cls: C) -> C:
    """One error guard, ``known_errors(self.path)``, around every public method and property
    of a class (the ``Library`` facade), so that no method can be left without it."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or isinstance(member, (classmethod, staticmethod)):
            continue
        if isinstance(member, property) and member.fget is not None:
            setattr(cls, name, property(_guarded(member.fget), member.fset))
        elif callable(member):
            setattr(cls, name, _guarded(member))
    return cls


def check_now(db: Database, path: Path) -> None:
    """``quick_check`` before a write-heavy job; a damaged file is marked and refused."""
    with known_errors(path):
        problems = integrity.quick_check(db)
    if problems:
        log.error("library %s is damaged: %s", path, "; ".join(problems))
        integrity.mark_damaged(path, problems)
        raise damaged_error(path, integrity.recorded_damage(path) or "\n" + problems[0])


def _wal_has_data(path: Path) -> bool:
    try:
        return path.with_name(path.name + "-wal").stat().st_size > 0
    except OSError:
        return False


def open_database(
    path: Path, *, read_only: bool, create: bool, busy_timeout: float
) -> tuple[Database, SessionLock]:
    """The library's connection and the session lock the ``Library`` holds while open."""
    exists = path.exists()
    if not exists and not create:
        raise NotFoundError(
            f"no library at {path}; a scan creates one (faceorganizer scan FOLDER --library {path})"
        )
    if exists or path.is_symlink():
        check_companions(path)
        check_library_file(path, create and not read_only)
    recorded = integrity.recorded_damage(path)
    if recorded is not None and not read_only:
        raise damaged_error(path, recorded)
    unclean = _wal_has_data(path)
    if read_only and (not exists or _needs_upgrade(path, busy_timeout)):
        _writable(path, busy_timeout).close()
    db = connect(path, read_only=True, timeout=busy_timeout) if read_only else None
    db = db or _writable(path, busy_timeout)
    session = SessionLock(path)
    try:
        with known_errors(path):
            migrations.check_not_newer(db)
        if session.acquire() and unclean:
            log.info("library %s was not closed cleanly: checking it", path)
            if read_only:
                _check_and_mark(db, path)
            else:
                check_now(db, path)
    except BaseException:
        session.release()
        db.close()
        raise
    return db, session


def _check_and_mark(db: Database, path: Path) -> None:
    """``check_now`` for a reader: the damage is recorded, reading goes on."""
    try:
        check_now(db, path)
    except LibraryCorruptError as exc:
        log.warning("%s", exc)


def _writable(path: Path, busy_timeout: float) -> Database:
    db = connect(path, timeout=busy_timeout)
    try:
        with known_errors(path):
            _check_is_library(db, path)
            migrations.upgrade(db)
    except BaseException:
        db.close()
        raise
    return db


def _needs_upgrade(path: Path, busy_timeout: float) -> bool:
    db = connect(path, read_only=True, timeout=busy_timeout)
    try:
        with known_errors(path):
            return migrations.needs_upgrade(db)
    finally:
        db.close()


def check_companions(path: Path) -> None:
    """Refuse a library whose WAL, shared memory or rollback journal is not a plain file. SQLite
    opens those itself, not through ``core.reader``: a pipe there would hang every command
    (SQLite reads a journal it finds), a link would be written through."""
    real = Path(os.path.realpath(path))
    for suffix in ("-wal", "-shm", "-journal"):
        companion = real.with_name(real.name + suffix)
        what = not_a_file(companion)
        if what is None:
            continue
        raise LibraryError(
            f"cannot open the library {path}: {companion}, a file SQLite keeps beside it, is "
            f"{what}, not a regular file; nothing was read or written (remove it, then try again)"
        )


def check_library_file(path: Path, create: bool = False) -> None:
    """Refuse, before anything is written to it, a file that is not a FaceOrganizer library: a
    pipe or a device, a file of another kind (a photo, a text), another program's SQLite
    database, an empty file. A new library is only created where no file is (or, with
    ``create``, where a process of ours was killed while creating it: an empty file beside our
    session lock)."""
    try:
        with open_file(path, "library") as f:
            header = f.read(16)
    except ReadRefused as exc:
        raise LibraryError(f"{path} is not a library file: {exc.reason}") from None
    except OSError as exc:
        raise LibraryError(f"cannot open the library {path}: {reason_of(exc)}") from None
    if not header:
        if create and beside(path, ".lock").exists():
            return  # ours, left empty by a process killed while creating it
        raise LibraryCorruptError(
            f"{path} is an empty file, not a FaceOrganizer library; nothing was written to it "
            "(remove it, and a scan creates a library there)"
        )
    if header != b"SQLite format 3\x00":
        raise LibraryCorruptError(
            f"the library file is damaged or not a FaceOrganizer library ({path}: not an SQLite "
            "file); nothing was written to it"
        )
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return  # damaged: told apart (and recovered) by the checks that follow
    if "_sqlite_migrations" in tables:
        return
    what = "is an SQLite file but not a FaceOrganizer library" if tables else "is an empty database"
    raise LibraryCorruptError(f"{path} {what}; nothing was written to it")


def _check_is_library(db: Database, path: Path) -> None:
    tables = set(db.table_names())
    ours = "_sqlite_migrations" in tables and migrations.applied_names(db)
    if tables and not ours:
        raise LibraryCorruptError(f"{path} is an SQLite file but not a FaceOrganizer library")
