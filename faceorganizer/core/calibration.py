"""Turning a model's cosine similarity into a percentage that means the same for every model.

A calibration is fitted on labelled pairs: the midpoint is the equal-error cosine (so 50 % is
where false accepts and false rejects balance) and the slope comes from a class-balanced logistic
regression, so the percentage estimates the probability that two faces are the same person.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from faceorganizer.core.types import Calibration, PhotoFaces

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic"}


@dataclass(frozen=True)
class PairSet:
    """Cosines of same-person and different-person pairs."""

    same: np.ndarray
    diff: np.ndarray


@dataclass(frozen=True)
class CalibrationFit:
    """A fitted calibration with the figures that justify it."""

    calibration: Calibration
    eer: float
    accuracy: float
    same_pairs: int
    diff_pairs: int


def _unit(embeddings: np.ndarray) -> np.ndarray:
    e = np.asarray(embeddings, dtype=np.float32)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def pair_cosines(
    embeddings: np.ndarray,
    labels: Sequence[object] | np.ndarray,
    max_diff: int | None = None,
    seed: int = 0,
) -> PairSet:
    """Cosines of every same-label pair and of every (or ``max_diff`` sampled) different pair."""
    e = _unit(embeddings)
    _, lab = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    sims = e @ e.T
    i, j = np.triu_indices(len(e), k=1)
    same_mask = lab[i] == lab[j]
    same = sims[i[same_mask], j[same_mask]]
    di, dj = i[~same_mask], j[~same_mask]
    if max_diff is not None and len(di) > max_diff:
        pick = np.random.default_rng(seed).choice(len(di), size=max_diff, replace=False)
        di, dj = di[pick], dj[pick]
    return PairSet(same=same.astype(np.float64), diff=sims[di, dj].astype(np.float64))


def equal_error(same: np.ndarray, diff: np.ndarray) -> tuple[float, float]:
    """(threshold, rate) where the share of same pairs below equals the share of diff pairs at
    or above the threshold, interpolated between the candidate cosines."""
    same = np.sort(np.asarray(same, dtype=np.float64))
    diff = np.sort(np.asarray(diff, dtype=np.float64))
    if len(same) == 0 or len(diff) == 0:
        raise ValueError("need both same-person and different-person pairs")
    grid = np.unique(np.concatenate([same, diff]))
    frr = np.searchsorted(same, grid, side="left") / len(same)
    far = 1.0 - np.searchsorted(diff, grid, side="left") / len(diff)
    gap = frr - far
    k = int(np.searchsorted(gap, 0.0, side="left"))
    if k == 0:
        return float(grid[0]), float(far[0])
    if k >= len(grid):
        return float(grid[-1]), float(frr[-1])
    g0, g1 = gap[k - 1], gap[k]
    t = 0.0 if g1 == g0 else float(-g0 / (g1 - g0))
    threshold = grid[k - 1] + t * (grid[k] - grid[k - 1])
    rate = (frr[k - 1] + t * (frr[k] - frr[k - 1]) + far[k - 1] + t * (far[k] - far[k - 1])) / 2
    return float(threshold), float(rate)


def balanced_accuracy(same: np.ndarray, diff: np.ndarray, threshold: float) -> float:
    """Mean of the true-accept and true-reject rates when "same" means cosine >= threshold."""
    return float(
        (np.mean(np.asarray(same) >= threshold) + np.mean(np.asarray(diff) < threshold)) / 2
    )


def fit_calibration(same_cos: np.ndarray, diff_cos: np.ndarray) -> Calibration:
    """Logistic map with its midpoint at the equal-error cosine and a likelihood-fitted slope."""
    return fit_calibration_report(same_cos, diff_cos).calibration


def fit_calibration_report(same_cos: np.ndarray, diff_cos: np.ndarray) -> CalibrationFit:
    """``fit_calibration`` plus its equal-error rate and accuracy at 50 %."""
    same = np.asarray(same_cos, dtype=np.float64)
    diff = np.asarray(diff_cos, dtype=np.float64)
    midpoint, eer = equal_error(same, diff)
    x = np.concatenate([same, diff]) - midpoint
    y = np.concatenate([np.ones(len(same)), np.zeros(len(diff))])
    model = LogisticRegression(fit_intercept=False, class_weight="balanced", C=1e6, max_iter=1000)
    model.fit(x.reshape(-1, 1), y)
    slope = float(model.coef_[0, 0])
    if not slope > 0:
        raise ValueError("the pairs do not separate: same-person pairs are not more similar")
    all_pairs = np.concatenate([same >= midpoint, diff < midpoint])
    return CalibrationFit(
        calibration=Calibration(midpoint=midpoint, slope=slope),
        eer=eer,
        accuracy=float(np.mean(all_pairs)),
        same_pairs=len(same),
        diff_pairs=len(diff),
    )


def labelled_images(folder: Path) -> list[tuple[Path, str]]:
    """(image, person) for every image in a folder of person subfolders (hidden ones skipped)."""
    out: list[tuple[Path, str]] = []
    for person_dir in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        if person_dir.name.startswith((".", "_")):
            continue
        for image in sorted(person_dir.rglob("*")):
            if image.suffix.lower() in IMAGE_SUFFIXES and not image.name.startswith("."):
                out.append((image, person_dir.name))
    return out


def labelled_face(photo: PhotoFaces) -> int | None:
    """Index of the face a labelled photo is about: among faces at least half the size of the
    largest, the one nearest the image centre (LFW-style crops and portraits alike)."""
    if not photo.faces:
        return None
    sizes = np.array([f.detection.size for f in photo.faces])
    cx, cy = photo.width / 2.0, photo.height / 2.0
    best, best_d = None, np.inf
    for k, face in enumerate(photo.faces):
        if sizes[k] < 0.5 * sizes.max():
            continue
        x0, y0, x1, y1 = face.detection.box
        d = ((x0 + x1) / 2 - cx) ** 2 + ((y0 + y1) / 2 - cy) ** 2
        if d < best_d:
            best, best_d = k, d
    return best


def embed_labelled(
    photos: Iterable[PhotoFaces], person_of: dict[str, str]
) -> tuple[np.ndarray, list[str], list[str]]:
    """(embeddings, persons, paths) of the labelled face of each processed photo with a face."""
    vecs: list[np.ndarray] = []
    persons: list[str] = []
    paths: list[str] = []
    for photo in photos:
        k = labelled_face(photo) if photo.error is None else None
        if k is None:
            continue
        vecs.append(photo.faces[k].embedding)
        persons.append(person_of[str(photo.path)])
        paths.append(str(photo.path))
    dims = len(vecs[0]) if vecs else 0
    return np.asarray(vecs, dtype=np.float32).reshape(-1, dims), persons, paths


def fit_from_folder(
    folder: Path,
    model_id: str,
    device: str = "auto",
    max_diff: int | None = 200_000,
    progress: Callable[[int, int], None] | None = None,
) -> CalibrationFit:
    """Fit a model's calibration on a folder of person subfolders (needs >= 2 persons and at least
    one person with two images whose face is found)."""
    from faceorganizer.core.pipeline import FaceEngine

    images = labelled_images(folder)
    if not images:
        raise ValueError(f"no images in person subfolders of {folder}")
    person_of = {str(p): name for p, name in images}
    engine = FaceEngine(model_id=model_id, device=device)
    done = 0

    def counted() -> Iterable[PhotoFaces]:
        nonlocal done
        for photo in engine.process([p for p, _ in images]):
            done += 1
            if progress is not None:
                progress(done, len(images))
            yield photo

    vecs, persons, _ = embed_labelled(counted(), person_of)
    pairs = pair_cosines(vecs, persons, max_diff=max_diff)
    if len(pairs.same) == 0 or len(pairs.diff) == 0:
        raise ValueError("need at least two persons and one person with two usable faces")
    return fit_calibration_report(pairs.same, pairs.diff)


def calibration_json(fit: CalibrationFit, fitted_on: str, note: str = "") -> str:
    """The calibration file format the model registry reads."""
    data = {
        "midpoint": round(fit.calibration.midpoint, 6),
        "slope": round(fit.calibration.slope, 4),
        "fitted": True,
        "fitted_on": fitted_on,
        "pairs": fit.same_pairs + fit.diff_pairs,
        "same_pairs": fit.same_pairs,
        "diff_pairs": fit.diff_pairs,
        "eer": round(fit.eer, 5),
        "accuracy_at_50": round(fit.accuracy, 5),
        "fitted_at": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "note": note,
    }
    return json.dumps(data, indent=2) + "\n"


def write_calibration(path: Path, fit: CalibrationFit, fitted_on: str, note: str = "") -> None:
    """Write a calibration file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(calibration_json(fit, fitted_on, note), encoding="utf-8")
    tmp.replace(path)
