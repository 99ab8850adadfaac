"""One way out: every file the app writes (exports, tables, contact sheets, backups, recovered
libraries, sidecars, crops) is written here.

- Never through a link: an existing link at the target is refused, and a file is put in place by
  renaming a new temporary file over the name, which replaces a name and never writes into
  whatever an old name pointed to.
- Never onto what a ``Guard`` protects: the library and its companion files, a photo of the
  library, or (for exports) anything inside a scanned folder.
- Atomic: a temporary file beside the target, flushed, then renamed; a killed writer leaves only
  a temporary file with its process id in the name, removed by the next write into that folder.
- Idempotent: ``put_unique`` and ``copy_unique`` find the file already written on a re-run
  instead of adding ``X (2).jpg``.
- Failures are ``WriteRefused`` with the file and a human reason ("the disk is full").
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from faceorganizer.core.reader import kind_of, open_file

TEMP_SUFFIX = ".fo-tmp"
# A temporary, and the files SQLite keeps beside one that is a library being built.
_TEMP = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.fo-tmp(?:-wal|-shm|-journal|\.lock)?$")
# Sidecar temporaries of earlier versions (``tempfile.mkstemp``): no process id to check.
_OLD_TEMP = re.compile(r"^\..+\.xmp\.[a-z0-9_]{8}\.tmp$")
STALE_SECONDS = 24 * 3600  # a temporary of a live process on another machine is older than this
CHUNK = 1 << 20
NAME_MAX = 255  # bytes in one name on the usual file systems (ext4, APFS, NTFS in UTF-16 units)

_cleaned: set[str] = set()
_cleaned_lock = threading.Lock()


class WriteRefused(Exception):
    """A file not written; the message names it and says why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"cannot write {os.fspath(path)}: {reason}")
        self.path = os.fspath(path)
        self.reason = reason


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.fspath(path))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class Guard:
    """What a write must never touch: ``files`` (the library and its companions: never
    replaced, whatever name reaches them), files ``is_photo`` says are photos of the library (by
    real path), and with ``folders`` anything inside them (scanned folders)."""

    files: tuple[str, ...] = ()
    is_photo: Callable[[str], bool] | None = None
    folders: tuple[str, ...] = ()
    what: dict[str, str] = field(default_factory=dict)  # file -> how a refusal names it

    def check(self, path: str | os.PathLike[str]) -> None:
        real = _real(path)
        for f in self.files:
            if real == _real(f) or _same_file(path, f):
                raise WriteRefused(path, f"that is {self.what.get(f, 'the library')}")
        if self.is_photo is not None and (
            self.is_photo(real) or self.is_photo(os.path.abspath(path))
        ):
            raise WriteRefused(path, "that is a photo of the library")
        for folder in self.folders:
            if _inside(real, _real(folder)):
                raise WriteRefused(
                    path,
                    f"it is inside the scanned folder {folder}; the next scan would take it "
                    "for new photos: choose a place outside the scanned folders",
                )


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def reason_of(exc: OSError) -> str:
    """A human reason for a failed write."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the disk is read-only"
    if exc.errno == errno.ENAMETOOLONG:
        return "the name is too long for this disk"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, NotADirectoryError):
        return "a part of the path is a file, not a folder"
    return (exc.strerror or str(exc)).lower()


def check_target(path: str | os.PathLike[str], guard: Guard, replace: bool = False) -> None:
    """Refuse a target that is a link, not a regular file, protected, or (unless ``replace``)
    already there."""
    guard.check(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise WriteRefused(path, reason_of(exc)) from None
    if stat.S_ISLNK(st.st_mode):
        raise WriteRefused(path, "it is a link; nothing is written through a link")
    if not stat.S_ISREG(st.st_mode):
        raise WriteRefused(path, f"it is {kind_of(st.st_mode)}")
    if not replace:
        raise WriteRefused(path, "it already exists")


def make_folder(path: str | os.PathLike[str], guard: Guard, chosen: bool = False) -> None:
    """``path`` as a real folder (created with its parents); refused when it is a link or a file,
    or is protected. ``chosen``: the folder the user named, which may be a link to a folder
    (what they asked for); folders the app picks itself never are."""
    guard.check(path)
    p = Path(path)
    if chosen and p.is_symlink() and p.is_dir():
        return
    if p.is_symlink():
        what = "a link to a folder" if p.is_dir() else "a link"
        raise WriteRefused(p, f"it is {what}; nothing is written through a link")
    if p.exists() and not p.is_dir():
        raise WriteRefused(p, "it is a file, not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise WriteRefused(p, "a part of the path is a file, not a folder") from None
    except OSError as exc:
        raise WriteRefused(p, reason_of(exc)) from None


def clean_stale(folder: str | os.PathLike[str], force: bool = False) -> int:
    """Remove temporaries that killed writers left in ``folder`` (once per folder and process
    unless ``force``); returns how many."""
    key = os.fspath(folder)
    with _cleaned_lock:
        if key in _cleaned and not force:
            return 0
        _cleaned.add(key)
    removed = 0
    try:
        with os.scandir(key) as it:
            entries = [e for e in it if e.name.startswith(".")]
    except OSError:
        return 0
    now = time.time()
    for e in entries:
        m = _TEMP.match(e.name)
        try:
            if not e.is_file(follow_symlinks=False):
                continue
            age = now - e.stat(follow_symlinks=False).st_mtime
            ours = m is not None and (not _alive(int(m.group(1))) or age > STALE_SECONDS)
            if ours or (m is None and _OLD_TEMP.match(e.name) and age > 60):
                os.unlink(e.path)
                removed += 1
        except OSError:
            continue
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def temp_path(path: str | os.PathLike[str]) -> Path:
    """A temporary name beside ``path``: hidden, with this process's id, removed when stale."""
    p = Path(path)
    return p.with_name(
        fit_name(f".{p.name}"[:101], f".{os.getpid()}.{uuid.uuid4().hex[:8]}{TEMP_SUFFIX}")
    )


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_file(
    path: str | os.PathLike[str],
    data: bytes | Callable[[BinaryIO], None],
    guard: Guard | None = None,
    replace: bool = False,
) -> None:
    """Write ``data`` (bytes, or a function writing to the open file) to ``path`` atomically.
    An existing regular file is replaced only with ``replace`` (and keeps its permissions)."""
    guard = guard or Guard()
    check_target(path, guard, replace)
    folder = os.path.dirname(os.fspath(path)) or "."
    clean_stale(folder)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        mode = _default_mode()
    tmp = temp_path(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                data(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        check_target(path, guard, replace)  # again: a link may have appeared meanwhile
        os.replace(tmp, path)
    except WriteRefused:
        _discard(tmp)
        raise
    except OSError as exc:
        _discard(tmp)
        raise WriteRefused(path, reason_of(exc)) from None
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _same_content(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two regular files hold the same bytes (size and time first: copies keep the
    source's modification time)."""
    try:
        sa, sb = os.stat(a), os.stat(b)
        if not (stat.S_ISREG(sa.st_mode) and stat.S_ISREG(sb.st_mode)):
            return False
        if sa.st_size != sb.st_size:
            return False
        if sa.st_mtime_ns == sb.st_mtime_ns:
            return True
        with open_file(a) as fa, open_file(b) as fb:
            while True:
                ca, cb = fa.read(CHUNK), fb.read(CHUNK)
                if ca != cb:
                    return False
                if not ca:
                    return True
    except OSError:
        return False


def fit_name(stem: str, tail: str = "") -> str:
    """``stem + tail``, the stem shortened (by characters) until the name fits in ``NAME_MAX``
    bytes: a long photo name plus ``_face0.jpg`` or `` (2)``, or a long non-ASCII name
    (two or three bytes a character), must not fail with "name too long"."""
    while stem and len(os.fsencode(stem + tail)) > NAME_MAX:
        stem = stem[:-1]
    return stem + tail


def candidates(folder: Path, name: str) -> Iterable[Path]:
    """``name`` in ``folder``, then ``stem (2).ext``, ``stem (3).ext``... (each shortened to
    fit a name's bytes)."""
    stem, ext = os.path.splitext(name)
    yield folder / fit_name(stem, ext)
    n = 2
    while True:
        yield folder / fit_name(stem, f" ({n}){ext}")
        n += 1


def put_unique(
    folder: Path, name: str, data: bytes, guard: Guard | None = None, taken: set[Path] | None = None
) -> tuple[Path, bool]:
    """``data`` as ``name`` in ``folder``, or the first free ``stem (N).ext``; a file already
    holding exactly ``data`` is the one (re-runs add nothing). Returns the path and whether it
    was written now. ``taken``: names this run already used for other data."""
    for target in candidates(folder, name):
        if taken is not None and target in taken:
            continue
        if not os.path.lexists(target):
            write_file(target, data, guard)
            return target, True
        if not os.path.islink(target) and os.path.isfile(target):
            with contextlib.suppress(OSError):
                if target.stat().st_size == len(data) and target.read_bytes() == data:
                    return target, False
    raise AssertionError("unreachable")


def copy_unique(
    src: str, folder: Path, name: str, guard: Guard | None = None, taken: set[Path] | None = None
) -> tuple[Path, bool]:
    """A copy of the regular file ``src`` as ``name`` in ``folder`` (or ``stem (N).ext``); a copy
    already there (same bytes) is the one. Returns the path and whether it was copied now.
    ``src`` is read through ``core.reader`` (never a device or a pipe), no further than the size
    it had when opened."""
    for target in candidates(folder, name):
        if taken is not None and target in taken:
            continue
        if not os.path.lexists(target):
            copy_file(src, target, guard)
            return target, True
        if not os.path.islink(target) and _same_content(src, target):
            return target, False
    raise AssertionError("unreachable")


def copy_file(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    guard: Guard | None = None,
    kind: str = "photo",
) -> None:
    """Copy ``src`` (read as a file of ``kind``, within its size cap) to the new file ``dest``
    atomically, with its modification time."""
    with open_file(src, kind) as fin:
        st = os.fstat(fin.fileno())

        def body(out: BinaryIO) -> None:
            left = st.st_size
            while left > 0:
                chunk = fin.read(min(CHUNK, left))
                if not chunk:
                    break
                out.write(chunk)
                left -= len(chunk)

        write_file(dest, body, guard)
    with contextlib.suppress(OSError):
        os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
