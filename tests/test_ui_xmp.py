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
