"""Embedding models: the shared interface (``base``), the registry, and one module per family."""

from faceorganizer.core.models.base import Embedder, ModelSpec
from faceorganizer.core.models.registry import (
    DEFAULT_MODEL_ID,
    MODELS,
    ModelStatus,
    calibration_for,
    load_embedder,
    model_status,
)
from faceorganizer.core.types import Calibration

__all__ = [
    "DEFAULT_MODEL_ID",
    "MODELS",
    "Calibration",
    "Embedder",
    "ModelSpec",
    "ModelStatus",
    "calibration_for",
    "load_embedder",
    "model_status",
]
