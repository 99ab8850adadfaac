"""Scans driven from the window: stop midway and resume; pause (the bar says so); close the
window while scanning (it asks first)."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, QTimer  # noqa: E402

from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.ui.mainwindow import MainWindow  # noqa: E402

pytestmark = [
    pytest.mark.real_model,  # every test scans through the app's engine worker
    pytest.mark.qt_log_level_fail("WARNING"),
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
    settings.setValue("watch_folders", False)
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

    assert window.scans.start_scan([str(folder)])
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
    paused = window.scan_panel.label.full_text()
    assert paused.startswith("Paused — ") and "photos/s" not in paused and "left" not in paused
    with qtbot.waitSignal(window.scan_done, timeout=120_000) as stopped:
        window.scan_panel.cancel_button.click()
    first = stopped.args[0]
    assert first is not None and first.cancelled
    with Library.open(window.library_path(), read_only=True) as lib:
        done_first = lib.counts()["photos"]
    assert 0 < done_first < N_PHOTOS

    with qtbot.waitSignal(window.scan_done, timeout=240_000) as resumed:
        window.action("scan").trigger()
    second = resumed.args[0]
    assert second is not None and not second.cancelled
    assert (second.unchanged, second.new) == (done_first, N_PHOTOS - done_first)
    with Library.open(window.library_path(), read_only=True) as lib:
        assert lib.counts()["photos"] == N_PHOTOS
    assert duplicate_faces(tmp_path / "library.sqlite3") == 0
    window.close()


def _answer_quit(window, quit_: bool) -> None:  # type: ignore[no-untyped-def]
    box = window.scans.quit_box
    assert box is not None and "A scan is running" in box.text()
    wanted = "Stop the scan and quit" if quit_ else "Cancel"
    next(b for b in box.buttons() if b.text().replace("&", "") == wanted).click()


def test_closing_window_during_scan_asks_then_stops_worker_cleanly(qtbot, lfw_folder, tmp_path):
    window = make_window(qtbot, tmp_path)
    start_scan_until_first_photos(qtbot, window, lfw_folder, pause=True)  # mid-scan on any device
    engine, editor = window.engine, window.editor
    assert engine is not None and editor is not None
    threads = (engine.worker_thread, editor.worker_thread)
    QTimer.singleShot(0, lambda: _answer_quit(window, quit_=False))
    assert not window.close()
    assert window.isVisible() and window.scans.scanning
    QTimer.singleShot(0, lambda: _answer_quit(window, quit_=True))
    assert window.close()
    assert all(t.isFinished() for t in threads)
    assert not engine_threads()
    assert integrity(tmp_path / "library.sqlite3") == "ok"
    with Library.open(tmp_path / "library.sqlite3", read_only=True) as lib:
        assert lib.counts()["photos"] < N_PHOTOS


def test_watched_folders_scan_new_photos_and_new_subfolders(qtbot, lfw_folder, tmp_path):
    """With "Watch folders" on, a photo copied into the library's folder is scanned without the
    user asking, and so is one in a subfolder created after the first scan."""
    folder = tmp_path / "photos"
    sources = sorted(lfw_folder.rglob("*.jpg"))
    (folder / "first").mkdir(parents=True)
    for src in sources[:3]:
        shutil.copyfile(src, folder / "first" / src.name)
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch_folders", True)
    window = MainWindow(tmp_path / "library.sqlite3", device="cpu", qsettings=settings)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.scan_done, timeout=180_000):
        assert window.scans.start_scan([str(folder)])

    def photos() -> int:
        with Library.open(window.library_path(), read_only=True) as lib:
            return lib.counts()["photos"]

    assert photos() == 3
    with qtbot.waitSignal(window.scan_done, timeout=120_000) as arrived:
        shutil.copyfile(sources[3], folder / "first" / sources[3].name)
    assert arrived.args[0] is not None and arrived.args[0].new == 1
    assert photos() == 4

    with qtbot.waitSignal(window.scan_done, timeout=120_000):
        (folder / "later").mkdir()
        shutil.copyfile(sources[4], folder / "later" / sources[4].name)
    qtbot.waitUntil(lambda: photos() == 5, timeout=120_000)
    qtbot.waitUntil(lambda: not window.scans.scanning, timeout=120_000)

    def one_new(summary) -> bool:
        return summary is not None and summary.new == 1

    with qtbot.waitSignal(window.scan_done, timeout=120_000, check_params_cb=one_new):
        shutil.copyfile(sources[5], folder / "later" / sources[5].name)
    assert photos() == 6

    window.action("watch").setChecked(False)
    assert window.watching.watcher.directories() == []
    window.close()


def test_changing_the_model_reembeds_every_face_and_keeps_names(
    qtbot, lfw_folder, tmp_path, generated_vggface2, monkeypatch
):
    """Settings → another model: the window rescans, every face is re-read by the new model
    (the same boxes), and a person the user named keeps the name and the faces."""
    from faceorganizer.core import weights
    from faceorganizer.core.models import registry

    monkeypatch.setenv(weights.MODELS_DIR_ENV, str(tmp_path / "models"))
    registry.import_weights("facenet-vggface2", generated_vggface2)
    folder = tmp_path / "photos"
    people = sorted(p for p in lfw_folder.iterdir() if len(list(p.glob("*.jpg"))) >= 2)[:2]
    for person in people:
        shutil.copytree(person, folder / person.name)
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.scan_done, timeout=180_000):
        assert window.scans.start_scan([str(folder)])
    with Library.open(window.library_path(), read_only=True) as lib:
        before = {(f.photo_path, tuple(round(v) for v in f.box)) for f in lib.faces()}
        face = lib.faces()[0]
    window.edits.move_faces([face.face_id], None)
    qtbot.waitUntil(lambda: window.editor.pending() == 0, timeout=30_000)
    with Library.open(window.library_path(), read_only=True) as lib:
        pid = lib.face(face.face_id).person_id
    window.edits.rename_person(pid, "Chosen")
    qtbot.waitUntil(lambda: window.editor.pending() == 0, timeout=30_000)

    with qtbot.waitSignal(window.scan_done, timeout=240_000) as rescanned:
        window.settings.apply_settings({"model_id": "facenet-vggface2"})
    summary = rescanned.args[0]
    photos = len({path for path, _ in before})
    assert summary is not None and (summary.changed, summary.new) == (photos, 0)
    with Library.open(window.library_path(), read_only=True) as lib:
        assert lib.model_id == "facenet-vggface2"
        models = {r[0] for r in lib.db.execute("SELECT DISTINCT model_id FROM faces")}
        assert models == {"facenet-vggface2"}
        after = {(f.photo_path, tuple(round(v) for v in f.box)) for f in lib.faces()}
        assert after == before
        # the random weights make every face alike, so others may join "Chosen"; the user's own
        # face is the one that must stay
        mine = [f for f in lib.faces(person_id="Chosen") if f.assigned_by == "user"]
        assert [f.photo_path for f in mine] == [face.photo_path]
    window.close()
