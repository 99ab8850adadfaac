"""Detection recall on the shared test photos, for given detector settings.

Prints, for the settings given on the command line (the defaults are the engine's):

- photo: single-person photographs (manifest kind=photo) with at least one face found;
- lfw_crop: 250x250 LFW crops whose centre lies inside a found face of plausible size
  (the labelled face is the one nearest the centre);
- group: group photos of ``groups.csv`` with at least as many faces as named people
  (which face is whom is checked with embeddings in ``tests/core/test_pipeline.py``);
- no_face: images with no face found (must be all);
- exif_rotated: rotated copies whose faces sit where the upright original's faces are
  (each original face matched by a face with IoU >= 0.5 in upright coordinates);
- seconds per image for detection alone.

With ``--baseline hog`` the same checks run on the face_recognition recipe's detector instead
(dlib's HOG frontal face detector with its default one upsample, on the full-size image), to
compare recall on real photos.

The engine's defaults were chosen with this script; the figures and the sweep behind them
are in the module docstring of ``faceorganizer/core/detection.py``.

Run: ``.venv/bin/python benchmarks/detection_recall.py [--lfw-sample N] [--detect-side S]
[--min-face-size M] [--thresholds a,b,c] [--min-score s] [--baseline hog]``
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faceorganizer.core import detection as det  # noqa: E402
from faceorganizer.core.images import load_image  # noqa: E402
from faceorganizer.core.regions import iou  # noqa: E402
from faceorganizer.core.types import Detection  # noqa: E402

FACES_DIR = Path(os.environ.get("FACEORGANIZER_TEST_FACES", REPO.parent / "shared/data/faces"))
IOU_SAME_PLACE = 0.5


@dataclass(frozen=True)
class Row:
    relpath: str
    person: str
    kind: str

    @property
    def path(self) -> Path:
        return FACES_DIR / self.relpath


@dataclass
class Figure:
    """Hits out of total for one kind of image, with the misses named."""

    hits: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 1.0

    def add(self, ok: bool, name: str) -> None:
        self.total += 1
        self.hits += int(ok)
        if not ok:
            self.misses.append(name)


def read_manifest(faces_dir: Path = FACES_DIR) -> list[Row]:
    with open(faces_dir / "manifest.csv", newline="") as f:
        return [Row(r["relpath"], r["person"], r["kind"]) for r in csv.DictReader(f)]


def read_groups(faces_dir: Path = FACES_DIR) -> dict[str, int]:
    """Group photo relpath -> number of named people in it (``?`` marks unlabelled faces)."""
    with open(faces_dir / "groups.csv", newline="") as f:
        return {
            r["relpath"]: sum(1 for name in r["people_left_to_right"].split(";") if name != "?")
            for r in csv.DictReader(f)
        }


def detect_upright(detector: det.Detector, path: Path, max_side: int | None) -> list[Detection]:
    """Detections in upright original coordinates, as the engine stores them."""
    image = load_image(path, max_side=max_side)
    faces = detector.detect([image.rgb])[0]
    s = image.scale
    return [
        Detection(tuple(v * s for v in f.box), f.score, f.landmarks * s)  # type: ignore[arg-type]
        for f in faces
    ]


class HogDetector:
    """face_recognition's default detector (dlib HOG, one upsample) behind ``Detector.detect``."""

    def __init__(self) -> None:
        import dlib  # dev dependency (dlib-bin): a baseline, never used by the app

        self._detect = dlib.get_frontal_face_detector()

    def detect(self, images: list[np.ndarray]) -> list[list[Detection]]:
        out = []
        for rgb in images:
            rects = self._detect(np.ascontiguousarray(rgb), 1)
            out.append(
                [
                    Detection((r.left(), r.top(), r.right(), r.bottom()), 1.0, np.zeros((5, 2)))
                    for r in rects
                ]
            )
        return out


def lfw_centre_found(faces: list[Detection], side: int = 250) -> bool:
    """The labelled LFW face: a found face of plausible size holding the crop's centre."""
    c = side / 2
    return any(
        f.box[0] <= c <= f.box[2] and f.box[1] <= c <= f.box[3] and 30 <= f.size <= 220
        for f in faces
    )


def exif_original(row: Row, faces_dir: Path = FACES_DIR) -> Path:
    """The upright photo an exif_rotated copy was made from (same stem prefix, same pixels)."""
    stem = Path(row.relpath).stem.rsplit("_orient", 1)[0]
    candidates = sorted((faces_dir / "photos").glob(f"*/{row.person}/{stem}*"))
    if len(candidates) == 1:
        return candidates[0]
    rotated = load_image(row.path, max_side=256).rgb.astype(np.float32)

    def distance(p: Path) -> float:
        other = load_image(p, max_side=256).rgb.astype(np.float32)
        if other.shape != rotated.shape:
            return float("inf")
        return float(np.mean((other - rotated) ** 2))

    return min(candidates, key=distance)


