"""Clustering and search at library scale, on synthetic embeddings with real structure.

Synthetic persons: centroids drawn from a Gaussian fitted to the real person centroids of
``lfw_dev`` + ``lfw_strangers`` (our engine's embeddings), faces = centroid + a real
within-person residual (face minus its person's mean) from ``lfw_dev``, renormalised. Person
sizes are heavy-tailed, with 15 % of faces strangers seen once.

Each clustering size runs in its own subprocess so its peak RSS is its own. Baselines in the same
run: plain HDBSCAN (min_cluster_size 2) at 10k, and a numpy brute-force search (full argsort).

    .venv/bin/python benchmarks/scale.py [--sizes 10000,100000] [--search 100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from quality_data import load_faces

from faceorganizer.core.clustering import ClusterInput, cluster_thresholds, recluster
from faceorganizer.core.knn import knn
from faceorganizer.core.models.registry import calibration_for
from faceorganizer.core.search import SearchIndex

HERE = Path(__file__).resolve().parent


def real_structure(model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centroids of real persons, residuals within real persons, dims)."""
    fs = load_faces({"lfw_crop", "lfw_stranger"}, model, quiet=True)
    rows = fs.labelled()
    emb, label = fs.embeddings[rows], fs.label[rows]
    names, inv, counts = np.unique(label, return_inverse=True, return_counts=True)
    cents = np.zeros((len(names), emb.shape[1]), np.float64)
    np.add.at(cents, inv, emb)
    cents /= counts[:, None]
    resid = emb[counts[inv] >= 2] - cents[inv[counts[inv] >= 2]]
    resid *= np.sqrt(counts[inv[counts[inv] >= 2]] / (counts[inv[counts[inv] >= 2]] - 1))[:, None]
    return cents, resid, np.asarray(emb.shape[1])


