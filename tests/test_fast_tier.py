"""The fast tier stands alone: it passes with no shared photos at all (a developer's first
check, and the tier a change of logic is tried on in seconds)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_fast_tier_passes_without_the_shared_photos(tmp_path: Path) -> None:
    env = {**os.environ, "FACEORGANIZER_TEST_FACES": str(tmp_path / "no-shared-here")}
    env["FACEORGANIZER_LOG_DIR"] = str(tmp_path / "logs")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests/unit", "-x"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout
