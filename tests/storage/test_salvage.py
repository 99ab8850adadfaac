"""Recovering a damaged library copies every row SQLite can still read, also where a damaged
page ends a range of rows early without any error (on a real library file, damaged on disk)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from faceorganizer.services.library import Library
from faceorganizer.services.library.maintenance import recover
from faceorganizer.storage import persons
from faceorganizer.storage.db import transaction


def _readable_one_by_one(path: Path, table: str, top: int) -> int:
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    found = 0
    for rowid in range(1, top + 1):
        with contextlib.suppress(sqlite3.DatabaseError):
            found += len(con.execute(f"SELECT * FROM {table} WHERE rowid = ?", [rowid]).fetchall())
    con.close()
    return found


def test_rows_past_a_silently_damaged_page_are_recovered(tmp_path: Path) -> None:
    db = tmp_path / "library.sqlite3"
    with Library.open(db) as lib, transaction(lib.db):
        for i in range(200):
            persons.create(lib.db, f"person {i} " + "x" * 300)
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    leaves = [
        page
        for (page,) in con.execute(
            "SELECT pageno FROM dbstat WHERE name = 'persons' AND pagetype = 'leaf' ORDER BY path"
        )
    ]
    con.close()
    with open(db, "r+b") as f:  # the first leaf's cell pointers now point outside the page
        f.seek((leaves[0] - 1) * page_size + 8)
        f.write(b"\xff" * 64)
    readable = _readable_one_by_one(db, "persons", 200)
    assert 150 < readable < 200

    report = recover(db, tmp_path / "recovered.sqlite3")
    assert report.tables["persons"]["copied"] == readable
    assert report.problems == []
