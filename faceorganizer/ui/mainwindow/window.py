"""The main window's shell: it builds the pages, the similar-faces dock, the menus and bars
(from the action table), owns the library and its worker threads, wires the feature
controllers, shows messages and closes cleanly.

Each feature lives in its own controller module, reached from the window as
``window.navigation``, ``.refresher``, ``.selection``, ``.search``, ``.edits``, ``.review``,
``.scans``, ``.watching``, ``.settings`` and ``.sharing``.

Threading contract: the window reads through its own read-only ``Library`` on the GUI thread
(cheap paged queries). Everything that writes or computes goes to a worker thread: ``engine``
(scans, re-clustering), ``editor`` (edits, undo/redo, search, interim grouping during a scan),
``lister`` (the reads of a refresh) and ``reviewer`` (the review queue), each with its own
``Library``. Results come back as
signals; the views refresh.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QThreadPool, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from faceorganizer.ui.elided_label import ElidedLabel
from faceorganizer.ui.engine_worker import WorkerHandle, user_message
from faceorganizer.ui.faces_model import FacesModel
from faceorganizer.ui.machine_settings import MachineSettings
from faceorganizer.ui.mainwindow.actions import (
    ACTIONS,
    MENUS,
    ActionSpec,
    connect_actions,
    make_actions,
    populate,
)
from faceorganizer.ui.mainwindow.edits import Edits
from faceorganizer.ui.mainwindow.help import Help
from faceorganizer.ui.mainwindow.navigation import Navigation
from faceorganizer.ui.mainwindow.pages import (
    PEOPLE_PAGE,
    PERSON_PAGE,
    PHOTO_PAGE,
    REVIEW_PAGE,
    PeoplePage,
    PersonPage,
)
from faceorganizer.ui.mainwindow.refresh import Refresher
from faceorganizer.ui.mainwindow.review import Review
from faceorganizer.ui.mainwindow.scanning import Scans, dropped_folders
from faceorganizer.ui.mainwindow.search import Search
from faceorganizer.ui.mainwindow.selection import Selection
from faceorganizer.ui.mainwindow.settings import Settings
from faceorganizer.ui.mainwindow.sharing import Sharing
from faceorganizer.ui.mainwindow.similar_dock import DockFitter
from faceorganizer.ui.mainwindow.watching import Watching
from faceorganizer.ui.people_model import PeopleModel
from faceorganizer.ui.photo_view import PhotoView
from faceorganizer.ui.review_page import ReviewPage
from faceorganizer.ui.scan_panel import ScanPanel
from faceorganizer.ui.similar_panel import SimilarPanel
from faceorganizer.ui.thumbnails import ThumbnailCache

if TYPE_CHECKING:
    from faceorganizer.services.library import Library

STACK_MIN_WIDTH = 480
log = logging.getLogger(__name__)


def _warm_up(_lib: Library) -> None:
    """Import the engine's modules on the engine thread as soon as the window opens: a first
    import holds Python's GIL for long stretches, better spent before the user starts a scan."""
    import importlib

    importlib.import_module("faceorganizer.core.pipeline")


