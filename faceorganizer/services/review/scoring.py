"""Person-level evidence for the review queue: how alike a face, or a whole person, is to a
person as a whole, and the chance that they are one person.

The likeness of two sets of unit embeddings is their average linkage, the mean cosine over every
pair, which is the dot product of the sets' mean vectors; so comparing every face (or person)
with every person is one matrix product whatever the persons' sizes, and one look-alike face in
a big person barely moves its mean. A face is compared with its own person without itself
(leave one out).

This module is the queue's only seam to the evidence and its calibration: per kind of question
a logistic model over its features (``FEATURES``, likeness in the units of the model's pair
calibration) gives the chance that "yes" is right, fitted by ``benchmarks/review_effort.py
--fit`` on a library-shaped benchmark.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from faceorganizer import config

CHUNK_ROWS = 4096


@dataclass(frozen=True)
class PersonMeans:
    """The mean embedding (not re-normalised) and size of each person, in ``ids`` order."""

    ids: np.ndarray  # int64 (p,)
    means: np.ndarray  # float32 (p, dims)
    sizes: np.ndarray  # int64 (p,)

    def row_of(self) -> dict[int, int]:
        return {int(p): i for i, p in enumerate(self.ids.tolist())}


def person_means(embeddings: np.ndarray, person: np.ndarray) -> PersonMeans:
    """Means of the faces sharing a person id, for every id >= 0."""
    grouped = person >= 0
    ids, inverse = np.unique(person[grouped], return_inverse=True)
    dims = embeddings.shape[1] if embeddings.ndim == 2 else 0
    rows = np.flatnonzero(grouped)
    member = sparse.csr_matrix(
        (np.ones(len(rows)), (inverse, np.arange(len(rows)))), shape=(len(ids), len(rows))
    )
    sums = np.asarray(member @ embeddings[rows].astype(np.float64)).reshape(len(ids), dims)
    sizes = np.bincount(inverse, minlength=len(ids)).astype(np.int64)
    means = (sums / np.maximum(sizes, 1)[:, None]).astype(np.float32)
    return PersonMeans(ids.astype(np.int64), means, sizes)


def top_rows(queries: np.ndarray, targets: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For each query row, its ``k`` most alike target rows (by dot product: the mean cosine
    to a person's mean, the cosine to a centroid) and those products, best first; -1 and -2.0
    where there are fewer targets."""
    n = len(queries)
    k_eff = min(k, len(targets))
    index = np.full((n, k), -1, np.int64)
    likeness = np.full((n, k), -2.0, np.float32)
    if not n or not k_eff:
        return index, likeness
    import torch

    target = torch.from_numpy(np.ascontiguousarray(targets, np.float32))
    with torch.inference_mode():
        for start in range(0, n, CHUNK_ROWS):
            chunk = torch.from_numpy(np.ascontiguousarray(queries[start : start + CHUNK_ROWS]))
            top = torch.topk(chunk.float() @ target.T, k_eff, dim=1)
            stop = start + len(chunk)
            index[start:stop, :k_eff] = top.indices.numpy()
            likeness[start:stop, :k_eff] = top.values.numpy()
    return index, likeness


def leave_one_out(embeddings: np.ndarray, person: np.ndarray, means: PersonMeans) -> np.ndarray:
    """Each grouped face's likeness to the rest of its person (nan for a face alone in it)."""
    out = np.full(len(embeddings), np.nan, np.float64)
    rows = np.flatnonzero(person >= 0)
    if not len(rows):
        return out
    at = means.row_of()
    prow = np.array([at[int(p)] for p in person[rows].tolist()], np.int64)
    n = means.sizes[prow].astype(np.float64)
    own = np.einsum("ij,ij->i", embeddings[rows].astype(np.float64), means.means[prow])
    self_sim = np.einsum("ij,ij->i", embeddings[rows], embeddings[rows]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[rows] = np.where(n > 1, (n * own - self_sim) / (n - 1), np.nan)
    return out


FEATURES: dict[str, tuple[str, ...]] = {
    "merge": ("centroid", "nearest", "log_min_size"),
    "who": ("centroid", "margin", "nearest"),
    "new": ("likeness", "margin"),
    "odd": ("likeness", "other", "nearest", "pair"),
}
# The first model the review queue was fitted for; its features are in pair-calibration units.
FALLBACK_MODEL = "dlib-resnet-v1"


@dataclass(frozen=True)
class ReviewCalibration:
    """Per kind of question, a logistic map from its features to the chance that "yes" (do
    what it proposes) is the right answer."""

    coef: dict[str, tuple[float, ...]]
    intercept: dict[str, float]
    info: dict[str, Any]

    def chance(self, kind: str, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, np.float64).reshape(-1, len(FEATURES[kind]))
        z = np.clip(x @ np.asarray(self.coef[kind]) + self.intercept[kind], -50.0, 50.0)
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> str:
        kinds = {
            k: {
                "features": list(FEATURES[k]),
                "coef": [round(c, 6) for c in self.coef[k]],
                "intercept": round(self.intercept[k], 6),
            }
            for k in FEATURES
        }
        return json.dumps({"kinds": kinds, **self.info}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, origin: str) -> ReviewCalibration:
        try:
            data = json.loads(text)
            kinds = data["kinds"]
            coef = {k: tuple(float(c) for c in kinds[k]["coef"]) for k in FEATURES}
            intercept = {k: float(kinds[k]["intercept"]) for k in FEATURES}
            names = {k: tuple(kinds[k]["features"]) for k in FEATURES}
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"invalid review calibration {origin}: {exc}") from None
        values = [*intercept.values(), *(c for v in coef.values() for c in v)]
        if names != FEATURES or not all(map(math.isfinite, values)):
            raise ValueError(f"invalid review calibration {origin}: features {names}")
        info = {k: v for k, v in data.items() if k != "kinds"}
        return cls(coef, intercept, info)


def review_calibration(model_id: str) -> ReviewCalibration:
    """The model's fitted review calibration, else the default model's, else the one fitted for
    ``FALLBACK_MODEL`` (its features are in pair-calibration units, so it carries across models
    calibrated alike)."""
    from importlib.resources import files

    for mid in dict.fromkeys((model_id, config.DEFAULT_MODEL_ID, FALLBACK_MODEL)):
        resource = files("faceorganizer.core") / "calibration" / f"{mid}.review.json"
        if resource.is_file():
            return ReviewCalibration.from_json(resource.read_text("utf-8"), resource.name)
    raise ValueError(f"no review calibration is shipped for {model_id}")


def write(path: Path, calibration: ReviewCalibration) -> None:
    """Write a review calibration file atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(calibration.to_json(), encoding="utf-8")
    tmp.replace(path)
