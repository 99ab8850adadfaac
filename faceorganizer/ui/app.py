"""Starting the desktop app: one QApplication, one main window, optionally a folder to scan."""

from __future__ import annotations

import logging
import os
import sys
from importlib.resources import files
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QCoreApplication,
    QMessageLogContext,
    QSettings,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from faceorganizer import __version__, logs

if TYPE_CHECKING:
    from faceorganizer.ui.mainwindow import MainWindow

APP_NAME = "FaceOrganizer"
# The desktop entry's name (resources/APP_ID.desktop): Wayland matches windows to it by this id.
APP_ID = "io.github.faceorganizer.FaceOrganizer"
qt_log = logging.getLogger("faceorganizer.qt")
_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def qt_message_handler(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's own warnings (a failed plugin, a bad signal connection) go to the app's log."""
    where = f" ({context.file}:{context.line})" if context.file else ""
    qt_log.log(_QT_LEVELS.get(mode, logging.WARNING), "%s%s", message, where)


def app_icon() -> QIcon:
    """The app's icon, from the package data (also inside the bundle)."""
    return QIcon(str(files("faceorganizer") / "resources" / "faceorganizer.svg"))


def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (reused when one exists, as under pytest-qt)."""
    app = QApplication.instance()
    if app is None:
        QCoreApplication.setOrganizationName(APP_NAME)
        QCoreApplication.setApplicationName(APP_NAME)
        app = QApplication(argv if argv is not None else sys.argv[:1])
        app.setApplicationVersion(__version__)
        app.setApplicationDisplayName(APP_NAME)
        app.setDesktopFileName(APP_ID)
        app.setWindowIcon(app_icon())
        app.setStyle("Fusion")
    return app  # type: ignore[return-value]


def run_gui(
    folder: str | os.PathLike[str] | None = None,
    library: str | os.PathLike[str] | None = None,
    device: str = "auto",
    settings_file: str | None = None,
    quit_after_ms: int | None = None,
) -> int:
    """Open the window (on ``library``, else the last one used) and scan ``folder`` if given;
    returns the exit status when the window closes (by itself after ``quit_after_ms``)."""
    from faceorganizer.ui.mainwindow import MainWindow

    if not logs.configured():
        logs.setup_logging()
    qInstallMessageHandler(qt_message_handler)
    app = make_app()
    qsettings = (
        QSettings(settings_file, QSettings.Format.IniFormat) if settings_file else QSettings()
    )
    window = MainWindow(library, device=device, qsettings=qsettings)
    window.show()
    if folder is not None:
        path = os.fspath(folder)  # the library normalises it, as for every scan
        QTimer.singleShot(0, lambda: window.scans.start_scan([path]))
    elif window.reader is not None and window.reader.folders() and window.watching.is_on():
        QTimer.singleShot(500, lambda: window.scans.start_scan())
    if quit_after_ms is not None:  # unattended: a question nobody answers would never close
        QTimer.singleShot(quit_after_ms, lambda: _close_unasked(window))
    return int(app.exec())


def _close_unasked(window: MainWindow) -> None:
    """Close as if the user had answered "Stop the scan and quit"."""
    window.ask_before_quit = False
    window.close()
