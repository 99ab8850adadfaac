"""Where a Library computes and with what: the device it resolves once, and one face engine per
(model, device, minimum face size) in a process, shared by every Library.

The desktop app opens several Libraries (a scanning worker, an editing worker); loading a second
engine for a search by photo would cost seconds and hundreds of MB. ``FaceEngine`` serialises its
model calls on its own lock, so the scan and a search by photo interleave between batches.

The device is the user's choice (``auto|cpu|cuda|mps``, a string the GUI and CLI hold without
loading torch) until a Library first needs it; from there on it is one ``torch.device``, handed
to the engine, the search index, the review queue and clustering as it is.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from faceorganizer.services.errors import LibraryError

if TYPE_CHECKING:  # torch loads in seconds: only when a scan or a search by photo needs it
    import torch

    from faceorganizer.core.pipeline import FaceEngine

log = logging.getLogger(__name__)

_lock = threading.Lock()
_engines: dict[tuple[str, torch.device, int | None], FaceEngine] = {}


class Device:
    """A device choice and the ``torch.device`` it resolves to, resolved once (on the thread
    that first computes; torch is imported then)."""

    def __init__(self, choice: str = "auto") -> None:
        self.choice = choice
        self._resolved: torch.device | None = None

    def resolved(self) -> torch.device:
        """The torch device; a device this machine lacks is a ``LibraryError``."""
        if self._resolved is None:
            from faceorganizer.core.device import DeviceUnavailableError, resolve_device

            try:
                self._resolved = resolve_device(self.choice)
            except DeviceUnavailableError as exc:
                raise LibraryError(str(exc)) from None
        return self._resolved


def engine_for(model_id: str, device: torch.device, min_face_size: int | None = None) -> FaceEngine:
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
