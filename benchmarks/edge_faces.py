"""Faces at a photo's edge: how the detector's margin changes landmarks and verification.

Shared photos are cut to the border on purpose (generated here, never stored): through the
forehead, through one side of the face, through a corner, and tight to the face box. The
labelled face of the whole photo is the reference (its landmarks and embedding); each cut photo
is detected again by every variant:

- ``none``: the detector without a margin (issue 17's and earlier libraries');
- ``black``, ``mean``, ``mirror``: the photo padded before detection by ``--margin`` of its long
  side, with black, its mean colour, or itself mirrored;
- ``edgeN``: the shipped detector's own margin (``core.detection``: black, N pixels around every
  pyramid level; ``edge6`` is the default).

Per variant: the share of cut faces found at their place, the landmarks' error in eye-widths of
the reference (median and 90th percentile), the cut face's cosine to its own uncut reference,
and verification against the other photos' references (ROC AUC, and the share of different-
person pairs at 50 % or more). Then the ``cfp_dev`` frontal/profile pairs on the data set's own
tight crops (the central part of each canvas: cut at the forehead), AUC and pairs at 50 %.
Seconds of detection per photo are printed with their ratio to ``none`` in the same run.

    .venv/bin/python benchmarks/edge_faces.py [--photos N] [--cfp-pairs N] [--margin 0.25]
        [--fills black,mean,mirror] [--edges 6,10] [--device cuda]
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from quality_data import FACES_DIR, manifest_rows
from sklearn.metrics import roc_auc_score

from faceorganizer.core import detection as det
from faceorganizer.core.calibration import labelled_face
from faceorganizer.core.images import load_image
from faceorganizer.core.models.base import Embedder
from faceorganizer.core.models.registry import calibration_for, load_embedder
from faceorganizer.core.types import Detection, EmbeddedFace, PhotoFaces

FILLS = ("black", "mean", "mirror")
# Cuts: (left, top) share of the reference face box removed from that side; "tight" keeps
# only the box itself.
CUTS: dict[str, tuple[float, float]] = {
    "forehead": (0.0, 0.25),
    "side": (0.25, 0.0),
    "corner": (0.15, 0.15),
    "tight": (0.0, 0.0),
}
CFP_SHARE = 1.6  # cfp_dev canvases are the data set's crop plus 30 % on every side


def padded(image: np.ndarray, margin: int, fill: str) -> np.ndarray:
    if margin <= 0:
        return image
    widths = ((margin, margin), (margin, margin), (0, 0))
    if fill == "mirror":
        return np.pad(image, widths, mode="symmetric")
    value = image.reshape(-1, 3).mean(axis=0) if fill == "mean" else np.zeros(3)
    out = np.empty((image.shape[0] + 2 * margin, image.shape[1] + 2 * margin, 3), np.uint8)
    out[...] = np.round(value).astype(np.uint8)
    out[margin:-margin, margin:-margin] = image
    return out


Detect = Callable[[np.ndarray], list[Detection]]


def variant(detector: det.Detector, fill: str | None, share: float) -> Detect:
    """A detector that pads the image first (``fill`` None: as it is) and maps back."""

    def run(image: np.ndarray) -> list[Detection]:
        if fill is None:
            return detector.detect([image])[0]
        m = int(np.ceil(share * max(image.shape[:2])))
        found = detector.detect([padded(image, m, fill)])[0]
        return [
            Detection(
                box=tuple(v - m for v in d.box),  # type: ignore[arg-type]
                score=d.score,
                landmarks=d.landmarks - np.float32(m),
            )
            for d in found
        ]

    return run


@dataclass
class Outcome:
    """One variant's results over the cut photos."""

    seconds: float = 0.0
    detections: int = 0
    found: int = 0
    total: int = 0
    errors: list[float] = field(default_factory=list)
    own_cosine: list[float] = field(default_factory=list)
    vectors: dict[int, np.ndarray] = field(default_factory=dict)  # sample index -> embedding


def eye_width(landmarks: np.ndarray) -> float:
    return float(np.linalg.norm(landmarks[1] - landmarks[0]))


def match(found: list[Detection], ref: np.ndarray, offset: np.ndarray) -> Detection | None:
    """The detection whose eyes sit nearest the reference's (within half an eye-width)."""
    centre = ref[:2].mean(axis=0)
    best, best_d = None, 0.5 * eye_width(ref)
    for d in found:
        dist = float(np.linalg.norm(d.landmarks[:2].mean(axis=0) + offset - centre))
        if dist < best_d:
            best, best_d = d, dist
    return best


