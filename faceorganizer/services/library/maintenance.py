"""Keeping a library whole: a full check, a backup while the app runs, and recovery of what is
still readable from a damaged file.

Threading: each call runs on the caller's thread with its own connections.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from faceorganizer.core.writer import (
    Guard,
    WriteRefused,
    check_target,
    clean_stale,
    make_folder,
    reason_of,
    temp_path,
)
from faceorganizer.services import write_guard
from faceorganizer.services.errors import LibraryError
from faceorganizer.services.library import file as library_file
from faceorganizer.storage import integrity, photos, salvage
from faceorganizer.storage.db import BUSY_TIMEOUT_S, known_errors

log = logging.getLogger(__name__)


@dataclass
class CheckReport:
    library: str
    problems: list[str] = field(default_factory=list)  # empty: the library is whole

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class BackupReport:
    library: str
    dest: str
    size: int = 0


@dataclass
class RecoverReport:
    source: str
    dest: str
    tables: dict[str, dict[str, int | None]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # the new library's own check
    redetect: int = 0  # photos left without faces, marked so the next scan detects them again


def check(db: Database, path: Path) -> CheckReport:
    """SQLite's ``integrity_check`` and foreign keys; damage is marked (writers then refuse the
    library), a clean result clears an earlier mark."""
    with known_errors(path):
        problems = integrity.full_check(db)
    if problems:
        log.error("library %s is damaged: %s", path, "; ".join(problems))
        integrity.mark_damaged(path, problems)
    else:
        integrity.clear_damage(path)
    return CheckReport(str(path), problems)


def backup(db: Database, path: Path, dest: Path, force: bool = False) -> BackupReport:
    """A checked copy of the open library at ``dest`` (a file, or a dated file in a folder);
    another program's file is replaced only with ``force``; the library, its companion files,
    its photos and links never (``core.writer``)."""
    dest = dest.expanduser()
    if dest.is_dir():
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        dest = dest / f"{path.stem}-{stamp}{path.suffix or '.sqlite3'}"
    guard = write_guard.library_guard(db, path)
    try:
        guard.check(dest)
        if os.path.isfile(dest) and not os.path.islink(dest) and not force:
            raise LibraryError(f"{dest} already exists; use --force to replace it")
        check_target(dest, guard, replace=True)
        make_folder(dest.parent, Guard(), chosen=True)
    except WriteRefused as exc:
        raise LibraryError(str(exc)) from None
    try:
        with known_errors(dest):
            problems = integrity.backup(db, dest, lambda: check_target(dest, guard, replace=True))
    except WriteRefused as exc:
        raise LibraryError(str(exc)) from None
    if problems:
        raise LibraryError(
            f"the copy did not pass its check ({problems[0]}); run `faceorganizer library check`"
        )
    return BackupReport(str(path), str(dest), dest.stat().st_size)


def recover(source: Path, dest: Path) -> RecoverReport:
    """Copy everything still readable of the (damaged) library ``source`` into a new library at
    ``dest``; ``source`` is only read. Every table is copied; when faces were lost, the photos
    left without any are marked for detection again (the next scan finds their faces). The new
    library is built under a temporary name and appears at ``dest`` only when complete."""
    dest = dest.expanduser()
    if os.path.lexists(dest):
        raise LibraryError(f"{dest} already exists: recover into a new file")
    if not source.exists():
        raise LibraryError(f"no library at {source}")
    library_file.check_companions(source)
    try:
        write_guard.library_guard(None, source).check(dest)
        make_folder(dest.parent, Guard(), chosen=True)
    except WriteRefused as exc:
        raise LibraryError(str(exc)) from None
    clean_stale(dest.parent)  # what a killed recovery left there
    tmp = temp_path(dest)
    try:  # the destination's own failure, named as such (SQLite says "unable to open")
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        os.unlink(tmp)
    except OSError as exc:
        raise LibraryError(f"cannot write {dest}: {reason_of(exc)}") from None
    db, session = library_file.open_database(
        tmp, read_only=False, create=True, busy_timeout=BUSY_TIMEOUT_S
    )
    report = RecoverReport(str(source), str(dest))
    try:
        with known_errors(dest):
            lost_faces = False
            for item in salvage.salvage(source, db):
                report.tables[item.table] = {
                    "copied": item.copied,
                    "dropped": item.dropped,
                    "expected": item.expected,
                }
                if item.table == "faces":
                    lost_faces = item.dropped > 0 or item.expected != item.copied
            if lost_faces:
                report.redetect = photos.mark_for_detection_without_faces(db)
            report.problems = integrity.full_check(db)
            db.execute("PRAGMA journal_mode = DELETE")  # one file, whole, before it is moved
    finally:
        db.close()
        session.release()
    with known_errors(dest):
        for suffix in ("-wal", "-shm", ".lock"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{tmp}{suffix}")
        if os.path.lexists(dest):
            os.unlink(tmp)
            raise LibraryError(f"{dest} appeared while recovering: recover into a new file")
        os.replace(tmp, dest)
    return report


class Maintenance:
    """The ``Library``'s maintenance part: a full check and a backup of its open file."""

    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.path = path

    def check(self) -> CheckReport:
        return check(self.db, self.path)

    def backup(self, dest: Path, force: bool) -> BackupReport:
        return backup(self.db, self.path, dest, force)
