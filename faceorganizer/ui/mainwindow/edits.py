"""The user's edits: rename (offering a merge when another person has the name), merge, move,
new person, not this person, not a face, confirm, cover, hide, name a face, undo/redo, regroup.

Threading contract: every edit runs on the window's ``editor`` thread with its writer library;
when it lands the similar-faces hits and the views refresh, then ``edits_applied`` is emitted.
Dialogs that ask the user (a name, a person) run on the GUI thread first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog, QMessageBox

from faceorganizer.services.types import ClusterChanges, EditInfo
from faceorganizer.ui.mainwindow.pages import PEOPLE_PAGE
from faceorganizer.ui.mainwindow.shell import (
    Navigates,
    Refreshes,
    Scanning,
    Searches,
    Selects,
    Shell,
)
from faceorganizer.ui.people_model import PeopleModel, display_name
from faceorganizer.ui.person_chooser import NEW_PERSON, PersonChooser, people_names

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QStackedWidget

    from faceorganizer.services.library import Library
    from faceorganizer.ui.engine_worker import WorkerHandle
    from faceorganizer.ui.faces_view import FacesView
    from faceorganizer.ui.people_view import PeopleView
    from faceorganizer.ui.photo_view import PhotoView
    from faceorganizer.ui.similar_panel import SimilarPanel
    from faceorganizer.ui.thumbnails import ThumbnailCache

EditResult = EditInfo | list[EditInfo] | None
EditJob = Callable[["Library"], EditResult]


class EditsWindow(Shell, Protocol):
    """What the edits controller uses of the main window."""

    engine: WorkerHandle | None
    faces_view: FacesView
    people_model: PeopleModel
    people_view: PeopleView
    photo_view: PhotoView
    similar: SimilarPanel
    stack: QStackedWidget
    thumbs: ThumbnailCache

    @property
    def edits_applied(self) -> SignalInstance: ...
    @property
    def navigation(self) -> Navigates: ...
    @property
    def refresher(self) -> Refreshes: ...
    @property
    def scans(self) -> Scanning: ...
    @property
    def search(self) -> Searches: ...
    @property
    def selection(self) -> Selects: ...


class Edits(QObject):
    """One method per edit; each reads the selection, asks what it must, and submits a job."""

    def __init__(self, window: EditsWindow) -> None:
        super().__init__(window.window())
        self.window = window
        self.chooser: PersonChooser | None = None  # the "Move to…" dialog while it is open
        self.name_clash: QMessageBox | None = None  # "merge with the other X?" while it is open
        window.people_model.rename_requested.connect(self.rename_person)
        window.people_model.merge_requested.connect(self.merge_people)
        window.people_model.faces_dropped.connect(self.move_faces)
        window.similar.assign_requested.connect(self.assign_faces)
        window.photo_view.name_requested.connect(self.name_face)

    def edit(
        self,
        job: EditJob,
        then: Callable[[EditResult], None] | None = None,
        failed: Callable[[str], None] | None = None,
        told: str = "",
    ) -> None:
        """Run ``job`` on the editor thread; then refresh and tell (status bar, signal), the
        entry's words after ``told`` ("Undone: "). A failure goes to ``failed`` when given,
        else to a message box."""
        w = self.window
        if w.editor is None:
            return

        def done(result: EditResult) -> None:
            w.search.refresh()
            if then is not None:
                then(result)
            info = result[-1] if isinstance(result, list) and result else result
            if isinstance(info, EditInfo):
                w.statusBar().showMessage(told + info.description, 5000)
            w.refresher.refresh(lambda: w.edits_applied.emit(result))

        w.editor.submit("edit", job, done, failed or w.show_error)

    def undo(self) -> None:
        self.edit(lambda lib: lib.undo(), told="Undone: ")

    def redo(self) -> None:
        self.edit(lambda lib: lib.redo(), told="Redone: ")

    def rename_person(self, person_id: int, name: str) -> None:
        """Name a person; when someone else has that name, offer to make them one (as Immich
        does): merged into the one already named, or two people of one name, or nothing."""
        w = self.window
        others = w.reader.people_named(name, exclude=person_id) if w.reader is not None else []
        if not others:
            self.edit(lambda lib: lib.name_person(person_id, name))
            return
        answer = self._ask_merge(others[0].name or name, others[0].face_count)
        if answer == "merge":
            self.merge_people(others[0].person_id, [person_id])
        elif answer == "keep":
            self.edit(lambda lib: lib.name_person(person_id, name))

    def _ask_merge(self, name: str, faces: int) -> str:
        """ "merge", "keep" (two people named alike) or "cancel"."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Same name",
            f"There is already a person named “{name}” ({faces} face{'s' * (faces != 1)}).\n"
            "Are they the same person?",
            parent=self.window.window(),
        )
        merge = box.addButton("Same person: merge", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Different people", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(merge)
        self.name_clash = box
        box.exec()
        self.name_clash = None
        clicked = box.clickedButton()
        return "merge" if clicked is merge else "keep" if clicked is keep else "cancel"

    def rename_current(self) -> None:
        """On the people grid: edit the name in place; on a person's page: ask for it."""
        w = self.window
        if w.stack.currentIndex() == PEOPLE_PAGE:
            index = w.people_view.currentIndex()
            if index.isValid():
                w.people_view.edit(index)
            return
        person_id = w.navigation.current_person
        if person_id is None or w.reader is None:
            return
        person = w.reader.person(person_id)
        name, ok = QInputDialog.getText(w.window(), "Rename", "Name:", text=person.name or "")
        if ok and name.strip():
            self.rename_person(person_id, name.strip())

    def merge_people(self, target: int, others: list[int]) -> None:
        others = [o for o in others if o != target]
        if others:
            self.edit(lambda lib: lib.merge_people(target, others))

    def merge_selected(self) -> None:
        """Merge into the named person (asking when names differ), else into the largest."""
        w = self.window
        ids = w.people_view.selected_person_ids()
        if len(ids) < 2:
            return
        people = [p for p in w.people_model.people() if p.person_id in set(ids)]
        named = [p for p in people if p.name]
        if len({p.name for p in named}) > 1:
            names = ", ".join(sorted({str(p.name) for p in named}))
            answer = QMessageBox.question(
                w.window(),
                "Merge people?",
                f"These people have different names ({names}). Merge them into {named[0].name}?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        target = (named or sorted(people, key=lambda p: -p.face_count))[0].person_id
        self.merge_people(target, [i for i in ids if i != target])

    def move_faces(self, face_ids: list[int], to: int | None, new_name: str | None = None) -> None:
        if face_ids:
            self.edit(lambda lib: lib.move_faces(face_ids, to, new_name))

    def choose_person(self, title: str, current: int | None) -> tuple[int | None, str | None]:
        """Ask which person: (person id, None), (``NEW_PERSON``, the new person's name or None),
        or (None, None) when cancelled. ``current``: the faces' person, shown as such."""
        w = self.window
        model = PeopleModel(w.thumbs, self)
        model.PAGE = 1_000_000
        model.set_library(w.reader)
        chooser = PersonChooser(model, title, current, w.window())
        self.chooser = chooser
        chooser.exec()
        self.chooser = None
        model.deleteLater()
        return chooser.chosen, chooser.new_name

    def move_selected(self) -> None:
        faces = self.window.selection.selected_faces()
        if faces:
            self.assign_faces(faces)

    def assign_faces(self, face_ids: list[int]) -> None:
        """Move faces to a person the user chooses, or to a new one they name; choosing the
        person they are all in already says so."""
        w = self.window
        current = w.selection.owner_of(face_ids)
        n = len(face_ids)
        target, name = self.choose_person(f"Move {n} face{'s' * (n != 1)} to…", current)
        if target is None:
            return
        if target == current and current is not None and w.reader is not None:
            who = display_name(w.reader.person(current))
            w.statusBar().showMessage(
                f"{'These faces are' if n != 1 else 'This face is'} already in {who}", 8000
            )
            return
        self.move_faces(face_ids, None if target == NEW_PERSON else target, name)

    def new_person_from_selected(self) -> None:
        faces = self.window.selection.selected_faces()
        if faces:
            self.move_faces(faces, None)

    def reject_selected(self) -> None:
        selection = self.window.selection
        faces = selection.selected_faces()
        person = selection.faces_person(faces)
        if faces and person is not None:
            self.edit(lambda lib: lib.reject_faces(faces, person))

    def not_a_face_selected(self) -> None:
        """The selected detections are not faces: out of people, search and grouping."""
        faces = self.window.selection.selected_faces()
        if faces:
            self.edit(lambda lib: lib.mark_not_face(faces))

    def confirm_selected(self) -> None:
        faces = self.window.selection.selected_faces()
        if faces:
            self.edit(lambda lib: lib.confirm_faces(faces))

    def _hide(self, hidden: bool) -> None:
        """The selected people on the people page, else the selected faces."""
        w = self.window
        if w.stack.currentIndex() == PEOPLE_PAGE:
            ids = w.people_view.selected_person_ids()
            if ids:

                def job(lib: Library) -> list[EditInfo]:
                    return [lib.hide_person(pid, hidden) for pid in ids]

                self.edit(job)
            return
        faces = w.selection.selected_faces()
        if faces:
            self.edit(lambda lib: lib.hide_faces(faces, hidden))

    def hide_selected(self) -> None:
        self._hide(True)

    def unhide_selected(self) -> None:
        self._hide(False)

    def cover_selected(self) -> None:
        w = self.window
        faces = w.faces_view.selected_face_ids()
        person = w.navigation.current_person
        if len(faces) == 1 and person is not None:
            self.edit(lambda lib: lib.set_cover(person, faces[0]))

    def name_face(self, face_id: int) -> None:
        """Name one face from the photo view: join a person of that name, or name its group."""
        w = self.window
        if w.reader is None:
            return
        face = w.reader.face(face_id)
        name, ok = QInputDialog.getText(
            w.window(), "Who is this?", "Name:", text=face.person_name or ""
        )
        if ok and name.strip():
            self.apply_face_name(face_id, name.strip())

    def apply_face_name(self, face_id: int, name: str) -> None:
        w = self.window
        if w.reader is None:
            return
        existing = people_names(w.reader.people(include_hidden=True)).get(name.casefold())
        face = w.reader.face(face_id)

        def job(lib: Library) -> EditResult:
            if existing is not None:
                return lib.move_faces([face_id], existing)
            if face.person_id is not None and face.person_name is None:
                return lib.name_person(face.person_id, name)
            first = lib.move_faces([face_id], None)
            pid = lib.face(face_id).person_id
            assert pid is not None
            return [first, lib.name_person(pid, name)]

        self.edit(job)

    def regroup(self) -> None:
        """Group the faces again on the engine thread (never during a scan)."""
        w = self.window
        if w.engine is None or w.scans.scanning:
            return
        w.statusBar().showMessage("Grouping faces into people…")

        def done(changes: ClusterChanges) -> None:
            text = changes.edit.description if changes.edit else "Regroup: nothing to place"
            w.statusBar().showMessage(text, 8000)
            w.refresher.refresh()

        w.engine.submit("cluster", lambda lib: lib.cluster(), done, w.show_error)