def embed_one(embedder: Embedder, image: np.ndarray, d: Detection) -> np.ndarray:
    return embedder.embed(embedder.prepare(image, [d]))[0]


def cut_box(shape: tuple[int, ...], box: tuple[float, ...], cut: str) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    x0, y0, x1, y1 = box
    if cut == "tight":
        return int(max(0, x0)), int(max(0, y0)), int(min(w, x1)), int(min(h, y1))
    left, top = CUTS[cut]
    return int(x0 + left * (x1 - x0)), int(y0 + top * (y1 - y0)), w, h


def verification(
    vectors: dict[int, np.ndarray], refs: np.ndarray, people: list[str], pct: Callable
) -> tuple[float, float, float]:
    """(AUC, share of same pairs >= 50 %, share of different pairs >= 50 %) of each cut face
    against every other photo's reference; a face not found scores -1 (a missed pair)."""
    same, diff = [], []
    for i, person in enumerate(people):
        v = vectors.get(i)
        cos = refs @ v if v is not None else np.full(len(refs), -1.0)
        for j, other in enumerate(people):
            if j != i:
                (same if other == person else diff).append(float(cos[j]))
    y = np.r_[np.ones(len(same)), np.zeros(len(diff))]
    auc = float(roc_auc_score(y, np.r_[same, diff])) if same and diff else float("nan")
    return auc, float(np.mean(pct(np.array(same)) >= 50)), float(np.mean(pct(np.array(diff)) >= 50))


def sample_photos(n: int, seed: int) -> list[dict[str, str]]:
    """Photos of people with 2+ photos (LFW slice and single-person photos), ``n`` at most."""
    rows = manifest_rows({"lfw_crop", "photo"})
    by_person: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_person[r["person"].lower()].append(r)
    people = sorted(p for p, rs in by_person.items() if len(rs) >= 2)
    random.Random(seed).shuffle(people)
    out: list[dict[str, str]] = []
    for p in people:
        if len(out) >= n:
            break
        out.extend(by_person[p][:4])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=160, help="photos cut (people with 2+)")
    ap.add_argument("--cfp-pairs", type=int, default=400, help="cfp_dev pairs (0: none)")
    ap.add_argument("--margin", type=float, default=0.25, help="padding, share of the long side")
    ap.add_argument("--model", default="dlib-resnet-v1")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the batched GPU path)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fills", default=",".join(FILLS), help="padded variants, e.g. black,mirror")
    ap.add_argument(
        "--edges",
        default=str(det.DEFAULT_EDGE),
        help="the engine's margins (pixels of each pyramid level) to measure",
    )
    args = ap.parse_args()

    embedder = load_embedder(args.model, args.device)
    calibration = calibration_for(args.model)
    plain = det.Detector(args.device, edge=0)
    variants: dict[str, Detect] = {"none": variant(plain, None, 0)}
    for fill in args.fills.split(",") if args.fills else ():
        variants[fill] = variant(plain, fill, args.margin)
    for edge in (int(e) for e in args.edges.split(",") if e):
        variants[f"edge{edge}"] = variant(det.Detector(args.device, edge=edge), None, 0)

    rows = sample_photos(args.photos, args.seed)
    refs: list[np.ndarray] = []
    ref_marks: list[np.ndarray] = []
    ref_boxes: list[tuple[float, float, float, float]] = []
    images: list[np.ndarray] = []
    people: list[str] = []
    for r in rows:
        image = load_image(FACES_DIR / r["relpath"], max_side=det.DEFAULT_DETECT_SIDE).rgb
        found = variants["none"](image)
        result = PhotoFaces(path=r["relpath"], width=image.shape[1], height=image.shape[0])
        result.faces = [EmbeddedFace(d, np.zeros(1, np.float32), "") for d in found]
        k = labelled_face(result)
        if k is None:
            continue
        refs.append(embed_one(embedder, image, found[k]))
        ref_marks.append(np.asarray(found[k].landmarks, np.float64))
        ref_boxes.append(found[k].box)
        images.append(image)
        people.append(r["person"].lower())
    ref_matrix = np.stack(refs)
    print(f"{len(images)} reference faces of {len(set(people))} people; margin {args.margin}")
    header = (
        f"{'cut':9s} {'variant':8s} {'found':>7s} {'lm err p50':>10s} {'p90':>6s} "
        f"{'own cos':>7s} {'AUC':>7s} {'same>=50':>8s} {'diff>=50':>8s} {'s/photo':>8s} "
        f"{'ratio':>6s}"
    )
    print(header)
    for cut in CUTS:
        outcomes: dict[str, Outcome] = {}
        for name, run in variants.items():
            out = outcomes[name] = Outcome()
            for i, image in enumerate(images):
                x0, y0, x1, y1 = cut_box(image.shape, ref_boxes[i], cut)
                part = np.ascontiguousarray(image[y0:y1, x0:x1])
                if min(part.shape[:2]) < 12:
                    continue
                start = time.perf_counter()
                found = run(part)
                out.seconds += time.perf_counter() - start
                out.detections += len(found)
                out.total += 1
                offset = np.array([x0, y0], np.float32)
                d = match(found, ref_marks[i], offset)
                if d is None:
                    continue
                out.found += 1
                err = np.linalg.norm(d.landmarks + offset - ref_marks[i], axis=1).mean()
                out.errors.append(float(err / eye_width(ref_marks[i])))
                v = embed_one(embedder, part, d)
                out.vectors[i] = v
                out.own_cosine.append(float(v @ refs[i]))
        base = outcomes["none"].seconds / max(outcomes["none"].total, 1)
        for name, out in outcomes.items():
            auc, same50, diff50 = verification(out.vectors, ref_matrix, people, calibration.percent)
            per = out.seconds / max(out.total, 1)
            errs = np.array(out.errors) if out.errors else np.array([np.nan])
            print(
                f"{cut:9s} {name:8s} {out.found:3d}/{out.total:3d} {np.median(errs):10.3f} "
                f"{np.percentile(errs, 90):6.3f} {np.median(out.own_cosine or [np.nan]):7.4f} "
                f"{auc:7.4f} {same50:8.3f} {diff50:8.4f} {per:8.4f} {per / base:6.2f}"
            )
    if args.cfp_pairs:
        cfp(variants, embedder, calibration.percent, args.cfp_pairs, args.seed)


