"""Similar faces: search for faces like a face in the library, like its whole person, or like
a face in a photo from outside it (the user picks which when it has several), and show the hits
in the similar-faces panel (a dock).

Threading contract: searches (and reading the faces of an outside photo) run on the window's
``editor`` thread; a newer search makes the results of an older one void (a token), so the
panel only ever shows the latest. The panel's title is read again after every edit, so it names
the query's person as it is now.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QStandardPaths
from PySide6.QtWidgets import QFileDialog

from faceorganizer.services.types import FaceInfo, ImageFace, PersonInfo, SearchHit
from faceorganizer.ui.engine_worker import user_message
from faceorganizer.ui.face_picker import FacePicker, face_pixmap
from faceorganizer.ui.mainwindow.shell import Shell
from faceorganizer.ui.people_model import UNNAMED

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QDockWidget

    from faceorganizer.services.library import Library
    from faceorganizer.ui.faces_view import FacesView
    from faceorganizer.ui.photo_view import PhotoView
    from faceorganizer.ui.similar_panel import SimilarPanel
    from faceorganizer.ui.thumbnails import ThumbnailCache

# Every search fetches the nearest faces from 0 %, whatever the slider says: the panel filters
# them as the slider moves, so lowering it reveals the near misses without searching again.
SEARCH_LIMIT = 3000
PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.webp *.heic *.heif *.tif *.tiff *.bmp *.gif)"

SearchRun = Callable[["Library"], list[SearchHit]]


def photos_folder(reader: Library | None) -> str:
    """Where a file dialog for photos opens: the library's first folder, else Pictures."""
    folders = reader.folders() if reader is not None else []
    pictures = QStandardPaths.StandardLocation.PicturesLocation
    return folders[0] if folders else QStandardPaths.writableLocation(pictures)


def unnamed_groups(lib: Library, hits: list[SearchHit]) -> dict[int, PersonInfo]:
    """The unnamed groups among ``hits`` (their face counts and dates tell their cards apart),
    read on the worker with the hits."""
    ids = {
        h.face.person_id for h in hits if h.face.person_id is not None and not h.face.person_name
    }
    return {pid: lib.person(pid) for pid in ids}


def _who(face: FaceInfo) -> str:
    return face.person_name or (UNNAMED if face.person_id is not None else "no person yet")


class SearchWindow(Shell, Protocol):
    """What the search controller uses of the main window."""

    faces_view: FacesView
    photo_view: PhotoView
    similar: SimilarPanel
    similar_dock: QDockWidget
    thumbs: ThumbnailCache

    @property
    def search_finished(self) -> SignalInstance: ...


