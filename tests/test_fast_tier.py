"""The fast tier stands alone: it is chosen by need (``make test-fast``: no real model, no shared
photos) and collects with no shared photos at all (a developer's first check, and the tier a
change of logic is tried on in seconds). That each of its tests really needs neither is checked
while it runs (``helpers/needs.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FAST = "not real_model and not shared_photos and not bundle and not slow"


@pytest.mark.slow  # it imports every test module in a process of its own: left out of the tier
def test_fast_tier_collects_without_the_shared_photos(tmp_path: Path) -> None:
    env = {**os.environ, "FACEORGANIZER_TEST_FACES": str(tmp_path / "no-shared-here")}
    env["FACEORGANIZER_LOG_DIR"] = str(tmp_path / "logs")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-m", FAST],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    collected = [line for line in proc.stdout.splitlines() if "::" in line]
    folders = {line.split("/")[1] for line in collected if line.count("/") > 1}
    assert len(collected) > 150, proc.stdout[-2000:]
    assert {"core", "services", "ui", "cli", "storage"} <= folders, folders
