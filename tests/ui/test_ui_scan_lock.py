"""The desktop app's scan worker says "a scan of this library is already running" when another
process scans the same library (issue 13, defect 7), instead of racing it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.storage import locks  # noqa: E402
from faceorganizer.ui.engine_worker import WorkerHandle  # noqa: E402
from tests.helpers.library_support import FACES_DIR, REPO  # noqa: E402

pytestmark = [pytest.mark.qt_log_level_fail("WARNING")]

HOLD = (
    "import sys, time; from pathlib import Path; from faceorganizer.storage import locks\n"
    "with locks.scan_lock(Path(sys.argv[1])):\n"
    "    print('held', flush=True); sys.stdin.readline()"
)


def test_scan_while_another_process_scans_shows_the_message(qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copyfile(FACES_DIR / "lfw_dev/Bono/Bono_0001.jpg", folder / "bono.jpg")
    db = tmp_path / "library.sqlite3"
    Library.open(db).close()
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    handle = WorkerHandle(str(db), "test-scan")
    failures: list[str] = []
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        handle.scan([str(folder)], on_error=failures.append)
        qtbot.waitUntil(lambda: bool(failures), timeout=60_000)
        assert failures == [locks.SCAN_RUNNING]
    finally:
        other.communicate("\n", timeout=60)
        assert handle.stop()
    with Library.open(db, read_only=True) as lib:
        assert lib.counts()["photos"] == 0
