"""Rows of the photos table: one per file the library has seen, with its scan outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlite_utils import Database

from faceorganizer.storage.db import row_id

COLUMNS = (
    "id, path, size, mtime, hash, width, height, status, error, model_id, taken_at, recipe,"
    " companions, detector"
)


@dataclass(frozen=True)
class PhotoRow:
    id: int
    path: str
    size: int
    mtime: float
    hash: str | None
    width: int
    height: int
    status: str  # ok | error
    error: str | None
    model_id: str | None
    taken_at: str | None
    recipe: int = 1
    companions: str | None = None  # newline-separated paths of the shot's other files
    detector: int = 1  # the detector recipe that found its faces (``core.detection``)

    @property
    def companion_paths(self) -> tuple[str, ...]:
        return tuple(self.companions.split("\n")) if self.companions else ()


def join_paths(paths: tuple[str, ...] | list[str]) -> str | None:
    """The ``companions`` column's value for these paths."""
    return "\n".join(paths) if paths else None


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _rows(cursor) -> list[PhotoRow]:
    return [PhotoRow(*r) for r in cursor.fetchall()]


def all_photos(db: Database) -> list[PhotoRow]:
    return _rows(db.execute(f"SELECT {COLUMNS} FROM photos"))


def get(db: Database, photo_id: int) -> PhotoRow | None:
    rows = _rows(db.execute(f"SELECT {COLUMNS} FROM photos WHERE id = ?", [photo_id]))
    return rows[0] if rows else None


def by_path(db: Database, path: str) -> PhotoRow | None:
    rows = _rows(db.execute(f"SELECT {COLUMNS} FROM photos WHERE path = ?", [path]))
    return rows[0] if rows else None


def errors(db: Database) -> list[PhotoRow]:
    return _rows(db.execute(f"SELECT {COLUMNS} FROM photos WHERE status = 'error' ORDER BY path"))


def insert(
    db: Database,
    *,
    path: str,
    size: int,
    mtime: float,
    hash: str | None,
    width: int,
    height: int,
    status: str,
    error: str | None,
    model_id: str | None,
    taken_at: str | None = None,
    recipe: int = 1,
    companions: str | None = None,
    detector: int = 1,
) -> int:
    cur = db.execute(
        "INSERT INTO photos(path, size, mtime, hash, width, height, status, error, model_id,"
        " taken_at, recipe, companions, detector, scanned_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            path, size, mtime, hash, width, height, status, error, model_id, taken_at, recipe,
            companions, detector, now(),
        ],
    )  # fmt: skip
    return row_id(cur)


def update(db: Database, photo_id: int, **values: object) -> None:
    values["scanned_at"] = now()
    cols = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"UPDATE photos SET {cols} WHERE id = ?", [*values.values(), photo_id])


def delete(db: Database, photo_id: int) -> None:
    db.execute("DELETE FROM photos WHERE id = ?", [photo_id])


def count(db: Database, status: str | None = None) -> int:
    if status is None:
        return int(db.execute("SELECT count(*) FROM photos").fetchone()[0])
    return int(db.execute("SELECT count(*) FROM photos WHERE status = ?", [status]).fetchone()[0])


def mark_for_detection_without_faces(db: Database) -> int:
    """Photos read without error that hold no face now (after a recovery lost faces): their
    hash and model are cleared, so the next scan detects them again. Returns how many."""
    with db.conn:
        cur = db.conn.execute(
            "UPDATE photos SET hash = NULL, model_id = NULL WHERE status = 'ok' "
            "AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.photo_id = photos.id)"
        )
    return int(cur.rowcount)
