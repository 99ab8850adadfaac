"""The XMP parts of the desktop app, with real widgets offscreen and a real library file."""

from __future__ import annotations

from pathlib import Path

from faceorganizer.services.library import Library


def test_settings_dialog_turns_xmp_import_and_sidecar_writing_on_and_off(qtbot, tmp_path: Path):
    from faceorganizer.ui.settings_dialog import SettingsDialog

    with Library.open(tmp_path / "library.sqlite3") as lib:
        settings = lib.settings()
        assert (settings["xmp_import_on_scan"], settings["xmp_write_sidecars"]) == (True, False)
        dialog = SettingsDialog(settings, str(lib.path), "cpu")
        qtbot.addWidget(dialog)
        assert dialog.xmp_import.isChecked() and not dialog.xmp_write.isChecked()
        assert dialog.changes() == {}
        dialog.xmp_write.setChecked(True)
        dialog.xmp_import.setChecked(False)
        changes = dialog.changes()
        assert changes == {"xmp_write_sidecars": True, "xmp_import_on_scan": False}
        for key, value in changes.items():
            lib.set_setting(key, value)
        again = SettingsDialog(lib.settings(), str(lib.path), "cpu")
        qtbot.addWidget(again)
        assert again.xmp_write.isChecked() and not again.xmp_import.isChecked()


def test_export_dialog_gives_the_choice_and_needs_a_folder(qtbot, tmp_path: Path):
    from PySide6.QtWidgets import QDialogButtonBox

    from faceorganizer.ui.sharing_dialogs import ExportChoice, ExportDialog

    dialog = ExportDialog()
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.folder.setText(str(tmp_path))
    assert ok.isEnabled()
    assert dialog.choice() == ExportChoice(str(tmp_path), "link", True)
    dialog.copy.setChecked(True)
    dialog.contact_sheet.setChecked(False)
    assert dialog.choice() == ExportChoice(str(tmp_path), "copy", False)


def test_reports_say_what_was_read_and_what_was_not_applied():
    from faceorganizer.services.types import NameConflict, XmpImportSummary, XmpWriteSummary
    from faceorganizer.ui.sharing_dialogs import import_report, write_report

    conflict = NameConflict("/p/a.jpg", 7, "Bob", "Alice", "named otherwise")
    text, details = import_report(
        XmpImportSummary(photos=3, with_regions=2, named=2, cut=1, conflicts=[conflict], edit_id=4)
    )
    assert text.startswith("2 faces named from XMP in 2 photos, 1 of them cut")
    assert "Undo" in text and "1 name(s) not applied" in text
    assert details == "'Bob' in XMP, but the face is 'Alice' here: /p/a.jpg"
    text, details = write_report(
        XmpWriteSummary(photos=2, written=1, unchanged=1, faces=3, replaced=[("/p/a.xmp", "X")])
    )
    assert text == "3 named faces in 2 photos: 1 sidecar written, 1 already up to date."
    assert details == "Replaced 'X' written by another app in /p/a.xmp"
