"""Issue 9 in the real window (offscreen Qt, real photos and models): F5 moves no face, what a
scan placed is one undoable entry, the assign dialog chooses nothing by itself, a name someone
has offers a merge, Not a face, the similar-faces panel (person mode, titles that follow
renames, double-click opens), search with a photo of several faces, a long file name, and a
people grid that keeps its order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.ui.mainwindow import PHOTO_PAGE, MainWindow  # noqa: E402
from tests.helpers.library_support import LATER, celebrity_library, copy_library, people_of  # noqa: E402
from tests.helpers.ui_support import select_face_rows  # noqa: E402

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
]


@pytest.fixture
def celebrities(tmp_path: Path) -> tuple[Path, Path, Path]:
    folder, db, later = celebrity_library()
    return (*copy_library(folder, db, tmp_path), later)


@pytest.fixture
def window(qtbot, celebrities, tmp_path):  # type: ignore[no-untyped-def]
    _, db, _ = celebrities
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch_folders", False)
    w = MainWindow(db, device="cpu", qsettings=settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitSignal(w.refreshed, timeout=30_000).wait()
    yield w
    w.ask_before_quit = False
    w.close()


def lib_of(window: MainWindow) -> Library:
    return Library.open(window.library_path())


def wait_edit(qtbot, window: MainWindow, trigger) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.edits_applied, timeout=30_000):
        trigger()


def person_of(window: MainWindow, folder: str) -> int:
    with lib_of(window) as lib:
        return max(people_of(lib, folder), key=lambda p: lib.person(p).face_count)


def assigned(window: MainWindow) -> dict[int, int]:
    with lib_of(window) as lib:
        return {f.face_id: f.person_id for f in lib.faces(include_hidden=True) if f.person_id}


def select_people(window: MainWindow, ids: list[int]) -> None:
    view = window.people_view
    view.setFocus()
    sel = view.selectionModel()
    sel.clearSelection()
    for pid in ids:
        sel.select(
            window.people_model.index(window.people_model.row_of(pid)), sel.SelectionFlag.Select
        )


def answer_name_clash(window: MainWindow, button: str) -> None:
    box = window.edits.name_clash
    assert box is not None and "already a person named" in box.text()
    next(b for b in box.buttons() if b.text().replace("&", "") == button).click()


def test_f5_moves_no_face_and_a_scans_placements_are_one_undo(qtbot, window, celebrities):
    """The reproduction: merge the two Madonna groups, name her, press F5 (no new photos):
    no face changes person and no history entry appears. New photos then: one "Scan:" entry,
    named in the Edit menu, that undo reverts."""
    folder, _, later = celebrities
    with lib_of(window) as lib:
        madonnas = people_of(lib, "madonna")
    assert len(madonnas) >= 2
    select_people(window, madonnas)
    wait_edit(qtbot, window, window.action("merge").trigger)
    (madonna,) = [p for p in madonnas if p in {x.person_id for x in window.people_model.people()}]
    wait_edit(qtbot, window, lambda: window.edits.rename_person(madonna, "Madonna"))
    katy = person_of(window, "katy_perry")
    before = assigned(window)

    assert window.action("scan").shortcut().toString() == "F5"
    window.activateWindow()
    window.people_view.setFocus()
    with qtbot.waitSignal(window.scan_done, timeout=240_000):
        QTest.keyClick(window.people_view, Qt.Key.Key_F5)
    # Faces without a person may join Madonna now that she is one (her likeness changed); no
    # face in a person moves.
    assert {f: p for f, p in assigned(window).items() if f in before} == before
    before = assigned(window)
    QTest.qWait(500)
    undo_text = window.action("undo").text()
    with qtbot.waitSignal(window.scan_done, timeout=240_000):
        QTest.keyClick(window.people_view, Qt.Key.Key_F5)
    assert assigned(window) == before
    qtbot.waitUntil(lambda: window.action("undo").text() == undo_text, timeout=10_000)

    for photo in later.iterdir():
        shutil.copy2(photo, folder / "five_celebrity" / LATER / photo.name)
    with qtbot.waitSignal(window.scan_done, timeout=240_000) as done:
        window.action("scan").trigger()
    summary = done.args[0]
    assert summary.placed and summary.placed.startswith("Scan: ")
    qtbot.waitUntil(lambda: "Scan: " in window.action("undo").text(), timeout=10_000)
    now = assigned(window)
    placed = set(now) - set(before)
    assert placed and {f: p for f, p in now.items() if f in before} == before
    assert {f for f, p in now.items() if p == katy} == {f for f, p in before.items() if p == katy}
    wait_edit(qtbot, window, window.action("undo").trigger)
    assert assigned(window) == before
    assert window.action("undo").text() == undo_text


def test_assign_dialog_chooses_nothing_by_itself_and_makes_a_named_person(qtbot, window):
    katy = person_of(window, "katy_perry")
    with lib_of(window) as lib:
        now_in = f"Now in: Unnamed ({lib.person(katy).face_count} faces"
    window.navigation.open_person(katy)
    faces = select_face_rows(window, [0, 1])
    seen: dict[str, object] = {}

    def drive() -> None:
        chooser = window.edits.chooser
        assert chooser is not None
        seen["current"] = chooser.list.currentIndex().isValid()
        seen["ok"] = chooser.ok_button.isEnabled()
        seen["listed"] = katy in chooser.person_ids()
        seen["now"] = chooser.now_label.text().startswith(now_in)
        QTest.keyClick(chooser.filter_edit, Qt.Key.Key_Return)  # nothing typed: nothing happens
        seen["still_open"] = chooser.isVisible()
        QTest.keyClicks(chooser.filter_edit, "Katy Perry")
        seen["button"] = chooser.new_button.text()
        QTest.keyClick(chooser.filter_edit, Qt.Key.Key_Return)

    QTimer.singleShot(0, drive)
    wait_edit(qtbot, window, window.action("move").trigger)
    assert seen == {
        "current": False,
        "ok": False,
        "listed": True,
        "now": True,
        "still_open": True,
        "button": "New person “Katy Perry”",
    }
    with lib_of(window) as lib:
        (new,) = lib.people_named("Katy Perry")
        assert {f.face_id for f in lib.faces(new.person_id)} == set(faces)
        assert lib.history()[0].description == "Move 2 faces to a new person 'Katy Perry'"


def test_a_name_someone_has_offers_to_merge(qtbot, window):
    first, second = people_of_sizes(window, "madonna")[:2]
    wait_edit(qtbot, window, lambda: window.edits.rename_person(first, "Madonna"))
    with lib_of(window) as lib:
        theirs = lib.person(second).face_count
        total = lib.person(first).face_count + theirs

    QTimer.singleShot(0, lambda: answer_name_clash(window, "Same person: merge"))
    wait_edit(qtbot, window, lambda: window.edits.rename_person(second, "madonna"))
    with lib_of(window) as lib:
        assert [p.person_id for p in lib.people_named("Madonna")] == [first]
        assert lib.person(first).face_count == total
        merged = f"Merge an unnamed person ({theirs} faces) into 'Madonna'"
        assert lib.history()[0].description == merged
    assert merged in window.action("undo").text()

    elton = person_of(window, "elton_john")
    QTimer.singleShot(0, lambda: answer_name_clash(window, "Different people"))
    wait_edit(qtbot, window, lambda: window.edits.rename_person(elton, "Madonna"))
    with lib_of(window) as lib:
        assert sorted(p.person_id for p in lib.people_named("Madonna")) == sorted([first, elton])


def people_of_sizes(window: MainWindow, folder: str) -> list[int]:
    with lib_of(window) as lib:
        return sorted(people_of(lib, folder), key=lambda p: -lib.person(p).face_count)


def test_not_a_face_from_the_face_grid_and_undo(qtbot, window):
    window.navigation.open_person(person_of(window, "mindy_kaling"))
    rows = window.faces_model.rowCount()
    (face,) = select_face_rows(window, [0])
    with qtbot.waitSignal(window.search_finished, timeout=60_000):
        window.search.show_similar(face)  # the panel's query: it goes when it is not a face
    assert window.action("not_face").isEnabled()
    wait_edit(qtbot, window, window.action("not_face").trigger)
    assert window.faces_model.rowCount() == rows - 1
    with lib_of(window) as lib:
        assert lib.face(face).person_id is None
        assert face not in {f.face_id for f in lib.faces(unassigned=True, include_hidden=True)}
    assert "not a face" in window.action("undo").text()
    assert window.similar.query_face_id is None
    wait_edit(qtbot, window, window.action("undo").trigger)
    assert window.faces_model.rowCount() == rows


def test_similar_panel_person_mode_titles_and_threshold(qtbot, window):
    madonna = person_of(window, "madonna")
    window.navigation.open_person(madonna)
    face = window.faces_model.face_at(0).face_id
    panel = window.similar
    with qtbot.waitSignal(window.search_finished, timeout=60_000):
        window.search.show_similar(face)
    assert panel.whole_person.isVisibleTo(panel) and "Unnamed" in panel.title.text()
    percents = [h.percent for h in panel.model.hits_above()]
    assert panel.count_label.text().startswith(f"{len(percents)} face")
    headers = [panel.model.data(panel.model.index(r)) for r in range(panel.model.rowCount())]
    best = [float(h.rsplit("·", 1)[1].strip(" %")) for h in headers if h and "·" in h]
    assert best == sorted(best, reverse=True)
    panel.select_all_above()
    assert len(panel.view.selected_face_ids()) == panel.model.count_above()

    with qtbot.waitSignal(window.search_finished, timeout=60_000):
        panel.whole_person.setChecked(True)
    with lib_of(window) as lib:
        own = {f.face_id for f in lib.faces(madonna)}
    hits = {h.face.face_id for h in panel.model.hits_above()}
    assert not hits & own
    assert "Faces like Unnamed" in panel.title.text()

    with qtbot.waitSignal(window.search_finished, timeout=60_000):
        wait_edit(qtbot, window, lambda: window.edits.rename_person(madonna, "Madonna"))
    assert "Faces like Madonna" in panel.title.text() and "Unnamed" not in panel.title.text()


def test_double_click_in_the_similar_panel_opens_the_photo(qtbot, window):
    window.navigation.open_person(person_of(window, "jerry_seinfeld"))
    face = window.faces_model.face_at(0).face_id
    with qtbot.waitSignal(window.search_finished, timeout=60_000):
        window.search.show_similar(face)
    model = window.similar.model
    row = next(r for r in range(model.rowCount()) if model.hit_at(r) is not None)
    hit = model.hit_at(row)
    assert hit is not None
    pos = window.similar.view.visualRect(model.index(row)).center()
    viewport = window.similar.view.viewport()
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)  # a double-click's first half
    QTest.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
    assert window.stack.currentIndex() == PHOTO_PAGE
    photo = window.photo_view.current_photo()
    assert photo is not None and photo.photo_id == hit.face.photo_id
    QTest.qWait(QApplication.doubleClickInterval() + 200)  # no search started by the clicks
    assert window.similar.query_face_id == face


def test_search_with_a_photo_of_several_faces_lets_the_user_pick(qtbot, window):
    group = sorted((celebrity_library()[0] / "deepface_testset" / "_group").iterdir())[0]
    chosen: dict[str, int] = {}

    def pick() -> None:
        picker = window.search.picker
        if picker is None:
            QTimer.singleShot(50, pick)
            return
        chosen["faces"] = picker.list.count()
        chosen["index"] = picker.list.count() - 1
        picker.pick(chosen["index"])

    QTimer.singleShot(0, pick)
    with qtbot.waitSignal(window.search_finished, timeout=120_000):
        window.search.search_photo(str(group))
    assert chosen["faces"] >= 2
    title = window.similar.title.text()
    assert f"face {chosen['index'] + 1} of {chosen['faces']}" in title
    assert window.similar.query_image.isVisibleTo(window.similar)
    assert not window.similar.query_image.pixmap().isNull()


def test_a_long_file_name_never_widens_the_window(qtbot, window, celebrities):
    folder, _, _ = celebrities
    source = next((folder / "five_celebrity" / "madonna").iterdir())
    long_name = source.parent / ("a_very_long_file_name_" * 10 + "madonna.jpg")  # 231 chars
    shutil.copy2(source, long_name)
    with qtbot.waitSignal(window.scan_done, timeout=240_000):
        window.action("scan").trigger()
    with lib_of(window) as lib:
        face = next(f for f in lib.faces() if f.photo_path == str(long_name))
    width = window.width()
    screen = window.screen().availableGeometry().width()
    window.navigation.open_photo(face.face_id)
    qtbot.waitUntil(window.photo_view.has_picture, timeout=20_000)
    QTest.qWait(50)
    assert window.width() == width <= screen
    assert window.photo_view.caption.full_text().startswith(long_name.name)
    assert window.photo_view.caption.text() != window.photo_view.caption.full_text()


def test_named_people_come_first_and_cards_keep_their_order(qtbot, window):
    people = [p.person_id for p in window.people_model.people()]
    last = people[-1]
    wait_edit(qtbot, window, lambda: window.edits.rename_person(last, "Zed"))
    order = [p.person_id for p in window.people_model.people()]
    assert order[0] == last and order[1:] == people[:-1]

    source, target = order[1], order[2]
    window.navigation.open_person(source)
    faces = select_face_rows(window, [0])
    wait_edit(qtbot, window, lambda: window.edits.move_faces(faces, target))
    assert [p.person_id for p in window.people_model.people()] == order