class MainWindow(QMainWindow):
    """One library in one window. ``library_path=None`` is the default library."""

    edits_applied = Signal(object)  # EditInfo (or list of them) after an edit lands
    search_finished = Signal(int)  # number of hits
    scan_done = Signal(object)  # ScanSummary
    error_shown = Signal(str)
    refreshed = Signal()
    engine_warmed = Signal()

    def __init__(
        self,
        library_path: str | os.PathLike[str] | None = None,
        device: str = "auto",
        qsettings: QSettings | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("")  # Qt appends the application's display name
        self.setObjectName("FaceOrganizerMain")
        self.setAcceptDrops(True)
        self.qsettings = qsettings or QSettings("FaceOrganizer", "FaceOrganizer")
        self.machine = MachineSettings(self.qsettings)
        # ``device`` from the command line wins for this session; else this computer's setting.
        self.device = device if device != "auto" else str(self.machine.get("device"))
        self.reader: Library | None = None
        self.engine: WorkerHandle | None = None
        self.engine_ready = False
        self.editor: WorkerHandle | None = None
        self.lister: WorkerHandle | None = None
        self.reviewer: WorkerHandle | None = None
        self.last_error = ""
        self._closing = False
        self.ask_before_quit = True  # False: close without asking, even during a scan

        self.thumbs = ThumbnailCache(self._thumbnail_bytes, parent=self)
        self.people_model = PeopleModel(self.thumbs, self)
        self.faces_model = FacesModel(self.thumbs, self)
        self._build_pages()
        self._build_similar_dock()
        self.counts_label = ElidedLabel()
        self.counts_label.setMinimumWidth(160)
        # A normal widget, not a permanent one: Qt hides it while a message shows, so the
        # message gets the bar (stretched permanently, the counts left it no room).
        self.statusBar().addWidget(self.counts_label, 1)
        self._actions = make_actions(ACTIONS, self)

        self.navigation = Navigation(self)
        self.refresher = Refresher(self)
        self.search = Search(self)
        self.edits = Edits(self)
        self.review = Review(self)
        self.scans = Scans(self)
        self.watching = Watching(self)
        self.settings = Settings(self)
        self.sharing = Sharing(self)
        self.help = Help(self)
        self.selection = Selection(self)
        connect_actions(ACTIONS, self._actions, self)
        populate(self._build_menus_and_toolbar(), ACTIONS, self._actions)
        self.selection.update_actions()

        self._restore_layout()
        path = library_path or self.machine.get("library")
        self.open_library(str(path) if path else None)

    # building

    def _build_pages(self) -> None:
        self.people_page = PeoplePage(self.people_model)
        self.people_view = self.people_page.view
        self.show_hidden_box = self.people_page.show_hidden_box
        self.person_page = PersonPage(self.faces_model)
        self.faces_view = self.person_page.view
        self.person_title = self.person_page.title
        self.photo_view = PhotoView()
        self.review_page = ReviewPage()
        self.stack = QStackedWidget()
        # What a page shows never widens the window (a page narrower than its content clips or
        # reflows it); the window keeps a floor of its own.
        self.stack.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.stack.setMinimumWidth(STACK_MIN_WIDTH)
        pages = (
            (PEOPLE_PAGE, self.people_page),
            (PERSON_PAGE, self.person_page),
            (PHOTO_PAGE, self.photo_view),
            (REVIEW_PAGE, self.review_page),
        )
        for index, page in pages:
            added = self.stack.addWidget(page)
            assert added == index, f"page {index} added at {added}"

        self.scan_panel = ScanPanel()
        self.scan_panel.setVisible(False)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.scan_panel)
        self.setCentralWidget(central)

    def _build_similar_dock(self) -> None:
        self.similar = SimilarPanel(self.thumbs)
        self.similar_dock = QDockWidget("Similar faces", self)
        self.similar_dock.setObjectName("similarDock")
        self.similar_dock.setWidget(self.similar)
        self.similar_dock.setMinimumWidth(300)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.similar_dock)
        self.similar_dock.hide()
        self.dock_fitter = DockFitter(self, self.similar_dock, self.stack)

    def _build_menus_and_toolbar(self) -> dict[str, QWidget]:
        """The containers the action table names (see ``actions.py``)."""
        containers: dict[str, QWidget] = {}
        for name, title in MENUS:
            containers[name] = self.menuBar().addMenu(title)
        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        self.toolbar = toolbar
        containers.update(
            toolbar=toolbar,
            person_bar=self.person_page.person_bar,
            people_menu=self.people_view,
            faces_menu=self.faces_view,
        )
        return containers

    def action(self, action_id: str) -> QAction:
        """The action of that id in the action table (``actions.py``)."""
        return self._actions[action_id]

    def action_specs(self) -> Iterator[tuple[ActionSpec, QAction]]:
        for spec in ACTIONS:
            yield spec, self._actions[spec.id]

    # the library and its threads

    def open_library(self, path: str | None) -> bool:
        """Open (create) the library and start its worker threads; False with a message (the
        library open before stays open)."""
        from faceorganizer.services.library import Library

        try:
            reader = Library.open(path, read_only=True)
        except Exception as exc:
            self.show_error(f"Cannot open the library: {user_message(exc)}")
            self.selection.update_actions()
            return False
        if self.reader is not None:  # the old library's readers first (see _stop_workers)
            self.people_model.set_library(None, load=False)
            self.faces_model.set_library(None)
            self.faces_model.clear()  # its person is the old library's, no one's in the new
            self.reader.close()
        self._stop_workers()
        self.reader = reader
        lib_path = str(reader.path)
        self.machine.set("library", lib_path)
        self.engine = WorkerHandle(
            lib_path, "faceorganizer-engine", parent=self, device=self.device
        )
        self.editor = WorkerHandle(
            lib_path, "faceorganizer-editor", parent=self, device=self.device
        )
        self.lister = WorkerHandle(
            lib_path, "faceorganizer-lister", read_only=True, parent=self, device=self.device
        )
        self.reviewer = WorkerHandle(
            lib_path, "faceorganizer-reviewer", read_only=True, parent=self, device=self.device
        )
        self.refresher.reset()
        self.review.reset()
        self.engine.progress.connect(self.scans.on_progress)
        self.engine_ready = False
        self.engine.submit("warm-up", _warm_up, self._on_warmed_up, lambda _m: None)
        self.thumbs.clear()
        self.people_model.set_library(reader, load=False)
        self.faces_model.set_library(reader)
        self.similar.clear()
        self.similar.set_same_person_at(float(reader.settings()["threshold_percent"]))
        self.navigation.clear_history()
        self.stack.setCurrentIndex(PEOPLE_PAGE)
        self.setWindowTitle(Path(lib_path).stem)  # shown as "<library> — FaceOrganizer"
        self.watching.watch_folders()
        self.refresher.refresh()
        return True

    def _on_warmed_up(self, _result: object) -> None:
        self.engine_ready = True
        self.engine_warmed.emit()

    def library_path(self) -> str | None:
        return str(self.reader.path) if self.reader is not None else None

    def _thumbnail_bytes(self, face_id: int) -> bytes | None:
        return self.reader.face_thumbnail(face_id) if self.reader is not None else None

    def set_device(self, device: str) -> None:
        """Compute on ``device`` from now on: scans, searches, search by photo, grouping."""
        self.device = device
        for handle in (self.engine, self.editor, self.lister, self.reviewer):
            if handle is not None:
                handle.set_device(device)

    def _stop_workers(self) -> bool:
        """End the worker threads, each closing its Library. The readers and the engine (whose
        scan stops after the photos in flight) end together; the editor ends alone, after them,
        so that its connection is the last one and folds the WAL back into the library file. Two
        writers closing at the same instant each see the other still open and both leave the WAL
        behind, which the next start takes for a crash."""
        ok = True
        for group in ((self.lister, self.reviewer, self.engine), (self.editor,)):
            handles = [h for h in group if h is not None]
            for handle in handles:
                handle.request_stop()
            for handle in handles:
                ok = handle.wait_stopped() and ok
                handle.deleteLater()
        self.engine = self.editor = self.lister = self.reviewer = None
        return ok

    # folders dropped on the window

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_folders(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        folders = dropped_folders(event.mimeData())
        if folders:
            event.acceptProposedAction()
            self.scans.start_scan(folders)
        else:
            super().dropEvent(event)

    # messages, layout, closing

    def show_error(self, message: str) -> None:
        """A message a user can act on, in a box that does not block the window."""
        self.last_error = message
        self.statusBar().showMessage(message, 15000)
        self.error_shown.emit(message)
        if self._closing:
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning, "FaceOrganizer", message, QMessageBox.StandardButton.Ok, self
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _restore_layout(self) -> None:
        """Size and docks as the user left them; never larger than the screen."""
        geometry = self.qsettings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 820)
        state = self.qsettings.value("windowState")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        screen = self.screen().availableGeometry()
        if self.width() > screen.width() or self.height() > screen.height():
            self.resize(min(self.width(), screen.width()), min(self.height(), screen.height()))

    def save_layout(self) -> None:
        self.qsettings.setValue("geometry", self.saveGeometry())
        self.qsettings.setValue("windowState", self.saveState())
        self.qsettings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask first during a scan; then hide, stop the scan after the photos in flight, close
        the library and end the threads (see ``_stop_workers``)."""
        if not self._closing and self.ask_before_quit and not self.scans.confirm_quit():
            event.ignore()
            return
        self._closing = True
        started = time.monotonic()
        self.save_layout()
        self.hide()  # at once: what is left (a scan stopping, a job ending) needs no window
        QApplication.processEvents()
        self.refresher.stop()
        self.review.timer.stop()
        self.watching.stop()
        self.people_model.set_library(None, load=False)
        self.faces_model.set_library(None)
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        self._stop_workers()
        self.scans.scanning = False
        QThreadPool.globalInstance().waitForDone(5000)  # decodes in flight report to this window
        self.selection.close()
        log.info("window closed; its threads ended in %.1f s", time.monotonic() - started)
        super().closeEvent(event)
