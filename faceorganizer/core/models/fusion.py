"""Two models as one: each face embedded by both, one vector whose cosine is their blend.

dlib's ResNet and SFace fail on different faces (SFace on people photographed decades apart,
dlib on turned heads), so a blend of their cosines beats either. Each model's cosine is first
standardised by its own impostor statistics (the spread of different-person cosines, fitted on
``lfw_dev``): ``w_a * cos_a + w_b * cos_b`` with ``w = (1 / sd) / sum(1 / sd)`` is that mean of
standardised cosines up to a constant, and it is exactly the cosine of the two unit vectors
concatenated as ``[sqrt(w_a) e_a, sqrt(w_b) e_b]`` (unit length again). So the blend is one
vector per face: search, clustering and calibration treat it like any model's.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from faceorganizer.core.models.base import Embedder, ModelSpec
from faceorganizer.core.types import Detection


def fuse(parts: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """Unit rows of each part, scaled by the square root of its weight and concatenated."""
    total = float(sum(weights))
    cols = []
    for part, w in zip(parts, weights, strict=True):
        unit = part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
        cols.append(unit * math.sqrt(w / total))
    return np.concatenate(cols, axis=1).astype(np.float32)


def split(fused: np.ndarray, dims: list[int]) -> list[np.ndarray]:
    """The unit vector of each model back out of fused rows (e.g. to search with one model)."""
    out, start = [], 0
    for d in dims:
        part = np.asarray(fused)[:, start : start + d]
        out.append(part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12))
        start += d
    return out


class FusionEmbedder(Embedder):
    """Runs its member embedders on the same detections and fuses their vectors (``fuse``).

    ``prepare`` packs each member's chips of a face into one flat row (the engine batches and
    slices rows, never looks inside); ``embed`` unpacks them. Safe in several threads at once
    when the members are.
    """

    def __init__(
        self, spec: ModelSpec, device: torch.device, members: list[Embedder], weights: list[float]
    ) -> None:
        super().__init__(spec, device)
        if len(members) != len(weights) or not all(w > 0 for w in weights):
            raise ValueError("one positive weight per member model")
        self.members = members
        self.weights = weights
        self._shapes = [(3, m.spec.input_size, m.spec.input_size) for m in members]

    def prepare(self, image: np.ndarray, detections: list[Detection]) -> torch.Tensor:
        if not detections:
            return torch.empty((0, sum(math.prod(s) for s in self._shapes)), dtype=torch.float32)
        chips = [m.prepare(image, detections) for m in self.members]
        return torch.cat([c.reshape(len(detections), -1) for c in chips], dim=1)

    def embed(self, chips: torch.Tensor) -> np.ndarray:
        parts, start = [], 0
        for member, shape in zip(self.members, self._shapes, strict=True):
            size = math.prod(shape)
            member_chips = chips[:, start : start + size].reshape(-1, *shape)
            parts.append(member.embed(member_chips))
            start += size
        if chips.shape[0] == 0:
            return np.empty((0, self.spec.dims), dtype=np.float32)
        return fuse(parts, self.weights)
