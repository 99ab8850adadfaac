"""Locks beside the library file that die with their process (a crash or ``kill -9`` frees them).

- ``<library>.scan.lock``: held by the one scan of a library (``filelock``: ``flock`` on POSIX,
  ``LockFileEx`` on Windows), so a second scan, from another window or process, is told apart
  and refused instead of racing the first one's inserts.
- ``<library>.lock``: every open ``Library`` holds a shared ``flock`` on it. Whoever can take it
  exclusively is alone with the library; if SQLite's WAL file still holds data then, the last
  session did not close cleanly, and an integrity check is worth its cost. Where ``flock`` does
  not exist (Windows) nobody is ever known to be alone, and that check is left to the scans.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from faceorganizer.core.reader import not_a_file
from faceorganizer.storage.errors import LibraryError, ScanRunningError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SCAN_RUNNING = (
    "a scan of this library is already running (in another window or process); "
    "wait for it to finish"
)


def beside(library: Path, suffix: str) -> Path:
    """``<library><suffix>`` beside the library's real file: every name of one library (a link,
    a relative path) gives the same lock, so a link cannot get a second scan past the first."""
    real = Path(os.path.realpath(library))
    return real.with_name(real.name + suffix)


@contextlib.contextmanager
def scan_lock(library: Path) -> Iterator[None]:
    """Held for the whole of one scan; ``ScanRunningError`` when another scan holds it. A
    folder, pipe or link in the lock file's place is refused by name: scanning on without the
    lock there would let a second scan run alongside."""
    path = beside(library, ".scan.lock")
    what = not_a_file(path)
    if what is not None:
        raise LibraryError(
            f"cannot scan: {path}, the file that keeps two scans of this library apart, is "
            f"{what}, not a regular file (remove it, then scan again)"
        )
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ScanRunningError(SCAN_RUNNING) from None
    except (OSError, NotImplementedError) as exc:  # no locks here (a read-only or odd share)
        log.warning("scanning %s without a scan lock: %s", library, exc)
        yield
        return
    try:
        yield
    finally:
        lock.release()


class SessionLock:
    """A shared hold on ``<library>.lock`` for as long as a ``Library`` is open.

    Not thread-safe; one per ``Library``. Failing to create the lock file (a read-only folder,
    a full disk) only means nobody is known to be alone with the library.
    """

    def __init__(self, library: Path) -> None:
        self.path = beside(library, ".lock")
        self._fd: int | None = None
        self.alone = False

    def acquire(self) -> bool:
        """Take the shared hold; True when no other open ``Library`` holds one."""
        if fcntl is None:
            return False
        try:
            # never through a link: O_CREAT would make its target, wherever it points
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as exc:
            log.info("no session lock for %s: %s", self.path, exc)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.alone = True
        except OSError:
            self.alone = False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # converts an exclusive hold, or waits out another's
        except OSError as exc:  # a file system without flock (some network shares)
            log.info("no session lock for %s: %s", self.path, exc)
            os.close(fd)
            self.alone = False
            return False
        self._fd = fd
        return self.alone

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # frees the flock
            self._fd = None
