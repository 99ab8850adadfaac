"""Print a hash of the sources a bundle is built from, so a test can tell a stale bundle.

Covers the package, pyproject.toml, the packaging recipe and the desktop files; the build
writes it to ``dist/FaceOrganizer/SOURCE_STAMP``.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("faceorganizer", "packaging", "resources", "pyproject.toml")
SKIPPED = {"__pycache__", "screenshots"}


def source_files(repo: Path = REPO) -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = repo / name
        if path.is_file():
            files.append(path)
            continue
        for file in path.rglob("*"):
            parts = set(file.relative_to(repo).parts)
            if file.is_file() and not parts & SKIPPED and file.suffix != ".pyc":
                files.append(file)
    return sorted(files)


def source_stamp(repo: Path = REPO) -> str:
    digest = hashlib.sha256()
    for file in source_files(repo):
        digest.update(file.relative_to(repo).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


if __name__ == "__main__":
    sys.stdout.write(source_stamp() + "\n")
