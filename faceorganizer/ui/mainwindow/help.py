"""Help: where the log is (a bug's traceback lands there), and what this app is."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from faceorganizer import __version__, logs
from faceorganizer.ui.mainwindow.shell import Shell


class HelpWindow(Shell, Protocol):
    """What the help controller uses of the main window."""


class Help(QObject):
    def __init__(self, window: HelpWindow) -> None:
        super().__init__(window.window())
        self.window = window

    def open_log_folder(self) -> None:
        """Show the log folder in the file manager (made first, so it always opens)."""
        folder = logs.log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.window.show_error(f"The log is in {folder}")

    def show_about(self) -> None:
        QMessageBox.about(
            self.window.window(),
            "About FaceOrganizer",
            f"<h3>FaceOrganizer {__version__}</h3>"
            "<p>Finds every face in your photo folders, groups them into people you can name, "
            "and finds similar faces. Works offline; your photos are never modified.</p>"
            f"<p>Log file: {logs.where()}</p>",
        )
