"""Scanning on Ray against scanning here, on this machine, and the model of the speed-up.

    .venv/bin/python benchmarks/cluster_scan.py [FOLDER] [--limit N] [--writes N]

1. The same photos scanned into two new libraries (no grouping): locally (``FaceEngine`` with one
   worker per CPU) and through a local Ray cluster of one actor per CPU (``ray.init`` on this
   machine, loopback only). Engine start (torch and the models; for Ray, the actors) is timed
   apart from the photos: the overhead goal (<= 10 %) is on the photos' part.
2. Per-photo cost of each engine stage (summed engine seconds / photos, from the Ray scan).
3. The driver's writing rate: the scanner's store path alone (one transaction per 32 photos, a
   savepoint per photo) with synthetic results shaped like real ones (faces per photo,
   embeddings of the library's model's dimension, thumbnails of the measured size). Goal >= 200
   photos/s.
4. Projected hours for 1M photos on 1, 8 and 32 CPU workers: the measured photos/s of one
   actor times the workers, capped by the measured writing rate. Measured inputs and projected
   outputs are printed as such, as a table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a cluster of this process alone
# Ray starts its workers at niceness 15: on a machine shared with other work they then get a
# fraction of the CPU that a local scan gets (measured here at load 14: 2x slower per photo).
# Comparing like with like, the local cluster's workers run at the scan's own niceness.
os.environ.setdefault("RAY_worker_niceness", "0")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

import numpy as np  # noqa: E402

from faceorganizer.core.models.registry import get_spec  # noqa: E402
from faceorganizer.core.ray_engine import RayOptions  # noqa: E402
from faceorganizer.core.types import Detection, EmbeddedFace, PhotoFaces  # noqa: E402
from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.services.scan import scanner  # noqa: E402
from faceorganizer.services.scan.files import FileEntry, walk  # noqa: E402
from faceorganizer.services.types import ScanSummary  # noqa: E402

FACES = REPO.parent / "shared" / "data" / "faces"


def timed_scan(folder: Path, db: Path, ray: RayOptions | None) -> ScanSummary:
    with Library.open(db) as lib:
        return lib.scan([folder], cluster=False, ray=ray)


def write_rate(photos: int, faces_per_photo: float, thumb_bytes: int) -> tuple[float, int]:
    """(photos/s through the scanner's writer alone with synthetic results, the embedding's
    dimension: that of a new library's model)."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp, Library.open(Path(tmp) / "w.sqlite3") as lib:
        dims = get_spec(lib.model_id).dims
        writer = scanner._Writer(lib.db, lib.model_id, ScanSummary())
        batch: list[tuple[scanner.Job, PhotoFaces]] = []
        n_faces = rng.poisson(faces_per_photo, size=photos)
        start = time.perf_counter()
        for i in range(photos):
            path = f"{tmp}/photos/{i:07d}.jpg"
            faces = []
            for _ in range(int(n_faces[i])):
                emb = rng.normal(size=dims).astype(np.float32)
                faces.append(
                    EmbeddedFace(
                        Detection((10, 10, 110, 130), 0.999, np.zeros((5, 2), np.float32)),
                        emb / np.linalg.norm(emb),
                        lib.model_id,
                        0.9,
                        rng.bytes(thumb_bytes),
                    )
                )
            job = scanner.Job(FileEntry(path, 3_000_000, 1.7e9), f"{i:040x}")
            batch.append((job, PhotoFaces(path, 4032, 3024, faces)))
            if len(batch) >= scanner.BATCH_PHOTOS:
                writer.store(batch)
                batch.clear()
        writer.store(batch)
        return photos / (time.perf_counter() - start), dims


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=str(FACES / "photos" / "five_celebrity"))
    ap.add_argument("--limit", type=int, default=60, help="photos scanned each way")
    ap.add_argument("--writes", type=int, default=3000, help="synthetic photos written")
    args = ap.parse_args()
    entries = sorted(walk([args.folder]), key=lambda e: e.path)[: args.limit]
    cpus = len(os.sched_getaffinity(0))
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({cpus} CPUs)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for k, e in enumerate(entries):  # links: the same files, one folder, nothing copied
            (folder / f"{k:04d}{Path(e.path).suffix}").symlink_to(e.os_path)
        # Local before and after Ray: the machine's load drifts, their mean brackets it.
        local = timed_scan(folder, Path(tmp) / "local.sqlite3", None)
        on_ray = timed_scan(folder, Path(tmp) / "ray.sqlite3", RayOptions("local"))
        again = timed_scan(folder, Path(tmp) / "local2.sqlite3", None)
    n = len(entries)
    print(
        f"local, before and after: photos {local.seconds - local.engine_seconds:.1f} s and "
        f"{again.seconds - again.engine_seconds:.1f} s"
    )
    for field in ("seconds", "engine_seconds"):
        setattr(local, field, (getattr(local, field) + getattr(again, field)) / 2)
    loc_photos = local.seconds - local.engine_seconds
    ray_photos = on_ray.seconds - on_ray.engine_seconds
    load = os.getloadavg()[0]
    print(
        f"local: {n} photos, {local.faces_added} faces, {local.seconds:.1f} s "
        f"(engine start {local.engine_seconds:.1f} s, photos {loc_photos:.1f} s: "
        f"{n / loc_photos:.2f} photos/s)"
    )
    print(
        f"Ray ({cpus} CPU actors): {on_ray.faces_added} faces, {on_ray.seconds:.1f} s "
        f"(actors start {on_ray.engine_seconds:.1f} s, photos {ray_photos:.1f} s: "
        f"{n / ray_photos:.2f} photos/s)"
    )
    overhead = ray_photos / loc_photos - 1
    print(
        f"Ray overhead on the photos: {100 * overhead:+.1f} % (goal <= 10 %: "
        f"{'met' if overhead <= 0.10 else 'NOT met'}); with engine start "
        f"{100 * (on_ray.seconds / local.seconds - 1):+.1f} %; load {load:.1f}"
    )
    stages = {k: v / n for k, v in on_ray.stages.items()}
    print(
        "per photo, summed over actors: "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in stages.items())
    )
    per_actor = n / ray_photos / cpus
    faces_pp = on_ray.faces_added / max(n, 1)
    rate, dims = write_rate(args.writes, faces_pp, 3000)
    print(
        f"writer: {rate:.0f} photos/s of synthetic results ({faces_pp:.2f} faces/photo, "
        f"{dims}-d embeddings, 3 kB thumbnails; goal >= 200: {'met' if rate >= 200 else 'NOT met'})"
    )
    print("\n| | value | kind |\n|---|---|---|")
    print(
        f"| photos/s of one CPU actor (this machine, load {load:.1f}) | {per_actor:.2f} "
        "| measured |"
    )
    print(f"| photos/s the driver writes | {rate:.0f} | measured |")
    print(f"| Ray overhead on {cpus} CPUs, photos only | {100 * overhead:+.1f} % | measured |")
    for workers in (1, 8, 32):
        speed = min(workers * per_actor, rate)
        hours = 1_000_000 / speed / 3600
        bound = "writer" if workers * per_actor > rate else "workers"
        print(f"| 1M photos on {workers} CPU workers | {hours:.1f} h ({bound}-bound) | projected |")


if __name__ == "__main__":
    main()
