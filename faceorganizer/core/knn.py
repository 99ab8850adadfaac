"""Nearest neighbours by cosine over unit embeddings: exact by chunked matrix product for
moderate sizes, faiss's inverted-file index (``IndexIVFFlat``) beyond.

Clustering builds its kNN graph with this; ``core.search`` answers single queries by brute force.
The exact path runs on the given torch device (CPU when None); the inverted file runs on the CPU
(faiss-cpu), on all the cores OpenMP sees.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

log = logging.getLogger(__name__)

EXACT_KNN_MAX = 20_000
IVF_CELL_SIZE = 512
# Cells probed per query: the recall of the exact neighbours above the cluster cut is measured in
# benchmarks/scale.py (1M faces: see docs/BENCHMARKS.md).
IVF_PROBES = 12
IVF_TRAIN_PER_CELL = 64
IVF_TRAIN_ITERATIONS = 10
CHUNK_ROWS = 4096


def knn(
    base: np.ndarray, k: int, queries: np.ndarray | None = None, device: torch.device | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """k nearest ``base`` rows by cosine for each query (default: each base row, itself left
    out): (indices, cosines), each (n, k), best first; missing entries are -1 and -2.0.

    Exact by chunked matrix product up to ``EXACT_KNN_MAX`` base rows; beyond, faiss's inverted
    file (k-means cells, each query probing its ``IVF_PROBES`` nearest cells), which finds the
    close neighbours that clustering uses at a fraction of the cost (recall in the scale benchmark).
    """
    exclude_self = queries is None
    q = base if queries is None else queries
    kk = min(k, len(base) - (1 if exclude_self else 0))
    if kk <= 0 or len(q) == 0:
        return np.full((len(q), 0), -1, np.int64), np.full((len(q), 0), -2.0, np.float32)
    if len(base) > EXACT_KNN_MAX:
        return _ivf_knn(base, None if exclude_self else q, kk)
    b = as_tensor(base, device)
    qt = b if exclude_self else as_tensor(q, device)
    return exact_knn(qt, b, kk, exclude_self, np.arange(len(q)))


def as_tensor(x: np.ndarray, device: torch.device | None) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    return t if device is None else t.to(device)


def exact_knn(
    q: torch.Tensor, b: torch.Tensor, k: int, exclude_self: bool, q_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``q_rows``: the base row of each query, used to leave a row out of its own results."""
    n = len(q)
    k = min(k, len(b))
    idx = np.empty((n, k), np.int64)
    sim = np.empty((n, k), np.float32)
    with torch.inference_mode():
        for start in range(0, n, CHUNK_ROWS):
            stop = min(n, start + CHUNK_ROWS)
            s = q[start:stop] @ b.T
            if exclude_self:
                s[torch.arange(stop - start), torch.from_numpy(q_rows[start:stop])] = -2.0
            top_s, top_i = torch.topk(s, k, dim=1)
            idx[start:stop] = top_i.cpu().numpy()
            sim[start:stop] = top_s.cpu().numpy()
    if exclude_self:
        idx[sim <= -2.0] = -1
    return idx, sim


def ivf_index(base: np.ndarray) -> object:
    """A faiss inverted file over ``base`` (inner product): cells of about ``IVF_CELL_SIZE``
    rows from k-means on a seeded sample, vectors held as float16 (half the memory read per
    probe, the same neighbours found: measured in benchmarks/scale.py), ``IVF_PROBES`` cells
    probed per query."""
    import faiss  # imported only when a library is this large

    x = np.ascontiguousarray(base, dtype=np.float32)
    dims, cells = x.shape[1], max(2, len(x) // IVF_CELL_SIZE)
    index = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dims),
        dims,
        cells,
        faiss.ScalarQuantizer.QT_fp16,
        faiss.METRIC_INNER_PRODUCT,
        False,  # vectors as they are, not residuals from their cell's centroid
    )
    index.cp.seed = 0
    index.cp.niter = IVF_TRAIN_ITERATIONS
    index.cp.max_points_per_centroid = IVF_TRAIN_PER_CELL
    index.cp.min_points_per_centroid = 1
    index.train(x)
    index.add(x)
    index.nprobe = min(IVF_PROBES, cells)
    return index


def _ivf_knn(base: np.ndarray, queries: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``queries`` None: every base row, itself left out. Cosines are recomputed exactly (in
    float32) for the neighbours found, and the neighbours ordered by them."""
    b = np.ascontiguousarray(base, dtype=np.float32)
    exclude_self = queries is None
    q = b if queries is None else np.ascontiguousarray(queries, dtype=np.float32)
    index = ivf_index(b)
    _, idx = index.search(q, k + 1 if exclude_self else k)  # type: ignore[attr-defined]
    idx = idx.astype(np.int64)
    if exclude_self:
        own = idx == np.arange(len(q))[:, None]
        own[~own.any(axis=1), -1] = True  # not found: drop the weakest instead
        idx = idx[~own].reshape(len(q), k)
    sim = np.full(idx.shape, -2.0, np.float32)
    for start in range(0, len(q), CHUNK_ROWS):
        rows = idx[start : start + CHUNK_ROWS]
        found = rows >= 0
        dots = np.einsum("ikd,id->ik", b[np.maximum(rows, 0)], q[start : start + len(rows)])
        sim[start : start + len(rows)] = np.where(found, dots, -2.0)
    order = np.argsort(-sim, axis=1, kind="stable")
    idx, sim = np.take_along_axis(idx, order, axis=1), np.take_along_axis(sim, order, axis=1)
    idx[sim <= -2.0] = -1
    return idx, sim
