"""Similar-face search: every embedding of a library as one matrix on the device.

Brute force by matrix product is exact and, measured in ``benchmarks/scale.py``, fast enough up
to a million 128-d faces on a laptop CPU, so there is no approximate index to tune or rebuild.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import torch

from faceorganizer.core.device import resolve_device

QUERY_CHUNK_ROWS = 1 << 18


class SearchIndex:
    """Unit embeddings keyed by integer id, answering cosine queries by a matrix product.

    Thread-safety: every method takes an internal lock, so one writer (a scan adding faces) and
    any number of readers may share an index; a query sees the index as it was before or after
    each ``add``/``remove``, never halfway.
    """

    def __init__(self, dims: int, device: torch.device | str = "cpu") -> None:
        self.dims = int(dims)
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self._matrix = torch.empty((0, self.dims), dtype=torch.float32, device=self.device)
        self._ids = np.empty(0, dtype=np.int64)
        self._row_of: dict[int, int] = {}
        self._count = 0
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return self._count

    def __contains__(self, face_id: object) -> bool:
        return face_id in self._row_of

    @property
    def ids(self) -> np.ndarray:
        """The ids held, in row order (a copy)."""
        with self._lock:
            return self._ids[: self._count].copy()

    def _reserve(self, rows: int) -> None:
        capacity = self._matrix.shape[0]
        if rows <= capacity:
            return
        new_capacity = max(rows, 2 * capacity, 1024)
        grown = torch.empty((new_capacity, self.dims), dtype=torch.float32, device=self.device)
        grown[: self._count] = self._matrix[: self._count]
        self._matrix = grown
        ids = np.empty(new_capacity, dtype=np.int64)
        ids[: self._count] = self._ids[: self._count]
        self._ids = ids

    def add(self, ids: Iterable[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace faces; vectors are normalised to unit length here."""
        id_arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        vecs = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dims)
        if len(id_arr) != len(vecs):
            raise ValueError(f"{len(id_arr)} ids for {len(vecs)} vectors")
        if len(np.unique(id_arr)) != len(id_arr):
            raise ValueError("duplicate ids in one add")
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        vecs = vecs / np.maximum(norms, 1e-12)
        with self._lock:
            rows = np.empty(len(id_arr), dtype=np.int64)
            fresh = 0
            for k, face_id in enumerate(id_arr.tolist()):
                row = self._row_of.get(face_id)
                if row is None:
                    row = self._count + fresh
                    fresh += 1
                rows[k] = row
            self._reserve(self._count + fresh)
            for k, face_id in enumerate(id_arr.tolist()):
                self._row_of[face_id] = int(rows[k])
            self._ids[rows] = id_arr
            self._matrix[torch.from_numpy(rows).to(self.device)] = torch.from_numpy(vecs).to(
                self.device
            )
            self._count += fresh

    def remove(self, ids: Iterable[int] | np.ndarray) -> None:
        """Remove faces (unknown ids are ignored); the last rows move into the holes."""
        with self._lock:
            for face_id in np.asarray(list(ids), dtype=np.int64).tolist():
                row = self._row_of.pop(face_id, None)
                if row is None:
                    continue
                last = self._count - 1
                if row != last:
                    moved = int(self._ids[last])
                    self._matrix[row] = self._matrix[last]
                    self._ids[row] = moved
                    self._row_of[moved] = row
                self._count = last

    def clear(self) -> None:
        with self._lock:
            self._row_of.clear()
            self._count = 0

    def vector(self, face_id: int) -> np.ndarray:
        """The stored unit vector of one face (KeyError if absent)."""
        with self._lock:
            row = self._row_of[int(face_id)]
            return self._matrix[row].cpu().numpy().copy()

    def similarities(self, vector: np.ndarray, unit: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(ids, cosines) of every face, in no particular order: one matrix product. With
        ``unit=False`` the vector is used as it is (the mean of several faces' vectors gives each
        face's mean cosine to them)."""
        q = np.asarray(vector, dtype=np.float32).reshape(self.dims)
        if unit:
            q = q / max(float(np.linalg.norm(q)), 1e-12)
        with self._lock:
            n = self._count
            qt = torch.from_numpy(q).to(self.device)
            with torch.inference_mode():
                sims = torch.cat(
                    [
                        self._matrix[start : min(n, start + QUERY_CHUNK_ROWS)] @ qt
                        for start in range(0, n, QUERY_CHUNK_ROWS)
                    ]
                    or [torch.empty(0, device=self.device)]
                )
            return self._ids[:n].copy(), sims.cpu().numpy().astype(np.float32)

    def query(
        self, vector: np.ndarray, min_cosine: float | None = None, limit: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Faces most similar to ``vector``: (ids, cosines), best first.

        ``min_cosine`` keeps only cosines at or above it; ``limit`` keeps the best ``limit``.
        """
        q = np.asarray(vector, dtype=np.float32).reshape(self.dims)
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        with self._lock:
            n = self._count
            if n == 0 or (limit is not None and limit <= 0):
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            qt = torch.from_numpy(q).to(self.device)
            keep = n if limit is None else min(int(limit), n)
            best_rows: list[torch.Tensor] = []
            best_sims: list[torch.Tensor] = []
            with torch.inference_mode():
                for start in range(0, n, QUERY_CHUNK_ROWS):
                    sims = self._matrix[start : min(n, start + QUERY_CHUNK_ROWS)] @ qt
                    rows = None
                    if min_cosine is not None:
                        rows = torch.nonzero(sims >= min_cosine).squeeze(1)
                        sims = sims[rows]
                    if keep < sims.shape[0]:
                        sims, top = torch.topk(sims, keep)
                        rows = top if rows is None else rows[top]
                    if rows is None:
                        rows = torch.arange(sims.shape[0], device=self.device)
                    best_rows.append(rows + start)
                    best_sims.append(sims)
                rows_all = torch.cat(best_rows)
                sims_all = torch.cat(best_sims)
                order = torch.argsort(sims_all, descending=True, stable=True)[:keep]
                rows_np = rows_all[order].cpu().numpy()
                sims_np = sims_all[order].cpu().numpy().astype(np.float32)
            return self._ids[rows_np].copy(), sims_np
