"""The edit log: one row per user edit, with the before/after state that undoes and redoes it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from faceorganizer.storage.db import row_id
from faceorganizer.storage.photos import now


@dataclass(frozen=True)
class EditRow:
    id: int
    kind: str
    description: str
    payload: dict[str, Any]
    undone: bool
    created_at: str


def _row(r: tuple) -> EditRow:
    return EditRow(r[0], r[1], r[2], json.loads(r[3]), bool(r[4]), r[5])


COLUMNS = "id, kind, description, payload, undone, created_at"


def append(db: Database, kind: str, description: str, payload: dict[str, Any]) -> EditRow:
    """Record a new edit; edits undone before it can no longer be redone."""
    db.execute("DELETE FROM edits WHERE undone = 1")
    created = now()
    cur = db.execute(
        "INSERT INTO edits(kind, description, payload, undone, created_at) VALUES (?,?,?,0,?)",
        [kind, description, json.dumps(payload), created],
    )
    return EditRow(row_id(cur), kind, description, payload, False, created)


def next_undo(db: Database) -> EditRow | None:
    r = db.execute(
        f"SELECT {COLUMNS} FROM edits WHERE undone = 0 ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return _row(r) if r else None


def next_redo(db: Database) -> EditRow | None:
    r = db.execute(f"SELECT {COLUMNS} FROM edits WHERE undone = 1 ORDER BY id LIMIT 1").fetchone()
    return _row(r) if r else None


def get(db: Database, edit_id: int) -> EditRow | None:
    r = db.execute(f"SELECT {COLUMNS} FROM edits WHERE id = ?", [edit_id]).fetchone()
    return _row(r) if r else None


def set_undone(db: Database, edit_id: int, undone: bool) -> None:
    db.execute("UPDATE edits SET undone = ? WHERE id = ?", [int(undone), edit_id])


def history(db: Database, limit: int | None = 50) -> list[EditRow]:
    sql = f"SELECT {COLUMNS} FROM edits ORDER BY id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [_row(r) for r in db.execute(sql).fetchall()]
