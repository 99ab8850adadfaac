"""The desktop app on a real library: scan through the UI, then name and fix people with the
widgets, each change checked in the SQLite file. Offscreen Qt, real photos, real models."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QEventLoop, QMimeData, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QImage  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QLineEdit  # noqa: E402

from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.ui.mainwindow import PEOPLE_PAGE, PERSON_PAGE, PHOTO_PAGE, MainWindow  # noqa: E402
from faceorganizer.ui.people_model import PERSON_MIME, CoverFaceRole, PersonIdRole  # noqa: E402
from tests.helpers.needs import needs  # noqa: E402
from tests.helpers.ui_support import select_face_rows  # noqa: E402

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
]

PEOPLE = ("obama", "kit_harington", "angelina_jolie")
GROUP = "two_people.jpg"
SCAN_TIMEOUT_MS = 240_000


def pick_photos(manifest) -> list[Path]:
    """3 labelled persons × 3 photos and a group photo, chosen from the manifest."""
    chosen: list[Path] = []
    for person in PEOPLE:
        rows = sorted(
            (r for r in manifest if r.kind == "photo" and r.person == person),
            key=lambda r: r.relpath,
        )
        chosen += [r.path for r in rows[:3]]
    chosen += [r.path for r in manifest if r.kind == "group" and r.relpath.endswith(GROUP)]
    return chosen


def copy_photos(paths: list[Path], dest: Path) -> Path:
    for p in paths:
        target = dest / p.parent.name / p.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
    return dest


def make_window(tmp: Path, library: Path) -> MainWindow:
    settings = QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch_folders", False)
    window = MainWindow(library, device="cpu", qsettings=settings)
    window.show()
    if window.reader is not None:
        wait_signal(window.refreshed, 30_000)  # the first people list arrives from its thread
    return window


def wait_signal(signal, timeout_ms: int) -> list:
    """Wait for ``signal`` without qtbot (usable in module fixtures)."""
    got: list = []
    loop = QEventLoop()

    def on(*args) -> None:
        got.append(args)
        loop.quit()

    signal.connect(on)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(on)
    if not got:
        raise TimeoutError(f"no signal within {timeout_ms} ms")
    return got[0]


def checkpoint_copy(src: Path, dest: Path) -> Path:
    """Copy a library file consistently (WAL folded in first)."""
    with sqlite3.connect(src) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(src, dest)
    return dest


@pytest.fixture(scope="module")
@needs("real_model")  # the app's engine worker scans with the real models
def scanned(qapp, manifest, tmp_path_factory):
    """A library made by scanning the photos through the app's UI (the Scan action)."""
    root = tmp_path_factory.mktemp("ui-scan")
    photos = copy_photos(pick_photos(manifest), root / "photos")
    library = root / "library.sqlite3"
    window = make_window(root, library)
    try:
        assert window.scans.start_scan([str(photos)])
        (summary,) = wait_signal(window.scan_done, SCAN_TIMEOUT_MS)
        assert summary is not None and not summary.cancelled, window.last_error
        QTest.qWait(50)
        rows = [window.people_model.person_at(r) for r in range(window.people_model.rowCount())]
        yield {
            "root": root,
            "photos": photos,
            "library": library,
            "summary": summary,
            "grid": [(p.person_id, p.face_count) for p in rows],
        }
    finally:
        window.close()


@pytest.fixture
def window(qtbot, scanned, tmp_path):
    """A window on a private copy of the scanned library."""
    library = checkpoint_copy(scanned["library"], tmp_path / "library.sqlite3")
    w = make_window(tmp_path, library)
    qtbot.addWidget(w)
    yield w
    w.close()


def db(window: MainWindow) -> Library:
    return Library.open(window.library_path())


def wait_edit(qtbot, window: MainWindow, trigger) -> None:
    with qtbot.waitSignal(window.edits_applied, timeout=20_000):
        trigger()


