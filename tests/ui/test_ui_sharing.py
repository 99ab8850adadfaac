"""File ▸ Export people…, Write names to XMP sidecars, Read names from XMP: a real window
(offscreen) on a library scanned with the fake models; the work runs on the editor thread."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.services.xmp import regions as xmp_regions  # noqa: E402
from faceorganizer.ui.mainwindow import MainWindow  # noqa: E402

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
]


@pytest.fixture
def window(qtbot, tmp_path: Path, library: Library, album):
    folder, _ = album
    for name in ("ann", "bob", "cid"):
        face = next(f for f in library.faces() if f.photo_path == str(folder / f"{name}_1.png"))
        assert face.person_id is not None
        library.name_person(face.person_id, name.title())
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch_folders", False)
    w = MainWindow(library.path, device="cpu", qsettings=settings)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.refreshed, timeout=30_000):
        pass
    yield w
    if w.sharing.report is not None:
        w.sharing.report.close()
    w.close()


def test_write_then_read_names_through_the_menu(window, qtbot, album) -> None:
    folder, _ = album
    assert window.action("write_xmp").isEnabled() and window.action("import_xmp").isEnabled()
    with qtbot.waitSignal(window.sharing.done, timeout=30_000) as written:
        window.action("write_xmp").trigger()
    assert written.args[0].written == 8 and not written.args[0].errors
    report = window.sharing.report
    assert isinstance(report, QMessageBox) and report.isVisible()
    assert report.text().startswith("9 named faces in 8 photos: 8 sidecars written")
    bob = str(folder / "bob_2.png")
    assert [r.name for r in xmp_regions.read_regions(bob).regions] == ["Bob"]

    with Library.open(window.library_path()) as lib:  # another app's view: Bob loses his name
        lib.name_person(lib.person("Bob").person_id, None)
    with qtbot.waitSignal(window.sharing.done, timeout=30_000) as read:
        window.action("import_xmp").trigger()
    summary = read.args[0]
    # Bob's 3 faces, grouped automatically and never confirmed: back in Bob, not confirmed
    assert (summary.named, summary.confirmed) == (3, 0)
    assert summary.edit_id is not None and not summary.conflicts
    assert "Undo takes them back" in window.sharing.report.text()
    names = {p.name for p in window.people_model.people()}
    assert {"Ann", "Bob", "Cid"} <= names
    with Library.open(window.library_path()) as lib:
        assert lib.history(1)[0].kind == "import"
        assert [f.assigned_by for f in lib.faces(person_id="Bob")] == ["auto"] * 3


def test_export_people_writes_albums_and_contact_sheets(window, qtbot, tmp_path: Path) -> None:
    dest = tmp_path / "shared"
    with qtbot.waitSignal(window.sharing.done, timeout=60_000) as exported:
        window.sharing.export_to(str(dest), "copy", True)
    summary = exported.args[0]
    assert (summary.folders, summary.sheets) == (3, 3) and summary.copied == summary.files
    shown = sorted(p.name for p in (dest / "Ann").iterdir() if not p.name.startswith("."))
    assert shown[0] == "Ann - contact sheet.jpg"  # (and the hidden export mark scans skip)
    assert window.sharing.report.text().startswith("3 people, ")
