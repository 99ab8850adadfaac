"""Re-reading the library after a change: the people grid, the open page, the counts in the
status bar, the undo/redo texts and the empty-library message.

Threading contract: the reads run on the window's ``lister`` thread (a people list over a big
library takes a while); results come back to the GUI thread, where the views update. One
refresh runs at a time; asking again while one runs queues exactly one more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QTimer

from faceorganizer.services.types import EditInfo, PersonInfo
from faceorganizer.ui.engine_worker import user_message
from faceorganizer.ui.mainwindow.pages import NO_PHOTOS_TEXT, PERSON_PAGE, PHOTO_PAGE
from faceorganizer.ui.mainwindow.shell import Navigates, Scanning, Selects, Shell

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QStackedWidget

    from faceorganizer.services.library import Library
    from faceorganizer.ui.elided_label import ElidedLabel
    from faceorganizer.ui.engine_worker import WorkerHandle
    from faceorganizer.ui.mainwindow.pages import PeoplePage
    from faceorganizer.ui.people_model import PeopleModel
    from faceorganizer.ui.people_view import PeopleView

REFRESH_MS = 1200  # how often a running scan refreshes the views

Counts = dict[str, int]
RefreshResult = tuple[Counts, EditInfo | None, EditInfo | None]


class RefresherWindow(Shell, Protocol):
    """What the refresh controller uses of the main window."""

    counts_label: ElidedLabel
    lister: WorkerHandle | None
    people_model: PeopleModel
    people_page: PeoplePage
    people_view: PeopleView
    stack: QStackedWidget

    @property
    def navigation(self) -> Navigates: ...
    @property
    def refreshed(self) -> SignalInstance: ...
    @property
    def scans(self) -> Scanning: ...
    @property
    def selection(self) -> Selects: ...
    def action(self, action_id: str) -> QAction: ...


class Refresher(QObject):
    """Refreshes the views from the library, on request or (``schedule``) on a timer."""

    def __init__(self, window: RefresherWindow) -> None:
        super().__init__(window.window())
        self.window = window
        self.counts: Counts = {}
        self._running = False
        self._again = False
        self._soft = True
        self._after: list[Callable[[], None]] = []
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(lambda: self.refresh(soft=True))
        window.people_model.modelReset.connect(self.update_empty)
        window.people_model.rowsInserted.connect(self.update_empty)

    def reset(self) -> None:
        """A new library: forget a refresh of the old one."""
        self._running = self._again = False

    def stop(self) -> None:
        self.timer.stop()

    def schedule(self) -> None:
        if not self.timer.isActive():
            self.timer.start()

    def refresh(self, then: Callable[[], None] | None = None, soft: bool = False) -> None:
        """Re-read the people, counts and undo state on the lister thread, then update the
        views; ``then`` runs after that (also when there is no library)."""
        w = self.window
        if then is not None:
            self._after.append(then)
        if not soft:
            self._soft = False
        if w.reader is None or w.lister is None:
            self._run_after()
            return
        if self._running:
            self._again = True
            return
        self._running = True
        self._again = False
        name_filter = w.people_model.name_filter
        include_hidden = w.people_model.include_hidden

        def people_job(lib: Library) -> list[PersonInfo]:
            return lib.people(include_hidden=include_hidden, name_filter=name_filter)

        def rest_job(lib: Library) -> RefreshResult:
            return lib.counts(), lib.next_undo(), lib.next_redo()

        w.lister.submit("people", people_job, self._apply_people, self._failed)
        w.lister.submit("counts", rest_job, self._apply_rest, self._failed)

    def _apply_people(self, people: list[PersonInfo]) -> None:
        """The grid first (the user waits for it); counts and undo state follow."""
        if self._again:
            return
        try:
            self._set_people(people)
        except Exception as exc:
            self.window.show_error(user_message(exc))
        self.update_empty()

    def _apply_rest(self, result: RefreshResult) -> None:
        w = self.window
        if not self._running:
            return
        self._running = False
        if self._again:
            self.refresh()
            return
        counts, undo, redo = result
        try:
            if w.stack.currentIndex() == PERSON_PAGE:
                w.navigation.refresh_person_page(soft=self._soft)
            elif w.stack.currentIndex() == PHOTO_PAGE and w.navigation.current_photo_face:
                w.navigation.refresh_photo()
        except Exception as exc:
            w.show_error(user_message(exc))
        self._soft = True
        self._update_counts(counts)
        self._update_undo(undo, redo)
        self.update_empty()
        w.selection.update_actions()
        self._run_after()
        w.refreshed.emit()

    def _failed(self, message: str) -> None:
        if not self._running:
            return
        self._running = False
        self.window.show_error(message)
        self._run_after()

    def _run_after(self) -> None:
        pending, self._after = self._after, []
        for fn in pending:
            fn()

    def _set_people(self, people: list[PersonInfo]) -> None:
        """New rows for the grid, keeping the selection and current card by person id."""
        view, model = self.window.people_view, self.window.people_model
        selected = set(view.selected_person_ids())
        current = view.current_person_id()
        if not model.set_people(people):
            return
        sel = view.selectionModel()
        for pid in selected:
            row = model.row_of(pid)
            if row >= 0:
                sel.select(model.index(row), sel.SelectionFlag.Select)
        if current is not None and model.row_of(current) >= 0:
            sel.setCurrentIndex(model.index(model.row_of(current)), sel.SelectionFlag.NoUpdate)

    def _update_counts(self, c: Counts) -> None:
        people = c.get("people", 0)
        text = (
            f"{c.get('photos', 0):,} photos · {c.get('faces', 0):,} faces · "
            f"{people:,} people ({c.get('named', 0):,} named) · "
            f"{c.get('unassigned', 0):,} without a person"
        )
        if c.get("photo_errors"):
            text += f" · {c['photo_errors']} unreadable"
        self.window.counts_label.set_full_text(text)
        self.window.people_page.unassigned_button.setText(
            f"Faces without a person ({c.get('unassigned', 0):,})"
        )
        self.window.people_page.other_button.setText(f"Other faces ({c.get('other', 0):,})")
        self.counts = c

    def _update_undo(self, undo: EditInfo | None, redo: EditInfo | None) -> None:
        """The Edit menu names the edit; the toolbar stays "Undo"/"Redo" (a long name there
        pushed other actions into its overflow menu), its tooltip names the edit."""
        undo_action, redo_action = self.window.action("undo"), self.window.action("redo")
        undo_action.setIconText("Undo")
        redo_action.setIconText("Redo")
        undo_action.setText(f"&Undo {undo.description}" if undo else "&Undo")
        undo_action.setToolTip(f"Undo: {undo.description}" if undo else "Nothing to undo")
        undo_action.setEnabled(undo is not None)
        redo_action.setText(f"&Redo {redo.description}" if redo else "&Redo")
        redo_action.setToolTip(f"Redo: {redo.description}" if redo else "Nothing to redo")
        redo_action.setEnabled(redo is not None)

    def update_empty(self, *_args: object) -> None:
        """No people to show: say why and what to do, instead of an empty grid."""
        w = self.window
        page = w.people_page
        empty = w.people_model.total() == 0 and not w.people_model.name_filter
        faces = self.counts.get("unassigned", 0)
        scanning = w.scans.scanning
        if scanning:
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
            text = NO_PHOTOS_TEXT
        page.empty_label.setText(text)
        page.empty_button.setVisible(not scanning and not faces)
        page.empty_box.setVisible(empty)
        w.people_view.setVisible(not empty)