def person_index(window: MainWindow, person_id: int):
    row = window.people_model.row_of(person_id)
    assert row >= 0
    return window.people_model.index(row)


def two_largest(window: MainWindow) -> tuple[int, int]:
    people = window.people_model.people()
    assert len(people) >= 2, "the scan should have found several people"
    return people[0].person_id, people[1].person_id


def test_scan_through_ui_fills_people_grid(scanned):
    summary = scanned["summary"]
    assert summary.new == 10 and summary.failed == 0
    with Library.open(scanned["library"], read_only=True) as lib:
        expected = [(p.person_id, p.face_count) for p in lib.people()]
        counts = lib.counts()
    assert scanned["grid"] == expected
    assert len(expected) >= 3
    assert counts["photos"] == 10 and counts["faces"] >= 11


def test_models_pass_qt_model_tester(qtbot, window, qtmodeltester):
    qtmodeltester.check(window.people_model)
    pid = window.people_model.people()[0].person_id
    window.navigation.open_person(pid)
    assert window.faces_model.rowCount() > 0
    qtmodeltester.check(window.faces_model)
    rows = window.faces_model.rowCount()
    window.faces_model.refresh(reset=False)  # the in-place update a scan's refresh timer uses
    assert window.faces_model.rowCount() == rows
    with qtbot.waitSignal(window.search_finished, timeout=60_000):
        window.search.show_similar(window.faces_model.face_at(0).face_id)
    assert window.similar.model.rowCount() > 0
    qtmodeltester.check(window.similar.model)


def test_thumbnails_come_from_the_library_decoded_off_the_gui_thread(qtbot, window):
    index = window.people_model.index(0)
    cover = index.data(CoverFaceRole)
    qtbot.waitUntil(lambda: index.data(Qt.ItemDataRole.DecorationRole) is not None, timeout=10_000)
    pixmap = index.data(Qt.ItemDataRole.DecorationRole)
    with db(window) as lib:
        expected = QImage.fromData(lib.face_thumbnail(cover))
    assert (pixmap.width(), pixmap.height()) == (expected.width(), expected.height())


def test_gui_command_is_registered():
    from faceorganizer.cli import build_parser

    args = build_parser().parse_args(["gui", "/tmp", "--library", "x.sqlite3"])
    assert (args.folder, args.library, args.func.__module__) == (
        "/tmp",
        "x.sqlite3",
        "faceorganizer.cli.gui_command",
    )


