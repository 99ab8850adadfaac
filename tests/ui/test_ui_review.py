"""The Review page of the real window on a real library: answered with the keys Y, N and S,
each answer checked in the SQLite file, and undone from the page. Offscreen Qt."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.services.types import Suggestion  # noqa: E402
from faceorganizer.ui.mainwindow import REVIEW_PAGE, MainWindow  # noqa: E402
from tests.helpers.library_support import library_copy  # noqa: E402

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
]


def prepare(db: Path) -> None:
    """Leave the errors a grouping makes: a person split in two, two faces without their person
    and a face in the wrong person (automatic placements, as a scan would leave them)."""
    with Library.open(db) as lib:
        people = [p.person_id for p in lib.people()]
        faces = {p: [f.face_id for f in lib.faces(person_id=p)] for p in people[:3]}
        other = lib.db.execute("INSERT INTO persons(created_at) VALUES ('now')").lastrowid
        moves = [(other, "auto", f) for f in faces[people[0]][::2]]
        moves += [(None, None, f) for f in faces[people[1]][:2]]
        moves.append((people[0], "auto", faces[people[2]][0]))
        lib.db.conn.executemany(
            "UPDATE faces SET person_id = ?, assigned_by = ? WHERE id = ?", moves
        )
        lib.db.conn.commit()


def state(db: Path) -> dict[str, object]:
    con = sqlite3.connect(db)
    try:
        return {
            "faces": con.execute("SELECT id, person_id, assigned_by FROM faces").fetchall(),
            "rejections": con.execute("SELECT * FROM rejections ORDER BY 1, 2").fetchall(),
            "apart": con.execute("SELECT * FROM not_same_persons ORDER BY 1, 2").fetchall(),
            "edits": con.execute("SELECT kind, undone FROM edits ORDER BY id").fetchall(),
        }
    finally:
        con.close()


def answered_in_db(db: Path, s: Suggestion, accepted: bool) -> bool:
    """Whether the database holds the answer to ``s``."""
    con = sqlite3.connect(db)
    try:
        person_of = dict(con.execute("SELECT id, person_id FROM faces").fetchall())
        rejected = set(con.execute("SELECT face_id, person_id FROM rejections").fetchall())
        apart = set(con.execute("SELECT person_a, person_b FROM not_same_persons").fetchall())
        pinned = {r[0] for r in con.execute("SELECT id FROM faces WHERE assigned_by = 'user'")}
        persons = {r[0] for r in con.execute("SELECT id FROM persons")}
    finally:
        con.close()
    if s.kind == "merge":
        if accepted:
            return s.other_person_id not in persons
        return tuple(sorted((int(s.person_id or 0), int(s.other_person_id or 0)))) in apart
    if s.kind == "odd":
        face = s.face_ids[0]
        if accepted:
            return person_of[face] is None and (face, s.person_id) in rejected
        return person_of[face] == s.person_id and face in pinned
    if s.kind == "who":
        if accepted:
            return all(person_of[f] == s.person_id and f in pinned for f in s.face_ids)
        return all((f, s.person_id) in rejected for f in s.face_ids)
    raise AssertionError(f"unexpected question {s}")


@pytest.fixture
def window(qtbot, tmp_path: Path):
    _, db = library_copy(tmp_path)
    prepare(db)
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch_folders", False)
    w = MainWindow(db, device="cpu", qsettings=settings)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.refreshed, timeout=30_000):
        pass
    yield w, db
    w.close()


def wait_question(qtbot, w: MainWindow, not_this: str | None = None) -> Suggestion:
    def shown() -> bool:
        s = w.review.current
        return s is not None and s.suggestion_id != not_this and w.review_page.body.isVisible()

    qtbot.waitUntil(shown, timeout=60_000)
    assert w.review.current is not None
    return w.review.current


def key(qtbot, w: MainWindow, letter: Qt.Key) -> None:
    with qtbot.waitSignal(w.edits_applied, timeout=30_000):
        QTest.keyClick(w.review_page, letter)


def test_review_page_answers_by_keyboard_and_undoes(qtbot, window) -> None:
    w, db = window
    qtbot.waitUntil(lambda: "(" in w.action("review").text(), timeout=60_000)
    assert w.action("review").text().startswith("&Review (")
    w.action("review").trigger()
    assert w.stack.currentIndex() == REVIEW_PAGE
    first = wait_question(qtbot, w)
    assert w.review_page.question.text() == first.question
    assert len(w.review_page.tiles) >= 2  # the faces, side by side

    key(qtbot, w, Qt.Key.Key_Y)
    assert answered_in_db(db, first, accepted=True)
    second = wait_question(qtbot, w, not_this=first.suggestion_id)

    key(qtbot, w, Qt.Key.Key_N)
    assert answered_in_db(db, second, accepted=False)
    third = wait_question(qtbot, w, not_this=second.suggestion_id)
    before_skip = state(db)
    QTest.keyClick(w.review_page, Qt.Key.Key_S)
    assert w.review.current is None or w.review.current.suggestion_id != third.suggestion_id
    assert third.suggestion_id in w.review.skipped
    assert state(db) == before_skip  # skipping changes nothing

    with qtbot.waitSignal(w.edits_applied, timeout=30_000):
        w.review_page.undo_button.click()
    assert not answered_in_db(db, second, accepted=False)
    assert answered_in_db(db, first, accepted=True)
    answers = [undone for kind, undone in state(db)["edits"] if kind != "auto"]  # type: ignore[union-attr]
    assert answers == [0, 1]  # the scan's own entry left out
    asked_again = wait_question(qtbot, w)
    assert asked_again.suggestion_id != first.suggestion_id


def test_unticked_faces_are_left_out_and_rejected(qtbot, window) -> None:
    w, db = window
    w.action("review").trigger()
    s = wait_question(qtbot, w)
    for _ in range(6):
        if s.kind == "who" and len(s.face_ids) > 1:
            break
        QTest.keyClick(w.review_page, Qt.Key.Key_S)
        s = wait_question(qtbot, w)
    assert s.kind == "who" and len(s.face_ids) == 2
    tiles = [t for t in w.review_page.tiles if t.checkable]
    QTest.mouseClick(tiles[0], Qt.MouseButton.LeftButton)
    assert w.review_page.excluded() == [tiles[0].face.face_id]
    key(qtbot, w, Qt.Key.Key_Y)
    con = sqlite3.connect(db)
    left_out = tiles[0].face.face_id
    assert con.execute("SELECT person_id FROM faces WHERE id = ?", [left_out]).fetchone()[0] is None
    rejected = con.execute("SELECT face_id, person_id FROM rejections").fetchall()
    assert (left_out, s.person_id) in rejected
    kept = [f for f in s.face_ids if f != left_out]
    placed = con.execute("SELECT person_id, assigned_by FROM faces WHERE id = ?", kept).fetchone()
    assert placed == (s.person_id, "user")
    con.close()
