"""What every embedding model declares and does, behind one interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from faceorganizer.core.types import Calibration, Detection

if TYPE_CHECKING:  # torch loads in seconds: only the models themselves need it
    import torch

__all__ = ["Calibration", "Embedder", "ModelSpec"]  # Calibration: from core.types, as before


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
