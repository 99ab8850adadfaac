"""A second outsider's walkthrough of issue 20 in a real window (Xvfb, 2,383 photos): what it
still tripped on, each checked here in the real widgets (offscreen Qt, real photos, models and
SQLite)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QRect, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QFontMetrics, QImage, QPainter  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialog, QStyleOptionViewItem  # noqa: E402

from faceorganizer.services.types import Suggestion  # noqa: E402
from faceorganizer.ui.faces_model import HeaderRole  # noqa: E402
from faceorganizer.ui.faces_view import CAPTION_CELL  # noqa: E402
from faceorganizer.ui.mainwindow import PEOPLE_PAGE, PERSON_PAGE  # noqa: E402
from tests.helpers.ui_support import select_face_rows  # noqa: E402
from tests.ui.test_ui_walkthrough import (  # noqa: E402
    celebrities,  # noqa: F401  (a fixture)
    click_row,
    largest,
    lib_of,
    search_face,
    wait_edit,
    window,  # noqa: F401  (a fixture)
)

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
]


def test_status_messages_are_seen(qtbot, window):  # noqa: F811
    """Every status message ("Move 6 faces to 'Madonna'", "These faces are already in
    Madonna", a scan's summary) was painted nowhere: the library's counts, a permanent widget
    stretched over the whole bar, left the message no room."""
    person = window.people_model.person_at(0)
    assert person is not None
    bar = window.statusBar()
    bar.resize(1280, bar.height())
    before = bar.grab().toImage()
    wait_edit(qtbot, window, lambda: window.edits.rename_person(person.person_id, "Someone"))
    message = bar.currentMessage()
    assert message.startswith("Name 'Someone'")
    qtbot.wait(50)
    counts = window.counts_label
    left = counts.x() if counts.isVisible() else bar.width()
    assert left >= QFontMetrics(bar.font()).horizontalAdvance(message) + 6, (left, message)
    assert bar.grab().toImage() != before
    bar.clearMessage()
    qtbot.waitUntil(window.counts_label.isVisible, timeout=2000)
    assert " photos · " in window.counts_label.text()


def test_a_second_library_opened_on_a_person_page(qtbot, window, tmp_path):  # noqa: F811
    """File → Open library… with a person's page open raised "no person with id 1" half-way:
    the window kept the first library's title, counts, page and similar faces (whose Assign
    would then act on the second library's faces of the same ids)."""
    person = window.people_model.person_at(0)
    assert person is not None
    window.navigation.open_person(person.person_id)
    search_face(qtbot, window, window.faces_model.face_at(0).face_id)
    assert window.stack.currentIndex() == PERSON_PAGE and window.similar.model.rowCount()
    second = tmp_path / "second.sqlite3"
    with qtbot.waitSignal(window.refreshed, timeout=30_000):
        assert window.open_library(str(second))
    assert window.library_path() == str(second)
    assert window.windowTitle() == "second"
    assert window.stack.currentIndex() == PEOPLE_PAGE
    assert window.faces_model.rowCount() == 0 and window.people_model.rowCount() == 0
    assert window.similar.query_face_id is None and window.similar.model.rowCount() == 0
    assert window.counts_label.full_text().startswith("0 photos")


def test_part_of_a_name_then_enter_picks_that_person(qtbot, window):  # noqa: F811
    """Move to…: typing "Madon" left Madonna's card alone on screen, and Enter made a new
    person called "Madon" of the faces. The one person whose name starts so is now picked as
    the user types (shown, OK enabled), and Enter moves the faces to her; a new person of that
    name stays one click away."""
    madonna, other = largest(window, "madonna", 2)
    wait_edit(qtbot, window, lambda: window.edits.rename_person(madonna, "Madonna"))
    window.navigation.open_person(other)
    faces = select_face_rows(window, [0, 1])
    seen: dict[str, object] = {}

    def drive() -> None:
        chooser = window.edits.chooser
        assert chooser is not None
        QTest.keyClicks(chooser.filter_edit, "madon")
        current = chooser.list.currentIndex()
        seen["picked"] = current.isValid() and chooser.person_ids()[current.row()] == madonna
        seen["ok"] = chooser.ok_button.isEnabled()
        seen["new"] = chooser.new_button.text()
        QTest.keyClick(chooser.filter_edit, Qt.Key.Key_Return)

    QTimer.singleShot(0, drive)
    wait_edit(qtbot, window, window.action("move").trigger)
    assert seen == {"picked": True, "ok": True, "new": "New person “madon”"}
    with lib_of(window) as lib:
        assert set(faces) <= {f.face_id for f in lib.faces(madonna)}
        assert not lib.people_named("madon")


class _Recorder(QPainter):
    """Records the text the delegate paints, where, and with which font."""

    def __init__(self, image: QImage) -> None:
        super().__init__(image)
        self.drawn: list[tuple[QRect, int, str, QFontMetrics]] = []

    def drawText(self, rect, flags, text):  # type: ignore[no-untyped-def, override]
        self.drawn.append((QRect(rect), int(flags), text, QFontMetrics(self.font())))
        super().drawText(rect, flags, text)


def test_a_long_name_fits_its_group_card_in_the_panel(qtbot, window):  # noqa: F811
    """A long name ran over the top and bottom of its group's card in the similar-faces panel,
    hiding the count and the percentage."""
    person = window.people_model.person_at(0)
    assert person is not None
    name = "Anne-Marie Hortensia Bartholomew-Fitzgerald of Somewhere Quite Far Away"
    wait_edit(qtbot, window, lambda: window.edits.rename_person(person.person_id, name))
    search_face(qtbot, window, window.reader.faces(person_id=person.person_id)[0].face_id)  # type: ignore[union-attr]
    panel = window.similar
    header = panel.model.index(0)
    full = str(header.data(HeaderRole))
    assert full.startswith(name) and header.data(Qt.ItemDataRole.ToolTipRole) == full
    image = QImage(CAPTION_CELL, QImage.Format.Format_ARGB32)
    painter = _Recorder(image)
    option = QStyleOptionViewItem()
    panel.view.initViewItemOption(option)
    option.rect = QRect(0, 0, CAPTION_CELL.width(), CAPTION_CELL.height())
    panel.view.itemDelegate().paint(painter, option, header)
    painter.end()
    ((rect, flags, text, metrics),) = painter.drawn
    used = metrics.boundingRect(rect, flags, text)
    assert rect.contains(used), (rect, used, text)
    assert text.startswith("Anne-Marie") and "…" in text
    assert text.splitlines()[-1] == full.splitlines()[-1]  # "143 faces · 100 %", whole


def test_who_is_this_on_a_photo_asks_for_the_name(qtbot, window):  # noqa: F811
    """A photo's face without a person is labelled "Who is this?", but clicking the label did
    nothing (only a double-click inside the box asked for a name)."""
    face = window.reader.faces(unassigned=True)[0]  # type: ignore[union-attr]
    window.navigation.open_photo(face.face_id)
    qtbot.waitUntil(window.photo_view.has_picture, timeout=20_000)
    (box,) = [b for b in window.photo_view.boxes if b.face.face_id == face.face_id]
    (tag,) = box.childItems()  # the label, drawn at its size in pixels under the box
    canvas = window.photo_view.canvas
    where = canvas.mapFromScene(tag.scenePos()) + tag.rect().center().toPoint()
    assert canvas.items(where)[0] is not box

    def close_the_question() -> None:
        dialog = QApplication.activeModalWidget()
        seen.append(dialog.windowTitle() if dialog else None)
        if isinstance(dialog, QDialog):
            dialog.reject()

    seen: list[str | None] = []
    QTimer.singleShot(500, close_the_question)
    with qtbot.waitSignal(window.photo_view.name_requested, timeout=2000) as asked:
        QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert asked.args == [face.face_id]
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == ["Who is this?"]


def test_undo_and_redo_say_so(qtbot, window):  # noqa: F811
    """Once messages were seen, Undo of a merge said "Merge an unnamed person (53 faces) into
    'Sasha'" (the entry's own words), as if the merge had just been made again."""
    person = window.people_model.person_at(0)
    assert person is not None
    bar = window.statusBar()
    wait_edit(qtbot, window, lambda: window.edits.rename_person(person.person_id, "Someone"))
    done = bar.currentMessage()
    assert done.startswith("Name 'Someone'")
    wait_edit(qtbot, window, window.action("undo").trigger)
    assert bar.currentMessage() == f"Undone: {done}"
    wait_edit(qtbot, window, window.action("redo").trigger)
    assert bar.currentMessage() == f"Redone: {done}"


def test_the_one_person_question_reads_right(window):  # noqa: F811
    """Review asked "Are these 7 faces one person?" over "This face" and "and these face"."""
    person = window.people_model.person_at(0)
    assert person is not None and person.face_count >= 7
    faces = tuple(f.face_id for f in window.reader.faces(person_id=person.person_id)[:7])  # type: ignore[union-attr]

    def titles(ids: tuple[int, ...]) -> tuple[str, str]:
        s = Suggestion("n", "new", "Are these faces one person?", None, None, ids, 0.9, 1.0)
        q = window.review._question(window.reader, s)
        return q.left.title, q.right.title

    assert titles(faces) == ("This face", "and these 6 faces")
    assert titles(faces[:2]) == ("This face", "and this face")


def test_picking_more_faces_in_a_person_is_not_a_search(qtbot, window):  # noqa: F811
    """In a person's faces, a click searches; but Ctrl+click and Shift+click, which only add
    faces to the selection (to move them), also searched each added face in turn."""
    person = window.people_model.person_at(0)
    assert person is not None
    window.navigation.open_person(person.person_id)
    view = window.faces_view
    first = window.faces_model.face_at(0).face_id
    with qtbot.waitSignal(window.search_finished, timeout=60_000):
        click_row(view, 0)
    searches: list[int] = []
    view.face_clicked.connect(searches.append)
    click_row(view, 2, Qt.KeyboardModifier.ControlModifier)
    click_row(view, 4, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert len(view.selected_face_ids()) == 5
    assert searches == [] and window.similar.query_face_id == first
    click_row(view, 3)
    assert searches == [window.faces_model.face_at(3).face_id]


def test_the_face_you_chose_follows_your_click(qtbot, window):  # noqa: F811
    """On a photo, clicking another face searched with it, but the blue "the face you chose"
    box stayed on the face the photo was opened with."""
    with lib_of(window) as lib:
        photo = next(
            p
            for p in (lib.face(f.face_id).photo_id for f in lib.faces())
            if len(lib.photo_faces(p)) >= 2
        )
        first, other = (f.face_id for f in lib.photo_faces(photo)[:2])
    window.navigation.open_photo(first)
    qtbot.waitUntil(window.photo_view.has_picture, timeout=20_000)

    def chosen() -> list[int]:
        return [b.face.face_id for b in window.photo_view.boxes if b.pen().width() == 4]

    assert chosen() == [first]
    (box,) = [b for b in window.photo_view.boxes if b.face.face_id == other]
    canvas = window.photo_view.canvas
    with qtbot.waitSignal(window.search_finished, timeout=60_000):
        QTest.mouseClick(
            canvas.viewport(),
            Qt.MouseButton.LeftButton,
            pos=canvas.mapFromScene(box.sceneBoundingRect().center()),
        )
    assert window.similar.query_face_id == other
    assert chosen() == [other]


def test_confirm_is_offered_only_for_faces_in_a_person(qtbot, window):  # noqa: F811
    """Confirm ("grouping never moves them") was enabled on "Faces without a person", where it
    can only answer "nothing to change: … or in no person"."""
    window.navigation.show_unassigned()
    qtbot.waitUntil(lambda: window.faces_model.rowCount() > 0, timeout=30_000)
    select_face_rows(window, [0, 1])
    window.selection.update_actions()
    assert window.action("move").isEnabled() and not window.action("confirm").isEnabled()
    person = window.people_model.person_at(0)
    assert person is not None
    window.navigation.open_person(person.person_id)
    select_face_rows(window, [0, 1])
    window.selection.update_actions()
    assert window.action("confirm").isEnabled()
