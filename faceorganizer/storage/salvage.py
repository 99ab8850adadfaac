"""Copying what is still readable out of a damaged library file into a fresh one.

Rows are read by rowid window; a window that hits a damaged page is split in halves until the
readable rows around the damage are in and only the unreadable ones are left. Text that is no
longer UTF-8 is kept with replacement characters; rows that no longer fit (a face without its
photo, an embedding of a broken length) are dropped at the end, so the copy passes SQLite's
integrity and foreign-key checks. Python's ``sqlite3`` has no ``.recover``; this is the part of
it a FaceOrganizer library needs.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

log = logging.getLogger(__name__)

# Parents before children, so the foreign keys can be checked once at the end; every other table
# of the schema ("not the same" answers, the XMP sync state, tables of later migrations) follows.
FIRST = ("settings", "persons", "photos", "faces", "rejections", "edits")
_OWN = frozenset({"_sqlite_migrations", "sqlite_sequence", "sqlite_stat1"})


def tables(db: Database) -> list[str]:
    """Every table of the library's schema that holds the user's data, parents first."""
    names = [t for t in db.table_names() if t not in _OWN and not t.startswith("sqlite_")]
    return [t for t in FIRST if t in names] + sorted(t for t in names if t not in FIRST)


WINDOW = 512
_NO_LIMIT = 1 << 31


@dataclass
class TableSalvage:
    table: str
    copied: int = 0
    dropped: int = 0  # read, but not consistent with the rest (see ``_drop_misfits``)
    expected: int | None = None  # the damaged file's own count, when it can still give one


def salvage(source: Path, dest: Database) -> list[TableSalvage]:
    """Copy every readable row of ``source`` (opened read-only) into ``dest``, a new library
    with the current schema and no rows yet."""
    con = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    con.text_factory = lambda b: b.decode("utf-8", "replace")
    dest.conn.execute("PRAGMA foreign_keys = OFF")
    report = []
    try:
        for table in tables(dest):
            report.append(_copy_table(con, dest, table))
        dest.conn.commit()
        for item in report:
            item.dropped = _drop_misfits(dest, item.table)
        for table, n in _drop_dangling(dest).items():
            for item in report:
                if item.table == table:
                    item.dropped += n
        for item in report:
            item.copied -= item.dropped
        dest.conn.commit()
    finally:
        dest.conn.execute("PRAGMA foreign_keys = ON")
        con.close()
    return report


def _columns(con: sqlite3.Connection, db: Database, table: str) -> list[str]:
    try:
        theirs = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
    except sqlite3.DatabaseError:
        return []
    ours = {c.name for c in db[table].columns}
    return [c for c in theirs if c in ours]


def _copy_table(con: sqlite3.Connection, dest: Database, table: str) -> TableSalvage:
    item = TableSalvage(table)
    cols = _columns(con, dest, table)
    if not cols:
        log.warning("salvage: table %s cannot be read at all", table)
        return item
    item.expected = _scalar(con, f"SELECT count(*) FROM {table}")
    top = _scalar(con, f"SELECT coalesce(max(rowid), 0) FROM {table}")
    if top is None:  # the table's last pages are damaged: look further, faster while empty
        top = _scalar(con, "SELECT seq FROM sqlite_sequence WHERE name = ?", table) or _NO_LIMIT
    names = ", ".join(cols)
    insert = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' * len(cols))})"
    select = f"SELECT rowid, {names} FROM {table} WHERE rowid BETWEEN ? AND ?"
    lo, step = 1, WINDOW
    while lo <= top:
        hi = min(top, lo + step - 1)
        copied = _copy_range(con, dest, select, insert, lo, hi)
        item.copied += copied
        step = WINDOW if copied else min(step * 2, 1 << 24)
        lo = hi + 1
    return item


def _copy_range(
    con: sqlite3.Connection, dest: Database, select: str, insert: str, lo: int, hi: int
) -> int:
    try:
        rows = con.execute(select, (lo, hi)).fetchall()
    except sqlite3.DatabaseError:
        if lo >= hi:
            return 0
        mid = (lo + hi) // 2
        return _copy_range(con, dest, select, insert, lo, mid) + _copy_range(
            con, dest, select, insert, mid + 1, hi
        )
    before = dest.conn.total_changes
    dest.conn.executemany(insert, [row[1:] for row in rows])
    copied = dest.conn.total_changes - before
    if len(rows) < hi - lo + 1 and lo < hi and hi - lo < WINDOW:
        # A damaged page can also end a range early with no error at all (a cell pointing
        # outside its page reads as a far rowid): the rowids not returned are looked at again,
        # in halves, down to one (a window holds at most WINDOW, so this stays bounded).
        for a, b in _runs(lo, hi, {row[0] for row in rows}):
            if (a, b) != (lo, hi):
                copied += _copy_range(con, dest, select, insert, a, b)
            else:
                mid = (a + b) // 2
                copied += _copy_range(con, dest, select, insert, a, mid)
                copied += _copy_range(con, dest, select, insert, mid + 1, b)
    return copied


def _runs(lo: int, hi: int, present: set[int]) -> list[tuple[int, int]]:
    """The runs of rowids from ``lo`` to ``hi`` not in ``present``."""
    runs: list[tuple[int, int]] = []
    start = None
    for rowid in range(lo, hi + 2):
        missing = rowid <= hi and rowid not in present
        if missing and start is None:
            start = rowid
        elif not missing and start is not None:
            runs.append((start, rowid - 1))
            start = None
    return runs


def _scalar(con: sqlite3.Connection, sql: str, *params: object) -> int | None:
    """One number, or None when the damage (or its absence) keeps SQLite from giving it."""
    try:
        row = con.execute(sql, params).fetchone()
    except sqlite3.DatabaseError:
        return None
    return int(row[0]) if row and row[0] is not None else None


_MISFITS = {
    "photos": ["DELETE FROM photos WHERE typeof(path) != 'text' OR status NOT IN ('ok', 'error')"],
    "faces": [
        "DELETE FROM faces WHERE photo_id NOT IN (SELECT id FROM photos)"
        " OR typeof(embedding) != 'blob' OR length(embedding) = 0 OR length(embedding) % 4 != 0",
    ],
    "rejections": ["DELETE FROM rejections WHERE face_id NOT IN (SELECT id FROM faces)"],
    "edits": ["DELETE FROM edits WHERE json_valid(payload) = 0"],
}


def _drop_dangling(db: Database) -> dict[str, int]:
    """Rows whose foreign keys point nowhere (in any table), dropped until none is left: a
    dropped face takes its rejections with it, and so on. Returns how many per table."""
    dropped: dict[str, int] = {}
    while True:
        rows = db.conn.execute("PRAGMA foreign_key_check").fetchall()
        if not rows:
            return dropped
        for table, rowid, _parent, _fk in rows:
            db.conn.execute(f"DELETE FROM [{table}] WHERE rowid = ?", [rowid])
            dropped[table] = dropped.get(table, 0) + 1


def _drop_misfits(db: Database, table: str) -> int:
    """Remove rows that no longer fit the rest; faces keep going without a lost person."""
    before = db.conn.total_changes
    for sql in _MISFITS.get(table, []):
        db.conn.execute(sql)
    dropped = db.conn.total_changes - before
    if table == "faces":
        db.conn.execute(
            "UPDATE faces SET person_id = NULL, assigned_by = NULL "
            "WHERE person_id IS NOT NULL AND person_id NOT IN (SELECT id FROM persons)"
        )
    return dropped
