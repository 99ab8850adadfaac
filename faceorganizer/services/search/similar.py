"""Similar-face search over a library: one in-memory index per Library, kept in step with the
faces table (faces a scan added since are added, deleted ones removed) before each query.

A query scores every face with person-level evidence and the 1:N percentage
(``core.person_search``), using the faces' people as they are at that moment. The faces and
their people are read again only when the library changed since the last query
(``storage.db.change_stamp``): a 100k-face library's ids cost tens of milliseconds to read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sqlite_utils import Database

from faceorganizer.services import quality
from faceorganizer.storage import faces
from faceorganizer.storage.db import change_stamp

if TYPE_CHECKING:  # torch loads in seconds: only when the first search runs
    import torch

    from faceorganizer.core.search import SearchIndex


Hit = tuple[int, float, float]  # face id, percent, the face's own (mean) cosine to the query


class LibrarySearch:
    """Owns the ``SearchIndex`` of one model's embeddings; used from the Library's thread."""

    def __init__(self, model_id: str, device: torch.device) -> None:
        self.model_id = model_id
        self.device = device
        self._index: SearchIndex | None = None
        self._ids: set[int] = set()
        self._stamp: tuple[int, int] | None = None
        self._people: tuple[np.ndarray, np.ndarray, np.ndarray] = (
            np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool),
        )  # fmt: skip

    def sync(self, db: Database) -> SearchIndex | None:
        """Bring the index (and the faces' people) up to date with the stored faces of this
        model when the library changed; return the index."""
        stamp = change_stamp(db)
        if stamp == self._stamp:
            return self._index
        self._people = faces.persons_of_model(db, self.model_id, quality.bar(db))
        current = set(self._people[0].tolist())
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
        self._stamp = stamp
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

    def by_face(
        self,
        db: Database,
        vector: np.ndarray,
        face_id: int | None,
        threshold: float,
        limit: int | None = None,
        poor_query: bool = False,
    ) -> list[Hit]:
        """Faces like one face (a library face, ``face_id``, left out of the results), at or
        above ``threshold`` percent, best first, at most ``limit``. A query face under the
        quality bar (``poor_query``), like every such result, is never shown above
        ``core.quality.POOR_CEILING``: it is too poor to compare reliably."""
        index = self.sync(db)
        if index is None:
            return []
        ids, cos = index.similarities(np.asarray(vector, np.float32))
        return self._scored(ids, cos, ids == face_id, threshold, limit, poor_query)

    def by_person(
        self, db: Database, person_id: int, threshold: float, limit: int | None = None
    ) -> list[Hit]:
        """Faces like a whole person (its own faces left out), at or above ``threshold``."""
        index = self.sync(db)
        if index is None:
            return []
        members = [f for f in faces.ids_of_person(db, person_id) if f in index]
        if not members:
            return []
        mean = np.mean([index.vector(f) for f in members], axis=0)
        ids, cos = index.similarities(mean, unit=False)
        return self._scored(ids, cos, np.isin(ids, members), threshold, limit)

    def _scored(
        self,
        ids: np.ndarray,
        cos: np.ndarray,
        query: np.ndarray,
        threshold: float,
        limit: int | None,
        poor_query: bool = False,
    ) -> list[Hit]:
        from faceorganizer.core.models.registry import calibration_for, search_calibration_for
        from faceorganizer.core.person_search import score
        from faceorganizer.core.quality import POOR_CEILING

        face_ids, person_ids, poor = self._people
        at = np.clip(np.searchsorted(face_ids, ids), 0, max(len(face_ids) - 1, 0))
        known = (face_ids[at] == ids) if len(face_ids) else np.zeros(len(ids), bool)
        person = np.where(known, person_ids[at] if len(face_ids) else -1, -1)
        poor_hit = known & (poor[at] if len(face_ids) else False)
        ceiling = np.where(poor_hit | poor_query, POOR_CEILING, 100.0)
        rows, pct = score(
            cos,
            person,
            query,
            calibration_for(self.model_id),
            search_calibration_for(self.model_id),
            threshold,
            limit,
            ceiling,
        )
        return [
            (int(ids[r]), float(p), float(cos[r]))
            for r, p in zip(rows.tolist(), pct.tolist(), strict=True)
        ]