@needs("real_model")  # the scan it quits loads the models
def test_quit_after_closes_a_scanning_window_without_asking(tmp_path):
    """``gui --quit-after`` runs unattended (benchmarks, the bundle's test): during a scan the
    quit question waited for an answer nobody gives, and the process never ended."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.new("RGB", (640, 480), (40 * i, 90, 120)).save(photos / f"p{i}.jpg")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    env["FACEORGANIZER_LOG_DIR"] = str(tmp_path / "log")
    argv = [sys.executable, "-m", "faceorganizer", "gui", str(photos)]
    argv += ["--library", str(tmp_path / "library.sqlite3"), "--device", "cpu"]
    done = subprocess.run(argv + ["--quit-after", "300"], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    log = (tmp_path / "log" / "faceorganizer.log").read_text()
    assert "window closed" in log


def test_rename_in_place_then_undo_and_redo(qtbot, window):
    pid = window.people_model.people()[0].person_id
    view = window.people_view
    view.setFocus()
    view.setCurrentIndex(person_index(window, pid))
    QTest.keyClick(view, Qt.Key.Key_F2)
    editor = view.findChild(QLineEdit)
    assert editor is not None and editor.isVisible()
    editor.setText("Barack Obama")
    with qtbot.waitSignal(window.edits_applied, timeout=20_000):
        QTest.keyClick(editor, Qt.Key.Key_Return)
    with db(window) as lib:
        assert lib.person(pid).name == "Barack Obama"
    assert window.people_model.data(person_index(window, pid)) == "Barack Obama"
    assert "Barack Obama" in window.action("undo").text()

    wait_edit(qtbot, window, window.action("undo").trigger)
    with db(window) as lib:
        assert lib.person(pid).name is None
    assert "Barack Obama" in window.action("redo").text()
    wait_edit(qtbot, window, window.action("redo").trigger)
    with db(window) as lib:
        assert lib.person(pid).name == "Barack Obama"


def test_merge_by_action(qtbot, window):
    a, b = two_largest(window)
    with db(window) as lib:
        total = lib.person(a).face_count + lib.person(b).face_count
    sel = window.people_view.selectionModel()
    sel.select(person_index(window, a), sel.SelectionFlag.Select)
    sel.select(person_index(window, b), sel.SelectionFlag.Select)
    assert window.action("merge").isEnabled()
    wait_edit(qtbot, window, window.action("merge").trigger)
    with db(window) as lib:
        ids = {p.person_id for p in lib.people()}
        survivor = a if a in ids else b
        assert (a in ids) != (b in ids)
        assert lib.person(survivor).face_count == total
    assert window.people_model.row_of(a if survivor == b else b) == -1


def test_merge_by_drag_and_drop(qtbot, window):
    a, b = two_largest(window)
    with db(window) as lib:
        faces_b = {f.face_id for f in lib.faces(person_id=b)}
    view = window.people_view
    mime: QMimeData = window.people_model.mimeData([person_index(window, b)])
    assert mime.hasFormat(PERSON_MIME)
    target = view.visualRect(person_index(window, a)).center()
    actions = Qt.DropAction.MoveAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(target, actions, mime, buttons, mods)
    QApplication.sendEvent(view.viewport(), enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(target, actions, mime, buttons, mods)
    QApplication.sendEvent(view.viewport(), move)
    assert move.isAccepted()
    with qtbot.waitSignal(window.edits_applied, timeout=20_000):
        QApplication.sendEvent(view.viewport(), QDropEvent(target, actions, mime, buttons, mods))
    with db(window) as lib:
        assert {f.face_id for f in lib.faces(person_id=a)} >= faces_b
        assert b not in {p.person_id for p in lib.people()}


def open_first_person(window: MainWindow) -> int:
    pid = window.people_model.people()[0].person_id
    window.people_view.setCurrentIndex(person_index(window, pid))
    QTest.keyClick(window.people_view, Qt.Key.Key_Return)
    assert window.stack.currentIndex() == PERSON_PAGE
    return pid


def test_move_faces_to_another_person_with_chooser(qtbot, window):
    a, b = two_largest(window)
    window.navigation.open_person(a)
    (face,) = select_face_rows(window, [0])
    assert window.action("move").isEnabled()
    QTimer.singleShot(0, lambda: window.edits.chooser.choose(b))
    wait_edit(qtbot, window, window.action("move").trigger)
    with db(window) as lib:
        moved = lib.face(face)
        assert moved.person_id == b and moved.assigned_by == "user"


def test_not_this_person_and_hide_face(qtbot, window):
    pid = open_first_person(window)
    rejected, hidden = select_face_rows(window, [0, 1])
    select_face_rows(window, [0])
    assert window.action("reject").isEnabled()
    wait_edit(qtbot, window, window.action("reject").trigger)
    with db(window) as lib:
        assert lib.face(rejected).person_id != pid
        assert rejected not in {f.face_id for f in lib.faces(person_id=pid)}
    with sqlite3.connect(window.library_path()) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM rejections WHERE face_id = ? AND person_id = ?",
                [rejected, pid],
            ).fetchone()[0]
            == 1
        )
    row = window.faces_model.row_of(hidden)
    select_face_rows(window, [row])
    wait_edit(qtbot, window, window.action("hide").trigger)
    with db(window) as lib:
        assert lib.face(hidden).hidden


def test_hide_person_and_show_hidden(qtbot, window):
    pid = window.people_model.people()[-1].person_id
    window.people_view.setFocus()
    sel = window.people_view.selectionModel()
    sel.select(person_index(window, pid), sel.SelectionFlag.ClearAndSelect)
    wait_edit(qtbot, window, window.action("hide").trigger)
    with db(window) as lib:
        assert lib.person(pid).hidden
    assert window.people_model.row_of(pid) == -1
    with qtbot.waitSignal(window.refreshed, timeout=20_000):
        window.show_hidden_box.setChecked(True)
    assert window.people_model.row_of(pid) >= 0
    wait_edit(qtbot, window, window.action("undo").trigger)
    with db(window) as lib:
        assert not lib.person(pid).hidden


def test_similar_panel_lists_own_person_first_slider_and_bulk_assign(qtbot, window):
    people = [p for p in window.people_model.people() if p.face_count >= 3]
    assert people, "a person with at least three faces"
    pid = people[0].person_id
    window.navigation.open_person(pid)
    with qtbot.waitSignal(window.search_finished, timeout=60_000):
        QTest.mouseClick(
            window.faces_view.viewport(),
            Qt.MouseButton.LeftButton,
            pos=window.faces_view.visualRect(window.faces_model.index(0)).center(),
        )
    panel = window.similar
    query = panel.query_face_id
    assert query == window.faces_model.face_at(0).face_id
    with db(window) as lib:
        own = {f.face_id for f in lib.faces(person_id=pid)} - {query}
    panel.slider.setValue(0)
    hits = [panel.model.hit_at(r) for r in range(panel.model.rowCount())]
    hits = [h for h in hits if h is not None]
    first = [h.face.face_id for h in hits[: len(own)]]
    assert set(first) == own
    assert all(h.face.person_id == pid for h in hits[: len(own)])

    low = panel.model.count_above()
    panel.slider.setValue(99)
    high = panel.model.count_above()
    assert high < low
    assert f"{high} face" in panel.count_label.text()
    panel.slider.setValue(65)

    panel.select_all_above()
    chosen = panel.view.selected_face_ids()
    assert chosen and panel.assign_button.isEnabled()
    QTimer.singleShot(0, lambda: window.edits.chooser.choose_new())
    wait_edit(qtbot, window, panel.assign_button.click)
    with db(window) as lib:
        owners = {lib.face(f).person_id for f in chosen}
        assert len(owners) == 1 and None not in owners and pid not in owners
        assert all(lib.face(f).assigned_by == "user" for f in chosen)


def test_photo_view_shows_boxes_and_opens_person(qtbot, window):
    pid = open_first_person(window)
    face = window.faces_model.face_at(0)
    window.faces_view.setCurrentIndex(window.faces_model.index(0))
    QTest.keyClick(window.faces_view, Qt.Key.Key_Return)
    assert window.stack.currentIndex() == PHOTO_PAGE
    qtbot.waitUntil(window.photo_view.has_picture, timeout=20_000)
    with db(window) as lib:
        expected = {f.face_id for f in lib.photo_faces(face.photo_id)}
    assert {b.face.face_id for b in window.photo_view.boxes} == expected
    window.photo_view.person_opened.emit(pid)
    assert window.stack.currentIndex() == PERSON_PAGE
    window.action("back").trigger()
    assert window.stack.currentIndex() == PHOTO_PAGE
    window.action("back").trigger()
    window.action("back").trigger()
    assert window.stack.currentIndex() == PEOPLE_PAGE


def test_library_error_is_a_message_not_a_traceback(qtbot, tmp_path):
    bad = tmp_path / "not-a-library.sqlite3"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    w = make_window(tmp_path, bad)
    qtbot.addWidget(w)
    assert w.reader is None
    assert "library" in w.last_error.lower() and "Traceback" not in w.last_error
    w.close()


def test_window_layout_is_remembered(qtbot, window, tmp_path):
    """Size and docks come back; the similarity slider starts at the library's "same person at"
    setting (a moved slider is a look around, the setting is what the user decided)."""
    window.resize(900, 600)  # the offscreen screen is 800 px wide: only the height is free
    window.similar_dock.show()
    window.similar.slider.setValue(72)
    window.close()
    again = make_window(tmp_path, Path(window.machine.get("library")))
    qtbot.addWidget(again)
    assert again.size().height() == 600
    assert again.reader is not None
    assert again.similar.slider.value() == round(again.reader.settings()["threshold_percent"])
    assert again.similar_dock.isVisible()
    again.close()


def test_person_dropped_on_itself_is_no_edit(window):
    pid = window.people_model.people()[0].person_id
    index = person_index(window, pid)
    mime = window.people_model.mimeData([index])
    assert window.people_model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, index) is False
    assert window.editor is not None and window.editor.pending() == 0
    assert index.data(PersonIdRole) == pid


def test_name_a_face_from_the_photo_view(qtbot, window):
    pid = window.people_model.people()[0].person_id
    window.navigation.open_person(pid)
    face = window.faces_model.face_at(0)
    wait_edit(qtbot, window, lambda: window.edits.apply_face_name(face.face_id, "Named Here"))
    with db(window) as lib:
        assert lib.person(pid).name == "Named Here"
        assert lib.face(face.face_id).person_id == pid


def test_unassigned_faces_page_and_keyboard_back(window, qtbot):
    window.navigation.show_unassigned()
    with db(window) as lib:
        expected = lib.face_count(unassigned=True)
    assert window.faces_model.rowCount() == expected
    assert "without a person" in window.person_title.text()
    window.faces_view.setFocus()
    QTest.keyClick(window.faces_view, Qt.Key.Key_Backspace)
    assert window.stack.currentIndex() == PEOPLE_PAGE


def test_settings_dialog_changes_reach_the_library(qtbot, window):
    from faceorganizer.ui.settings_dialog import SettingsDialog

    with db(window) as lib:
        settings = lib.settings()
    dialog = SettingsDialog(settings, window.library_path(), window.device, window)
    qtbot.addWidget(dialog)
    assert dialog.model_combo.count() >= 1
    assert dialog.selected_model() == settings["model_id"]
    dialog.threshold.setValue(72)
    changes = dialog.changes()
    assert changes == {"threshold_percent": 72.0}
    window.settings.apply_settings(changes)
    qtbot.waitUntil(lambda: window.editor is not None and window.editor.pending() == 0)
    with db(window) as lib:
        assert lib.settings()["threshold_percent"] == 72.0


def test_search_with_a_photo_from_outside_the_library(qtbot, window, manifest):
    pid = window.people_model.people()[0].person_id
    with db(window) as lib:
        folders = {Path(f.photo_path).parent.name for f in lib.faces(person_id=pid)}
    folder = next(f for f in folders if not f.startswith("_"))
    outside = sorted(
        (r for r in manifest if r.kind == "photo" and r.person == folder), key=lambda r: r.relpath
    )[-1]

    def pick_largest() -> None:  # a photo with several faces asks which one
        if window.search.picker is not None:
            window.search.picker.pick()

    picker = QTimer()
    picker.timeout.connect(pick_largest)
    picker.start(50)
    with qtbot.waitSignal(window.search_finished, timeout=120_000) as found:
        window.search.search_photo(str(outside.path))
    picker.stop()
    assert found.args[0] > 0
    hits = [window.similar.model.hit_at(r) for r in range(window.similar.model.rowCount())]
    best = max((h for h in hits if h is not None), key=lambda h: h.percent)
    assert best.face.person_id == pid


def test_settings_dialog_imports_model_weights(
    qtbot, window, generated_vggface2, tmp_path, monkeypatch
):
    """Import from the Settings dialog: a damaged file is refused with a message naming the
    problem and nothing is installed; a good file installs and the model becomes selectable.
    (Qt's native file dialog is the one thing replaced: it cannot be driven offscreen.)"""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from faceorganizer.core import weights
    from faceorganizer.ui.settings_dialog import SettingsDialog

    monkeypatch.setenv(weights.MODELS_DIR_ENV, str(tmp_path / "models"))
    with db(window) as lib:
        settings = lib.settings()
    dialog = SettingsDialog(settings, window.library_path(), window.device, window)
    qtbot.addWidget(dialog)
    dialog.model_combo.setCurrentIndex(dialog.model_combo.findData("facenet-vggface2"))
    assert "not on this computer" in dialog.model_status.text()
    assert dialog.import_button.isEnabled()

    warnings: list[str] = []

    def close_warnings() -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QMessageBox) and w.isVisible():
                warnings.append(w.text())
                w.accept()

    closer = QTimer()
    closer.timeout.connect(close_warnings)
    closer.start(50)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(generated_vggface2.read_bytes()[:100_000])
    chosen = [str(broken)]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (chosen[0], ""))
    dialog.import_button.click()
    qtbot.waitUntil(lambda: bool(warnings), timeout=60_000)
    assert "vggface2" in warnings[0] and ("corrupt" in warnings[0] or "truncated" in warnings[0])
    assert not dialog._installed["facenet-vggface2"]
    assert "not on this computer" in dialog.model_status.text()

    chosen[0] = str(generated_vggface2)
    dialog.import_button.click()
    qtbot.waitUntil(lambda: dialog._installed.get("facenet-vggface2", False), timeout=120_000)
    closer.stop()
    assert len(warnings) == 1
    assert dialog.selected_model() == "facenet-vggface2"
    assert "not installed" not in dialog.model_combo.currentText()
    assert "re-reads every face" in dialog.model_status.text()
    assert not dialog.import_button.isEnabled()
    assert dialog.changes() == {"model_id": "facenet-vggface2"}
    dialog.reject()


