"""Plain data passed between the engine's stages, the library and the UI."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


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
class Detection:
    """One face found by the detector.

    Coordinates are pixels of the upright, full-resolution photo (after EXIF
    orientation), whatever scale the image was decoded or detected at.
    ``landmarks`` is a (5, 2) float32 array in MTCNN order: image-left eye,
    image-right eye, nose tip, image-left mouth corner, image-right mouth corner.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def size(self) -> float:
        """Side of the face in pixels (the shorter of box width and height)."""
        return min(self.width, self.height)


@dataclass
class EmbeddedFace:
    """A detection plus what the library stores with it. ``quality`` (0..1) and ``signals``
    (``core.quality.Signals`` as a dict) say whether the face can be judged; ``quality_recipe``
    what they were computed with (0: not judged)."""

    detection: Detection
    embedding: np.ndarray  # float32 (dims,), unit length
    model_id: str
    quality: float = 0.0
    thumbnail: bytes = b""  # small JPEG of the face, so views never reopen originals
    signals: dict[str, float] | None = None
    quality_recipe: int = 0


@dataclass
class PhotoFaces:
    """Result of running the engine on one photo: faces, or an error reason."""

    path: str
    width: int = 0
    height: int = 0
    faces: list[EmbeddedFace] = field(default_factory=list)
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


class PhotoEngine(Protocol):
    """What a scan needs of an engine (``core.pipeline.FaceEngine``, or a fake in fast tests):
    one ``PhotoFaces`` per path, in order, stopping early once ``cancel`` is set."""

    def process(
        self, paths: Iterable[str | os.PathLike[str]], cancel: threading.Event | None = None
    ) -> Iterator[PhotoFaces]: ...
