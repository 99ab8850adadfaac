"""Shared fixtures: the real test photos beside the repo (never copied into it); without them
(a fresh clone) the tests that need them are skipped and counted at the end."""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import faceorganizer  # noqa: F401  (sets OMP_WAIT_POLICY before any test imports torch)

# Qt widgets are real but offscreen, also when pytest is run by hand without the Makefile.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The app's log goes to a folder of the test run, never into the user's own log.
os.environ.setdefault("FACEORGANIZER_LOG_DIR", tempfile.mkdtemp(prefix="faceorganizer-test-logs-"))

from shared_photos import (  # noqa: E402  # noqa: E402
    FACES_DIR,
    REQUIRED,
    SKIP_REASON,
    is_missing_photo,
    missing_message,
    require,
)
from shared_photos import available as shared_available  # noqa: E402


@dataclass(frozen=True)
class ManifestRow:
    relpath: str
    person: str
    kind: str
    width: int
    height: int
    exif_orientation: int | None

    @property
    def path(self) -> Path:
        return FACES_DIR / self.relpath


def load_manifest() -> list[ManifestRow]:
    with open(require() / "manifest.csv", newline="") as f:
        return [
            ManifestRow(
                r["relpath"],
                r["person"],
                r["kind"],
                int(r["width"]),
                int(r["height"]),
                int(r["exif_orientation"]) if r["exif_orientation"] else None,
            )
            for r in csv.DictReader(f)
        ]


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    return require()


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """A test that read a shared photo without ``require()`` is skipped like the others."""
    report = yield
    if report.failed and call.excinfo is not None and is_missing_photo(call.excinfo.value):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {SKIP_REASON}")
    return report


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """Say how many real-photo tests did not run, and why."""
    if shared_available() or REQUIRED:
        return
    skipped = [
        r for r in terminalreporter.stats.get("skipped", []) if SKIP_REASON in str(r.longrepr)
    ]
    if skipped:
        terminalreporter.write_sep(
            "=",
            f"{len(skipped)} real-photo tests skipped: {missing_message()} "
            "(put them there, or set FACEORGANIZER_TEST_FACES, to run them; CI runs them all)",
            yellow=True,
        )
