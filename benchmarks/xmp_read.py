"""What reading and writing XMP face regions cost, against decoding the same photos.

For the shared test photos (``photos/``, copied to a temporary folder), half of them given a
``photo.jpg.xmp`` with two MWG face regions by our own writer, prints per photo: the time to
read its regions (``read_regions``: both sidecar names tried, the photo's own XMP read with
exiv2, orientation read with PIL), the time to check whether its XMP changed (``signature``:
two stats), the time to write its sidecar (``write_regions``: what keeping sidecars up to date
costs per photo an edit touches), and as the baseline the time to decode it the way a scan does
(``load_image`` at the engine's decode side). A whole scan (detection, embedding) costs several
times more than decoding.

Run: ``.venv/bin/python benchmarks/xmp_read.py [--limit N]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FACES_DIR = Path(os.environ.get("FACEORGANIZER_TEST_FACES", REPO.parent / "shared/data/faces"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=120)
    args = parser.parse_args()

    from faceorganizer.core.images import load_image
    from faceorganizer.core.pipeline import DEFAULT_DECODE_SIDE
    from faceorganizer.services.xmp.regions import NamedFace, read_regions, write_regions
    from faceorganizer.services.xmp.sync import signature
    from faceorganizer.storage.photos import PhotoRow

    sources = sorted((FACES_DIR / "photos").rglob("*.jpg"))[: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, src in enumerate(sources):
            dst = Path(tmp) / f"{i:04d}_{src.name}"
            shutil.copyfile(src, dst)
            paths.append(str(dst))
        sizes = {}
        for i, p in enumerate(paths):
            image = load_image(p)
            sizes[p] = (image.width, image.height)
            if i % 2 == 0:
                w, h = sizes[p]
                faces = [
                    NamedFace(1, "Someone", (0.1 * w, 0.1 * h, 0.3 * w, 0.4 * h)),
                    NamedFace(2, "Someone Else", (0.6 * w, 0.1 * h, 0.8 * w, 0.4 * h)),
                ]
                write_regions(p, faces, sizes[p])

        def timed(fn) -> float:  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            for p in paths:
                fn(p)
            return (time.perf_counter() - start) / len(paths)

        rows = [PhotoRow(0, p, 0, 0.0, "h", 0, 0, "ok", None, "m", None) for p in paths]
        decode = timed(lambda p: load_image(p, max_side=DEFAULT_DECODE_SIDE))
        read = timed(read_regions)
        start = time.perf_counter()
        for r in rows:
            signature(r)
        check = (time.perf_counter() - start) / len(rows)
        found = sum(len(read_regions(p).regions) for p in paths)

        def rewrite(p: str) -> None:
            w, h = sizes[p]
            face = NamedFace(1, f"Renamed {p[-6:]}", (0.1 * w, 0.1 * h, 0.3 * w, 0.4 * h))
            write_regions(p, [face], sizes[p])

        write = timed(rewrite)

    print(f"photos: {len(paths)} ({(len(paths) + 1) // 2} with a sidecar), regions read: {found}")
    print(
        f"decode (baseline, load_image at {DEFAULT_DECODE_SIDE} px): {decode * 1000:.2f} ms/photo"
    )
    print(f"read_regions (sidecars + embedded XMP + orientation): {read * 1000:.2f} ms/photo")
    print(f"signature (has the XMP changed?): {check * 1000:.3f} ms/photo")
    print(f"write_regions (read, merge, atomic replace of a sidecar): {write * 1000:.2f} ms/photo")
    print(f"ratio read_regions / decode: {read / decode:.3f}")
    print(f"ratio write_regions / decode: {write / decode:.3f}")
    print(f"ratio signature / decode: {check / decode:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