def cfp(
    variants: dict[str, Detect], embedder: Embedder, pct: Callable, n_pairs: int, seed: int
) -> None:
    """Frontal/profile verification on cfp_dev's own tight crops (cut at the forehead)."""
    base = FACES_DIR / "cfp_dev"
    with open(base / "pairs.csv", newline="") as f:
        pairs = list(csv.DictReader(f))
    random.Random(seed).shuffle(pairs)
    pairs = pairs[:n_pairs]
    paths = sorted({p[k] for p in pairs for k in ("path_a", "path_b")})
    print(f"cfp_dev: {len(pairs)} pairs, {len(paths)} tight crops")
    print(f"{'variant':8s} {'found':>9s} {'AUC':>7s} {'same>=50':>8s} {'diff>=50':>8s}")
    crops = {}
    for p in paths:
        canvas = load_image(base / p).rgb
        h, w = canvas.shape[:2]
        ch, cw = round(h / CFP_SHARE), round(w / CFP_SHARE)
        top, left = (h - ch) // 2, (w - cw) // 2
        crops[p] = np.ascontiguousarray(canvas[top : top + ch, left : left + cw])
    for name, run in variants.items():
        vec: dict[str, np.ndarray] = {}
        for p, crop in crops.items():
            found = run(crop)
            if not found:
                continue
            best = max(found, key=lambda d: d.width * d.height)
            vec[p] = embed_one(embedder, crop, best)
        cos = np.array(
            [
                float(vec[a] @ vec[b]) if a in vec and b in vec else -1.0
                for a, b in ((p["path_a"], p["path_b"]) for p in pairs)
            ]
        )
        same = np.array([p["same"] == "1" for p in pairs])
        auc = float(roc_auc_score(same, cos))
        print(
            f"{name:8s} {len(vec):4d}/{len(crops):4d} {auc:7.4f} "
            f"{np.mean(pct(cos[same]) >= 50):8.3f} {np.mean(pct(cos[~same]) >= 50):8.4f}"
        )


if __name__ == "__main__":
    main()
