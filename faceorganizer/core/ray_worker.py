"""What runs inside a Ray worker: one ``FaceEngine`` per actor, loaded once, and the identity
the driver checks before it sends any photo.

Kept free of ``ray`` imports so that it can be tested and pickled without Ray; ``core.ray_engine``
wraps ``EngineWorker`` into a Ray actor class.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from faceorganizer.core.types import PhotoFaces

NEEDS_BYTES = "worker cannot open the path"


@dataclass(frozen=True)
class Item:
    """One photo sent to a worker: its path as the worker sees it, or its bytes when the worker
    could not open that path (``name`` keeps the file's suffix, which decides its decoder)."""

    index: int
    path: str
    data: bytes | None = None


def engine_identity(model_id: str, min_face_size: int | None) -> dict[str, object]:
    """What must be equal on the driver and every worker for their faces to be the same: the
    model and its weights, the embedding recipe, the pair and search calibrations, the engine's
    settings and this package's version. A fused model has no weights of its own: its members'
    weights and recipes, and its blend, are compared."""
    from faceorganizer import __version__
    from faceorganizer.core.models.registry import (
        calibration_for,
        get_spec,
        members_of,
        model_status,
        recipe_of,
        search_calibration_for,
    )

    spec = get_spec(model_id)
    members = members_of(spec)
    pair = calibration_for(model_id)
    search = search_calibration_for(model_id)
    calibrations = json.dumps(
        [pair.midpoint, pair.slope, list(search.coef), search.intercept], sort_keys=True
    )
    return {
        "model_id": model_id,
        "weights_sha256": {m: model_status(m).sha256 for m in members or [model_id]},
        "recipe": {m: recipe_of(m) for m in [model_id, *members]},
        "blend": spec.extra.get("weights"),
        "calibrations": hashlib.sha256(calibrations.encode()).hexdigest()[:16],
        "min_face_size": min_face_size,
        "version": __version__,
    }


class EngineWorker:
    """One face engine on one worker (a Ray actor's state): photos in, ``PhotoFaces`` out.

    ``device``: "cpu" (one torch thread per actor: Ray gives each actor its CPU) or "cuda".
    """

    def __init__(self, model_id: str, min_face_size: int | None, device: str) -> None:
        from faceorganizer.core.pipeline import FaceEngine

        self.identity = engine_identity(model_id, min_face_size)
        if device == "cpu":
            import torch

            torch.set_num_threads(1)
        self.engine = FaceEngine(
            model_id=model_id,
            device=device,
            min_face_size=min_face_size,
            workers=1,
            decode_threads=1 if device == "cpu" else 2,
        )
        self.identity["device"] = str(self.engine.device)

    def describe(self) -> dict[str, object]:
        """The identity of this worker's engine, its process id and host."""
        return {**self.identity, "pid": os.getpid(), "host": os.uname().nodename}

    def process(self, items: list[Item]) -> list[PhotoFaces]:
        """One result per item, in order; an item whose path this worker cannot open comes back
        with ``error == NEEDS_BYTES`` (the driver sends its bytes instead)."""
        out: list[PhotoFaces | None] = [None] * len(items)
        runnable: list[tuple[int, str]] = []
        with tempfile.TemporaryDirectory(prefix="faceorganizer-ray-") as tmp:
            for k, item in enumerate(items):
                if item.data is not None:
                    local = Path(tmp) / f"{k}{Path(item.path).suffix}"
                    local.write_bytes(item.data)
                    runnable.append((k, str(local)))
                elif _can_open(item.path):
                    runnable.append((k, item.path))
                else:
                    out[k] = PhotoFaces(path=item.path, error=NEEDS_BYTES)
            for (k, _), result in zip(
                runnable, self.engine.process([p for _, p in runnable]), strict=True
            ):
                result.path = items[k].path
                out[k] = result
        return [r for r in out if r is not None]


def _can_open(path: str) -> bool:
    """Whether this machine sees the file (a folder or a pipe is the engine's to report: it is
    never opened here, as opening a pipe would block)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return True
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False
