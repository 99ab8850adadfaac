"""Finding photo files under the library's folders, and the content hash that recognises a
moved or renamed file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from faceorganizer.core.images import SUPPORTED_EXTENSIONS

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


@dataclass(frozen=True)
class FileEntry:
    path: str  # absolute, normalised
    size: int
    mtime: float


def normalise(path: str | os.PathLike[str]) -> str:
    return os.path.normpath(os.path.abspath(os.fspath(path)))


def _skipped_dir(name: str) -> bool:
    return name.startswith(".") or name.lower() in SYSTEM_FOLDERS


def walk(folders: Iterable[str | os.PathLike[str]]) -> Iterator[FileEntry]:
    """Every supported photo under ``folders``, recursively, skipping hidden and system
    folders and hidden files; unreadable folders are skipped, never fatal."""
    exts = {e.lower() for e in SUPPORTED_EXTENSIONS}
    seen: set[str] = set()
    stack = [normalise(f) for f in folders]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for e in entries:
            try:
                if e.is_dir():
                    if not _skipped_dir(e.name):
                        subdirs.append(e.path)
                    continue
                if e.name.startswith(".") or os.path.splitext(e.name)[1].lower() not in exts:
                    continue
                st = e.stat()
            except OSError:
                continue
            path = normalise(e.path)
            if path not in seen:
                seen.add(path)
                yield FileEntry(path, st.st_size, st.st_mtime)
        stack.extend(reversed(subdirs))


def content_hash(path: str) -> str:
    """BLAKE2b of the whole file: same bytes, same photo, wherever it moved."""
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)
