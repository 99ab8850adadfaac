"""Scans driven from the window: stop midway and resume; close the window while scanning."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings  # noqa: E402

from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.ui.main_window import MainWindow  # noqa: E402

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("propagateSizeHints"),
]

N_PHOTOS = 80


@pytest.fixture(scope="module")
def lfw_folder(manifest, tmp_path_factory) -> Path:
    """Small real photos (LFW crops) so a scan has many steps to stop between."""
    rows = sorted((r for r in manifest if r.kind == "lfw_crop"), key=lambda r: r.relpath)
    dest = tmp_path_factory.mktemp("ui-lfw")
    for r in rows[:N_PHOTOS]:
        target = dest / r.person / Path(r.relpath).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(r.path, target)
    return dest


def make_window(qtbot, tmp: Path) -> MainWindow:
    settings = QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch", False)
    w = MainWindow(tmp / "library.sqlite3", device="cpu", qsettings=settings)
    qtbot.addWidget(w)
    w.show()
    return w


def start_scan_until_first_photos(qtbot, window: MainWindow, folder: Path, pause: bool) -> None:
    """Start a scan and wait until its first photos are stored (the engine yields them in
    embedding batches); with ``pause``, pause it right then, between two batches."""
    seen: list[int] = []

    def on_progress(p) -> None:
        if p.phase == "scanning" and p.done >= 1 and not seen:
            seen.append(p.done)
            if pause:
                window.scan_panel.pause_button.click()

    assert window.start_scan([str(folder)])
    assert window.engine is not None
    window.engine.progress.connect(on_progress)
    qtbot.waitUntil(lambda: bool(seen), timeout=180_000)
    assert seen[0] < N_PHOTOS, "the scan should still have photos to do"


def engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("faceorganizer-scan")]


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def duplicate_faces(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT count(*) FROM (SELECT photo_id, x1, y1, x2, y2, count(*) c FROM faces "
            "GROUP BY photo_id, x1, y1, x2, y2 HAVING c > 1)"
        ).fetchone()[0]


def test_stop_scan_midway_then_resume(qtbot, lfw_folder, tmp_path):
    window = make_window(qtbot, tmp_path)
    start_scan_until_first_photos(qtbot, window, lfw_folder, pause=True)
    assert window.engine is not None and window.engine.is_paused()
    with qtbot.waitSignal(window.scan_done, timeout=120_000) as stopped:
        window.scan_panel.cancel_button.click()
    first = stopped.args[0]
    assert first is not None and first.cancelled
    with Library.open(window.library_path(), read_only=True) as lib:
        done_first = lib.counts()["photos"]
    assert 0 < done_first < N_PHOTOS

    with qtbot.waitSignal(window.scan_done, timeout=240_000) as resumed:
        window.scan_action.trigger()
    second = resumed.args[0]
    assert second is not None and not second.cancelled
    assert (second.unchanged, second.new) == (done_first, N_PHOTOS - done_first)
    with Library.open(window.library_path(), read_only=True) as lib:
        assert lib.counts()["photos"] == N_PHOTOS
    assert duplicate_faces(tmp_path / "library.sqlite3") == 0
    window.close()


def test_closing_window_during_scan_stops_worker_cleanly(qtbot, lfw_folder, tmp_path):
    window = make_window(qtbot, tmp_path)
    start_scan_until_first_photos(qtbot, window, lfw_folder, pause=True)  # mid-scan on any device
    engine, editor = window.engine, window.editor
    assert engine is not None and editor is not None
    threads = (engine.thread, editor.thread)
    window.close()
    assert all(t.isFinished() for t in threads)
    assert not engine_threads()
    assert integrity(tmp_path / "library.sqlite3") == "ok"
    with Library.open(tmp_path / "library.sqlite3", read_only=True) as lib:
        assert lib.counts()["photos"] < N_PHOTOS
