"""Peak memory of a scan whatever one input file holds (issue 19's goal: at most 2 GB).

Each scan is a real `faceorganizer scan` process, measured by the kernel (``wait4``'s peak
resident size of that process). The baseline, in the same run, scans the same good photos alone;
each hostile run scans them with one or more small files that decode large or sidecars that hold
thousands of regions (generated here, never stored):

    python benchmarks/hostile_memory.py               # the 12 largest shared photos (to 14 MP)
    python benchmarks/hostile_memory.py --good lfw    # 12 LFW crops instead

Prints, per run: files, peak RSS, wall time, the ratio to the baseline's peak, and the reasons
the scan gave for the hostile files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers.hostile_corpus import area, png_streamed, sidecar_xmp  # noqa: E402
from tests.helpers.library_support import FACES_DIR  # noqa: E402

GB = 1 << 30


def _sources(kind: str, n: int) -> list[Path]:
    """Good photos: the ``n`` largest of the shared real photos (up to 14 MP: the heavier
    baseline), or ``n`` LFW crops (250x250)."""
    if kind == "lfw":
        return sorted((FACES_DIR / "lfw_dev").glob("*/*_0001.jpg"))[:n]
    from PIL import Image

    found = []
    for p in (FACES_DIR / "photos").rglob("*.jp*g"):
        with Image.open(p) as im:
            found.append((im.width * im.height, p))
    return [p for _, p in sorted(found, reverse=True)[:n]]


def _good(folder: Path, sources: list[Path]) -> list[Path]:
    folder.mkdir(parents=True)
    out = []
    for i, src in enumerate(sources):
        out.append(folder / f"{i:03d}_{src.parent.name}{src.suffix}")
        shutil.copyfile(src, out[-1])
    return out


def _hostile(kind: str, folder: Path, good: list[Path]) -> None:
    """Add one hostile case to a folder of good photos."""
    if kind == "16-bit 14000x14000 PNG":
        png_streamed(14000, 14000, 16, 0, folder / "g16.png")
    elif kind == "four of them":
        for i in range(4):
            png_streamed(14000, 14000, 16, 0, folder / f"g16_{i}.png")
    elif kind == "palette 14000x14000 PNG":
        png_streamed(14000, 14000, 8, 3, folder / "pal.png")
    elif kind == "RGB 16000x13000 PNG (refused)":
        png_streamed(16000, 13000, 8, 2, folder / "rgb.png")
    elif kind == "2,000-region sidecar":
        regions = [(f"P{i}", area("0.5", "0.5", "0.01", "0.01")) for i in range(2000)]
        Path(f"{good[0]}.xmp").write_bytes(sidecar_xmp(regions))
    elif kind == "100,000-region sidecar":
        regions = [(f"P{i}", area("0.5", "0.5", "0.01", "0.01")) for i in range(100_000)]
        Path(f"{good[0]}.xmp").write_bytes(sidecar_xmp(regions))
    elif kind == "200 regions (the cap), each a face to cut":
        regions = [
            (f"P{i}", area(f"{0.05 + (i % 15) * 0.063:.3f}", f"{0.05 + (i // 15) * 0.063:.3f}",
                            "0.05", "0.05"))
            for i in range(200)
        ]  # fmt: skip
        Path(f"{good[0]}.xmp").write_bytes(sidecar_xmp(regions))
    else:
        raise ValueError(kind)


def _scan(folder: Path, library: Path) -> tuple[float, float, dict]:
    """Peak RSS (bytes) and wall time of one scan process, and its JSON summary."""
    argv = [sys.executable, "-m", "faceorganizer", "scan", str(folder), "--library", str(library)]
    argv += ["--json", "--quiet", "--device", "cpu"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"scan failed ({proc.returncode}): {out[-2000:]}")
    return usage.ru_maxrss * 1024.0, wall, json.loads(out)


KINDS = (
    "16-bit 14000x14000 PNG",
    "four of them",
    "palette 14000x14000 PNG",
    "RGB 16000x13000 PNG (refused)",
    "2,000-region sidecar",
    "100,000-region sidecar",
    "200 regions (the cap), each a face to cut",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=12, help="good photos in every run")
    parser.add_argument(
        "--good", choices=("photos", "lfw"), default="photos",
        help="the largest shared real photos (default) or LFW crops",
    )  # fmt: skip
    parser.add_argument("--only", choices=KINDS, action="append", help="these cases only")
    args = parser.parse_args()
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    rows = []
    sources = _sources(args.good, args.photos)
    with tempfile.TemporaryDirectory(prefix="fo-hostile-mem-") as tmp:
        root = Path(tmp)
        for kind in ("baseline", *(args.only or KINDS)):
            folder = root / kind.replace(" ", "_").replace(",", "").replace("/", "")
            good = _good(folder, sources)
            if kind != "baseline":
                _hostile(kind, folder, good)
            size = sum(p.stat().st_size for p in folder.iterdir())
            peak, wall, summary = _scan(folder, root / f"{folder.name}.sqlite3")
            errors = [r for _p, r in summary["errors"]]
            if summary.get("xmp"):
                errors += [r for _p, r in summary["xmp"]["errors"]]
            rows.append((kind, size, peak, wall, summary["faces_added"], errors))
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[:3]
    base = rows[0][2]
    print(f"{'run':<44} {'files MB':>8} {'peak RSS':>9} {'x base':>7} {'wall s':>7} {'faces':>5}")
    for kind, size, peak, wall, faces, errors in rows:
        print(
            f"{kind:<44} {size / 2**20:8.1f} {peak / GB:8.2f}G {peak / base:7.2f} "
            f"{wall:7.1f} {faces:5d}"
        )
        for e in errors[:2]:
            print(f"    said: {e[:110]}")
    worst = max(r[2] for r in rows)
    print(
        f"worst peak {worst / GB:.2f} GB (goal <= 2 GB: {'met' if worst <= 2 * GB else 'NOT met'})"
    )
    print(f"load average before/after: {' '.join(load_before)} / {' '.join(load_after)}")
    return 0 if worst <= 2 * GB else 1


if __name__ == "__main__":
    sys.exit(main())
