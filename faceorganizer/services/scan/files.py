"""Finding photo files under the library's folders, and the content hash that recognises a
moved or renamed file.

The walk opens nothing: it lists folders and reads ``stat``. Only regular files are photos;
pipes, sockets, devices, broken links, link loops and folders that cannot be listed are entries
with a ``problem`` (listed with the photos that failed, never opened: a pipe named ``x.jpg``
would block a reader forever). Folder links are followed once, by the folder they lead to, after
every real folder, except a link to a folder above the scanned one (``up -> /``), which would
walk the whole disk: it is listed, not followed; a linked or hard-linked file is the same photo
as its target; a RAW beside its JPEG is that photo's companion. Folders holding ``EXPORT_MARK``
are our own exports.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from faceorganizer.core.images import SUPPORTED_EXTENSIONS
from faceorganizer.core.raw_images import RAW_EXTENSIONS
from faceorganizer.core.reader import kind_of, open_file

SYSTEM_FOLDERS = frozenset(
    {
        "$recycle.bin",
        "system volume information",
        "@eadir",
        "lost+found",
        "__macosx",
        "thumbs",
        "node_modules",
    }
)

ABOVE = "folder link to a folder above the scanned one: not followed"

# Written into every folder an export creates: a later scan never takes our own links or
# copies for new photos.
EXPORT_MARK = ".faceorganizer-export"

# A name's undecodable bytes arrive as Python's surrogate escapes U+DC80-U+DCFF, which SQLite
# cannot store; the library stores them as the private-use characters U+EF80-U+EFFF instead
# (the OPTU-8 convention) and maps them back to open the file.
_TO_STORED = {c: c + 0x1300 for c in range(0xDC80, 0xDD00)}
_TO_OS = {v: k for k, v in _TO_STORED.items()}

# When a camera saves RAW+JPEG (IMG_0001.CR2 beside IMG_0001.JPG), the processed image is the
# photo and the RAW its second file: one shot, its faces counted once. Preferred first.
PAIRED_MAIN_EXTENSIONS = (".jpg", ".jpeg", ".heic", ".heif", ".hif", ".jxl", ".avif", ".tif")


@dataclass(frozen=True)
class FileEntry:
    path: str  # absolute, normalised, as the library stores it (printable)
    size: int
    mtime: float
    companions: tuple[str, ...] = ()  # other files of the same shot (a RAW beside its JPEG)
    problem: str | None = None  # why this entry is listed and never opened
    os_path: str = ""  # the path to open: differs from ``path`` only for non-UTF-8 names
    folder: bool = False  # a folder that could not be listed (``problem`` says why): no photo

    def __post_init__(self) -> None:
        if not self.os_path:
            object.__setattr__(self, "os_path", self.path)


def normalise(path: str | os.PathLike[str]) -> str:
    return os.path.normpath(os.path.abspath(os.fspath(path)))


def stored_path(path: str) -> str | None:
    """``path`` as the library stores it, or None when even that cannot hold the name."""
    text = path.translate(_TO_STORED)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


def os_path(stored: str) -> str:
    """The path to open for a path the library stored."""
    return stored.translate(_TO_OS)


def printable(path: str) -> str:
    """A path that cannot be stored, as text that can (undecodable bytes as ``\\xNN``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _skipped_dir(name: str) -> bool:
    return name.startswith(".") or name.lower() in SYSTEM_FOLDERS


class Walk:
    """Every photo (and every problem) under ``folders``, recursively, skipping hidden and
    system folders and hidden files. Iterate once; afterwards ``unlisted`` holds the folders
    that could not be listed (what the library knows under them is kept, not removed)."""

    def __init__(self, roots: Iterable[str]) -> None:
        self.roots = list(roots)  # normalised (``normalise``) by the caller
        self._real_roots = [os.path.realpath(r) for r in self.roots]
        self.unlisted: list[str] = []
        self._exts = {e.lower() for e in SUPPORTED_EXTENSIONS}
        self._dirs: set[tuple[int, int]] = set()
        self._files: set[tuple[int, int]] = set()
        self._linked_dirs: list[str] = []
        self._linked_files: list[tuple[str, os.stat_result]] = []

    def __iter__(self) -> Iterator[FileEntry]:
        stack: list[str] = []
        for root in reversed(self.roots):
            key = self._dir_key(root)
            if key is None or key not in self._dirs:
                stack.append(root)
                if key is not None:
                    self._dirs.add(key)
        while stack or self._linked_dirs:
            if not stack:
                folder = self._linked_dirs.pop(0)
                key = self._dir_key(folder)
                if key is None or key in self._dirs:
                    continue
                self._dirs.add(key)
                stack.append(folder)
            folder = stack.pop()
            subdirs: list[str] = []
            yield from self._folder(folder, subdirs)
            stack.extend(reversed(subdirs))
        for path, st in self._linked_files:
            if (st.st_dev, st.st_ino) not in self._files:
                self._files.add((st.st_dev, st.st_ino))
                yield _entry(path, st)

    def _above_roots(self, link: str) -> bool:
        """Whether a folder link leads to a folder holding a scanned folder (an ancestor)."""
        target = os.path.realpath(link)
        return any(r != target and under(r, [target]) for r in self._real_roots)

    @staticmethod
    def _dir_key(path: str) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _folder(self, folder: str, subdirs: list[str]) -> Iterator[FileEntry]:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.unlisted.append(folder)
            yield _problem(folder, _folder_reason(exc), folder=True)
            return
        if any(e.name == EXPORT_MARK for e in entries):
            return
        regular: list[tuple[str, str, os.stat_result]] = []
        for e in entries:
            if e.name.startswith("."):
                continue
            path = normalise(e.path)
            try:
                is_link = e.is_symlink()
                st = os.stat(path)
            except OSError as exc:
                if _photo_name(e.name, self._exts):
                    yield _problem(path, _link_reason(exc))
                continue
            if stat.S_ISDIR(st.st_mode):
                if _skipped_dir(e.name):
                    continue
                if is_link and self._above_roots(path):
                    yield _problem(path, ABOVE, st)
                elif is_link:
                    self._linked_dirs.append(path)
                elif (st.st_dev, st.st_ino) not in self._dirs:
                    self._dirs.add((st.st_dev, st.st_ino))
                    subdirs.append(path)
                continue
            if os.path.splitext(e.name)[1].lower() not in self._exts:
                continue
            if not stat.S_ISREG(st.st_mode):
                yield _problem(path, f"{kind_of(st.st_mode)}, not a photo file", st)
            elif is_link:
                self._linked_files.append((path, st))
            elif (st.st_dev, st.st_ino) not in self._files:
                self._files.add((st.st_dev, st.st_ino))
                regular.append((e.name, path, st))
        pairs = raw_companions([name for name, _, _ in regular])
        paired_raws = set(pairs.values())
        for name, path, st in regular:
            if name in paired_raws:
                continue  # yielded as the companion of its JPEG
            raw = pairs.get(name)
            yield _entry(path, st, (normalise(os.path.join(folder, raw)),) if raw else ())


def walk(folders: Iterable[str | os.PathLike[str]]) -> Iterator[FileEntry]:
    """Every photo (and problem entry) under ``folders``; see ``Walk``."""
    return iter(Walk([normalise(f) for f in folders]))


def _photo_name(name: str, exts: set[str]) -> bool:
    return os.path.splitext(name)[1].lower() in exts


def _entry(path: str, st: os.stat_result, companions: tuple[str, ...] = ()) -> FileEntry:
    stored = stored_path(path)
    if stored is None:
        return _problem(path, "the file name is not valid text; rename the file to scan it", st)
    others = tuple(stored_path(c) or printable(c) for c in companions)
    return FileEntry(stored, st.st_size, st.st_mtime, others, os_path=path)


def _problem(
    path: str, reason: str, st: os.stat_result | None = None, folder: bool = False
) -> FileEntry:
    if st is None:
        try:
            st = os.lstat(path)
        except OSError:
            st = None
    stored = stored_path(path) or printable(path)
    size, mtime = (st.st_size, st.st_mtime) if st is not None else (0, 0.0)
    return FileEntry(stored, size, mtime, problem=reason, os_path=path, folder=folder)


def is_folder_reason(reason: str | None) -> bool:
    """Whether a stored error is a folder's (``_folder_reason``): its row is no photo."""
    return reason is not None and (reason == "not a folder" or reason.startswith("folder "))


def _folder_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "folder not found (is its drive connected?); its photos are kept"
    if isinstance(exc, NotADirectoryError):
        return "not a folder"
    if isinstance(exc, PermissionError):
        return "folder cannot be read: permission denied"
    return f"folder cannot be read: {(exc.strerror or str(exc)).lower()}"


def _link_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "broken link: its target does not exist"
    if exc.errno == errno.ELOOP:
        return "link loop: the link leads back to itself"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


def raw_companions(names: Iterable[str]) -> dict[str, str]:
    """Within one folder's file names: the processed file of each RAW+JPEG pair (same name but
    for the extension, any case) -> its RAW file."""
    by_stem: dict[str, list[str]] = {}
    for name in names:
        by_stem.setdefault(os.path.splitext(name)[0].lower(), []).append(name)
    pairs: dict[str, str] = {}
    for group in by_stem.values():
        raws = sorted(n for n in group if os.path.splitext(n)[1].lower() in RAW_EXTENSIONS)
        rank = {ext: i for i, ext in enumerate(PAIRED_MAIN_EXTENSIONS)}
        mains = sorted(
            (n for n in group if os.path.splitext(n)[1].lower() in rank),
            key=lambda n: rank[os.path.splitext(n)[1].lower()],
        )
        if raws and mains:
            pairs[mains[0]] = raws[0]
    return pairs


def content_hash(path: str) -> str:
    """BLAKE2b of the whole file: same bytes, same photo, wherever it moved (a regular file
    only, through ``core.reader``)."""
    h = hashlib.blake2b(digest_size=20)
    with open_file(path, "photo") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def readable(path: str) -> bool:
    """Whether ``path`` opens for reading now (a photo that failed with "permission denied" is
    tried again once it does)."""
    try:
        with open_file(path, "photo"):
            return True
    except OSError:
        return False
