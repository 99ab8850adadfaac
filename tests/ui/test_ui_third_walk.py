"""A third look at issue 20's walkthrough (offscreen Qt, real photos, models and SQLite): unnamed
groups told apart beyond the people grid, in the similar-faces panel and in Review."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QRect, Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QStyleOptionViewItem  # noqa: E402

from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.services.types import Suggestion  # noqa: E402
from faceorganizer.ui.faces_model import HeaderRole  # noqa: E402
from faceorganizer.ui.faces_view import CAPTION_CELL  # noqa: E402
from faceorganizer.ui.people_model import PersonIdRole  # noqa: E402
from tests.ui.test_ui_second_walk import _Recorder  # noqa: E402
from tests.ui.test_ui_walkthrough import (  # noqa: E402
    celebrities,  # noqa: F401  (a fixture)
    open_window,
    search_face,
)

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
]


@pytest.fixture
def dated(celebrities, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811
    """The library with photo dates: the largest unnamed group spans 2009–2014, the others
    May 2009. Returns (library file, that group, another unnamed group)."""
    _, db = celebrities
    with Library.open(db) as lib:
        unnamed = sorted((p for p in lib.people() if p.name is None), key=lambda p: -p.face_count)
        wide, other = unnamed[0].person_id, unnamed[1].person_id
        last = max(f.photo_id for f in lib.faces(person_id=wide))
    con = sqlite3.connect(db)
    con.execute("UPDATE photos SET taken_at = '2009-05-01T10:00:00'")
    con.execute(f"UPDATE photos SET taken_at = '2014-07-14T12:00:00' WHERE id = {last}")
    con.commit()
    con.close()
    return db, wide, other


def test_unnamed_groups_are_told_apart_in_the_panel(qtbot, dated, tmp_path):
    """9, continued: the panel's group cards of unnamed groups still said only "Unnamed"."""
    db, wide, _other = dated
    window = open_window(qtbot, Path(db), tmp_path)
    try:
        assert window.reader is not None
        total = window.reader.person(wide).face_count
        search_face(qtbot, window, window.reader.faces(person_id=wide)[0].face_id)
        model = window.similar.model
        rows = range(model.rowCount() - 1)
        (header,) = [
            model.index(r)
            for r in rows
            if model.hit_at(r) is None and model.index(r + 1).data(PersonIdRole) == wide
        ]
        full = str(header.data(HeaderRole))
        assert full.startswith("Unnamed · 2009–2014\n"), full
        assert f"of {total} faces · " in full
        assert header.data(Qt.ItemDataRole.ToolTipRole) == full
        image = QImage(CAPTION_CELL, QImage.Format.Format_ARGB32)
        painter = _Recorder(image)
        option = QStyleOptionViewItem()
        window.similar.view.initViewItemOption(option)
        option.rect = QRect(0, 0, CAPTION_CELL.width(), CAPTION_CELL.height())
        window.similar.view.itemDelegate().paint(painter, option, header)
        painter.end()
        ((rect, flags, text, metrics),) = painter.drawn
        assert rect.contains(metrics.boundingRect(rect, flags, text)), text
        assert "2009" in text and text.splitlines()[-1] == full.splitlines()[-1]
    finally:
        window.ask_before_quit = False
        window.close()


def test_unnamed_groups_are_told_apart_in_review(qtbot, dated, tmp_path):
    """9, continued: "Are these the same person?" between two groups both titled "Unnamed"."""
    db, wide, other = dated
    window = open_window(qtbot, Path(db), tmp_path)
    try:
        window.resize(640, 420)
        window.similar_dock.hide()
        reader = window.reader
        assert reader is not None
        s = Suggestion("m", "merge", "Same person?", wide, other, (), 0.9, 1.0)
        q = window.review._question(reader, s)
        n_wide, n_other = reader.person(wide).face_count, reader.person(other).face_count
        assert q.left.title == f"Unnamed · 2009–2014 · {n_wide} faces"
        assert q.right.title == f"Unnamed · May 2009 · {n_other} faces"
        window.navigation.show_review()
        window.review_page.show_question(q)
        QTest.qWait(50)
        assert window.width() == 640
        for side, full in ((window.review_page.left, q.left), (window.review_page.right, q.right)):
            label = side.title
            assert label.toolTip() == full.title
            assert label.width() <= side.width()
            shown = label.text()
            assert shown == full.title or (shown.endswith("…") and "Unnamed" in shown), shown
    finally:
        window.ask_before_quit = False
        window.close()
