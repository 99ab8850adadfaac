"""The XMP toolkit and sidecar naming, shared by reading and writing face regions.

The XMP library is python-exiv2 (PyPI ``exiv2``): it wraps exiv2 and Adobe's XMP toolkit, its
wheels carry libexiv2, it reads the XMP embedded in JPEG, HEIC/AVIF (BMFF), PNG, TIFF, WebP and
raw files as well as standalone sidecars, and it writes a packet from typed XMP data (structs and
arrays declared, not string templates). Every exiv2 call holds one module lock
(``exiv2_lock``): the XMP toolkit keeps global state and is not safe to call from two threads at
once.

Sidecar naming: ``photo.jpg.xmp`` (the name digiKam writes by default and the only one darktable
reads); ``photo.xmp`` (Lightroom, digiKam's "compatible" option, exiftool's ``%d%f.xmp``) is read
too, and updated instead when it is the photo's only sidecar.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

FO_NS = "urn:faceorganizer:xmp:1.0/"
FO_PREFIX = "faceorganizer"

_lock = threading.Lock()
_exiv2: Any = None
log = logging.getLogger(__name__)


class _ToolkitLog(logging.Handler):
    """exiv2's log lines, to our log (never raw on the user's terminal) and kept while the lock
    is held: the XMP toolkit reports a packet it cannot parse only there (``readMetadata`` then
    returns no properties at all, as for an empty packet)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().strip()
        self.lines.append(message)
        log.info("exiv2: %s", message)


_toolkit_log = _ToolkitLog()


class SidecarError(Exception):
    """A sidecar that cannot be read or written; the message says which and why. ``refused``:
    the file itself was not opened (a pipe, a device, too large), as opposed to holding no
    readable XMP. ``damaged``: the XMP toolkit found a packet and could not parse it (as opposed
    to a file it cannot open at all, such as a format it does not know)."""

    def __init__(self, message: str, refused: bool = False, damaged: bool = False) -> None:
        super().__init__(message)
        self.refused = refused
        self.damaged = damaged


def _lib() -> Any:
    """python-exiv2, loaded once, its log routed to Python logging and our namespace known."""
    global _exiv2
    if _exiv2 is None:
        import exiv2

        exiv2.LogMsg.setHandler(exiv2.pythonHandler)
        exiv2_log = logging.getLogger("exiv2")
        exiv2_log.addHandler(_toolkit_log)
        exiv2_log.propagate = False
        exiv2.LogMsg.setLevel(exiv2.LogMsg.Level.error)  # warnings: quirks of cameras' EXIF
        exiv2.XmpProperties.registerNs(FO_NS, FO_PREFIX)
        _exiv2 = exiv2
    return _exiv2


@contextlib.contextmanager
def exiv2_lock() -> Iterator[Any]:
    """python-exiv2, used under the one lock every exiv2 call holds."""
    with _lock:
        _toolkit_log.lines.clear()
        yield _lib()


def parse_failed() -> bool:
    """Whether the XMP toolkit failed to parse a packet since the lock was taken (call it while
    holding the lock)."""
    return any(line.startswith("XMP Toolkit error") for line in _toolkit_log.lines)


def sidecar_path(photo_path: str) -> str:
    """The sidecar FaceOrganizer writes: ``photo.jpg.xmp``."""
    return photo_path + ".xmp"


def sidecar_candidates(photo_path: str) -> list[str]:
    """Sidecars read for a photo, most specific first: ``photo.jpg.xmp``, ``photo.xmp``."""
    names = [sidecar_path(photo_path), os.path.splitext(photo_path)[0] + ".xmp"]
    return list(dict.fromkeys(names))


def sidecar_target(photo_path: str) -> str:
    """The sidecar a write updates: the photo's existing one (``photo.jpg.xmp`` first, then a
    Lightroom-style ``photo.xmp``), so a photo keeps one sidecar; else a new ``photo.jpg.xmp``."""
    for path in sidecar_candidates(photo_path):
        if os.path.exists(path):
            return path
    return sidecar_path(photo_path)
