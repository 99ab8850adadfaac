"""Photos/s of a real ``faceorganizer scan`` against the bare engine on the same files, in the
same run, and the time of a second scan with nothing changed.

    .venv/bin/python benchmarks/scan_throughput.py [FOLDER] [--limit N] [--device D]

Both sides use one engine, loaded before either is timed; the default FOLDER is the shared
full photographs (``photos/``).

Goal: the library keeps >= 80 % of the engine's rate; the no-change rescan takes well under a
second per thousand photos.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faceorganizer.core.pipeline import FaceEngine  # noqa: E402
from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.services.scan.files import walk  # noqa: E402


def engine_rate(engine: FaceEngine, paths: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    faces = sum(len(r.faces) for r in engine.process(paths))
    return len(paths) / (time.perf_counter() - start), faces


def scan_seconds(folder: Path, library: Path, engine: FaceEngine) -> tuple[float, int]:
    """One library scan with the already-loaded engine, so both sides time the same work."""
    with Library.open(library) as lib:
        start = time.perf_counter()
        summary = lib.scan([folder], engine=engine, cluster=False)
        return time.perf_counter() - start, summary.faces_added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(REPO.parent / "shared/data/faces/photos"))
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    source = Path(args.folder)
    files = [e.os_path for e in walk([source]) if e.problem is None][: args.limit]
    engine = FaceEngine(device=args.device)
    next(iter(engine.process(files[:1])))  # model load and first-call costs outside both timings
    with tempfile.TemporaryDirectory(prefix="fo-bench-") as tmp:
        folder = Path(tmp) / "photos"
        for f in files:  # links: the scan reads the same bytes the engine does
            target = folder / Path(f).relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(f)
        paths = [str(folder / Path(f).relative_to(source)) for f in files]
        library = Path(tmp) / "library.sqlite3"
        rate_engine, faces = engine_rate(engine, paths)
        first, stored = scan_seconds(folder, library, engine)
        second, _ = scan_seconds(folder, library, engine)
    n = len(paths)
    scan_rate = n / first
    print(f"photos: {n}, faces: engine {faces}, stored by the scan {stored}")
    print(f"engine (FaceEngine.process):   {rate_engine:7.2f} photos/s")
    print(f"scan (Library.scan, same engine): {scan_rate:7.2f} photos/s ({first:.1f} s)")
    print(f"ratio scan/engine:             {scan_rate / rate_engine:7.1%}  (goal >= 80 %)")
    print(
        f"second scan, nothing changed:  {second:.2f} s ({second / n * 1000:.2f} s per 1000 photos)"
    )


if __name__ == "__main__":
    main()
