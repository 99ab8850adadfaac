"""Shared fixtures: the real test photos beside the repo (never copied into it), the fast
tier's fakes (``helpers/fake_fixtures.py``), and tests by need (``helpers/needs.py``: the
``real_model``, ``shared_photos`` and ``gui`` markers, applied from what a test uses).

Without the shared photos (a fresh clone) the tests marked ``shared_photos`` are skipped and
the run ends saying how many and why; where ``FACEORGANIZER_REQUIRE_SHARED=1`` (CI) they fail.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

import faceorganizer  # noqa: F401  (sets OMP_WAIT_POLICY before any test imports torch)
from tests.helpers import photos
from tests.helpers.photos import FACES_DIR, ManifestRow, load_manifest

# Qt widgets are real but offscreen, also when pytest is run by hand without the Makefile.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The app's log goes to a folder of the test run, never into the user's own log.
os.environ.setdefault("FACEORGANIZER_LOG_DIR", tempfile.mkdtemp(prefix="faceorganizer-test-logs-"))

pytest_plugins = ["tests.helpers.needs", "tests.helpers.fake_fixtures"]


@pytest.hookimpl(trylast=True)  # after helpers/needs.py has marked every test by need
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without the shared photos, skip the tests that need them (unless CI requires them)."""
    if photos.available() or photos.REQUIRED:
        return
    skip = pytest.mark.skip(reason=f"{photos.SKIP_REASON}: {photos.missing_message()}")
    for item in items:
        if item.get_closest_marker("shared_photos") is not None:
            item.add_marker(skip)


@pytest.hookimpl(tryfirst=True)  # before any fixture of the test is made
def pytest_runtest_setup(item: pytest.Item) -> None:
    if photos.REQUIRED and item.get_closest_marker("shared_photos") and not photos.available():
        pytest.fail(
            f"{photos.missing_message()} (FACEORGANIZER_REQUIRE_SHARED=1): they must run here",
            pytrace=False,
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many real-photo tests did not run, and why."""
    if photos.available() or photos.REQUIRED:
        return
    skipped = terminalreporter.stats.get("skipped", [])
    count = sum(photos.SKIP_REASON in str(r.longrepr) for r in skipped)
    if count:
        terminalreporter.write_sep(
            "=",
            f"{count} real-photo tests skipped: {photos.missing_message()} "
            "(put them there, or set FACEORGANIZER_TEST_FACES, to run them; CI runs them all)",
            yellow=True,
        )


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not photos.available():
        pytest.fail(f"test photos missing at {FACES_DIR}; the real-photo tests must run")
    return FACES_DIR


@pytest.fixture(scope="session")
def manifest(faces_dir: Path) -> list[ManifestRow]:
    return load_manifest()


@pytest.fixture(scope="session")
def generated_vggface2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release-shaped vggface2 state dict (random, seeded; with its 8631-class head): the real
    weights cannot be fetched here, and random ones exercise the same load and checks."""
    import torch
    from facenet_pytorch import InceptionResnetV1

    path = tmp_path_factory.getbasetemp() / "generated-vggface2.pt"
    torch.manual_seed(0)
    torch.save(InceptionResnetV1(classify=True, num_classes=8631).state_dict(), path)
    return path


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A real 64 KiB file system (tmpfs), for what a full destination disk does. Mounting needs
    root (CI runs as root); elsewhere the test says why it did not run."""
    where = tmp_path / "tiny"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