@pytest.mark.timeout(60)
def test_a_pipe_as_the_settings_file_does_not_stop_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Qt waited for ever on a pipe named ~/.config/FaceOrganizer/FaceOrganizer.conf: the window
    never opened. The app now starts on fresh settings in a temporary file."""
    from faceorganizer.ui.app import open_settings

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "FaceOrganizer").mkdir()
    pipe = tmp_path / "FaceOrganizer" / "FaceOrganizer.conf"
    os.mkfifo(pipe)
    settings = open_settings()
    settings.setValue("window/size", 3)
    settings.sync()
    assert settings.value("window/size") in (3, "3") and settings.fileName() != str(pipe)
    explicit = tmp_path / "explicit.ini"
    os.mkfifo(explicit)
    assert open_settings(str(explicit)).fileName() != str(explicit)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 the user's photo")
    pipe.unlink()  # a link: Qt saved through it, replacing the photo (or /dev/zero, as root)
    pipe.symlink_to(photo)
    for linked in (open_settings(), open_settings(str(pipe))):
        linked.setValue("window/size", 4)
        linked.sync()
        assert linked.fileName() != str(pipe)
    assert photo.read_bytes() == b"\xff\xd8 the user's photo"


def test_the_window_says_when_settings_will_not_be_kept(qtbot, tmp_path: Path) -> None:
    """The log alone named a settings file that is a link: the user lost their settings at
    every start without a word on screen."""
    from faceorganizer.ui.app import say_if_settings_not_kept

    window = make_window(tmp_path, tmp_path / "library.sqlite3")
    qtbot.addWidget(window)
    target = tmp_path / "dotfiles.ini"
    target.write_text("[General]\n")
    link = tmp_path / "linked.ini"
    link.symlink_to(target)
    assert not say_if_settings_not_kept(window, str(target)) and not window.last_error
    assert say_if_settings_not_kept(window, str(link))
    assert str(link) in window.last_error
    assert "will not be kept" in window.last_error
    assert window.statusBar().currentMessage() == window.last_error
    window.ask_before_quit = False
    window.close()
