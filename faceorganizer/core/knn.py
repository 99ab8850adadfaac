"""Nearest neighbours by cosine over unit embeddings: exact by chunked matrix product for
moderate sizes, faiss's inverted file of 4-bit product codes (``IndexIVFPQFastScan``) beyond,
its candidates re-ranked by their exact cosines.

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
IVF_CELL_SIZE = 1024
# Cells probed per query and candidates re-ranked: the recall of the exact neighbours above the
# cluster cut is measured in benchmarks/scale.py (1M faces: see docs/BENCHMARKS.md).
IVF_PROBES = 16
IVF_CANDIDATES = 64
PQ_DIMS_PER_CODE = 4  # each 4 dimensions of a vector held as one 4-bit code
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
    rows from k-means on a seeded sample, each vector held as 4-bit product codes scanned with
    SIMD lookup tables ("fast scan"): about 5x less CPU per query than float16 vectors at the
    same recall once the candidates are re-ranked exactly (benchmarks/scale.py),
    ``IVF_PROBES`` cells probed per query."""
    import faiss  # imported only when a library is this large

    x = np.ascontiguousarray(base, dtype=np.float32)
    dims, cells = x.shape[1], max(2, len(x) // IVF_CELL_SIZE)
    codes = dims // PQ_DIMS_PER_CODE if dims % PQ_DIMS_PER_CODE == 0 else dims
    index = faiss.IndexIVFPQFastScan(
        faiss.IndexFlatIP(dims), dims, cells, codes, 4, faiss.METRIC_INNER_PRODUCT
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
    """``queries`` None: every base row, itself left out. The index's ``IVF_CANDIDATES`` best
    (by their codes) are re-ranked by their exact cosines (float32), and the best ``k`` kept."""
    b = np.ascontiguousarray(base, dtype=np.float32)
    exclude_self = queries is None
    q = b if queries is None else np.ascontiguousarray(queries, dtype=np.float32)
    index = ivf_index(b)
    wide = min(len(b), max(IVF_CANDIDATES, k + 1))
    idx = np.full((len(q), k), -1, np.int64)
    sim = np.full((len(q), k), -2.0, np.float32)
    step = CHUNK_ROWS // 4
    for start in range(0, len(q), step):
        qs = q[start : start + step]
        _, cand = index.search(qs, wide)  # type: ignore[attr-defined]
        cand = cand.astype(np.int64)
        dots = np.einsum("ikd,id->ik", b[np.maximum(cand, 0)], qs)
        dots[cand < 0] = -2.0
        if exclude_self:
            dots[cand == np.arange(start, start + len(qs))[:, None]] = -2.0
        top = np.argsort(-dots, axis=1, kind="stable")[:, :k]
        idx[start : start + len(qs)] = np.take_along_axis(cand, top, axis=1)
        sim[start : start + len(qs)] = np.take_along_axis(dots, top, axis=1)
    idx[sim <= -2.0] = -1
    return idx, sim
