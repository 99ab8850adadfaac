"""Photos/s of a real ``faceorganizer scan`` against the bare engine on the same files, in the
same run, and the time of a second scan with nothing changed.

    .venv/bin/python benchmarks/scan_throughput.py [FOLDER] [--limit N] [--device D]

Goal: the library keeps >= 80 % of the engine's rate; the no-change rescan takes well under a
second per thousand photos.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faceorganizer.core.pipeline import FaceEngine  # noqa: E402
from faceorganizer.services.files import walk  # noqa: E402


def engine_rate(paths: list[str], device: str) -> tuple[float, int]:
    engine = FaceEngine(device=device)
    next(iter(engine.process(paths[:1])))  # warm up outside the timing, as the scan's engine
    start = time.perf_counter()
    faces = sum(len(r.faces) for r in engine.process(paths))
    return len(paths) / (time.perf_counter() - start), faces


def scan_seconds(folder: Path, library: Path, device: str) -> float:
    cmd = [sys.executable, "-m", "faceorganizer", "scan", str(folder), "--library", str(library)]
    start = time.perf_counter()
    subprocess.run([*cmd, "--quiet", "--no-cluster", "--device", device], check=True, cwd=REPO)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(REPO.parent / "shared/data/faces"))
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    source = Path(args.folder)
    files = [e.path for e in walk([source])][: args.limit]
    with tempfile.TemporaryDirectory(prefix="fo-bench-") as tmp:
        folder = Path(tmp) / "photos"
        for f in files:  # links: the scan reads the same bytes the engine does
            target = folder / Path(f).relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(f)
        paths = [str(folder / Path(f).relative_to(source)) for f in files]
        library = Path(tmp) / "library.sqlite3"

        # the scan: a fresh process, like a user; time includes start-up and model load
        # startup cost, measured alone on an empty folder, is reported and subtracted
        empty = Path(tmp) / "empty"
        empty.mkdir()
        startup = scan_seconds(empty, Path(tmp) / "empty.sqlite3", args.device)
        first = scan_seconds(folder, library, args.device)
        second = scan_seconds(folder, library, args.device)
        rate_engine, faces = engine_rate(paths, args.device)

    n = len(paths)
    scan_rate = n / max(first - startup, 1e-9)
    print(f"photos: {n}, faces (engine): {faces}")
    print(f"engine (FaceEngine.process):   {rate_engine:7.2f} photos/s")
    print(
        f"scan (faceorganizer scan):     {scan_rate:7.2f} photos/s "
        f"({first:.1f} s wall, minus {startup:.1f} s process start-up on an empty folder)"
    )
    print(f"ratio scan/engine:             {scan_rate / rate_engine:7.1%}  (goal >= 80 %)")
    print(
        f"second scan, nothing changed:  {second:.2f} s wall, {second - startup:.2f} s "
        f"beyond start-up ({(second - startup) / n * 1000:.2f} s per 1000 photos)"
    )


if __name__ == "__main__":
    main()
