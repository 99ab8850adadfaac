"""Watching the library's folders: a photo copied into one (or into a new subfolder) starts a
scan a few seconds later, when "Watch folders for new photos" is on (remembered per user)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QFileSystemWatcher, QObject, QSignalBlocker, QTimer

from faceorganizer.ui.mainwindow.shell import Scanning, Shell

if TYPE_CHECKING:
    from PySide6.QtGui import QAction

    from faceorganizer.ui.machine_settings import MachineSettings

WATCH_DEBOUNCE_MS = 4000  # a copy of many photos starts one scan, after it settles
MAX_WATCHED_DIRS = 2000


class WatchingWindow(Shell, Protocol):
    """What the watching controller uses of the main window."""

    machine: MachineSettings

    @property
    def scans(self) -> Scanning: ...
    def action(self, action_id: str) -> QAction: ...


class Watching(QObject):
    """Keeps a ``QFileSystemWatcher`` on every folder under the library's folders."""

    def __init__(self, window: WatchingWindow) -> None:
        super().__init__(window.window())
        self.window = window
        self.watcher = QFileSystemWatcher(self)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(WATCH_DEBOUNCE_MS)
        self.timer.timeout.connect(self._on_folders_changed)
        self.watcher.directoryChanged.connect(lambda _path: self.timer.start())
        action = window.action("watch")
        with QSignalBlocker(action):
            action.setChecked(bool(window.machine.get("watch_folders")))

    def is_on(self) -> bool:
        return self.window.action("watch").isChecked()

    def set_watching(self, on: bool) -> None:
        self.window.machine.set("watch_folders", on)
        self.watch_folders()

    def stop(self) -> None:
        self.timer.stop()

    def watch_folders(self) -> None:
        """Watch the library's folders now (after a scan: new subfolders too)."""
        old = self.watcher.directories()
        if old:
            self.watcher.removePaths(old)
        reader = self.window.reader
        if not self.is_on() or reader is None:
            return
        dirs: list[str] = []
        for root in reader.folders():
            for dirpath, dirnames, _files in os.walk(root):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                dirs.append(dirpath)
                if len(dirs) >= MAX_WATCHED_DIRS:
                    break
        if dirs:
            self.watcher.addPaths(dirs)

    def _on_folders_changed(self) -> None:
        if self.window.scans.scanning:
            self.timer.start()
        elif self.is_on():
            self.window.scans.start_scan()
