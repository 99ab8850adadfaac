"""Similar-face search over a library: one in-memory index per Library, kept in step with the
faces table (faces a scan added since are added, deleted ones removed) before each query."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sqlite_utils import Database

from faceorganizer.storage import faces

if TYPE_CHECKING:  # torch loads in seconds: only when the first search runs
    import torch

    from faceorganizer.core.search import SearchIndex


class LibrarySearch:
    """Owns the ``SearchIndex`` of one model's embeddings; used from the Library's thread."""

    def __init__(self, model_id: str, device: torch.device | str = "cpu") -> None:
        self.model_id = model_id
        self.device = device
        self._index: SearchIndex | None = None
        self._ids: set[int] = set()

    def sync(self, db: Database) -> SearchIndex | None:
        """Bring the index up to date with the stored faces of this model; return it."""
        current = faces.ids_of_model(db, self.model_id)
        gone = self._ids - current
        fresh = sorted(current - self._ids)
        if self._index is None:
            if not fresh:
                return None
            from faceorganizer.core.search import SearchIndex

            ids, vectors = self._load(db, fresh)
            if not len(ids):
                return None
            self._index = SearchIndex(vectors.shape[1], device=self.device)
            self._index.add(ids, vectors)
            self._ids = set(ids.tolist())
        else:
            if gone:
                self._index.remove(np.fromiter(gone, np.int64, len(gone)))
                self._ids -= gone
            if fresh:
                ids, vectors = self._load(db, fresh)
                if len(ids):
                    self._index.add(ids, vectors)
                    self._ids |= set(ids.tolist())
        return self._index

    def _load(self, db: Database, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        out_ids, mats = [], []
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            where = f"id IN ({faces.placeholders(len(chunk))})"
            cid, m = faces.embeddings(db, self.model_id, where, chunk)
            if len(cid):
                out_ids.append(cid)
                mats.append(m)
        if not out_ids:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return np.concatenate(out_ids), np.concatenate(mats)

    def query(
        self, db: Database, vector: np.ndarray, min_cosine: float, limit: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        index = self.sync(db)
        if index is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return index.query(np.asarray(vector, np.float32), min_cosine, limit)
