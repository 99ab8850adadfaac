"""Going between pages: the people grid, a person's faces (or those without a person), a photo;
Back, and the people filter. Reads go through the window's read-only library (GUI thread)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject

from faceorganizer.ui.engine_worker import user_message
from faceorganizer.ui.mainwindow.pages import (
    FACES_HINT,
    OTHER_FACES_HINT,
    PEOPLE_PAGE,
    PERSON_PAGE,
    PHOTO_PAGE,
    REVIEW_PAGE,
)
from faceorganizer.ui.mainwindow.shell import Refreshes, Reviews, Selects, Shell
from faceorganizer.ui.people_model import date_span, display_name

if TYPE_CHECKING:
    from PySide6.QtWidgets import QCheckBox, QLabel, QStackedWidget

    from faceorganizer.ui.faces_model import FacesModel
    from faceorganizer.ui.faces_view import FacesView
    from faceorganizer.ui.mainwindow.pages import PeoplePage, PersonPage
    from faceorganizer.ui.people_model import PeopleModel
    from faceorganizer.ui.people_view import PeopleView
    from faceorganizer.ui.photo_view import PhotoView
    from faceorganizer.ui.review_page import ReviewPage
    from faceorganizer.ui.similar_panel import SimilarPanel

UNASSIGNED = "unassigned"  # the history's state for the faces-without-a-person page
OTHER = "other"  # and for the other faces (under the quality bar)
HISTORY_LENGTH = 50


class NavigationWindow(Shell, Protocol):
    """What the navigation controller uses of the main window."""

    faces_model: FacesModel
    faces_view: FacesView
    people_model: PeopleModel
    people_page: PeoplePage
    people_view: PeopleView
    person_page: PersonPage
    person_title: QLabel
    photo_view: PhotoView
    review_page: ReviewPage
    show_hidden_box: QCheckBox
    similar: SimilarPanel
    stack: QStackedWidget

    @property
    def refresher(self) -> Refreshes: ...
    @property
    def review(self) -> Reviews: ...
    @property
    def selection(self) -> Selects: ...


class Navigation(QObject):
    """Which page shows what, and the history Back walks."""

    def __init__(self, window: NavigationWindow) -> None:
        super().__init__(window.window())
        self.window = window
        self.current_person: int | None = None
        self.current_photo_face: int | None = None
        self._history: list[tuple[int, int | str | None]] = []
        window.people_view.person_activated.connect(self.open_person)
        window.people_page.unassigned_button.clicked.connect(self.show_unassigned)
        window.people_page.other_button.clicked.connect(self.show_other)
        window.people_page.filter_edit.textChanged.connect(self._on_filter)
        window.show_hidden_box.toggled.connect(self._on_show_hidden)
        window.faces_view.face_opened.connect(self.open_photo)
        window.similar.face_opened.connect(self.open_photo)
        window.photo_view.person_opened.connect(self.open_person)

    def has_history(self) -> bool:
        return bool(self._history)

    def clear_history(self) -> None:
        self._history.clear()

    def _push(self) -> None:
        page = self.window.stack.currentIndex()
        model = self.window.faces_model
        listing = OTHER if model.other else UNASSIGNED if model.unassigned else self.current_person
        state: dict[int, int | str | None] = {
            PERSON_PAGE: listing,
            PHOTO_PAGE: self.current_photo_face,
        }
        self._history.append((page, state.get(page)))
        del self._history[:-HISTORY_LENGTH]

    def go_back(self) -> None:
        if not self._history:
            self.show_people(push=False)
            return
        page, state = self._history.pop()
        if page == PERSON_PAGE and state == UNASSIGNED:
            self.show_unassigned(push=False)
        elif page == PERSON_PAGE and state == OTHER:
            self.show_other(push=False)
        elif page == PERSON_PAGE and state is not None:
            self.open_person(int(state), push=False)
        elif page == PHOTO_PAGE and state is not None:
            self.open_photo(int(state), push=False)
        elif page == REVIEW_PAGE:
            self.window.review.show_review(push=False)
        else:
            self.show_people(push=False)

    def show_people(self, push: bool = True) -> None:
        w = self.window
        if push and w.stack.currentIndex() != PEOPLE_PAGE:
            self._push()
        w.stack.setCurrentIndex(PEOPLE_PAGE)
        w.people_view.setFocus()
        w.refresher.refresh()

    def show_review(self, push: bool = True) -> None:
        """The Review page (``review.py`` fills it)."""
        w = self.window
        if push and w.stack.currentIndex() != REVIEW_PAGE:
            self._push()
        w.stack.setCurrentIndex(REVIEW_PAGE)
        w.review_page.setFocus()
        w.selection.update_actions()

    def open_person(self, person_id: int, push: bool = True) -> None:
        w = self.window
        if w.reader is None:
            return
        if push:
            self._push()
        self.current_person = int(person_id)
        w.faces_model.show_person(self.current_person, w.show_hidden_box.isChecked())
        self._show_faces_page()

    def _show_faces_page(self) -> None:
        """The faces page with its first face current but not searched for: opening a page is
        not a search (the focus arriving would make the first face current, which searches)."""
        w = self.window
        if w.faces_model.rowCount():  # before the page shows, where the focus follows
            w.faces_view.set_current_quietly(w.faces_model.index(0))
        w.stack.setCurrentIndex(PERSON_PAGE)
        self.refresh_person_title()
        w.faces_view.setFocus()
        w.selection.update_actions()

    def show_unassigned(self, push: bool = True) -> None:
        """Faces in no person that can be judged ("Faces without a person")."""
        self._show_listing(push, other=False)

    def show_other(self, push: bool = True) -> None:
        """Faces under the quality bar in no person, each with why ("Other faces")."""
        self._show_listing(push, other=True)

    def _show_listing(self, push: bool, other: bool) -> None:
        w = self.window
        if w.reader is None:
            return
        if push:
            self._push()
        self.current_person = None
        show = w.faces_model.show_other if other else w.faces_model.show_unassigned
        show(w.show_hidden_box.isChecked())
        self._show_faces_page()

    def refresh_person_title(self) -> None:
        w = self.window
        n = w.faces_model.rowCount()
        faces = f"{n:,} face{'s' * (n != 1)}"
        w.faces_view.show_reasons(w.faces_model.other)
        w.person_page.hint.setText(OTHER_FACES_HINT if w.faces_model.other else FACES_HINT)
        if w.faces_model.other:
            w.person_title.setText(f"<h2>Other faces</h2>{faces} too poor to recognise")
            return
        if w.faces_model.unassigned:
            w.person_title.setText(f"<h2>Faces without a person</h2>{faces}")
            return
        person = None
        if w.reader is not None and self.current_person is not None:
            try:
                person = w.reader.person(self.current_person)
            except Exception:
                person = None
        if person is None:
            w.person_title.setText(f"<h2>Person removed</h2>{faces}")
            return
        name = html.escape(display_name(person))  # a name is text, never markup (rich label)
        style = "" if person.name else " style='color:gray; font-style:italic'"
        hidden = " · hidden" if person.hidden else ""
        span = date_span(person.first_month, person.last_month)
        when = f" · {span}" if span and not person.name else ""
        w.person_title.setText(
            f"<h2{style}>{name}</h2>{faces} in {person.photo_count:,} "
            f"photo{'s' * (person.photo_count != 1)}{when}{hidden}"
        )

    def refresh_person_page(self, soft: bool = False) -> None:
        """After an edit: reload and reselect by face id. ``soft`` (the timer during a scan):
        update in place, keeping the scroll position, when faces were only added."""
        w = self.window
        model, view = w.faces_model, w.faces_view
        if soft:
            model.refresh(reset=False)
            self.refresh_person_title()
            return
        selected = set(view.selected_face_ids())
        current = view.currentIndex().row()
        model.refresh()
        self.refresh_person_title()
        if selected:
            sel = view.selectionModel()
            for row in range(min(model.rowCount(), 2000)):
                face = model.face_at(row)
                if face is not None and face.face_id in selected:
                    sel.select(model.index(row), sel.SelectionFlag.Select)
        if model.rowCount():
            row = min(max(current, 0), model.rowCount() - 1)
            view.set_current_quietly(model.index(row))

    def open_photo(self, face_id: int, push: bool = True) -> None:
        w = self.window
        if w.reader is None:
            return
        try:
            face = w.reader.face(face_id)
            photo = w.reader.photo(face.photo_id)
            faces = w.reader.photo_faces(face.photo_id)
        except Exception as exc:
            w.show_error(user_message(exc))
            return
        if push and w.stack.currentIndex() != PHOTO_PAGE:
            self._push()
        self.current_photo_face = face_id
        w.photo_view.show_photo(photo, faces, face_id)
        w.stack.setCurrentIndex(PHOTO_PAGE)
        w.photo_view.canvas.setFocus()
        w.selection.update_actions()

    def refresh_photo(self) -> None:
        w = self.window
        photo = w.photo_view.current_photo()
        if photo is not None and w.reader is not None:
            w.photo_view.refresh_faces(w.reader.photo_faces(photo.photo_id))

    def _on_filter(self, text: str) -> None:
        model = self.window.people_model
        if model.set_query(text, model.include_hidden):
            self.window.refresher.refresh()

    def _on_show_hidden(self, show: bool) -> None:
        w = self.window
        if w.people_model.set_query(w.people_model.name_filter, show):
            w.refresher.refresh()
        if w.stack.currentIndex() == PERSON_PAGE:
            w.faces_model.include_hidden = show
            self.refresh_person_page()
