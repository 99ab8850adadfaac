"""One face engine per (model, device, minimum face size) in a process, shared by every Library.

The desktop app opens several Libraries (a scanning worker, an editing worker); loading a second
engine for a search by photo would cost seconds and hundreds of MB. ``FaceEngine`` serialises its
model calls on its own lock, so the scan and a search by photo interleave between batches.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads in seconds: only when a scan or a search by photo needs it
    from faceorganizer.core.pipeline import FaceEngine

log = logging.getLogger(__name__)

_lock = threading.Lock()
_engines: dict[tuple[str, str, int | None], FaceEngine] = {}


def engine_for(model_id: str, device: str, min_face_size: int | None = None) -> FaceEngine:
    """The shared engine for these settings, loaded on first use (thread-safe)."""
    key = (model_id, device, min_face_size)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            from faceorganizer.core.pipeline import FaceEngine

            log.info("loading face engine %s on %s (min face %s)", model_id, device, min_face_size)
            engine = FaceEngine(model_id=model_id, device=device, min_face_size=min_face_size)
            _engines[key] = engine
        return engine


def forget_engines() -> None:
    """Drop the loaded engines (they are freed once no Library uses them)."""
    with _lock:
        _engines.clear()
