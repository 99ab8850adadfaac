"""What the user has selected, and which actions that enables.

``SelectionState`` is a snapshot taken on every selection, focus or page change; the
predicates below read it and the action table (``actions.py``) names one per action, so
``update_actions`` is a loop over the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QWidget

from faceorganizer.ui.faces_view import FacesView
from faceorganizer.ui.mainwindow.pages import PEOPLE_PAGE, PERSON_PAGE
from faceorganizer.ui.mainwindow.shell import Navigates, Scanning, Shell

if TYPE_CHECKING:
    from collections.abc import Iterator

    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QStackedWidget

    from faceorganizer.ui.faces_model import FacesModel
    from faceorganizer.ui.people_view import PeopleView
    from faceorganizer.ui.similar_panel import SimilarPanel


@dataclass(frozen=True)
class SelectionState:
    page: int
    people: list[int]  # person ids selected on the people page
    faces: list[int]  # face ids the face actions apply to
    faces_person: int | None  # the one person those faces are taken from, if there is one
    faces_placed: bool  # some of those faces are in a person
    current_person: int | None  # the person whose page is open (or was last)
    has_library: bool
    has_folders: bool  # the library has folders to scan again
    has_history: bool
    scanning: bool


def can_rename(s: SelectionState) -> bool:
    on_person = s.page == PERSON_PAGE and s.current_person is not None
    return s.has_library and (len(s.people) == 1 or on_person)


def several_people(s: SelectionState) -> bool:
    return len(s.people) >= 2


def some_faces(s: SelectionState) -> bool:
    return bool(s.faces)


def faces_in_people(s: SelectionState) -> bool:
    return bool(s.faces) and s.faces_placed


def faces_of_one_person(s: SelectionState) -> bool:
    return bool(s.faces) and s.faces_person is not None


def one_face_of_this_person(s: SelectionState) -> bool:
    return len(s.faces) == 1 and s.page == PERSON_PAGE and s.current_person is not None


def people_or_faces(s: SelectionState) -> bool:
    return bool(s.people) or bool(s.faces)


def can_go_back(s: SelectionState) -> bool:
    return s.has_history or s.page != PEOPLE_PAGE


def has_library(s: SelectionState) -> bool:
    return s.has_library


def can_scan(s: SelectionState) -> bool:
    """Scan the library's folders again: only once it has some (a first folder is added with
    "Add folder", which stays available)."""
    return s.has_library and s.has_folders and not s.scanning


def is_scanning(s: SelectionState) -> bool:
    return s.scanning


class Gated(Protocol):
    """An action's row in the action table (``actions.ActionSpec``), as far as enabling goes."""

    @property
    def enabled_if(self) -> Callable[[SelectionState], bool] | None: ...


class SelectionWindow(Shell, Protocol):
    """What the selection controller uses of the main window."""

    faces_model: FacesModel
    faces_view: FacesView
    people_view: PeopleView
    similar: SimilarPanel
    stack: QStackedWidget

    @property
    def navigation(self) -> Navigates: ...
    @property
    def scans(self) -> Scanning: ...
    def action_specs(self) -> Iterator[tuple[Gated, QAction]]: ...


class Selection(QObject):
    """Tracks the selection and keeps every action's enabled state in step with it (GUI thread)."""

    def __init__(self, window: SelectionWindow) -> None:
        super().__init__(window.window())
        self.window = window
        window.people_view.selectionModel().selectionChanged.connect(self.update_actions)
        window.faces_view.selectionModel().selectionChanged.connect(self.update_actions)
        window.faces_model.modelReset.connect(self.update_actions)
        window.stack.currentChanged.connect(self.update_actions)
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        self._app: QApplication | None = app
        app.focusChanged.connect(self._on_focus)

    def close(self) -> None:
        """Stop following the application's focus (the window is closing)."""
        if self._app is not None:
            self._app.focusChanged.disconnect(self._on_focus)
            self._app = None

    def _on_focus(self, _old: QWidget | None, _new: QWidget | None) -> None:
        self.update_actions()

    def face_selection_view(self) -> FacesView | None:
        """The face grid the face actions apply to: the focused one, else the page's."""
        w = self.window
        similar_view = w.similar.view
        focus = QApplication.focusWidget()
        if focus is similar_view and similar_view.selected_face_ids():
            return similar_view
        if w.stack.currentIndex() == PERSON_PAGE:
            return w.faces_view
        if similar_view.selected_face_ids():
            return similar_view
        return None

    def selected_faces(self) -> list[int]:
        view = self.face_selection_view()
        return view.selected_face_ids() if view is not None else []

    def faces_person(self, faces: list[int]) -> int | None:
        """The person the selected faces are taken from (for "Not this person")."""
        w = self.window
        current = w.navigation.current_person
        on_person = w.stack.currentIndex() == PERSON_PAGE and current is not None
        if on_person and self.face_selection_view() is w.faces_view:
            return current
        if w.reader is None or not faces:
            return None
        try:
            owners = {w.reader.face(f).person_id for f in faces[:50]}
        except Exception:
            return None
        return owners.pop() if len(owners) == 1 and None not in owners else None

    def any_placed(self, faces: list[int]) -> bool:
        """Whether some of the selected faces are in a person (Confirm has nothing to do on
        faces in none)."""
        w = self.window
        current = w.navigation.current_person
        on_person = w.stack.currentIndex() == PERSON_PAGE and current is not None
        if on_person and self.face_selection_view() is w.faces_view:
            return True
        if w.reader is None:
            return False
        try:
            return any(w.reader.face(f).person_id is not None for f in faces[:50])
        except Exception:
            return False

    def owner_of(self, faces: list[int]) -> int | None:
        """The one person all these faces are in, read from the faces themselves (never from
        the page open or where the focus is); None when they are in several or in none."""
        reader = self.window.reader
        if reader is None or not faces:
            return None
        owners: set[int | None] = set()
        try:
            for face in faces:
                owners.add(reader.face(face).person_id)
                if len(owners) > 1:
                    return None
        except Exception:
            return None
        return owners.pop()

    def has_folders(self) -> bool:
        reader = self.window.reader
        try:
            return reader is not None and bool(reader.folders())
        except Exception:
            return False

    def state(self) -> SelectionState:
        w = self.window
        page = w.stack.currentIndex()
        faces = self.selected_faces()
        return SelectionState(
            page=page,
            people=w.people_view.selected_person_ids() if page == PEOPLE_PAGE else [],
            faces=faces,
            faces_person=self.faces_person(faces) if faces else None,
            faces_placed=bool(faces) and self.any_placed(faces),
            current_person=w.navigation.current_person,
            has_library=w.reader is not None,
            has_folders=self.has_folders(),
            has_history=w.navigation.has_history(),
            scanning=w.scans.scanning,
        )

    def update_actions(self, *_args: object) -> None:
        state = self.state()
        for spec, action in self.window.action_specs():
            if spec.enabled_if is not None:
                action.setEnabled(spec.enabled_if(state))
