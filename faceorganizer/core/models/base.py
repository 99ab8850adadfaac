"""What every embedding model declares and does, behind one interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from faceorganizer.core.types import Detection

if TYPE_CHECKING:  # torch loads in seconds: only the models themselves need it
    import torch


@dataclass(frozen=True)
class Calibration:
    """Logistic map from cosine similarity to a probability of "same person".

    percent = 100 / (1 + exp(-(slope * (cosine - midpoint)))); ``midpoint`` is the
    equal-error cosine on labelled pairs, so 50 % is the equal-error point.
    """

    midpoint: float
    slope: float

    def percent(self, cosine: np.ndarray | float) -> np.ndarray | float:
        z = self.slope * (np.asarray(cosine, dtype=np.float64) - self.midpoint)
        return 100.0 / (1.0 + np.exp(-z))

    def cosine_at(self, percent: float) -> float:
        """The cosine at which the calibrated percentage equals ``percent``."""
        p = min(max(percent, 1e-6), 100 - 1e-6) / 100.0
        return float(self.midpoint + np.log(p / (1 - p)) / self.slope)


@dataclass(frozen=True)
class ModelSpec:
    """Static facts about a model: what the registry lists before anything loads."""

    model_id: str
    display_name: str
    dims: int
    input_size: int
    weights_filename: str
    weights_size: int | None
    sha256: str | None
    url: str | None
    license: str
    calibration: Calibration
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    # Bumped whenever ``prepare`` or ``embed`` changes what vectors come out, so that cached
    # vectors of an older recipe are not mixed with new ones.
    recipe: int = 1


class Embedder(ABC):
    """A loaded model: prepares face chips from a photo and embeds them in batches.

    ``prepare`` and ``embed`` may run in several threads at once (the engine's CPU workers, one
    photo each, under the engine's lock): keep no state between calls.
    """

    spec: ModelSpec

    def __init__(self, spec: ModelSpec, device: torch.device) -> None:
        self.spec = spec
        self.device = device

    @abstractmethod
    def prepare(self, image: np.ndarray, detections: list[Detection]) -> torch.Tensor:
        """Align/crop each detection from an RGB uint8 HxWx3 image into a (N, 3, S, S) tensor
        ready for ``embed`` (already normalised as the weights expect)."""

    @abstractmethod
    def embed(self, chips: torch.Tensor) -> np.ndarray:
        """Embed prepared chips: (N, dims) float32, each row unit length."""
