"""A second outsider's walkthrough of issue 20 in a real window (Xvfb, 2,383 photos): what it
still tripped on, each checked here in the real widgets (offscreen Qt, real photos, models and
SQLite)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QFontMetrics  # noqa: E402

from tests.ui.test_ui_walkthrough import (  # noqa: E402
    celebrities,  # noqa: F401  (a fixture)
    wait_edit,
    window,  # noqa: F401  (a fixture)
)

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("propagateSizeHints", "QFont::setPointSize"),
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
