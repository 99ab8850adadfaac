"""Help > About says under which licence FaceOrganizer comes: the source MIT, the desktop bundle
as a whole GPL-3.0-or-later, and, when running from the bundle, where its notices are."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, QTimer  # noqa: E402

from faceorganizer.ui.mainwindow import MainWindow  # noqa: E402

pytestmark = pytest.mark.qt_log_level_fail("WARNING")  # the ignored messages: pyproject.toml


def about_text(qtbot, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch_folders", False)
    window = MainWindow(tmp_path / "library.sqlite3", qsettings=settings)
    qtbot.addWidget(window)
    seen: list[str] = []

    def read_and_close() -> None:
        box = window.help.about_box
        assert box is not None
        seen.append(box.text())
        box.accept()

    QTimer.singleShot(0, read_and_close)
    window.action("about").trigger()
    window.close()
    return seen[0]


def test_about_states_the_source_and_bundle_licences(qtbot, tmp_path: Path) -> None:
    text = about_text(qtbot, tmp_path)
    assert "source code is under the MIT licence" in text
    assert "as a whole under the GNU GPL, version 3 or later (GPL-3.0-or-later)" in text
    assert "THIRD-PARTY-NOTICES" not in text  # not running from a bundle


def test_from_the_bundle_about_points_to_its_notices(qtbot, tmp_path: Path, monkeypatch) -> None:
    bundle = tmp_path / "FaceOrganizer"
    bundle.mkdir()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(bundle / "faceorganizer"))
    assert str(bundle.resolve() / "THIRD-PARTY-NOTICES") in about_text(qtbot, tmp_path)