class Search(QObject):
    """Runs the searches the panel shows; the panel's own widgets do the rest."""

    def __init__(self, window: SearchWindow) -> None:
        super().__init__(window.window())
        self.window = window
        self._token = 0
        self._last: SearchRun | None = None
        self.picker: FacePicker | None = None  # the "Which face?" dialog while it is open
        window.faces_view.face_clicked.connect(self.show_similar)
        window.similar.search_requested.connect(self.show_similar)
        window.photo_view.face_clicked.connect(self.show_similar)
        window.similar.whole_person_toggled.connect(lambda _on: self._search_query_face())

    def show_similar(self, face_id: int) -> None:
        """Search for faces like ``face_id`` (or its whole person, when the panel says so)."""
        w = self.window
        if w.reader is None or w.editor is None:
            return
        try:
            face = w.reader.face(face_id)
        except Exception as exc:
            w.show_error(user_message(exc))
            return
        w.similar.show_query(face_id, "", w.thumbs.get(face_id), face.person_id is not None)
        w.similar_dock.show()
        self._search_query_face(face)

    def _search_query_face(self, face: FaceInfo | None = None) -> None:
        w = self.window
        face_id = w.similar.query_face_id
        if face_id is None or w.reader is None:
            return
        if face is None:
            try:
                face = w.reader.face(face_id)
            except Exception:
                return
        w.similar.set_title(self._title(face))
        person = face.person_id
        whole = w.similar.whole_person_on() and person is not None
        w.similar.set_poor_query(None if whole else face.poor_reason)
        if whole:
            self._search(
                lambda lib: lib.search(like_person=person, threshold=0, limit=SEARCH_LIMIT)
            )
            return
        self._search(lambda lib: lib.search(face_id=face_id, threshold=0, limit=SEARCH_LIMIT))

    def _title(self, face: FaceInfo) -> str:
        if self.window.similar.whole_person_on():
            return f"<b>Faces like {_who(face)}</b><br>all of this person's faces together"
        return f"<b>Faces like this one</b><br>{_who(face)}"

    def choose_photo(self) -> None:
        """Pick a photo, starting where the user's photos are (not the program's folder)."""
        path, _ = QFileDialog.getOpenFileName(
            self.window.window(),
            "Search with a photo",
            photos_folder(self.window.reader),
            PHOTO_FILTER,
        )
        if path:
            self.search_photo(path)

    def search_photo(self, path: str) -> None:
        """Search with a face in a photo from outside the library: find its faces first, let
        the user pick one when there are several, and show the one searched with."""
        w = self.window
        if w.editor is None:
            return
        name = Path(path).name
        w.similar.show_query(None, f"<b>Faces like one in</b><br>{name}")
        w.similar.set_poor_query(None)
        w.similar.set_hits([])
        w.similar.count_label.setText("Looking for faces in the photo…")
        w.similar_dock.show()
        self._token += 1
        token = self._token

        def found(faces: list[ImageFace]) -> None:
            if token == self._token:
                self._photo_faces_found(path, faces)

        def failed(message: str) -> None:
            if token == self._token:
                w.similar.count_label.setText(message)
                w.show_error(message)
                w.search_finished.emit(-1)

        w.editor.submit("photo faces", lambda lib: lib.image_faces(path), found, failed)

    def _photo_faces_found(self, path: str, faces: list[ImageFace]) -> None:
        w = self.window
        chosen = faces[0] if len(faces) == 1 else None
        if chosen is None:
            picker = FacePicker(path, faces, w.window())
            self.picker = picker
            picker.exec()
            self.picker = None
            chosen = next((f for f in faces if f.index == picker.chosen), None)
            if chosen is None:
                w.similar.count_label.setText("No face chosen")
                w.search_finished.emit(-1)
                return
        index = chosen.index
        where = f"face {index + 1} of {len(faces)} in " if len(faces) > 1 else ""
        w.similar.show_query(
            None, f"<b>Faces like the one in</b><br>{where}{Path(path).name}", face_pixmap(chosen)
        )
        w.similar.set_poor_query(chosen.poor_reason)
        self._search(
            lambda lib: lib.search(image=path, face_index=index, threshold=0, limit=SEARCH_LIMIT)
        )

    def _search(self, run: SearchRun) -> None:
        w = self.window
        assert w.editor is not None
        self._token += 1
        token = self._token
        self._last = run

        def job(lib: Library) -> tuple[list[SearchHit], dict[int, PersonInfo]]:
            hits = run(lib)
            return hits, unnamed_groups(lib, hits)

        def done(found: tuple[list[SearchHit], dict[int, PersonInfo]]) -> None:
            hits, people = found
            if token == self._token:
                w.similar.set_hits(hits, people)
                w.search_finished.emit(len(hits))

        def failed(message: str) -> None:
            if token == self._token:
                w.similar.count_label.setText(message)
                w.show_error(message)
                w.search_finished.emit(-1)

        w.editor.submit("search", job, done, failed)

    def refresh(self) -> None:
        """After an edit: the query face's person and name again (the title never shows a stale
        "Unnamed"), and the hits again, so their people are up to date."""
        w = self.window
        if not w.similar_dock.isVisible():
            return
        face_id = w.similar.query_face_id
        if face_id is not None and w.reader is not None:
            try:
                face = w.reader.face(face_id)
            except Exception:
                face = None
            if face is None or face.not_face:  # gone, or the user said it is not a face
                w.similar.clear()
                return
            w.similar.set_person_available(face.person_id is not None)
            w.similar.set_title(self._title(face))
            self._search_query_face(face)
        elif self._last is not None:  # a search with a photo from outside the library
            self._search(self._last)
