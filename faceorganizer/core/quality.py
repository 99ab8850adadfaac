"""Whether a face can be judged: signals measured on each face, and one quality with reasons.

A face is recognisable when it is whole, large and sharp enough, turned toward the camera,
surely a face, and its embedding is not in the region of the space where faces of no one in
particular gather (cut, blurred and background faces look alike to a face model). Each signal
is measured from what the library stores for every face (landmarks, detection score, the
photo's size, the face's thumbnail and embedding), so a library's faces can be judged again
without the photos or the detector:

- ``outside``: the share of the face (the square the five landmarks put it in) outside the
  photo; landmarks stay true past the border since the detector works with a margin;
- ``size``: that square's side in the photo's pixels;
- ``sharpness``: high-frequency contrast of an aligned grey chip cut from the thumbnail;
- ``turn``: how far the eyes have drawn together against the eye-to-mouth height (0 frontal,
  toward 1 in profile); ``tilt``: how far the nose sits from its frontal height (up or down);
- ``score``: the detector's confidence;
- ``indistinct``: the embedding's cosine to the model's "no one in particular" direction.

``core.quality_signals`` measures them. Each signal gives a score in 0..1 through a ramp
fitted per model (``QualityModel``, from ``calibration/<model>.quality.json``, written by
``benchmarks/fit_quality.py``): 0.5 at the value where faces stop being reliably recognised, so
the default bar of 0.5 sits at the fitted thresholds. A face's quality is its lowest score;
the reasons are the signals under the bar.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import numpy as np

SIGNALS = ("outside", "size", "sharpness", "turn", "tilt", "score", "indistinct")
# Reasons a user reads, worst first when several apply.
REASONS = {
    "outside": "cut by the edge",
    "size": "too small",
    "sharpness": "too blurred",
    "turn": "turned away",
    "tilt": "turned away",
    "score": "may not be a face",
    "indistinct": "too indistinct to recognise",
}
# What a search shows at most for a face under the bar, or with one as the query: an even
# chance, below any "same person" threshold a user would keep.
POOR_CEILING = 50.0
# Signals where a higher value is worse.
HIGHER_IS_WORSE = frozenset({"outside", "turn", "tilt", "indistinct"})


@dataclass(frozen=True)
class Signals:
    """The raw measurements of one face (see the module docstring)."""

    outside: float
    size: float
    sharpness: float
    turn: float
    tilt: float
    score: float
    indistinct: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {name: round(float(getattr(self, name)), 5) for name in SIGNALS}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> Signals | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(**{name: float(data[name]) for name in SIGNALS})
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Ramp:
    """A signal's score, the logistic regression of "recognised" on it: 0.5 at ``threshold``,
    its slope ``1 / width`` (both on the log of the value when ``log``, for sizes)."""

    threshold: float
    width: float
    log: bool = False

    def score(self, value: float, worse_high: bool) -> float:
        if self.log:
            value = float(np.log(max(value, 1e-6)))
        x = (value - self.threshold) / self.width
        return float(1.0 / (1.0 + np.exp(min(50.0, max(-50.0, x if worse_high else -x)))))


@dataclass(frozen=True)
class QualityModel:
    """A model's fitted ramps, its indistinct direction (unit, the model's dims), and the margin
    a new group must have over its neighbourhood (``core.group_gate``), in units of the model's
    pair calibration (``slope * cosine``; None: no test)."""

    model_id: str
    ramps: dict[str, Ramp]
    direction: np.ndarray | None
    version: int
    info: dict[str, Any]
    group_margin: float | None = None
    pair_margin: float | None = None  # a new group of two (None: ``group_margin``)

    def indistinct(self, embedding: np.ndarray) -> float:
        if self.direction is None:
            return 0.0
        v = np.asarray(embedding, np.float64).ravel()
        if v.shape != self.direction.shape:
            return 0.0
        return float(v @ self.direction / max(np.linalg.norm(v), 1e-12))

    def indistinct_many(self, embeddings: np.ndarray) -> np.ndarray:
        if self.direction is None or not len(embeddings):
            return np.zeros(len(embeddings))
        e = np.asarray(embeddings, np.float64)
        return e @ self.direction / np.maximum(np.linalg.norm(e, axis=1), 1e-12)

    def scores(self, signals: Signals) -> dict[str, float]:
        """Each signal's score, 0..1 (1 where the model fits no ramp for it)."""
        values = signals.as_dict()
        return {
            name: self.ramps[name].score(values[name], name in HIGHER_IS_WORSE)
            if name in self.ramps
            else 1.0
            for name in SIGNALS
        }

    def quality(self, signals: Signals) -> float:
        """The face's quality: its lowest signal score."""
        return min(self.scores(signals).values())

    def reasons(self, signals: Signals, bar: float) -> list[str]:
        """What a user reads for a face under ``bar``: the reasons of its signals under the bar,
        worst first, each said once."""
        scores = self.scores(signals)
        out: list[str] = []
        for name in sorted(SIGNALS, key=lambda n: scores[n]):
            if scores[name] < bar and REASONS[name] not in out:
                out.append(REASONS[name])
        return out

    def to_json(self) -> str:
        data = {
            "model_id": self.model_id,
            "version": self.version,
            "new_group_margin": self.group_margin,
            "new_pair_margin": self.pair_margin,
            "ramps": {
                k: {"threshold": r.threshold, "width": r.width, "log": r.log}
                for k, r in self.ramps.items()
            },
            "direction": None
            if self.direction is None
            else [round(float(x), 6) for x in self.direction],
            **self.info,
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, origin: str) -> QualityModel:
        try:
            data = json.loads(text)
            ramps = {
                k: Ramp(float(v["threshold"]), float(v["width"]), bool(v.get("log", False)))
                for k, v in data["ramps"].items()
            }
            direction = data.get("direction")
            vec = None if direction is None else np.asarray(direction, np.float64)
            version = int(data["version"])
            model_id = str(data["model_id"])
            margin = data.get("new_group_margin")
            group_margin = None if margin is None else float(margin)
            pair = data.get("new_pair_margin")
            pair_margin = None if pair is None else float(pair)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"invalid quality file {origin}: {exc}") from None
        if set(ramps) - set(SIGNALS) or any(r.width <= 0 for r in ramps.values()):
            raise ValueError(f"invalid quality file {origin}: unknown signal or width <= 0")
        if vec is not None:
            vec = vec / max(float(np.linalg.norm(vec)), 1e-12)
        skip = ("ramps", "direction", "version", "model_id", "new_group_margin", "new_pair_margin")
        info = {k: v for k, v in data.items() if k not in skip}
        return cls(model_id, ramps, vec, version, info, group_margin, pair_margin)


