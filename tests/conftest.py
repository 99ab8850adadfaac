"""Shared fixtures: the real test photos beside the repo (never copied into it), the fast
tier's fakes (``helpers/fake_fixtures.py``), and tests by need (``helpers/needs.py``: the
``real_model``, ``shared_photos`` and ``gui`` markers, applied from what a test uses)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

import faceorganizer  # noqa: F401  (sets OMP_WAIT_POLICY before any test imports torch)
from tests.helpers.photos import FACES_DIR, ManifestRow, load_manifest

# Qt widgets are real but offscreen, also when pytest is run by hand without the Makefile.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The app's log goes to a folder of the test run, never into the user's own log.
os.environ.setdefault("FACEORGANIZER_LOG_DIR", tempfile.mkdtemp(prefix="faceorganizer-test-logs-"))

pytest_plugins = ["tests.helpers.needs", "tests.helpers.fake_fixtures"]


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not (FACES_DIR / "manifest.csv").exists():
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
