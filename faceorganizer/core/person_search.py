"""Similar faces scored by person-level evidence, with a percentage that holds in a 1:N search.

A face-to-face cosine says how alike two faces are; in a library most look-alikes belong to
people who already have other faces there, and those other faces are evidence too. A candidate
is therefore scored by its own likeness to the query and by the likeness of its whole person
(the mean cosine of all the person's faces to the query: ``core.evidence``); a candidate without
a person stands alone. The query is one face, or a whole person ("faces like this person": the
cosines are then means over the person's faces).

The percentage is ``SearchCalibration``: a logistic model over those features, fitted by
``benchmarks/search_quality.py --write`` on a library-shaped benchmark (every face a query
against a library of mostly other people), so it estimates the chance that *this result* is the
query's person in such a search. The features are in the units of the model's pair calibration
(``slope * (cosine - midpoint)``), so one fit carries across models calibrated the same way.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from faceorganizer.core.types import Calibration

FEATURES = ("face", "person", "person_x_log_size", "log_size", "log_query_size")


@dataclass(frozen=True)
class Evidence:
    """Per candidate face (the query's own faces left out): ``rows`` index the library arrays."""

    rows: np.ndarray  # int64 (m,)
    face: np.ndarray  # float64 (m,): mean cosine of the face to the query face(s)
    person: np.ndarray  # float64 (m,): mean cosine of the face's person to the query face(s)
    size: np.ndarray  # int64 (m,): faces of the person (1 for a face without a person)
    query_size: int


def evidence(cosines: np.ndarray, person: np.ndarray, query: np.ndarray) -> Evidence:
    """Person-level evidence for every library face that is not a query face.

    ``cosines``: each face's mean cosine to the query face(s); ``person``: each face's person id
    or -1; ``query``: a boolean mask of the query's own faces, left out of the results and of
    their person's mean (a face query's person still scores by its other faces).
    """
    query = np.asarray(query, bool)
    asked = int(np.count_nonzero(query))
    keep = np.flatnonzero(~query) if asked else np.arange(len(query))
    lab = np.asarray(person, np.int64)
    cos = np.asarray(cosines, np.float64)
    if asked:
        lab, cos = lab[keep], cos[keep]
    grouped = lab >= 0
    # One pass of bincount over person ids (no sort), the faces without a person in a last bin
    # of their own (no masked copies): a million faces score in tens of milliseconds.
    spare = int(lab.max(initial=-1)) + 1
    at = np.where(grouped, lab, spare)
    sums = np.bincount(at, weights=cos, minlength=spare + 1)
    sizes = np.bincount(at, minlength=spare + 1)
    sizes[spare] = 1
    size = sizes[at]
    return Evidence(
        rows=keep.astype(np.int64, copy=False),
        face=cos,
        person=np.where(grouped, sums[at] / np.maximum(size, 1), cos),
        size=size.astype(np.int64, copy=False),
        query_size=asked or 1,
    )


def feature_matrix(ev: Evidence, pair: Calibration) -> np.ndarray:
    """The ``FEATURES`` columns of each candidate, likeness in pair-calibration units."""
    face = pair.slope * (ev.face - pair.midpoint)
    person = pair.slope * (ev.person - pair.midpoint)
    log_size = np.log(ev.size.astype(np.float64))
    log_query = np.full(len(face), math.log(ev.query_size))
    return np.column_stack([face, person, person * log_size, log_size, log_query])


@dataclass(frozen=True)
class SearchCalibration:
    """Logistic map from ``FEATURES`` to the chance that a search result is the query's person."""

    coef: tuple[float, ...]
    intercept: float
    info: dict[str, Any]

    def logit(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features, np.float64) @ np.asarray(self.coef) + self.intercept

    def percent(self, features: np.ndarray) -> np.ndarray:
        z = np.clip(self.logit(features), -50.0, 50.0)
        return 100.0 / (1.0 + np.exp(-z))

    def to_json(self) -> str:
        data = {
            "features": list(FEATURES),
            "coef": [round(c, 6) for c in self.coef],
            "intercept": round(self.intercept, 6),
            **self.info,
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, origin: str) -> SearchCalibration:
        try:
            data = json.loads(text)
            coef = tuple(float(c) for c in data["coef"])
            intercept = float(data["intercept"])
            features = tuple(data["features"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"invalid search calibration {origin}: {exc}") from None
        if features != FEATURES or not all(map(math.isfinite, (*coef, intercept))):
            raise ValueError(f"invalid search calibration {origin}: features {features}")
        info = {k: v for k, v in data.items() if k not in ("coef", "intercept", "features")}
        return cls(coef, intercept, info)


def score(
    cosines: np.ndarray,
    person: np.ndarray,
    query: np.ndarray,
    pair: Calibration,
    calibration: SearchCalibration,
    threshold: float = 0.0,
    limit: int | None = None,
    ceiling: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(library rows, percentages) of the candidates at or above ``threshold`` percent, best
    first (ties by the face's own likeness), at most ``limit`` of them. ``ceiling`` (per
    library row) caps what is shown of each percentage, never the order: a face too poor to
    compare reliably is ranked by its evidence but never shown as likely.

    The logit is summed column by column and the percentage computed only for the candidates
    kept (the logit orders them as the percentage does): at a million faces this is several
    times cheaper than ``percent(feature_matrix(...))`` over every face.
    """
    ev = evidence(cosines, person, query)
    z = _logit(ev, pair, calibration)
    cap = None if ceiling is None else np.asarray(ceiling, np.float64)[ev.rows]
    if threshold > 0:
        keep = np.flatnonzero(z >= _logit_at(threshold))
        if cap is not None:
            keep = keep[cap[keep] >= threshold]
    else:
        keep = np.arange(len(z))
    if limit is not None and len(keep) > limit:
        keep = keep[np.argpartition(-z[keep], limit - 1)[:limit]]
    raw = 100.0 / (1.0 + np.exp(-np.clip(z[keep], -50.0, 50.0)))
    pct = raw if cap is None else np.minimum(raw, cap[keep])
    at = pct >= threshold
    keep, raw, pct = keep[at], raw[at], pct[at]
    order = np.lexsort((-ev.face[keep], -raw))
    return ev.rows[keep[order]], pct[order]


def _logit(ev: Evidence, pair: Calibration, calibration: SearchCalibration) -> np.ndarray:
    """``calibration.logit(feature_matrix(ev, pair))`` without the (n, 5) matrix."""
    c_face, c_person, c_person_size, c_size, c_query = calibration.coef
    log_size = np.log(ev.size.astype(np.float64))
    person = pair.slope * (ev.person - pair.midpoint)
    z = (c_person + c_person_size * log_size) * person
    z += c_face * pair.slope * (ev.face - pair.midpoint)
    z += c_size * log_size
    z += calibration.intercept + c_query * math.log(ev.query_size)
    return z


def _logit_at(percent: float) -> float:
    """The logit whose percentage is ``percent`` (a hair lower, so the cut keeps its equals)."""
    if percent >= 100.0:
        return 50.0 - 1e-9
    return math.log(percent / (100.0 - percent)) - 1e-9


def write(path: Path, calibration: SearchCalibration) -> None:
    """Write a search calibration file atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(calibration.to_json(), encoding="utf-8")
    tmp.replace(path)
