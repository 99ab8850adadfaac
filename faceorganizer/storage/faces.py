"""Rows of the faces table (geometry, embedding, thumbnail, assignment) and rejections."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database

from faceorganizer.core.types import EmbeddedFace
from faceorganizer.storage.db import row_id

COLUMNS = (
    "f.id, f.photo_id, p.path, f.x1, f.y1, f.x2, f.y2, f.score, f.quality, f.model_id, "
    "f.person_id, s.name, f.assigned_by, f.hidden"
)
FROM = "faces f JOIN photos p ON p.id = f.photo_id LEFT JOIN persons s ON s.id = f.person_id"


@dataclass(frozen=True)
class FaceRow:
    id: int
    photo_id: int
    photo_path: str
    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    quality: float
    model_id: str
    person_id: int | None
    person_name: str | None
    assigned_by: str | None
    hidden: int

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


@dataclass(frozen=True)
class FaceState:
    """What an edit or a re-clustering may change on a face."""

    person_id: int | None
    assigned_by: str | None
    hidden: int


def placeholders(n: int) -> str:
    return ",".join("?" * n)


def rows_where_in(db: Database, select: str, column: str, ids: Iterable[int]) -> Iterator[tuple]:
    """``select ... WHERE column IN (ids)`` in chunks below SQLite's bound-parameter limit."""
    ids = list(ids)
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        sql = f"{select} WHERE {column} IN ({placeholders(len(chunk))})"
        yield from db.execute(sql, chunk).fetchall()


def insert(db: Database, photo_id: int, face: EmbeddedFace) -> int:
    d = face.detection
    lm = None if d.landmarks is None else np.asarray(d.landmarks, np.float32).tobytes()
    cur = db.execute(
        "INSERT INTO faces(photo_id, x1, y1, x2, y2, landmarks, score, quality, embedding,"
        " model_id, thumbnail) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            photo_id,
            *(float(v) for v in d.box),
            lm,
            float(d.score),
            float(face.quality),
            np.asarray(face.embedding, np.float32).tobytes(),
            face.model_id,
            face.thumbnail or None,
        ],
    )
    return row_id(cur)


def rows(
    db: Database, where: str = "1", params: Sequence[object] = (), suffix: str = ""
) -> list[FaceRow]:
    cur = db.execute(f"SELECT {COLUMNS} FROM {FROM} WHERE {where} {suffix}", list(params))
    return [FaceRow(*r) for r in cur.fetchall()]


def get(db: Database, face_id: int) -> FaceRow | None:
    found = rows(db, "f.id = ?", [face_id])
    return found[0] if found else None


def existing_ids(db: Database, face_ids: Iterable[int]) -> list[int]:
    ids = list(face_ids)
    if not ids:
        return []
    cur = db.execute(f"SELECT id FROM faces WHERE id IN ({placeholders(len(ids))})", ids)
    return sorted(r[0] for r in cur.fetchall())


def of_photo(db: Database, photo_id: int) -> list[FaceRow]:
    return rows(db, "f.photo_id = ?", [photo_id], "ORDER BY f.x1")


def ids_of_person(db: Database, person_id: int) -> list[int]:
    cur = db.execute("SELECT id FROM faces WHERE person_id = ? ORDER BY id", [person_id])
    return [r[0] for r in cur.fetchall()]


def states(db: Database, face_ids: Iterable[int]) -> dict[int, FaceState]:
    rows = rows_where_in(db, "SELECT id, person_id, assigned_by, hidden FROM faces", "id", face_ids)
    return {fid: FaceState(pid, by, int(hidden)) for fid, pid, by, hidden in rows}


def set_state(db: Database, face_id: int, state: FaceState) -> None:
    db.execute(
        "UPDATE faces SET person_id = ?, assigned_by = ?, hidden = ? WHERE id = ?",
        [state.person_id, state.assigned_by, state.hidden, face_id],
    )


def assign(db: Database, face_ids: Sequence[int], person_id: int | None, by: str | None) -> None:
    db.conn.executemany(
        "UPDATE faces SET person_id = ?, assigned_by = ? WHERE id = ?",
        [(person_id, by if person_id is not None else None, f) for f in face_ids],
    )


def delete(db: Database, face_ids: Sequence[int]) -> None:
    db.conn.executemany("DELETE FROM rejections WHERE face_id = ?", [(f,) for f in face_ids])
    db.conn.executemany("DELETE FROM faces WHERE id = ?", [(f,) for f in face_ids])


def embeddings(
    db: Database, model_id: str, where: str = "1", params: Sequence[object] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """(ids, float32 matrix) of the faces made by ``model_id`` matching ``where``."""
    cur = db.execute(
        f"SELECT id, embedding FROM faces WHERE model_id = ? AND ({where}) ORDER BY id",
        [model_id, *params],
    )
    data = cur.fetchall()
    if not data:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    ids = np.fromiter((r[0] for r in data), np.int64, len(data))
    return ids, np.stack([np.frombuffer(r[1], np.float32) for r in data])


def thumbnail(db: Database, face_id: int) -> bytes | None:
    row = db.execute("SELECT thumbnail FROM faces WHERE id = ?", [face_id]).fetchone()
    return None if row is None else (row[0] or b"")


def rejections_of(db: Database, face_ids: Iterable[int]) -> set[tuple[int, int]]:
    rows = rows_where_in(db, "SELECT face_id, person_id FROM rejections", "face_id", face_ids)
    return {(int(f), int(p)) for f, p in rows}


def all_rejections(db: Database) -> set[tuple[int, int]]:
    cur = db.execute("SELECT face_id, person_id FROM rejections")
    return {(int(f), int(p)) for f, p in cur.fetchall()}


def add_rejections(db: Database, pairs: Iterable[tuple[int, int]]) -> None:
    db.conn.executemany("INSERT OR IGNORE INTO rejections(face_id, person_id) VALUES (?, ?)", pairs)


def remove_rejections(db: Database, pairs: Iterable[tuple[int, int]]) -> None:
    db.conn.executemany("DELETE FROM rejections WHERE face_id = ? AND person_id = ?", pairs)