def same_places(original: list[Detection], rotated: list[Detection]) -> bool:
    """Every face of the original found again at the same place (IoU >= 0.5)."""
    if not original or not rotated:
        return False
    return all(any(iou(o.box, r.box) >= IOU_SAME_PLACE for r in rotated) for o in original)


@dataclass
class Report:
    figures: dict[str, Figure]
    seconds: float
    images: int

    def lines(self) -> Iterable[str]:
        for kind, fig in self.figures.items():
            miss = f"  misses: {', '.join(fig.misses[:8])}" if fig.misses else ""
            yield f"{kind:13s} {fig.hits:5d}/{fig.total:<5d} {100 * fig.rate:6.2f} %{miss}"
        per = self.seconds / max(1, self.images)
        yield (
            f"detection    {self.images} images in {self.seconds:.1f} s ({per * 1000:.1f} ms/image)"
        )


def evaluate(
    detector: det.Detector,
    rows: list[Row],
    groups: dict[str, int],
    max_side: int | None,
    faces_dir: Path = FACES_DIR,
) -> Report:
    figures = {k: Figure() for k in ("photo", "lfw_crop", "group", "no_face", "exif_rotated")}
    seconds = 0.0
    images = 0

    def run(path: Path) -> list[Detection]:
        nonlocal seconds, images
        start = time.perf_counter()
        faces = detect_upright(detector, path, max_side)
        seconds += time.perf_counter() - start
        images += 1
        return faces

    originals: dict[Path, list[Detection]] = {}
    for row in rows:
        if row.kind not in figures:
            continue
        faces = run(row.path)
        name = row.relpath
        if row.kind == "photo":
            figures["photo"].add(len(faces) >= 1, name)
        elif row.kind == "lfw_crop":
            figures["lfw_crop"].add(lfw_centre_found(faces), name)
        elif row.kind == "group":
            figures["group"].add(len(faces) >= groups[row.relpath], f"{name} ({len(faces)})")
        elif row.kind == "no_face":
            figures["no_face"].add(not faces, f"{name} ({len(faces)})")
        else:
            original = exif_original(row, faces_dir)
            if original not in originals:
                originals[original] = run(original)
            figures["exif_rotated"].add(same_places(originals[original], faces), name)
    return Report(figures, seconds, images)


def sample_rows(rows: list[Row], lfw_sample: int | None, seed: int = 0) -> list[Row]:
    """All rows except lfw_crop, of which a fixed random sample (all when None)."""
    lfw = [r for r in rows if r.kind == "lfw_crop"]
    if lfw_sample is not None and lfw_sample < len(lfw):
        lfw = random.Random(seed).sample(lfw, lfw_sample)
    return [r for r in rows if r.kind != "lfw_crop"] + lfw


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    p.add_argument("--lfw-sample", type=int, default=None, help="lfw_crop images (default all)")
    p.add_argument("--detect-side", type=int, default=det.DEFAULT_DETECT_SIDE)
    p.add_argument("--min-face-size", type=int, default=det.DEFAULT_MIN_FACE_SIZE)
    p.add_argument("--thresholds", default=",".join(map(str, det.DEFAULT_THRESHOLDS)))
    p.add_argument("--min-score", type=float, default=det.DEFAULT_MIN_SCORE)
    p.add_argument("--factor", type=float, default=det.DEFAULT_FACTOR)
    p.add_argument("--baseline", choices=["hog"], help="the face_recognition recipe's detector")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    detector = det.Detector(
        "cpu",
        min_face_size=args.min_face_size,
        thresholds=[float(t) for t in args.thresholds.split(",")],
        detect_side=args.detect_side,
        min_score=args.min_score,
        factor=args.factor,
    )
    rows = sample_rows(read_manifest(args.faces_dir), args.lfw_sample)
    if args.baseline == "hog":
        hog = HogDetector()
        report = evaluate(hog, rows, read_groups(args.faces_dir), None, args.faces_dir)  # type: ignore[arg-type]
        print("baseline: face_recognition's detector (dlib HOG, one upsample, full-size images)")
        for line in report.lines():
            print(line)
        return 0
    report = evaluate(detector, rows, read_groups(args.faces_dir), args.detect_side, args.faces_dir)
    print(
        f"settings: detect_side={args.detect_side} min_face_size={args.min_face_size} "
        f"thresholds={args.thresholds} min_score={args.min_score} factor={args.factor}"
    )
    for line in report.lines():
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
