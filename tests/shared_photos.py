"""Where the shared test photos are, and what a test that needs them does without them.

They are read from ``../shared/data/faces`` beside the checkout (or ``FACEORGANIZER_TEST_FACES``)
and never copied into the repository. In a fresh clone without them, every test that needs them
is skipped and ``make test`` says how many (conftest's summary); where
``FACEORGANIZER_REQUIRE_SHARED=1`` (CI) a missing photo folder is a failure instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FACES_DIR = Path(
    os.environ.get("FACEORGANIZER_TEST_FACES", REPO.parent / "shared" / "data" / "faces")
)
REQUIRED = os.environ.get("FACEORGANIZER_REQUIRE_SHARED") == "1"
SKIP_REASON = "needs the shared test photos"


def available() -> bool:
    return (FACES_DIR / "manifest.csv").is_file()


def missing_message() -> str:
    return f"the shared test photos are not at {FACES_DIR}"


def require() -> Path:
    """The photo folder; skips the calling test without it (fails it where it is required)."""
    if available():
        return FACES_DIR
    if REQUIRED:
        pytest.fail(f"{missing_message()} (FACEORGANIZER_REQUIRE_SHARED=1): they must run here")
    pytest.skip(f"{SKIP_REASON}: {missing_message()}")


def is_missing_photo(exc: BaseException) -> bool:
    """A test that read a shared photo without asking ``require`` first, in a clone without
    them (conftest turns that into the same skip)."""
    name = getattr(exc, "filename", None)
    return (
        isinstance(exc, FileNotFoundError)
        and name is not None
        and not available()
        and str(name).startswith(str(FACES_DIR))
    )