@functools.cache
def quality_model(model_id: str) -> QualityModel:
    """The model's shipped quality file. A model without one borrows the geometric and detection
    ramps and the new-group margins of the default model's file (else dlib's, the first fitted),
    with no indistinct direction (it lives in the lender's space). The ramps judge what the photo
    shows, the same for every model; the margins are in pair-calibration units, which
    ``cluster_input`` divides by the borrowing model's own slope, so they follow its cosine
    scale. A borrowed fit has a version of its own (``BORROWED`` on), so the model's first own
    file changes its recipe and its faces are judged again."""
    from faceorganizer.config import DEFAULT_MODEL_ID

    for mid in dict.fromkeys((model_id, DEFAULT_MODEL_ID, "dlib-resnet-v1")):
        resource = files("faceorganizer.core") / "calibration" / f"{mid}.quality.json"
        if resource.is_file():
            found = QualityModel.from_json(resource.read_text("utf-8"), resource.name)
            if mid == model_id:
                return found
            ramps = {k: r for k, r in found.ramps.items() if k != "indistinct"}
            info = {"borrowed_from": mid}
            version = BORROWED + found.version
            return QualityModel(
                model_id, ramps, None, version, info, found.group_margin, found.pair_margin
            )
    return QualityModel(model_id, {}, None, 0, {})


def recipe(model_id: str) -> int:
    """What a face's stored quality was computed with (signals code and the model's file): a
    stored face of another recipe is judged again."""
    return SIGNALS_VERSION * 1000 + quality_model(model_id).version


SIGNALS_VERSION = 1
BORROWED = 500  # versions of borrowed fits; a model's own files count from 1
