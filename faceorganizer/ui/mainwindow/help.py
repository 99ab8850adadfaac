"""Help: where the log is (a bug's traceback lands there), and what this app is."""

from __future__ import annotations

import html
from typing import Protocol

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from faceorganizer import __version__, licensing, logs
from faceorganizer.ui.mainwindow.shell import Shell


class HelpWindow(Shell, Protocol):
    """What the help controller uses of the main window."""


class Help(QObject):
    def __init__(self, window: HelpWindow) -> None:
        super().__init__(window.window())
        self.window = window
        self.about_box: QMessageBox | None = None  # while the About dialog is open

    def open_log_folder(self) -> None:
        """Show the log folder in the file manager (made first, so it always opens)."""
        folder = logs.log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.window.show_error(f"The log is in {folder}")

    def show_about(self) -> None:
        """The app, its licences (the source's, and the bundle's when running from it), and
        where the log is."""
        parent = self.window.window()
        box = QMessageBox(
            QMessageBox.Icon.NoIcon,
            "About FaceOrganizer",
            f"<h3>FaceOrganizer {__version__}</h3>"
            "<p>Finds every face in your photo folders, groups them into people you can name, "
            "and finds similar faces. Works offline; your photos are never modified.</p>"
            f"<p>{html.escape(licensing.summary(licensing.bundle_folder()))}</p>"
            f"<p>Log file: {html.escape(str(logs.where()))}</p>",
            QMessageBox.StandardButton.Ok,
            parent,
        )
        box.setIconPixmap(parent.windowIcon().pixmap(64, 64))
        self.about_box = box
        box.exec()
        self.about_box = None
