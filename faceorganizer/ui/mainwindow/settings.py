"""Settings… and Open library…: the settings dialog, and applying what it changed.

The device is this computer's choice (``MachineSettings``); the rest belong to the library and
are written on the ``editor`` thread. A new model re-reads every face: a scan follows; a new
"same person at" threshold becomes the similar-faces panel's default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from faceorganizer.ui.mainwindow.shell import Refreshes, Scanning, Shell
from faceorganizer.ui.settings_dialog import SettingsDialog

if TYPE_CHECKING:
    from faceorganizer.services.library import Library
    from faceorganizer.ui.machine_settings import MachineSettings
    from faceorganizer.ui.similar_panel import SimilarPanel

LIBRARY_FILTER = "FaceOrganizer library (*.sqlite3)"


class SettingsWindow(Shell, Protocol):
    """What the settings controller uses of the main window."""

    device: str
    machine: MachineSettings
    similar: SimilarPanel

    @property
    def refresher(self) -> Refreshes: ...
    @property
    def scans(self) -> Scanning: ...
    def library_path(self) -> str | None: ...
    def open_library(self, path: str | None) -> bool: ...
    def set_device(self, device: str) -> None: ...


class Settings(QObject):
    def __init__(self, window: SettingsWindow) -> None:
        super().__init__(window.window())
        self.window = window

    def choose_library(self) -> None:
        w = self.window
        path, _ = QFileDialog.getSaveFileName(
            w.window(),
            "Open or create a library",
            w.library_path() or "",
            LIBRARY_FILTER,
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            w.open_library(path)

    def show_settings(self) -> None:
        w = self.window
        if w.reader is None:
            return
        cluster = (w.machine.get("ray_address") or "", w.machine.get("ray_path_map"))
        dialog = SettingsDialog(
            w.reader.settings(), w.library_path(), w.device, w.window(), cluster
        )
        if not dialog.exec():
            return
        self.apply_settings(dialog.changes())

    def apply_settings(self, changes: dict[str, Any]) -> None:
        """Apply the dialog's changes: ``device`` and the Ray cluster to this computer,
        ``library`` by opening it, the rest in the library (a changed ``model_id`` rescans)."""
        w = self.window
        if "device" in changes:
            device = str(changes.pop("device"))
            w.machine.set("device", device)
            w.set_device(device)
        if "ray_address" in changes:
            w.machine.set("ray_address", changes.pop("ray_address") or None)
        if "ray_path_map" in changes:
            w.machine.set("ray_path_map", changes.pop("ray_path_map"))
        library = changes.pop("library", None)
        model_changed = "model_id" in changes
        threshold = changes.get("threshold_percent")
        bar_changed = "quality_bar" in changes
        if changes and w.editor is not None:

            def job(lib: Library) -> None:
                for key, value in changes.items():
                    lib.set_setting(key, value)

            def done(_result: object) -> None:
                if threshold is not None:
                    w.similar.set_same_person_at(float(threshold))
                if model_changed:
                    w.scans.start_scan()
                elif bar_changed:  # other faces and counts follow (the next regroup places)
                    w.refresher.refresh()

            w.editor.submit("settings", job, done, w.show_error)
        if library:
            w.open_library(library)
