"""Judging faces again (``services.quality``): the rows whose quality an older fit computed,
and writing the new quality back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database


@dataclass(frozen=True)
class StoredFace:
    """What judging a face again needs of its row (``services.quality``)."""

    id: int
    box: tuple[float, float, float, float]
    landmarks: np.ndarray | None  # (5, 2) float32
    score: float
    width: int  # of its photo
    height: int
    thumbnail: bytes
    embedding: np.ndarray


def stale(db: Database, model_id: str, recipe: int, limit: int) -> list[StoredFace]:
    """Up to ``limit`` faces of ``model_id`` whose quality was not computed with ``recipe``."""
    found = db.execute(
        "SELECT f.id, f.x1, f.y1, f.x2, f.y2, f.landmarks, f.score, p.width, p.height,"
        " f.thumbnail, f.embedding FROM faces f JOIN photos p ON p.id = f.photo_id"
        " WHERE f.model_id = ? AND f.quality_recipe != ? ORDER BY f.id LIMIT ?",
        [model_id, recipe, limit],
    ).fetchall()
    return [
        StoredFace(
            r[0],
            (r[1], r[2], r[3], r[4]),
            None if r[5] is None else np.frombuffer(r[5], np.float32).reshape(5, 2),
            float(r[6]),
            int(r[7]),
            int(r[8]),
            r[9] or b"",
            np.frombuffer(r[10], np.float32),
        )  # fmt: skip
        for r in found
    ]


def count_stale(db: Database, model_id: str, recipe: int) -> int:
    sql = "SELECT count(*) FROM faces WHERE model_id = ? AND quality_recipe != ?"
    return int(db.execute(sql, [model_id, recipe]).fetchone()[0])


def set_quality(db: Database, values: Iterable[tuple[int, float, str, int]]) -> None:
    """(face id, quality, signals JSON, recipe) for each face judged again."""
    db.conn.executemany(
        "UPDATE faces SET quality = ?, quality_signals = ?, quality_recipe = ? WHERE id = ?",
        [(q, s, r, f) for f, q, s, r in values],
    )
