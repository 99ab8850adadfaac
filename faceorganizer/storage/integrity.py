"""Is the library file whole? SQLite's own checks, a mark beside a damaged file, and backups.

``quick_check`` (pages and b-trees, about 1 s per GB) runs where it is cheap next to the work:
after an unclean shutdown and before a scan or a re-clustering; ``integrity_check`` (also every
index against its table) and the foreign keys on ``library check``. A damaged library is marked
by ``<library>.damaged`` (a text file with what was found) so that every later writer refuses
it until a check passes again. Backups use SQLite's online backup API: a consistent copy while
other connections read and write.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from faceorganizer.core.reader import ReadRefused, read_file
from faceorganizer.core.writer import (
    WriteRefused,
    clean_stale,
    reason_of,
    temp_path,
    write_file,
)

MAX_PROBLEMS = 20


def quick_check(db: Database) -> list[str]:
    """Problems SQLite's ``quick_check`` finds (empty when the file is whole)."""
    return _pragma_check(db, "quick_check")


def full_check(db: Database) -> list[str]:
    """``integrity_check`` plus foreign keys that point nowhere (empty when all is well)."""
    problems = _pragma_check(db, "integrity_check")
    if problems:
        return problems
    rows = db.execute("PRAGMA foreign_key_check").fetchall()
    for table, rowid, parent, _ in rows[:MAX_PROBLEMS]:
        problems.append(f"row {rowid} of {table} points to a missing row of {parent}")
    return problems


def _pragma_check(db: Database, pragma: str) -> list[str]:
    try:
        rows = db.execute(f"PRAGMA {pragma}({MAX_PROBLEMS})").fetchall()
    except sqlite3.DatabaseError as exc:  # the damage can stop the check itself
        return [str(exc)]
    found = [line for (text,) in rows for line in str(text).splitlines()]
    return [] if found == ["ok"] else [p for p in found if not p.startswith("*** in database")]


def damage_mark(library: Path) -> Path:
    real = Path(os.path.realpath(library))  # one mark whatever name reaches the library
    return real.with_name(real.name + ".damaged")


def recorded_damage(library: Path) -> str | None:
    """What a past check found, while the library is marked damaged. The mark is read like any
    other file (``core.reader``): a pipe, a device or a large file in its place is not read."""
    mark = damage_mark(library)
    try:
        return read_file(mark, "mark").decode("utf-8", "replace").strip() or "?"
    except (FileNotFoundError, NotADirectoryError):
        return None
    except ReadRefused as exc:
        return f"unknown (the mark {mark} is {exc.reason})"
    except OSError:
        return "unknown (the mark cannot be read)"


def mark_damaged(library: Path, problems: list[str]) -> None:
    """Record the damage beside the library (best effort: the disk may be full too), never
    through a link that stands in the mark's place (``core.writer``)."""
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    text = f"{when}\n" + "\n".join(problems[:MAX_PROBLEMS]) + "\n"
    with contextlib.suppress(OSError, WriteRefused):
        write_file(damage_mark(library), text.encode("utf-8"), replace=True)


def clear_damage(library: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        damage_mark(library).unlink()


def _destination_failure(exc: BaseException) -> str | None:
    """Why the copy could not be written, when the destination (not the library, which is only
    read) is at fault: its disk is full, or the file cannot be made there."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL:
        return "the disk is full"
    if code == sqlite3.SQLITE_CANTOPEN:
        return "it cannot be created there (a folder you may not write to?)"
    return reason_of(exc) if isinstance(exc, OSError) else None


def backup(db: Database, dest: Path, before_replace: Callable[[], None] | None = None) -> list[str]:
    """Copy the open library to ``dest`` with SQLite's online backup (one consistent snapshot,
    other connections keep working), check the copy, and only then move it into place (after
    ``before_replace``, which may refuse by raising).

    Returns the copy's ``quick_check`` problems; a copy with problems is left beside ``dest``
    as ``<dest>.part`` for inspection, never in its place.
    """
    part = temp_path(dest)
    clean_stale(dest.parent)
    try:
        target = sqlite3.connect(part)
        try:
            db.conn.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
            problems = _pragma_check(Database(target), "quick_check")
        finally:
            target.close()
    except BaseException as exc:
        for leftover in (part, part.with_name(part.name + "-journal")):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        reason = _destination_failure(exc)
        if reason is None:
            raise
        raise WriteRefused(dest, reason) from None
    if problems:
        os.replace(part, dest.with_name(dest.name + ".part"))
        return problems
    try:
        with open(part, "rb") as f:
            os.fsync(f.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(part, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(part)
        raise
    return []
