"""Engine throughput against the naive facenet-pytorch recipe, measured in the same run.

For FOLDER (default: the shared test photos' ``photos/`` folder: full photographs, group
photos, variants and aligned crops; LFW is not included) prints, for our ``FaceEngine`` and
for the baseline, photos/s, faces/s, time per stage, peak RSS and, where the photos are in
the shared manifest, detection recall; then the ratio of photos/s.

Baseline (facenet-pytorch's README): ``Image.open`` at full resolution, ``MTCNN(keep_all=True)``
with its defaults, then each face embedded one at a time by ``InceptionResnetV1`` with random
weights (``pretrained=None``; they time the same as real ones).

Each side runs in its own child process so that its peak RSS is its own.

Run: ``.venv/bin/python benchmarks/engine_throughput.py [FOLDER] [--limit N] [--device D]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FACES_DIR = Path(os.environ.get("FACEORGANIZER_TEST_FACES", REPO.parent / "shared/data/faces"))
STAGES = ("decode", "detect", "align", "embed", "thumbnail")


def list_photos(folder: Path) -> list[Path]:
    from faceorganizer.core.images import SUPPORTED_EXTENSIONS

    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS and not p.name.startswith(".")
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_engine(paths: list[str], device: str) -> dict:
    from faceorganizer.core.pipeline import FaceEngine

    start = time.perf_counter()
    engine = FaceEngine(device=device)
    load = time.perf_counter() - start
    stages = dict.fromkeys(STAGES, 0.0)
    faces: dict[str, int] = {}
    start = time.perf_counter()
    for result in engine.process(paths):
        faces[result.path] = len(result.faces)
        for k, v in result.timings.items():
            stages[k] = stages.get(k, 0.0) + v
    wall = time.perf_counter() - start
    return {"load": load, "wall": wall, "stages": stages, "faces": faces}


def run_baseline(paths: list[str], device: str) -> dict:
    import torch
    from facenet_pytorch import MTCNN, InceptionResnetV1
    from PIL import Image

    from faceorganizer.core.device import resolve_device

    dev = resolve_device(device)
    start = time.perf_counter()
    mtcnn = MTCNN(keep_all=True, device=dev)
    resnet = InceptionResnetV1(pretrained=None).eval().to(dev)
    load = time.perf_counter() - start
    stages = dict.fromkeys(("decode", "detect", "embed"), 0.0)
    faces: dict[str, int] = {}
    start = time.perf_counter()
    for path in paths:
        t0 = time.perf_counter()
        try:
            img = Image.open(path).convert("RGB")
        except Exception:
            faces[path] = 0
            continue
        t1 = time.perf_counter()
        crops = mtcnn(img)
        t2 = time.perf_counter()
        n = 0
        if crops is not None:
            with torch.inference_mode():
                for crop in crops:
                    resnet(crop.unsqueeze(0).to(dev))
                    n += 1
        t3 = time.perf_counter()
        stages["decode"] += t1 - t0
        stages["detect"] += t2 - t1
        stages["embed"] += t3 - t2
        faces[path] = n
    wall = time.perf_counter() - start
    return {"load": load, "wall": wall, "stages": stages, "faces": faces}


def child(which: str, list_file: str, device: str) -> None:
    paths = Path(list_file).read_text().splitlines()
    run = run_engine if which == "engine" else run_baseline
    out = run(paths, device)
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def recall(faces: dict[str, int], faces_dir: Path) -> tuple[int, int] | None:
    """(hits, total) over manifest photos: >= 1 face in single-person photos, variants and
    aligned crops; >= the number of named people in group photos."""
    manifest = faces_dir / "manifest.csv"
    if not manifest.exists():
        return None
    with open(faces_dir / "groups.csv", newline="") as f:
        named = {
            r["relpath"]: sum(1 for n in r["people_left_to_right"].split(";") if n != "?")
            for r in csv.DictReader(f)
        }
    with open(manifest, newline="") as f:
        kinds = {
            str(faces_dir / r["relpath"]): (r["kind"], r["relpath"]) for r in csv.DictReader(f)
        }
    hits = total = 0
    for path, n in faces.items():
        kind, rel = kinds.get(path, ("", ""))
        if kind in ("photo", "variant", "aligned_crop", "exif_rotated", "lfw_crop"):
            total += 1
            hits += n >= 1
        elif kind == "group":
            total += 1
            hits += n >= named.get(rel, 1)
    return (hits, total) if total else None


def report(name: str, out: dict, n_photos: int, faces_dir: Path) -> float:
    n_faces = sum(out["faces"].values())
    rate = n_photos / out["wall"]
    stages = ", ".join(f"{k} {v:.1f}" for k, v in out["stages"].items() if v)
    rec = recall(out["faces"], faces_dir)
    rec_text = f"{rec[0]}/{rec[1]} ({100 * rec[0] / rec[1]:.1f} %)" if rec else "n/a"
    print(f"{name}:")
    print(
        f"  {n_photos} photos, {n_faces} faces in {out['wall']:.1f} s "
        f"(models load {out['load']:.1f} s)"
    )
    print(f"  {rate:.2f} photos/s, {n_faces / out['wall']:.2f} faces/s")
    print(f"  stage seconds (summed per photo): {stages}")
    print(f"  peak RSS {out['peak_rss_mb']:.0f} MB; detection recall {rec_text}")
    return rate


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Engine photos/s against the naive baseline.")
    p.add_argument("folder", nargs="?", type=Path, default=FACES_DIR / "photos")
    p.add_argument("--limit", type=int, default=None, help="first N photos (sorted by path)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--only", choices=("engine", "baseline"), default=None)
    p.add_argument("--child", choices=("engine", "baseline"), help=argparse.SUPPRESS)
    p.add_argument("--list", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.list, args.device)
        return 0
    paths = list_photos(args.folder)[: args.limit]
    if not paths:
        print(f"no photos in {args.folder}", file=sys.stderr)
        return 2
    list_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"engine_throughput_{os.getpid()}.txt"
    list_file.write_text("\n".join(str(x) for x in paths))
    print(f"{len(paths)} photos from {args.folder}, device {args.device}, {os.cpu_count()} CPUs")
    rates = {}
    try:
        for which in ("engine", "baseline"):
            if args.only and which != args.only:
                continue
            cmd = [sys.executable, __file__, "--child", which, "--list", str(list_file)]
            proc = subprocess.run(
                [*cmd, "--device", args.device], capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            label = (
                "FaceEngine (ours)" if which == "engine" else "baseline (facenet-pytorch README)"
            )
            rates[which] = report(label, out, len(paths), FACES_DIR)
    finally:
        list_file.unlink(missing_ok=True)
    if len(rates) == 2:
        print(f"ratio: {rates['engine'] / rates['baseline']:.2f}x the baseline's photos/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