def synthetic(n: int, model: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings (n, d) float32 unit, true person per face)."""
    cents, resid, _ = real_structure(model)
    rng = np.random.default_rng(seed)
    mean, cov = cents.mean(axis=0), np.cov(cents.T)
    sizes: list[int] = []
    strangers = int(0.15 * n)
    while sum(sizes) < n - strangers:
        sizes.append(int(min(2 + rng.lognormal(1.6, 1.1), 2000)))
    sizes[-1] -= sum(sizes) - (n - strangers)
    sizes = [s for s in sizes if s > 0] + [1] * strangers
    person_cent = rng.multivariate_normal(mean, cov, size=len(sizes))
    person_cent /= np.linalg.norm(person_cent, axis=1, keepdims=True)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    emb = person_cent[truth] + resid[rng.integers(0, len(resid), size=n)]
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return emb.astype(np.float32), truth


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cluster_child(n: int, model: str, method: str) -> dict[str, float]:
    from cluster_quality import bcubed_prf, pairwise_prf, singletons

    emb, truth = synthetic(n, model)
    base_rss = peak_rss_mb()
    t0 = time.perf_counter()
    if method == "ours":
        labels = recluster(
            ClusterInput(
                embeddings=emb,
                person=np.full(n, -1, np.int64),
                pinned=np.zeros(n, bool),
                photo=np.arange(n, dtype=np.int64),
            )
        ).labels
    else:
        import hdbscan

        labels = hdbscan.HDBSCAN(min_cluster_size=2).fit_predict(emb.astype(np.float64))
    seconds = time.perf_counter() - t0
    pred = singletons(labels)
    return {
        "seconds": seconds,
        "peak_mb": peak_rss_mb(),
        "data_mb": base_rss,
        "pair_p": pairwise_prf(truth, pred)[0],
        "b3_f": bcubed_prf(truth, pred)[2],
    }


def run_child(n: int, model: str, method: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(n), "--model", model, "--method", method],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def knn_recall(n: int, model: str, above: float, probes: int = 500) -> float:
    """Share of the exact 16 nearest neighbours at or above cosine ``above`` that the inverted
    file finds."""
    emb, _ = synthetic(n, model)
    idx, sim = knn(emb, 16)
    rng = np.random.default_rng(1)
    sample = rng.choice(n, size=probes, replace=False)
    exact = emb[sample] @ emb.T
    exact[np.arange(probes), sample] = -2
    found = total = 0
    for k, row in enumerate(sample.tolist()):
        top = np.argsort(-exact[k])[:16]
        top = set(top[exact[k, top] >= above].tolist())
        total += len(top)
        found += len(top & set(idx[row][sim[row] >= above].tolist()))
    return found / max(total, 1)


def search_latency(n: int, model: str, queries: int = 50) -> None:
    emb, _ = synthetic(min(n, 200_000), model)
    reps = -(-n // len(emb))
    rng = np.random.default_rng(2)
    full = np.concatenate([emb] + [emb[rng.permutation(len(emb))] for _ in range(reps - 1)])[:n]
    index = SearchIndex(full.shape[1], "cpu")
    for start in range(0, n, 100_000):
        index.add(np.arange(start, min(n, start + 100_000)), full[start : start + 100_000])
    qs = emb[rng.choice(len(emb), size=queries, replace=False)]
    for name, fn in (
        ("ours, limit 200", lambda q: index.query(q, limit=200)),
        ("ours, >= 65 %", lambda q: index.query(q, min_cosine=0.80)),
        ("numpy argsort", lambda q: np.argsort(-(full @ q))[:200]),
    ):
        fn(qs[0])
        times = []
        for q in qs:
            t0 = time.perf_counter()
            fn(q)
            times.append(time.perf_counter() - t0)
        p50, p95 = np.percentile(times, 50) * 1000, np.percentile(times, 95) * 1000
        print(f"search {n:>9,d} {name:18s} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms")
        if name == "ours, limit 200":
            ours_p50 = p50
        if name == "numpy argsort":
            print(f"search {n:>9,d} numpy p50 / ours p50 = {p50 / ours_p50:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="dlib-resnet-v1")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--search", default="100000,1000000")
    ap.add_argument("--child", type=int, default=None)
    ap.add_argument("--method", default="ours")
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(cluster_child(args.child, args.model, args.method)))
        return
    load_faces({"lfw_crop", "lfw_stranger"}, args.model)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for n in sizes:
        ours = run_child(n, args.model, "ours")
        print(
            f"cluster {n:>7,d} ours     {ours['seconds']:7.1f} s  peak {ours['peak_mb']:7.0f} MB "
            f"(data {ours['data_mb']:.0f} MB)  pairP {ours['pair_p']:.4f}  B3F {ours['b3_f']:.4f}"
        )
        if n <= 10_000:
            base = run_child(n, args.model, "hdbscan")
            print(
                f"cluster {n:>7,d} HDBSCAN  {base['seconds']:7.1f} s  "
                f"peak {base['peak_mb']:7.0f} MB"
                f"  pairP {base['pair_p']:.4f}  B3F {base['b3_f']:.4f}"
            )
            ratio = base["seconds"] / ours["seconds"]
            print(f"cluster {n:>7,d} HDBSCAN time / ours time = {ratio:.1f}x")
        if n == 100_000:
            ok = ours["seconds"] <= 60 and ours["peak_mb"] <= 4096
            print(f"goal 100k <= 60 s and <= 4 GB: {'met' if ok else 'NOT met'}")
    if max(sizes, default=0) > 20_000:
        cut = cluster_thresholds(calibration_for(args.model))["cluster_cosine"]
        for above in (cut, 0.8):
            print(
                f"kNN recall (inverted file vs exact, cos >= {above:.4f}) at {max(sizes):,d}: "
                f"{knn_recall(max(sizes), args.model, above):.4f}"
            )
    for n in [int(s) for s in args.search.split(",") if s]:
        search_latency(n, args.model)


if __name__ == "__main__":
    main()
