"""Scanning: add a folder (menu, button or dropped on the window), scan, pause, stop, the scan
bar, people grouped now and then while a long scan runs, and the unreadable-files dialog.

Threading contract: the scan runs on the window's ``engine`` thread; progress arrives on the
GUI thread as ``ScanProgress`` (the latest state only). Interim grouping runs on the
``editor`` thread, one at a time.

What a scan places into people, while it runs and at its end, is one history entry ("Scan: 12
faces joined 3 people, ..."): every grouping of one scan carries the scan's ``run_id``, and the
services extend that entry while it is the newest; an edit of the user's in between starts a
second entry after it, so undo never reaches past the user's edit. One entry per interim
grouping (every 15 s) would bury the user's own edits in the history.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QMimeData, QObject, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from faceorganizer.services.types import ClusterChanges, ScanProgress, ScanSummary
from faceorganizer.ui.mainwindow.shell import Refreshes, Selects, Shell, Watches
from faceorganizer.ui.scan_panel import ErrorsDialog, describe_summary

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from faceorganizer.services.library import Library
    from faceorganizer.ui.engine_worker import WorkerHandle
    from faceorganizer.ui.mainwindow.pages import PeoplePage
    from faceorganizer.ui.scan_panel import ScanPanel

INTERIM_CLUSTER_S = 15.0  # at most this often, people are grouped during a scan
INTERIM_MIN_FACES = 10  # ... and only when this many faces are new
HIDE_PANEL_MS = 6000  # a scan bar without errors goes away after this long


def dropped_folders(mime: QMimeData) -> list[str]:
    """The local folders in a drag (files and remote URLs are not ours to take)."""
    urls = mime.urls() if mime.hasUrls() else []
    return [u.toLocalFile() for u in urls if u.isLocalFile() and os.path.isdir(u.toLocalFile())]


class ScansWindow(Shell, Protocol):
    """What the scanning controller uses of the main window."""

    engine: WorkerHandle | None
    people_page: PeoplePage
    scan_panel: ScanPanel

    @property
    def refresher(self) -> Refreshes: ...
    @property
    def scan_done(self) -> SignalInstance: ...
    @property
    def selection(self) -> Selects: ...
    @property
    def watching(self) -> Watches: ...


class Scans(QObject):
    """Starts and follows scans; ``scanning`` is true from start to summary."""

    def __init__(self, window: ScansWindow) -> None:
        super().__init__(window.window())
        self.window = window
        self.scanning = False
        self.last_summary: ScanSummary | None = None
        self.scan_errors: list[tuple[str, str]] = []
        self._faces_at_interim = 0
        self._last_interim = 0.0
        self._interim_running = False
        self.run_id: str | None = None
        self.quit_box: QMessageBox | None = None  # "quit during a scan?" while it is open
        panel = window.scan_panel
        panel.cancel_requested.connect(self.cancel_scan)
        panel.pause_toggled.connect(self._on_pause)
        panel.errors_requested.connect(self.show_errors)
        window.people_page.empty_button.clicked.connect(self.choose_folder)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window.window(), "Add a folder of photos")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        """Add a folder to the library and scan it."""
        self.start_scan([folder])

    def start_scan(self, folders: list[str] | None = None) -> bool:
        """Scan ``folders`` (added to the library), else the library's folders; False when a
        scan runs, there is no library, or there is no folder yet (then ask for one)."""
        w = self.window
        if w.engine is None or self.scanning:
            return False
        if folders is None and w.reader is not None and not w.reader.folders():
            self.choose_folder()
            return False
        self.scanning = True
        self.run_id = uuid.uuid4().hex
        self.scan_errors = []
        self._faces_at_interim = 0
        self._last_interim = time.monotonic()
        w.scan_panel.started()
        w.refresher.update_empty()
        w.selection.update_actions()
        w.engine.scan(
            folders, on_done=self._on_scan_done, on_error=self._on_scan_failed, run_id=self.run_id
        )
        return True

    def cancel_scan(self) -> None:
        w = self.window
        if self.scanning and w.engine is not None:
            w.engine.cancel()
            w.scan_panel.label.set_full_text("Stopping after the photos in progress…")
            w.scan_panel.cancel_button.setEnabled(False)

    def _on_pause(self, paused: bool) -> None:
        if self.window.engine is not None:
            self.window.engine.set_paused(paused)

    def on_progress(self, progress: ScanProgress) -> None:
        self.window.scan_panel.update_progress(progress)
        if progress.phase in ("scanning", "clustering", "done"):
            self.window.refresher.schedule()
        if progress.phase == "scanning":
            self._maybe_interim_cluster(progress)

    def _maybe_interim_cluster(self, progress: ScanProgress) -> None:
        """People appear and grow while a long scan runs: group the new faces now and then."""
        w = self.window
        if w.editor is None or self._interim_running:
            return
        if time.monotonic() - self._last_interim < INTERIM_CLUSTER_S:
            return
        if progress.faces - self._faces_at_interim < INTERIM_MIN_FACES:
            return
        self._interim_running = True
        self._faces_at_interim = progress.faces

        def finished(_result: object = None) -> None:
            self._interim_running = False
            self._last_interim = time.monotonic()
            w.refresher.schedule()

        run_id = self.run_id

        def job(lib: Library) -> ClusterChanges:
            return lib.cluster(source="Scan", run_id=run_id)

        w.editor.submit("cluster", job, finished, lambda _m: finished())

    def _on_scan_done(self, summary: ScanSummary) -> None:
        w = self.window
        self.scanning = False
        self.last_summary = summary
        self.scan_errors = list(summary.errors)
        text = describe_summary(summary)
        if summary.placed:
            text += f" · {summary.placed}"
        w.scan_panel.finished(text)
        w.scan_panel.set_error_count(len(summary.errors))
        w.statusBar().showMessage(text, 10000)
        w.watching.watch_folders()
        if not summary.errors:
            QTimer.singleShot(HIDE_PANEL_MS, self._hide_scan_panel)
        w.refresher.refresh(lambda: w.scan_done.emit(summary))

    def _hide_scan_panel(self) -> None:
        if not self.scanning:
            self.window.scan_panel.setVisible(False)

    def _on_scan_failed(self, message: str) -> None:
        w = self.window
        self.scanning = False
        w.scan_panel.finished(f"Scan failed: {message}")
        w.show_error(message)
        w.refresher.refresh(lambda: w.scan_done.emit(None))

    def confirm_quit(self) -> bool:
        """Asked before the window closes: True to close. During a scan, ask first (the scan
        stops after the photos in flight and the next one resumes)."""
        if not self.scanning:
            return True
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Quit FaceOrganizer?",
            "A scan is running. Quit now? The next scan resumes where this one stopped.",
            QMessageBox.StandardButton.Cancel,
            self.window.window(),
        )
        quit_button = box.addButton("Stop the scan and quit", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.quit_box = box
        box.exec()
        self.quit_box = None
        return box.clickedButton() is quit_button

    def show_errors(self) -> None:
        """The files the last scan (else any scan) could not read, and why."""
        w = self.window
        errors = list(self.scan_errors)
        if not errors and w.reader is not None:
            errors = [(p.path, p.error or "") for p in w.reader.photo_errors()]
        ErrorsDialog(errors, w.window()).open()
