"""Starting the desktop app: one QApplication, one main window, optionally a folder to scan."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from importlib.resources import files
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QCoreApplication,
    QMessageLogContext,
    QSettings,
    QStandardPaths,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from faceorganizer import __version__, logs
from faceorganizer.core.reader import not_a_file

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


def _not_files(settings_file: str | None) -> list[str]:
    """The settings files Qt would read that are links or not regular files: Qt waits for ever
    on a pipe there, before the window opens, and saves through a link, replacing its target.
    Where Qt reads them from on Linux and the BSDs: the user's and the system's config folders,
    the app's file and the organisation's (macOS and Windows keep settings in their own
    stores)."""
    if settings_file is not None:
        paths = [settings_file]
    elif sys.platform in ("darwin", "win32"):
        paths = []
    else:
        user = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.GenericConfigLocation
        )
        system = (os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
        paths = [
            os.path.join(base, name)
            for base in (user, *system)
            for name in (f"{APP_NAME}/{APP_NAME}.conf", f"{APP_NAME}.conf")
        ]
    # Qt saves through a link: it replaced a photo, and /dev/zero
    return [f"{path} is {what}" for path in paths if (what := not_a_file(path)) is not None]


def open_settings(settings_file: str | None = None) -> QSettings:
    """The desktop settings (``settings_file``, else the platform's place). Where a file Qt
    would read is a link, a pipe, a device or a folder, the app starts on fresh settings kept in a
    temporary file, and the log says which file to remove."""
    bad = _not_files(settings_file)
    if bad:
        qt_log.warning("settings not read or kept: %s, not a regular file", "; ".join(bad))
        folder = tempfile.mkdtemp(prefix="faceorganizer-settings-")
        return QSettings(os.path.join(folder, "settings.ini"), QSettings.Format.IniFormat)
    if settings_file:
        return QSettings(settings_file, QSettings.Format.IniFormat)
    return QSettings()


def say_if_settings_not_kept(window: MainWindow, settings_file: str | None = None) -> bool:
    """Tell the user, not only the log, that this session's settings will not be kept."""
    bad = _not_files(settings_file)
    if bad:
        window.show_error(
            f"Your settings will not be kept after this session: {bad[0]}, not a regular file. "
            "Remove it (or put the file itself there) to keep them."
        )
    return bool(bad)


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
    qsettings = open_settings(settings_file)
    window = MainWindow(library, device=device, qsettings=qsettings)
    window.show()
    QTimer.singleShot(0, lambda: say_if_settings_not_kept(window, settings_file))
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
