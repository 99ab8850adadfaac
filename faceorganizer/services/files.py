"""Finding photo files under the library's folders, and the content hash that recognises a
moved or renamed file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from faceorganizer.core.images import SUPPORTED_EXTENSIONS
from faceorganizer.core.raw_images import RAW_EXTENSIONS

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


# When a camera saves RAW+JPEG (IMG_0001.CR2 beside IMG_0001.JPG), the processed image is the
# photo and the RAW its second file: one shot, its faces counted once. Preferred first.
PAIRED_MAIN_EXTENSIONS = (".jpg", ".jpeg", ".heic", ".heif", ".hif", ".jxl", ".avif", ".tif")


@dataclass(frozen=True)
class FileEntry:
    path: str  # absolute, normalised
    size: int
    mtime: float
    companions: tuple[str, ...] = ()  # other files of the same shot (a RAW beside its JPEG)


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
        files: list[tuple[os.DirEntry[str], os.stat_result]] = []
        for e in entries:
            try:
                if e.is_dir():
                    if not _skipped_dir(e.name):
                        subdirs.append(e.path)
                    continue
                if e.name.startswith(".") or os.path.splitext(e.name)[1].lower() not in exts:
                    continue
                files.append((e, e.stat()))
            except OSError:
                continue
        companions = raw_companions([e.name for e, _ in files])
        for e, st in files:
            if e.name in companions.values():
                continue  # yielded as the companion of its JPEG
            path = normalise(e.path)
            if path not in seen:
                seen.add(path)
                raw = companions.get(e.name)
                extra = (normalise(os.path.join(folder, raw)),) if raw else ()
                yield FileEntry(path, st.st_size, st.st_mtime, extra)
        stack.extend(reversed(subdirs))


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
    """BLAKE2b of the whole file: same bytes, same photo, wherever it moved."""
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)
