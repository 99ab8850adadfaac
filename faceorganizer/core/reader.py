"""One way in: every file the app reads (photos, sidecars, anything a user points it at) is opened
here, so that no file can hang it or make it read without end.

Only regular files are read. The file is opened with ``O_NONBLOCK`` (a pipe or a device opens at
once instead of waiting for a writer) and judged by ``fstat`` of what was opened, not by a name
that may change in between; a link is followed, but a link to a device or a pipe is refused like
the device itself. Each kind of file has a size cap, checked before reading and enforced while
reading (a file that grows is still read no further than its cap).
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import stat
from collections.abc import Iterator
from typing import BinaryIO

from faceorganizer.config import MODEL_WEIGHTS_MAX_BYTES

MB = 1 << 20

# What one file of each kind may hold. Photos are decoded a piece at a time and their decoded
# memory is capped separately (``core.images``), so their cap is about hashing and copying time;
# a sidecar is parsed whole by the XMP toolkit (a 4 MB sidecar: about 3 s and 190 MB, measured).
SIZE_CAPS = {
    "photo": 4096 * MB,
    "sidecar": 4 * MB,
    "settings": 16 * MB,
    "mark": 64 * 1024,  # a few lines the app wrote itself (a library's damage mark)
    "library": 1 << 50,  # SQLite's own limit is far above any disk
    "weights file": MODEL_WEIGHTS_MAX_BYTES,
}

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class ReadRefused(OSError):
    """A file that is not read; ``reason`` is short and human ("a pipe (FIFO), not a file")."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(errno.EINVAL, reason, os.fspath(path))
        self.path = os.fspath(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def kind_of(mode: int) -> str:
    """What a file that is not a regular file is, for a message."""
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def not_a_file(path: str | os.PathLike[str]) -> str | None:
    """What stands in ``path``'s place when it is not a regular file ("a link", "a pipe (FIFO)",
    …), for files the app does not open through ``open_file`` (SQLite's companions, locks, Qt's
    settings); None when it is a regular file or nothing is there."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISLNK(mode):
        return "a link"
    return None if stat.S_ISREG(mode) else kind_of(mode)


def human_size(n: int) -> str:
    """``n`` bytes for a message; rounded up, so a file just over a cap never reads as the cap
    itself ("4.1 MB; at most 4 MB", not "4 MB; at most 4 MB")."""
    for unit, size in (("MB", MB), ("KB", 1024)):
        if n >= size:
            tenths = math.ceil(n * 10 / size)
            return f"{tenths // 10} {unit}" if tenths % 10 == 0 else f"{tenths / 10:.1f} {unit}"
    return f"{n} bytes"


@contextlib.contextmanager
def open_file(path: str | os.PathLike[str], kind: str = "photo") -> Iterator[BinaryIO]:
    """``path`` opened for reading as a binary file, if it is a regular file within the size cap
    of ``kind``; ``ReadRefused`` otherwise (``OSError`` when it cannot be opened at all)."""
    cap = SIZE_CAPS[kind]
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC | _BINARY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ReadRefused(path, f"{kind_of(st.st_mode)}, not a regular file")
        if st.st_size > cap:
            size, most = human_size(st.st_size), human_size(cap)
            raise ReadRefused(path, f"too large for a {kind} ({size}; at most {most})")
        if _NONBLOCK:
            import fcntl

            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~_NONBLOCK)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


def read_file(path: str | os.PathLike[str], kind: str) -> bytes:
    """The whole of a (small) file of ``kind``, never more than its cap."""
    cap = SIZE_CAPS[kind]
    with open_file(path, kind) as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        raise ReadRefused(path, f"too large for a {kind} (it grew past {human_size(cap)})")
    return data


def reopenable(f: BinaryIO, path: str) -> str:
    """A name other libraries can open for the file ``f`` holds (Linux: ``/proc/self/fd/N``, the
    very file checked, even if ``path`` now names another); ``path`` where there is none."""
    candidate = f"/proc/self/fd/{f.fileno()}"
    return candidate if os.path.exists(candidate) else path
