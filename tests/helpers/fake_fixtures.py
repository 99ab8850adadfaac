"""The fast tier's fixtures (a pytest plugin, see ``tests/conftest.py``): a fake engine, an album
of generated photos and a library scanned from it with real SQLite and the real services.

Nothing here reads ``../shared`` or loads model weights: tests using only these are in the fast
tier (``make test-fast``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faceorganizer.core.pipeline import FaceEngine
from faceorganizer.services.library import Library
from tests.helpers.fakes import fake_album, fake_engine


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return fake_engine()


@pytest.fixture
def album(tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    folder = tmp_path / "album"
    return folder, fake_album(folder)


@pytest.fixture
def library(tmp_path: Path, album, engine: FaceEngine) -> Iterator[Library]:
    """A library scanned from the fake album (grouped into people), open for writing."""
    folder, _ = album
    with Library.open(tmp_path / "library.sqlite3", device="cpu") as lib:
        lib.set_setting("model_id", engine.model_id)  # the fake embedder stands in for dlib
        lib.scan([folder], engine=engine)
        yield lib
