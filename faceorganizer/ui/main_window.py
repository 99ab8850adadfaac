"""The main window: people grid → a person's faces → a photo, the similar-faces panel, the scan bar.

Threading contract: the window reads through its own read-only ``Library`` on the GUI thread
(cheap paged queries). Everything that writes or computes goes to a worker thread: ``engine``
(scans, re-clustering) and ``editor`` (edits, undo/redo, search, interim grouping during a
scan), each with its own writer ``Library``. Results come back as signals; the views refresh.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QFileSystemWatcher, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from faceorganizer.services.types import EditInfo, ScanProgress, ScanSummary, SearchHit
from faceorganizer.ui.engine_worker import WorkerHandle, user_message
from faceorganizer.ui.faces_model import FacesModel
from faceorganizer.ui.faces_view import FacesView
from faceorganizer.ui.people_model import UNNAMED, PeopleModel, display_name
from faceorganizer.ui.people_view import PeopleView
from faceorganizer.ui.person_chooser import NEW_PERSON, PersonChooser, people_names
from faceorganizer.ui.photo_view import PhotoView
from faceorganizer.ui.scan_panel import ErrorsDialog, ScanPanel, describe_summary
from faceorganizer.ui.settings_dialog import SettingsDialog
from faceorganizer.ui.similar_panel import SimilarPanel
from faceorganizer.ui.thumbnails import ThumbnailCache

PEOPLE_PAGE, PERSON_PAGE, PHOTO_PAGE = 0, 1, 2
# The panel keeps the nearest faces whatever their percentage: calibrated percentages are steep
# (near 0 or 100), and lowering the slider must still reveal the near misses.
SEARCH_LIMIT = 3000
SEARCH_FLOOR = 0.0
REFRESH_MS = 1200
INTERIM_CLUSTER_S = 15.0
WATCH_DEBOUNCE_MS = 4000
MAX_WATCHED_DIRS = 2000


def _warm_up(_lib: Any) -> None:
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
        self.setWindowTitle("FaceOrganizer")
        self.setObjectName("FaceOrganizerMain")
        self.setAcceptDrops(True)
        self.qsettings = qsettings or QSettings("FaceOrganizer", "FaceOrganizer")
        self.device = device if device != "auto" else str(self.qsettings.value("device", "auto"))
        self.reader: Any = None
        self.engine: WorkerHandle | None = None
        self.engine_ready = False
        self.editor: WorkerHandle | None = None
        self.lister: WorkerHandle | None = None
        self._refresh_running = False
        self._refresh_again = False
        self._refresh_soft = True
        self._after_refresh: list[Callable[[], None]] = []
        self._counts: dict[str, int] = {}
        self.last_error = ""
        self.last_summary: ScanSummary | None = None
        self.scan_errors: list[tuple[str, str]] = []
        self.scanning = False
        self._search_token = 0
        self._history: list[tuple[int, Any]] = []
        self._current_person: int | None = None
        self._current_photo_face: int | None = None
        self._scan_faces_at_cluster = 0
        self._last_interim = 0.0
        self._interim_running = False
        self._closing = False

        self.thumbs = ThumbnailCache(self._thumbnail_bytes, parent=self)
        self.people_model = PeopleModel(self.thumbs, self)
        self.faces_model = FacesModel(self.thumbs, self)
        self._build_pages()
        self._build_similar_dock()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status()
        self._wire()

        self.refresh_timer = QTimer(self)
        self.refresh_timer.setSingleShot(True)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(lambda: self.refresh(soft=True))
        self.watcher = QFileSystemWatcher(self)
        self.watch_timer = QTimer(self)
        self.watch_timer.setSingleShot(True)
        self.watch_timer.setInterval(WATCH_DEBOUNCE_MS)
        self.watch_timer.timeout.connect(self._on_folders_changed)
        self.watcher.directoryChanged.connect(lambda _p: self.watch_timer.start())

        self._restore_layout()
        path = library_path or self.qsettings.value("library") or None
        self.open_library(str(path) if path else None)

    # building

    def _build_pages(self) -> None:
        self.stack = QStackedWidget()

        people_page = QWidget()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter people by name")
        self.filter_edit.setClearButtonEnabled(True)
        self.show_hidden_box = QCheckBox("Show hidden")
        self.unassigned_button = QPushButton("Faces without a person")
        self.unassigned_button.setToolTip("Faces not grouped into anyone yet")
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.show_hidden_box)
        top.addWidget(self.unassigned_button)
        self.people_view = PeopleView()
        self.people_view.setModel(self.people_model)
        self.empty_label = QLabel(
            "<h2>No photos yet</h2><p>Add a folder of photos to find the people in them,"
            " or drag a folder onto this window.</p>"
        )
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_button = QPushButton("Add a folder of photos…")
        empty_row = QHBoxLayout()
        empty_row.addStretch(1)
        empty_row.addWidget(self.empty_button)
        empty_row.addStretch(1)
        self.empty_box = QWidget()
        empty_layout = QVBoxLayout(self.empty_box)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.empty_label)
        empty_layout.addLayout(empty_row)
        empty_layout.addStretch(2)
        layout = QVBoxLayout(people_page)
        layout.addLayout(top)
        layout.addWidget(self.people_view, 1)
        layout.addWidget(self.empty_box, 1)

        person_page = QWidget()
        self.person_title = QLabel()
        self.person_title.setObjectName("personTitle")
        self.person_title.setTextFormat(Qt.TextFormat.RichText)
        self.person_bar = QToolBar("Person")
        self.person_bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        head = QVBoxLayout()
        head.addWidget(self.person_title)
        head.addWidget(self.person_bar)
        self.faces_view = FacesView()
        self.faces_view.setModel(self.faces_model)
        self.faces_view.setAccessibleName("Faces")
        self.faces_hint = QLabel(
            "Click a face to see similar faces · double-click to open its photo · "
            "select several with Ctrl or Shift · green dot: confirmed by you"
        )
        self.faces_hint.setObjectName("hint")
        self.faces_hint.setWordWrap(True)
        layout = QVBoxLayout(person_page)
        layout.addLayout(head)
        layout.addWidget(self.faces_view, 1)
        layout.addWidget(self.faces_hint)

        self.photo_view = PhotoView()

        self.stack.addWidget(people_page)
        self.stack.addWidget(person_page)
        self.stack.addWidget(self.photo_view)

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

    def _action(
        self,
        text: str,
        slot: Callable[[], Any],
        shortcut: QKeySequence | str | QKeySequence.StandardKey | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.add_folder_action = a(
            "&Add folder…", self.choose_folder, "Ctrl+O", "Add a folder of photos and scan it"
        )
        self.open_library_action = a("&Open library…", self.choose_library, "Ctrl+Shift+O")
        self.scan_action = a(
            "&Scan for new photos",
            self.start_scan,
            "F5",
            "Find new and changed photos in your folders",
        )
        self.cancel_scan_action = a("S&top scan", self.cancel_scan, "Esc")
        self.cancel_scan_action.setEnabled(False)
        self.search_photo_action = a(
            "Search with a &photo…",
            self.choose_search_photo,
            "Ctrl+Shift+F",
            "Find faces like one in a photo",
        )
        self.errors_action = a("&Unreadable files…", self.show_errors)
        self.settings_action = a(
            "Se&ttings…", self.show_settings, QKeySequence.StandardKey.Preferences
        )
        self.quit_action = a("&Quit", self.close, QKeySequence.StandardKey.Quit)

        self.undo_action = a("&Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = a("&Redo", self.redo, "Ctrl+Shift+Z")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.rename_action = a("Re&name…", self.rename_current, "F2", "Give this person a name")
        self.merge_action = a(
            "&Merge", self.merge_selected, "Ctrl+M", "Make the selected people one person"
        )
        self.move_action = a(
            "Mo&ve to…",
            self.move_selected,
            "Ctrl+Shift+M",
            "Move the selected faces to another person",
        )
        self.new_person_action = a(
            "New &person",
            self.new_person_from_selected,
            "Ctrl+N",
            "Make a new person of the selected faces",
        )
        self.reject_action = a(
            "&Not this person",
            self.reject_selected,
            "Delete",
            "Take the selected faces out of this person",
        )
        self.confirm_action = a(
            "&Confirm",
            self.confirm_selected,
            "Ctrl+Return",
            "Mark the selected faces as right (grouping never moves them)",
        )
        self.hide_action = a(
            "&Hide", self.hide_selected, "Ctrl+H", "Hide the selected people or faces"
        )
        self.unhide_action = a("Un&hide", self.unhide_selected, "Ctrl+Shift+H")
        self.cover_action = a(
            "Use as &cover", self.cover_selected, None, "Show this face on the person's card"
        )
        self.regroup_action = a(
            "Re&group people",
            self.regroup,
            None,
            "Group new faces again; your corrections are kept",
        )

        self.back_action = a("&Back", self.go_back, QKeySequence.StandardKey.Back)
        self.back_action.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.Back), QKeySequence("Backspace")]
        )
        self.people_action = a("&People", self.show_people, "Ctrl+1")
        self.unassigned_action = a("Faces &without a person", self.show_unassigned, "Ctrl+U")
        self.similar_action = self.similar_dock.toggleViewAction()
        self.similar_action.setText("&Similar faces panel")
        self.similar_action.setShortcut(QKeySequence("Ctrl+F"))
        self.watch_action = QAction("&Watch folders for new photos", self)
        self.watch_action.setCheckable(True)
        self.watch_action.setChecked(self.qsettings.value("watch", True, type=bool))
        self.watch_action.toggled.connect(self._on_watch_toggled)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        for act in (
            self.add_folder_action,
            self.scan_action,
            self.cancel_scan_action,
            self.watch_action,
            self.errors_action,
        ):
            m.addAction(act)
        m.addSeparator()
        m.addAction(self.search_photo_action)
        m.addSeparator()
        m.addAction(self.open_library_action)
        m.addAction(self.settings_action)
        m.addSeparator()
        m.addAction(self.quit_action)
        m = bar.addMenu("&Edit")
        m.addAction(self.undo_action)
        m.addAction(self.redo_action)
        m.addSeparator()
        for act in (
            self.rename_action,
            self.merge_action,
            self.move_action,
            self.new_person_action,
            self.reject_action,
            self.confirm_action,
            self.cover_action,
            self.hide_action,
            self.unhide_action,
        ):
            m.addAction(act)
        m.addSeparator()
        m.addAction(self.regroup_action)
        m = bar.addMenu("&View")
        for act in (
            self.back_action,
            self.people_action,
            self.unassigned_action,
            self.similar_action,
        ):
            m.addAction(act)

        tb = QToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        tb.setMovable(False)
        for act in (self.back_action, self.add_folder_action, self.scan_action):
            tb.addAction(act)
        tb.addSeparator()
        tb.addAction(self.undo_action)
        tb.addAction(self.redo_action)
        tb.addSeparator()
        for act in (self.search_photo_action, self.similar_action):
            tb.addAction(act)
        self.addToolBar(tb)
        self.toolbar = tb

        for act in (
            self.rename_action,
            self.move_action,
            self.new_person_action,
            self.reject_action,
            self.confirm_action,
            self.cover_action,
            self.hide_action,
        ):
            self.person_bar.addAction(act)
        self.people_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for act in (self.rename_action, self.merge_action, self.hide_action, self.unhide_action):
            self.people_view.addAction(act)
        self.faces_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for act in (
            self.move_action,
            self.new_person_action,
            self.reject_action,
            self.confirm_action,
            self.cover_action,
            self.hide_action,
            self.unhide_action,
        ):
            self.faces_view.addAction(act)

    def _build_status(self) -> None:
        self.counts_label = QLabel()
        self.statusBar().addPermanentWidget(self.counts_label)

    def _wire(self) -> None:
        self.filter_edit.textChanged.connect(self._on_filter)
        self.show_hidden_box.toggled.connect(self._on_show_hidden)
        self.unassigned_button.clicked.connect(self.show_unassigned)
        self.empty_button.clicked.connect(self.choose_folder)
        self.people_view.person_activated.connect(self.open_person)
        self.people_view.selectionModel().selectionChanged.connect(self._update_actions)
        self.people_model.rename_requested.connect(self.rename_person)
        self.people_model.merge_requested.connect(self.merge_people)
        self.people_model.faces_dropped.connect(self.move_faces)
        self.people_model.modelReset.connect(self._update_empty)
        self.people_model.rowsInserted.connect(self._update_empty)
        self.faces_view.face_clicked.connect(self.show_similar)
        self.faces_view.face_opened.connect(self.open_photo)
        self.faces_view.selectionModel().selectionChanged.connect(self._update_actions)
        self.faces_model.modelReset.connect(self._update_actions)
        self.similar.view.face_clicked.connect(self.show_similar)
        self.similar.face_opened.connect(self.open_photo)
        self.similar.assign_requested.connect(self.assign_faces)
        self.similar.refetch_requested.connect(lambda floor: self._search_again(floor))
        self.photo_view.face_clicked.connect(self.show_similar)
        self.photo_view.person_opened.connect(self.open_person)
        self.photo_view.name_requested.connect(self.name_face)
        self.scan_panel.cancel_requested.connect(self.cancel_scan)
        self.scan_panel.pause_toggled.connect(self._on_pause)
        self.scan_panel.errors_requested.connect(self.show_errors)
        self.stack.currentChanged.connect(self._update_actions)
        QApplication.instance().focusChanged.connect(self._on_focus)  # type: ignore[union-attr]

    # library

    def open_library(self, path: str | None) -> bool:
        """Open (create) the library and start its worker threads; False with a message."""
        from faceorganizer.services.library import Library

        self._stop_workers()
        try:
            reader = Library.open(path, read_only=True)
        except Exception as exc:
            self.show_error(f"Cannot open the library: {user_message(exc)}")
            self._update_actions()
            return False
        if self.reader is not None:
            self.reader.close()
        self.reader = reader
        lib_path = str(reader.path)
        self.qsettings.setValue("library", lib_path)
        self.engine = WorkerHandle(lib_path, "faceorganizer-engine", parent=self)
        self.editor = WorkerHandle(lib_path, "faceorganizer-editor", parent=self)
        self.lister = WorkerHandle(lib_path, "faceorganizer-lister", read_only=True, parent=self)
        self._refresh_running = self._refresh_again = False
        self.engine.progress.connect(self._on_progress)
        self.engine_ready = False
        self.engine.submit("warm-up", _warm_up, self._on_warmed_up, lambda _m: None)
        self.thumbs.clear()
        self.people_model.set_library(reader, load=False)
        self.faces_model.set_library(reader)
        self.similar.clear()
        self._history.clear()
        self.stack.setCurrentIndex(PEOPLE_PAGE)
        self.setWindowTitle(f"FaceOrganizer — {Path(lib_path).stem}")
        self._watch_folders()
        self.refresh()
        return True

    def _on_warmed_up(self, _result: Any) -> None:
        self.engine_ready = True
        self.engine_warmed.emit()

    def library_path(self) -> str | None:
        return str(self.reader.path) if self.reader is not None else None

    def _thumbnail_bytes(self, face_id: int) -> bytes | None:
        return self.reader.face_thumbnail(face_id) if self.reader is not None else None

    # refreshing

    def refresh(self, then: Callable[[], None] | None = None, soft: bool = False) -> None:
        """Re-read the people, counts and undo state on the reader thread (a people list over
        a big library takes a while), then update the views; ``then`` runs after that."""
        if then is not None:
            self._after_refresh.append(then)
        if not soft:
            self._refresh_soft = False
        if self.reader is None or self.lister is None:
            self._run_after_refresh()
            return
        if self._refresh_running:
            self._refresh_again = True
            return
        self._refresh_running = True
        self._refresh_again = False
        name_filter = self.people_model.name_filter
        include_hidden = self.people_model.include_hidden

        def people_job(lib: Any) -> list[Any]:
            return lib.people(include_hidden=include_hidden, name_filter=name_filter)

        def rest_job(lib: Any) -> tuple[Any, ...]:
            return lib.counts(), lib.next_undo(), lib.next_redo()

        self.lister.submit("people", people_job, self._apply_people, self._refresh_failed)
        self.lister.submit("counts", rest_job, self._apply_refresh, self._refresh_failed)

    def _apply_people(self, people: list[Any]) -> None:
        """The grid first (the user waits for it); counts and undo state follow."""
        if self._refresh_again:
            return
        try:
            self._set_people(people)
        except Exception as exc:
            self.show_error(user_message(exc))
        self._update_empty()

    def _apply_refresh(self, result: tuple[Any, ...]) -> None:
        if not self._refresh_running:
            return
        self._refresh_running = False
        if self._refresh_again:
            self.refresh()
            return
        counts, undo, redo = result
        try:
            if self.stack.currentIndex() == PERSON_PAGE:
                self._refresh_person_page(soft=self._refresh_soft)
            elif self.stack.currentIndex() == PHOTO_PAGE and self._current_photo_face:
                self._refresh_photo()
        except Exception as exc:
            self.show_error(user_message(exc))
        self._refresh_soft = True
        self._update_counts(counts)
        self._update_undo(undo, redo)
        self._update_empty()
        self._update_actions()
        self._run_after_refresh()
        self.refreshed.emit()

    def _refresh_failed(self, message: str) -> None:
        if not self._refresh_running:
            return
        self._refresh_running = False
        self.show_error(message)
        self._run_after_refresh()

    def _run_after_refresh(self) -> None:
        pending, self._after_refresh = self._after_refresh, []
        for fn in pending:
            fn()

    def _set_people(self, people: list[Any]) -> None:
        """New rows for the grid, keeping the selection and current card by person id."""
        view = self.people_view
        selected = set(view.selected_person_ids())
        current = view.current_person_id()
        if not self.people_model.set_people(people):
            return
        sel = view.selectionModel()
        for pid in selected:
            row = self.people_model.row_of(pid)
            if row >= 0:
                sel.select(self.people_model.index(row), sel.SelectionFlag.Select)
        if current is not None and self.people_model.row_of(current) >= 0:
            sel.setCurrentIndex(
                self.people_model.index(self.people_model.row_of(current)),
                sel.SelectionFlag.NoUpdate,
            )

    def schedule_refresh(self) -> None:
        if not self.refresh_timer.isActive():
            self.refresh_timer.start()

    def _update_counts(self, c: dict[str, int]) -> None:
        people = c.get("people", 0)
        text = (
            f"{c.get('photos', 0):,} photos · {c.get('faces', 0):,} faces · "
            f"{people:,} people ({c.get('named', 0):,} named) · "
            f"{c.get('unassigned', 0):,} without a person"
        )
        if c.get("photo_errors"):
            text += f" · {c['photo_errors']} unreadable"
        self.counts_label.setText(text)
        self.unassigned_button.setText(f"Faces without a person ({c.get('unassigned', 0):,})")
        self._counts = c

    def _update_undo(self, undo: EditInfo | None, redo: EditInfo | None) -> None:
        self.undo_action.setText(f"&Undo {undo.description}" if undo else "&Undo")
        self.undo_action.setToolTip(f"Undo: {undo.description}" if undo else "Nothing to undo")
        self.undo_action.setEnabled(undo is not None)
        self.redo_action.setText(f"&Redo {redo.description}" if redo else "&Redo")
        self.redo_action.setToolTip(f"Redo: {redo.description}" if redo else "Nothing to redo")
        self.redo_action.setEnabled(redo is not None)

    def _update_empty(self, *_args: Any) -> None:
        """No people to show: say why and what to do, instead of an empty grid."""
        empty = self.people_model.total() == 0 and not self.people_model.name_filter
        faces = self._counts.get("unassigned", 0)
        if self.scanning:
            text = (
                "<h2>Looking for faces…</h2><p>People appear here as their faces are grouped."
                f"<br>{faces:,} face{'s' * (faces != 1)} found so far are under "
                "“Faces without a person”.</p>"
            )
        elif faces:
            text = (
                f"<h2>No people yet</h2><p>{faces:,} face{'s' * (faces != 1)} found are not "
                "grouped into anyone: see “Faces without a person”, or Edit → Regroup people.</p>"
            )
        else:
            text = (
                "<h2>No photos yet</h2><p>Add a folder of photos to find the people in them,"
                " or drag a folder onto this window.</p>"
            )
        self.empty_label.setText(text)
        self.empty_button.setVisible(not self.scanning and not faces)
        self.empty_box.setVisible(empty)
        self.people_view.setVisible(not empty)

    def _on_focus(self, _old: QWidget | None, _new: QWidget | None) -> None:
        self._update_actions()

    def _face_selection_view(self) -> FacesView | None:
        """The face grid the face actions apply to: the focused one, else the page's."""
        focus = QApplication.focusWidget()
        if focus is self.similar.view and self.similar.view.selected_face_ids():
            return self.similar.view
        if self.stack.currentIndex() == PERSON_PAGE:
            return self.faces_view
        if self.similar.view.selected_face_ids():
            return self.similar.view
        return None

    def selected_faces(self) -> list[int]:
        view = self._face_selection_view()
        return view.selected_face_ids() if view is not None else []

    def _update_actions(self, *_args: Any) -> None:
        page = self.stack.currentIndex()
        people = self.people_view.selected_person_ids() if page == PEOPLE_PAGE else []
        faces = self.selected_faces()
        has_lib = self.reader is not None
        self.rename_action.setEnabled(
            has_lib
            and (len(people) == 1 or (page == PERSON_PAGE and self._current_person is not None))
        )
        self.merge_action.setEnabled(len(people) >= 2)
        for act in (self.move_action, self.new_person_action, self.confirm_action):
            act.setEnabled(bool(faces))
        self.reject_action.setEnabled(bool(faces) and self._faces_person(faces) is not None)
        self.cover_action.setEnabled(
            len(faces) == 1 and page == PERSON_PAGE and self._current_person is not None
        )
        self.hide_action.setEnabled(bool(people) or bool(faces))
        self.unhide_action.setEnabled(bool(people) or bool(faces))
        self.back_action.setEnabled(bool(self._history) or page != PEOPLE_PAGE)
        self.scan_action.setEnabled(has_lib and not self.scanning)
        self.cancel_scan_action.setEnabled(self.scanning)

    def _faces_person(self, faces: list[int]) -> int | None:
        """The person the selected faces are taken from (for "Not this person")."""
        on_person = self.stack.currentIndex() == PERSON_PAGE and self._current_person is not None
        if on_person and self._face_selection_view() is self.faces_view:
            return self._current_person
        if self.reader is None or not faces:
            return None
        try:
            owners = {self.reader.face(f).person_id for f in faces[:50]}
        except Exception:
            return None
        return owners.pop() if len(owners) == 1 and None not in owners else None

    # navigation

    def _push(self) -> None:
        page = self.stack.currentIndex()
        state = {PERSON_PAGE: self._person_state(), PHOTO_PAGE: self._current_photo_face}
        self._history.append((page, state.get(page)))
        del self._history[:-50]

    def _person_state(self) -> Any:
        return ("unassigned",) if self.faces_model.unassigned else self._current_person

    def go_back(self) -> None:
        if not self._history:
            self.show_people(push=False)
            return
        page, state = self._history.pop()
        if page == PERSON_PAGE and state == ("unassigned",):
            self.show_unassigned(push=False)
        elif page == PERSON_PAGE and state is not None:
            self.open_person(int(state), push=False)
        elif page == PHOTO_PAGE and state is not None:
            self.open_photo(int(state), push=False)
        else:
            self.show_people(push=False)

    def show_people(self, push: bool = True) -> None:
        if push and self.stack.currentIndex() != PEOPLE_PAGE:
            self._push()
        self.stack.setCurrentIndex(PEOPLE_PAGE)
        self.people_view.setFocus()
        self.refresh()

    def open_person(self, person_id: int, push: bool = True) -> None:
        if self.reader is None:
            return
        if push:
            self._push()
        self._current_person = int(person_id)
        self.faces_model.show_person(self._current_person, self.show_hidden_box.isChecked())
        self.stack.setCurrentIndex(PERSON_PAGE)
        self._refresh_person_title()
        self.faces_view.setFocus()
        if self.faces_model.rowCount():
            self.faces_view.set_current_quietly(self.faces_model.index(0))
        self._update_actions()

    def show_unassigned(self, push: bool = True) -> None:
        if self.reader is None:
            return
        if push:
            self._push()
        self._current_person = None
        self.faces_model.show_unassigned(self.show_hidden_box.isChecked())
        self.stack.setCurrentIndex(PERSON_PAGE)
        self._refresh_person_title()
        self.faces_view.setFocus()
        self._update_actions()

    def _refresh_person_title(self) -> None:
        n = self.faces_model.rowCount()
        faces = f"{n:,} face{'s' * (n != 1)}"
        if self.faces_model.unassigned:
            self.person_title.setText(f"<h2>Faces without a person</h2>{faces}")
            return
        try:
            person = self.reader.person(self._current_person)
        except Exception:
            self.person_title.setText(f"<h2>Person removed</h2>{faces}")
            return
        name = display_name(person)
        style = "" if person.name else " style='color:gray; font-style:italic'"
        hidden = " · hidden" if person.hidden else ""
        self.person_title.setText(
            f"<h2{style}>{name}</h2>{faces} in {person.photo_count:,} "
            f"photo{'s' * (person.photo_count != 1)}{hidden}"
        )

    def _refresh_person_page(self, soft: bool = False) -> None:
        """After an edit: reload and reselect by face id. ``soft`` (the timer during a scan):
        update in place, keeping the scroll position, when faces were only added."""
        if soft:
            self.faces_model.refresh(reset=False)
            self._refresh_person_title()
            return
        selected = set(self.faces_view.selected_face_ids())
        current = self.faces_view.currentIndex().row()
        self.faces_model.refresh()
        self._refresh_person_title()
        model = self.faces_model
        if selected:
            sel = self.faces_view.selectionModel()
            for row in range(min(model.rowCount(), 2000)):
                face = model.face_at(row)
                if face is not None and face.face_id in selected:
                    sel.select(model.index(row), sel.SelectionFlag.Select)
        if model.rowCount():
            row = min(max(current, 0), model.rowCount() - 1)
            self.faces_view.set_current_quietly(model.index(row))

    def open_photo(self, face_id: int, push: bool = True) -> None:
        if self.reader is None:
            return
        try:
            face = self.reader.face(face_id)
            photo = self.reader.photo(face.photo_id)
            faces = self.reader.photo_faces(face.photo_id)
        except Exception as exc:
            self.show_error(user_message(exc))
            return
        if push and self.stack.currentIndex() != PHOTO_PAGE:
            self._push()
        self._current_photo_face = face_id
        self.photo_view.show_photo(photo, faces, face_id)
        self.stack.setCurrentIndex(PHOTO_PAGE)
        self.photo_view.canvas.setFocus()
        self._update_actions()

    def _refresh_photo(self) -> None:
        photo = self.photo_view.current_photo()
        if photo is not None:
            self.photo_view.refresh_faces(self.reader.photo_faces(photo.photo_id))

    def _on_filter(self, text: str) -> None:
        if self.people_model.set_query(text, self.people_model.include_hidden):
            self.refresh()

    def _on_show_hidden(self, show: bool) -> None:
        if self.people_model.set_query(self.people_model.name_filter, show):
            self.refresh()
        if self.stack.currentIndex() == PERSON_PAGE:
            self.faces_model.include_hidden = show
            self._refresh_person_page()

    # similar faces

    def show_similar(self, face_id: int) -> None:
        """Search for faces like ``face_id`` on the editor thread; the panel shows them."""
        if self.reader is None or self.editor is None:
            return
        try:
            face = self.reader.face(face_id)
        except Exception as exc:
            self.show_error(user_message(exc))
            return
        who = face.person_name or (UNNAMED if face.person_id is not None else "no person yet")
        self.similar.show_query(
            face_id, f"<b>Faces like this one</b><br>{who}", self.thumbs.get(face_id)
        )
        self.similar_dock.show()
        self._search_first_person = face.person_id
        self._search(
            lambda lib, floor: lib.search(face_id=face_id, threshold=floor, limit=SEARCH_LIMIT),
            min(SEARCH_FLOOR, self.similar.threshold()),
        )

    def search_photo(self, path: str) -> None:
        """Search with a face (the largest) in a photo from outside the library."""
        if self.editor is None:
            return
        self.similar.show_query(None, f"<b>Faces like the one in</b><br>{Path(path).name}")
        self.similar_dock.show()
        self._search_first_person = None
        self._search(
            lambda lib, floor: lib.search(image=path, threshold=floor, limit=SEARCH_LIMIT),
            min(SEARCH_FLOOR, self.similar.threshold()),
        )

    def _search(self, run: Callable[[Any, float], list[SearchHit]], floor: float) -> None:
        assert self.editor is not None
        self._search_token += 1
        token = self._search_token
        self._last_search = run
        first = self._search_first_person

        def done(hits: list[SearchHit]) -> None:
            if token == self._search_token:
                self.similar.set_hits(hits, first, floor)
                self.search_finished.emit(len(hits))

        def failed(message: str) -> None:
            if token == self._search_token:
                self.similar.count_label.setText(message)
                self.show_error(message)
                self.search_finished.emit(-1)

        self.editor.submit("search", lambda lib: run(lib, floor), done, failed)

    def _search_again(self, floor: float) -> None:
        run = getattr(self, "_last_search", None)
        if run is not None:
            self._search(run, max(0.0, floor - 10.0))

    def _refresh_similar(self) -> None:
        if self.similar.query_face_id is not None and self.similar_dock.isVisible():
            self._search_again(self.similar.fetched_floor + 10.0)

    # edits: each runs on the editor thread, then the views refresh

    def _edit(self, job: Callable[[Any], Any], then: Callable[[Any], None] | None = None) -> None:
        if self.editor is None:
            return

        def done(result: Any) -> None:
            self._refresh_similar()
            if then is not None:
                then(result)
            info = result[-1] if isinstance(result, list) and result else result
            if isinstance(info, EditInfo):
                self.statusBar().showMessage(info.description, 5000)
            self.refresh(lambda: self.edits_applied.emit(result))

        self.editor.submit("edit", job, done, self.show_error)

    def rename_person(self, person_id: int, name: str) -> None:
        self._edit(lambda lib: lib.name_person(person_id, name))

    def rename_current(self) -> None:
        if self.stack.currentIndex() == PEOPLE_PAGE:
            index = self.people_view.currentIndex()
            if index.isValid():
                self.people_view.edit(index)
            return
        if self._current_person is None:
            return
        person = self.reader.person(self._current_person)
        name, ok = QInputDialog.getText(self, "Rename", "Name:", text=person.name or "")
        if ok and name.strip():
            self.rename_person(self._current_person, name.strip())

    def merge_people(self, target: int, others: list[int]) -> None:
        others = [o for o in others if o != target]
        if others:
            self._edit(lambda lib: lib.merge_people(target, others))

    def merge_selected(self) -> None:
        ids = self.people_view.selected_person_ids()
        if len(ids) < 2:
            return
        people = [p for p in self.people_model.people() if p.person_id in set(ids)]
        named = [p for p in people if p.name]
        if len({p.name for p in named}) > 1:
            names = ", ".join(sorted({str(p.name) for p in named}))
            answer = QMessageBox.question(
                self,
                "Merge people?",
                f"These people have different names ({names}). Merge them into {named[0].name}?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        target = (named or sorted(people, key=lambda p: -p.face_count))[0].person_id
        self.merge_people(target, [i for i in ids if i != target])

    def move_faces(self, face_ids: list[int], to: int | None) -> None:
        if face_ids:
            self._edit(lambda lib: lib.move_faces(face_ids, to))

    def choose_person(self, title: str, exclude: list[int]) -> int | None:
        """Ask which person; ``NEW_PERSON`` for a new one, None when cancelled."""
        model = PeopleModel(self.thumbs, self)
        model.PAGE = 1_000_000
        model.set_library(self.reader)
        chooser = PersonChooser(model, title, exclude, self)
        self.chooser = chooser
        chooser.exec()
        self.chooser = None  # type: ignore[assignment]
        model.deleteLater()
        return chooser.chosen

    def move_selected(self) -> None:
        faces = self.selected_faces()
        if faces:
            self.assign_faces(faces)

    def assign_faces(self, face_ids: list[int]) -> None:
        exclude = [self._current_person] if self._current_person is not None else []
        if self._face_selection_view() is self.similar.view:
            exclude = []
        target = self.choose_person(f"Move {len(face_ids)} face(s) to…", exclude)
        if target is None:
            return
        self.move_faces(face_ids, None if target == NEW_PERSON else target)

    def new_person_from_selected(self) -> None:
        faces = self.selected_faces()
        if faces:
            self.move_faces(faces, None)

    def reject_selected(self) -> None:
        faces = self.selected_faces()
        person = self._faces_person(faces)
        if faces and person is not None:
            self._edit(lambda lib: lib.reject_faces(faces, person))

    def confirm_selected(self) -> None:
        faces = self.selected_faces()
        if faces:
            self._edit(lambda lib: lib.confirm_faces(faces))

    def _hide(self, hidden: bool) -> None:
        if self.stack.currentIndex() == PEOPLE_PAGE:
            ids = self.people_view.selected_person_ids()
            if ids:

                def job(lib: Any) -> list[Any]:
                    return [lib.hide_person(pid, hidden) for pid in ids]

                self._edit(job)
            return
        faces = self.selected_faces()
        if faces:
            self._edit(lambda lib: lib.hide_faces(faces, hidden))

    def hide_selected(self) -> None:
        self._hide(True)

    def unhide_selected(self) -> None:
        self._hide(False)

    def cover_selected(self) -> None:
        faces = self.faces_view.selected_face_ids()
        if len(faces) == 1 and self._current_person is not None:
            person = self._current_person
            self._edit(lambda lib: lib.set_cover(person, faces[0]))

    def name_face(self, face_id: int) -> None:
        """Name one face from the photo view: join a person of that name, or name its group."""
        face = self.reader.face(face_id)
        name, ok = QInputDialog.getText(self, "Who is this?", "Name:", text=face.person_name or "")
        if ok and name.strip():
            self.apply_face_name(face_id, name.strip())

    def apply_face_name(self, face_id: int, name: str) -> None:
        existing = people_names(self.reader.people(include_hidden=True)).get(name.casefold())
        face = self.reader.face(face_id)

        def job(lib: Any) -> Any:
            if existing is not None:
                return lib.move_faces([face_id], existing)
            if face.person_id is not None and face.person_name is None:
                return lib.name_person(face.person_id, name)
            first = lib.move_faces([face_id], None)
            pid = lib.face(face_id).person_id
            return [first, lib.name_person(pid, name)]

        self._edit(job)

    def undo(self) -> None:
        self._edit(lambda lib: lib.undo())

    def redo(self) -> None:
        self._edit(lambda lib: lib.redo())

    def regroup(self) -> None:
        if self.engine is None or self.scanning:
            return
        self.statusBar().showMessage("Grouping faces into people…")
        self.engine.submit(
            "cluster",
            lambda lib: lib.cluster(),
            lambda _r: (self.statusBar().showMessage("People regrouped", 4000), self.refresh()),
            self.show_error,
        )

    # scanning

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        """Add a folder to the library and scan it."""
        self.start_scan([folder])

    def start_scan(self, folders: list[str] | None = None) -> bool:
        if self.engine is None or self.scanning:
            return False
        if folders is None and self.reader is not None and not self.reader.folders():
            self.choose_folder()
            return False
        self.scanning = True
        self.scan_errors = []
        self._scan_faces_at_cluster = 0
        self._last_interim = time.monotonic()
        self.scan_panel.started()
        self._update_empty()
        self._update_actions()
        self.engine.scan(
            folders, device=self.device, on_done=self._on_scan_done, on_error=self._on_scan_failed
        )
        return True

    def cancel_scan(self) -> None:
        if self.scanning and self.engine is not None:
            self.engine.cancel()
            self.scan_panel.label.setText("Stopping after the photos in progress…")
            self.scan_panel.cancel_button.setEnabled(False)

    def _on_pause(self, paused: bool) -> None:
        if self.engine is not None:
            self.engine.set_paused(paused)

    def _on_progress(self, progress: ScanProgress) -> None:
        self.scan_panel.update_progress(progress)
        if progress.phase in ("scanning", "clustering", "done"):
            self.schedule_refresh()
        if progress.phase == "scanning":
            self._maybe_interim_cluster(progress)

    def _maybe_interim_cluster(self, progress: ScanProgress) -> None:
        """People appear and grow while a long scan runs: group the new faces now and then."""
        if self.editor is None or self._interim_running:
            return
        if time.monotonic() - self._last_interim < INTERIM_CLUSTER_S:
            return
        if progress.faces - self._scan_faces_at_cluster < 10:
            return
        self._interim_running = True
        self._scan_faces_at_cluster = progress.faces

        def finished(_r: Any = None) -> None:
            self._interim_running = False
            self._last_interim = time.monotonic()
            self.schedule_refresh()

        self.editor.submit("cluster", lambda lib: lib.cluster(), finished, lambda _m: finished())

    def _on_scan_done(self, summary: ScanSummary) -> None:
        self.scanning = False
        self.last_summary = summary
        self.scan_errors = list(summary.errors)
        text = describe_summary(summary)
        self.scan_panel.finished(text)
        self.scan_panel.set_error_count(len(summary.errors))
        self.statusBar().showMessage(text, 10000)
        self._watch_folders()
        if not summary.errors:
            QTimer.singleShot(6000, self._hide_scan_panel)
        self.refresh(lambda: self.scan_done.emit(summary))

    def _hide_scan_panel(self) -> None:
        if not self.scanning:
            self.scan_panel.setVisible(False)

    def _on_scan_failed(self, message: str) -> None:
        self.scanning = False
        self.scan_panel.finished(f"Scan failed: {message}")
        self.show_error(message)
        self.refresh(lambda: self.scan_done.emit(None))

    def show_errors(self) -> None:
        errors = list(self.scan_errors)
        if not errors and self.reader is not None:
            errors = [(p.path, p.error or "") for p in self.reader.photo_errors()]
        dialog = ErrorsDialog(errors, self)
        dialog.open()

    def choose_search_photo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Search with a photo",
            "",
            "Photos (*.jpg *.jpeg *.png *.webp *.heic *.heif *.tif *.tiff *.bmp *.gif)",
        )
        if path:
            self.search_photo(path)

    def choose_library(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Open or create a library",
            self.library_path() or "",
            "FaceOrganizer library (*.sqlite3)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.open_library(path)

    def show_settings(self) -> None:
        if self.reader is None:
            return
        dialog = SettingsDialog(self.reader.settings(), self.library_path(), self.device, self)
        if not dialog.exec():
            return
        self.apply_settings(dialog.changes())

    def apply_settings(self, changes: dict[str, Any]) -> None:
        if "device" in changes:
            self.device = str(changes.pop("device"))
            self.qsettings.setValue("device", self.device)
        library = changes.pop("library", None)
        model_changed = "model_id" in changes
        if changes and self.editor is not None:

            def job(lib: Any) -> None:
                for key, value in changes.items():
                    lib.set_setting(key, value)

            def done(_r: Any) -> None:
                if model_changed:
                    self.start_scan()

            self.editor.submit("settings", job, done, self.show_error)
        if library:
            self.open_library(library)

    # folders on disk

    def _on_watch_toggled(self, on: bool) -> None:
        self.qsettings.setValue("watch", on)
        self._watch_folders()

    def _watch_folders(self) -> None:
        old = self.watcher.directories()
        if old:
            self.watcher.removePaths(old)
        if not self.watch_action.isChecked() or self.reader is None:
            return
        dirs: list[str] = []
        for root in self.reader.folders():
            for dirpath, dirnames, _files in os.walk(root):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                dirs.append(dirpath)
                if len(dirs) >= MAX_WATCHED_DIRS:
                    break
        if dirs:
            self.watcher.addPaths(dirs)

    def _on_folders_changed(self) -> None:
        if self.scanning:
            self.watch_timer.start()
        elif self.watch_action.isChecked():
            self.start_scan()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(u.isLocalFile() and os.path.isdir(u.toLocalFile()) for u in urls):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        folders = [
            u.toLocalFile()
            for u in event.mimeData().urls()
            if u.isLocalFile() and os.path.isdir(u.toLocalFile())
        ]
        if folders:
            event.acceptProposedAction()
            self.start_scan(folders)
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
        geometry = self.qsettings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 820)
        state = self.qsettings.value("windowState")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        threshold = self.qsettings.value("similarThreshold")
        if threshold is not None:
            self.similar.slider.setValue(int(threshold))

    def save_layout(self) -> None:
        self.qsettings.setValue("geometry", self.saveGeometry())
        self.qsettings.setValue("windowState", self.saveState())
        self.qsettings.setValue("similarThreshold", self.similar.slider.value())
        self.qsettings.sync()

    def _stop_workers(self) -> bool:
        ok = True
        for handle in (self.engine, self.editor, self.lister):
            if handle is not None:
                ok = handle.stop() and ok
                handle.deleteLater()
        self.engine = self.editor = self.lister = None
        return ok

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop a running scan after the photos in flight, end the threads, close the library."""
        self._closing = True
        self.save_layout()
        if self.scanning:
            self.statusBar().showMessage("Stopping the scan…")
            QApplication.processEvents()
        self.refresh_timer.stop()
        self.watch_timer.stop()
        self._stop_workers()
        self.scanning = False
        self.people_model.set_library(None, load=False)
        self.faces_model.set_library(None)
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        QApplication.instance().focusChanged.disconnect(self._on_focus)  # type: ignore[union-attr]
        super().closeEvent(event)
