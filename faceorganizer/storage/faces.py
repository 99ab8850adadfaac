"""Rows of the faces table (geometry, embedding, thumbnail, assignment) and rejections."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database

from faceorganizer.core.types import EmbeddedFace
from faceorganizer.storage.db import row_id

COLUMNS = (
    "f.id, f.photo_id, p.path, f.x1, f.y1, f.x2, f.y2, f.score, f.quality, f.model_id, "
    "f.person_id, s.name, f.assigned_by, f.hidden, f.not_face, f.quality_signals, "
    "f.quality_recipe, p.width, p.height"
)
# A face the user left without a person (undoing an automatic placement): clustering leaves it.
HELD = "(f.person_id IS NULL AND f.assigned_by IS 'user')"
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
    not_face: int = 0
    quality_signals: str | None = None  # JSON (``core.quality.Signals``)
    quality_recipe: int = 0  # 0: not judged yet
    photo_width: int = 0
    photo_height: int = 0

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def poor(self, bar: float) -> bool:
        """Under the quality bar (a face not judged yet is not)."""
        return self.quality_recipe > 0 and self.quality < bar


@dataclass(frozen=True)
class FaceState:
    """What an edit or a re-clustering may change on a face."""

    person_id: int | None
    assigned_by: str | None
    hidden: int
    not_face: int = 0


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
    signals = None if face.signals is None else json.dumps(face.signals, separators=(",", ":"))
    cur = db.execute(
        "INSERT INTO faces(photo_id, x1, y1, x2, y2, landmarks, score, quality, embedding,"
        " model_id, thumbnail, quality_signals, quality_recipe)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            photo_id,
            *(float(v) for v in d.box),
            lm,
            float(d.score),
            float(face.quality),
            np.asarray(face.embedding, np.float32).tobytes(),
            face.model_id,
            face.thumbnail or None,
            signals,
            int(face.quality_recipe) if face.signals is not None else 0,
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
    select = "SELECT id, person_id, assigned_by, hidden, not_face FROM faces"
    rows = rows_where_in(db, select, "id", face_ids)
    return {r[0]: FaceState(r[1], r[2], int(r[3]), int(r[4])) for r in rows}


def set_state(db: Database, face_id: int, state: FaceState) -> None:
    db.execute(
        "UPDATE faces SET person_id = ?, assigned_by = ?, hidden = ?, not_face = ? WHERE id = ?",
        [state.person_id, state.assigned_by, state.hidden, state.not_face, face_id],
    )


def assign(db: Database, face_ids: Sequence[int], person_id: int | None, by: str | None) -> None:
    db.conn.executemany(
        "UPDATE faces SET person_id = ?, assigned_by = ? WHERE id = ?",
        [(person_id, by if person_id is not None else None, f) for f in face_ids],
    )


def delete(db: Database, face_ids: Sequence[int]) -> None:
    db.conn.executemany("DELETE FROM rejections WHERE face_id = ?", [(f,) for f in face_ids])
    db.conn.executemany(
        "DELETE FROM not_same_faces WHERE face_a = ? OR face_b = ?", [(f, f) for f in face_ids]
    )
    db.conn.executemany("DELETE FROM faces WHERE id = ?", [(f,) for f in face_ids])


def embeddings(
    db: Database, model_id: str, where: str = "1", params: Sequence[object] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """(ids, float32 matrix) of the faces made by ``model_id`` matching ``where`` (never one
    the user said is not a face)."""
    cur = db.execute(
        "SELECT id, embedding FROM faces WHERE model_id = ? AND not_face = 0 "
        f"AND ({where}) ORDER BY id",
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


def listing_filter(
    person_id: int | None,
    unassigned: bool,
    include_hidden: bool,
    bar: float | None = None,
    poor: bool = False,
) -> tuple[str, list[object]]:
    """The WHERE clause (over ``faces f``) of a face listing and its parameters. With a
    quality ``bar``, unassigned faces are those at or above it, or with ``poor`` those under it
    (the "Other faces")."""
    where: list[str] = ["f.not_face = 0"]
    params: list[object] = []
    if person_id is not None:
        where.append("f.person_id = ?")
        params.append(person_id)
    if unassigned:
        where.append("f.person_id IS NULL")
        if bar is not None:
            where.append(POOR if poor else f"NOT {POOR}")
            params.append(bar)
    if not include_hidden:
        where.append("f.hidden = 0")
    return " AND ".join(where), params


def listing(
    db: Database,
    person_id: int | None = None,
    unassigned: bool = False,
    include_hidden: bool = False,
    limit: int | None = None,
    offset: int = 0,
    bar: float | None = None,
    poor: bool = False,
) -> list[FaceRow]:
    """Faces of a person (or unassigned ones), in id order, one page at a time."""
    where, params = listing_filter(person_id, unassigned, include_hidden, bar, poor)
    suffix = "ORDER BY f.id"
    if limit is not None or offset:
        suffix += f" LIMIT {int(limit) if limit is not None else -1} OFFSET {int(offset)}"
    return rows(db, where, params, suffix)


def listing_count(
    db: Database,
    person_id: int | None = None,
    unassigned: bool = False,
    include_hidden: bool = False,
    bar: float | None = None,
    poor: bool = False,
) -> int:
    where, params = listing_filter(person_id, unassigned, include_hidden, bar, poor)
    return int(db.execute(f"SELECT count(*) FROM faces f WHERE {where}", params).fetchone()[0])


def count(db: Database) -> int:
    """Faces, without the detections the user said are not faces."""
    return int(db.execute("SELECT count(*) FROM faces WHERE not_face = 0").fetchone()[0])


POOR = "(f.quality_recipe > 0 AND f.quality < ?)"


def count_unassigned(db: Database, bar: float = 0.0) -> int:
    """Visible faces in no person at or above the quality ``bar`` (the "Faces without a
    person" count)."""
    sql = (
        "SELECT count(*) FROM faces f WHERE person_id IS NULL AND hidden = 0 AND not_face = 0 "
        f"AND NOT {POOR}"
    )
    return int(db.execute(sql, [bar]).fetchone()[0])


def count_other(db: Database, bar: float) -> int:
    """Visible faces in no person under the quality ``bar`` (the "Other faces" count)."""
    sql = (
        "SELECT count(*) FROM faces f WHERE person_id IS NULL AND hidden = 0 AND not_face = 0 "
        f"AND {POOR}"
    )
    return int(db.execute(sql, [bar]).fetchone()[0])


def embedding_of(db: Database, face_id: int) -> tuple[np.ndarray, str] | None:
    """One face's embedding and the id of the model that made it."""
    row = db.execute("SELECT embedding, model_id FROM faces WHERE id = ?", [face_id]).fetchone()
    return None if row is None else (np.frombuffer(row[0], np.float32), str(row[1]))


def vectors_of(db: Database, face_ids: Iterable[int]) -> dict[int, tuple[np.ndarray, str]]:
    """Embeddings (and the model that made each) of these faces, by face id."""
    found = rows_where_in(db, "SELECT id, embedding, model_id FROM faces", "id", face_ids)
    return {int(f): (np.frombuffer(e, np.float32), str(m)) for f, e, m in found}


def ids_of_model(db: Database, model_id: str) -> set[int]:
    """The searchable faces of a model (not those the user said are not faces)."""
    sql = "SELECT id FROM faces WHERE model_id = ? AND not_face = 0"
    return {r[0] for r in db.execute(sql, [model_id])}


def persons_of_model(
    db: Database, model_id: str, bar: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(face ids, person ids with -1 for none, under the quality ``bar``) of a model's
    searchable faces, in id order."""
    sql = (
        f"SELECT id, person_id, {POOR} FROM faces f WHERE model_id = ? AND not_face = 0 ORDER BY id"
    )
    found = db.execute(sql, [bar, model_id]).fetchall()
    ids = np.fromiter((r[0] for r in found), np.int64, len(found))
    pids = np.fromiter((-1 if r[1] is None else r[1] for r in found), np.int64, len(found))
    poor = np.fromiter((bool(r[2]) for r in found), bool, len(found))
    return ids, pids, poor


@dataclass(frozen=True)
class ClusterRows:
    """The faces of one model clustering may place or compare with, as parallel arrays: visible,
    faces, and not left without a person by the user."""

    face_ids: np.ndarray  # int64 (n,)
    embeddings: np.ndarray  # float32 (n, dims)
    photo_ids: np.ndarray  # int64 (n,)
    person_ids: np.ndarray  # int64 (n,), -1 where unassigned
    pinned: np.ndarray  # bool (n,): assigned by the user
    scores: np.ndarray  # float64 (n,): detection score
    quality: np.ndarray  # float64 (n,): 0..1 (``core.quality``)
    judged: np.ndarray  # bool (n,): the quality is computed (else unknown yet)


def for_clustering(db: Database, model_id: str) -> ClusterRows:
    found = db.execute(
        "SELECT id, embedding, photo_id, person_id, assigned_by, score, quality, quality_recipe"
        f" FROM faces f WHERE model_id = ? AND hidden = 0 AND not_face = 0 AND NOT {HELD}"
        " ORDER BY id",
        [model_id],
    ).fetchall()
    n = len(found)
    emb = np.stack([np.frombuffer(r[1], np.float32) for r in found]) if n else np.zeros((0, 0))
    return ClusterRows(
        face_ids=np.array([r[0] for r in found], np.int64),
        embeddings=emb.astype(np.float32, copy=False),
        photo_ids=np.array([r[2] for r in found], np.int64),
        person_ids=np.array([-1 if r[3] is None else r[3] for r in found], np.int64),
        pinned=np.array([r[4] == "user" for r in found], bool),
        scores=np.array([r[5] for r in found], np.float64),
        quality=np.array([r[6] for r in found], np.float64),
        judged=np.array([r[7] > 0 for r in found], bool),
    )


def clear_person(db: Database, person_id: int) -> None:
    """Take every face out of a person (before the person is deleted)."""
    db.execute(
        "UPDATE faces SET person_id = NULL, assigned_by = NULL WHERE person_id = ?", [person_id]
    )


def pin(db: Database, face_ids: Iterable[int]) -> None:
    """Mark faces as placed by the user (re-clustering never moves them)."""
    db.conn.executemany(
        "UPDATE faces SET assigned_by = 'user' WHERE id = ?", [(f,) for f in face_ids]
    )


def set_not_face(db: Database, face_ids: Iterable[int], not_face: bool) -> None:
    """Mark detections as not faces (taken out of their person too), or as faces again."""
    if not_face:
        db.conn.executemany(
            "UPDATE faces SET not_face = 1, person_id = NULL, assigned_by = NULL WHERE id = ?",
            [(f,) for f in face_ids],
        )
    else:
        db.conn.executemany("UPDATE faces SET not_face = 0 WHERE id = ?", [(f,) for f in face_ids])


def set_hidden(db: Database, face_ids: Iterable[int], hidden: bool) -> None:
    db.conn.executemany(
        "UPDATE faces SET hidden = ? WHERE id = ?", [(int(hidden), f) for f in face_ids]
    )


def clear_rejections(db: Database, face_ids: Iterable[int]) -> None:
    db.conn.executemany("DELETE FROM rejections WHERE face_id = ?", [(f,) for f in face_ids])


def rejected_from(db: Database, person_ids: Sequence[int]) -> list[int]:
    """Faces the user said are not one of these persons."""
    found = rows_where_in(db, "SELECT face_id FROM rejections", "person_id", person_ids)
    return [int(r[0]) for r in found]
