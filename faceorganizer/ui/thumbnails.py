"""Face thumbnails and photos decoded off the GUI thread, kept in an LRU cache.

Threading contract: ``ThumbnailCache`` lives on the GUI thread. Its ``fetch`` callable
(reading JPEG bytes from the GUI's read-only Library, a cheap indexed query) runs there;
the decoding runs on a ``QThreadPool`` and the result comes back as a queued signal.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, SignalInstance, Slot
from PySide6.QtGui import QImage, QPixmap


class _Relay(QObject):
    """Carries results from pool threads to the GUI thread (queued connection)."""

    decoded = Signal(object, object)  # key, QImage or None
    failed = Signal(object, str)  # key, human reason


def deliver(signal: SignalInstance, *args: object) -> None:
    """Emit a result from a pool thread; when its receiver is gone (the window closed while the
    decode ran) the result is dropped."""
    with contextlib.suppress(RuntimeError):  # "Signal source has been deleted"
        signal.emit(*args)


class _DecodeBytes(QRunnable):
    def __init__(self, key: object, data: bytes, relay: _Relay) -> None:
        super().__init__()
        self.key, self.data, self.relay = key, data, relay

    def run(self) -> None:
        image = QImage.fromData(self.data, "JPEG")  # type: ignore[arg-type]  # stub says bytes
        if image.isNull():
            image = QImage.fromData(self.data)
        deliver(self.relay.decoded, self.key, None if image.isNull() else image)


def array_to_qimage(rgb: np.ndarray) -> QImage:
    """An owned QImage copy of an (H, W, 3) uint8 RGB array."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class _DecodePhoto(QRunnable):
    def __init__(self, key: object, path: str, max_side: int, relay: _Relay) -> None:
        super().__init__()
        self.key, self.path, self.max_side, self.relay = key, path, max_side, relay

    def run(self) -> None:
        from faceorganizer.core.images import load_image

        try:
            loaded = load_image(Path(self.path), max_side=self.max_side)
        except Exception as exc:  # ImageLoadError and friends: shown, never raised
            deliver(self.relay.failed, self.key, str(getattr(exc, "reason", exc)))
            return
        deliver(self.relay.decoded, self.key, array_to_qimage(loaded.rgb))


class ThumbnailCache(QObject):
    """An LRU cache of face thumbnails by face id; asks for missing ones asynchronously.

    ``get(face_id)`` returns a pixmap when cached, else ``None`` and starts a decode;
    ``thumbnail_ready(face_id)`` is emitted when it arrives so views repaint that cell.
    """

    thumbnail_ready = Signal(int)

    def __init__(
        self,
        fetch: Callable[[int], bytes | None],
        capacity: int = 4000,
        pool: QThreadPool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._fetch = fetch
        self._capacity = capacity
        self._pool = pool or QThreadPool.globalInstance()
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._pending: set[int] = set()
        self._missing: set[int] = set()
        self._relay = _Relay(self)
        self._relay.decoded.connect(self._on_decoded)

    def set_fetch(self, fetch: Callable[[int], bytes | None]) -> None:
        """Point at another library (the cache is cleared: face ids are per library)."""
        self._fetch = fetch
        self.clear()

    def clear(self) -> None:
        self._cache.clear()
        self._missing.clear()

    def get(self, face_id: int) -> QPixmap | None:
        pix = self._cache.get(face_id)
        if pix is not None:
            self._cache.move_to_end(face_id)
            return pix
        if face_id not in self._pending and face_id not in self._missing:
            self._request(face_id)
        return None

    def is_pending(self, face_id: int) -> bool:
        return face_id in self._pending

    def _request(self, face_id: int) -> None:
        try:
            data = self._fetch(face_id)
        except Exception:
            data = None
        if not data:
            self._missing.add(face_id)
            return
        self._pending.add(face_id)
        self._pool.start(_DecodeBytes(face_id, data, self._relay))

    @Slot(object, object)
    def _on_decoded(self, key: object, image: QImage | None) -> None:
        face_id = int(key)  # type: ignore[call-overload]
        self._pending.discard(face_id)
        if image is None:
            self._missing.add(face_id)
            return
        self._cache[face_id] = QPixmap.fromImage(image)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        self.thumbnail_ready.emit(face_id)


class PhotoLoader(QObject):
    """Decodes whole photos (EXIF-upright) on the pool; only the latest request matters."""

    loaded = Signal(int, QImage)  # request id, image
    failed = Signal(int, str)  # request id, reason

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._relay = _Relay(self)
        self._relay.decoded.connect(self._on_decoded)
        self._relay.failed.connect(self._on_failed)
        self._next = 0
        self._busy = 0

    def load(self, path: str, max_side: int = 2400) -> int:
        self._next += 1
        self._busy += 1
        self._pool.start(_DecodePhoto(self._next, path, max_side, self._relay))
        return self._next

    def busy(self) -> bool:
        return self._busy > 0

    @Slot(object, object)
    def _on_decoded(self, key: object, image: QImage | None) -> None:
        self._busy -= 1
        if image is None:
            self.failed.emit(int(key), "could not decode")  # type: ignore[call-overload]
        else:
            self.loaded.emit(int(key), image)  # type: ignore[call-overload]

    @Slot(object, str)
    def _on_failed(self, key: object, reason: str) -> None:
        self._busy -= 1
        self.failed.emit(int(key), reason)  # type: ignore[call-overload]
