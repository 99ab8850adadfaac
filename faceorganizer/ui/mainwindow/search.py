"""Similar faces: search for faces like a face in the library or like one in a photo from
outside it, and show the hits in the similar-faces panel (a dock).

Threading contract: searches run on the window's ``editor`` thread; a newer search makes the
results of an older one void (a token), so the panel only ever shows the latest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from faceorganizer.services.types import SearchHit
from faceorganizer.ui.engine_worker import user_message
from faceorganizer.ui.people_model import UNNAMED

if TYPE_CHECKING:
    from faceorganizer.services.library import Library
    from faceorganizer.ui.mainwindow.window import MainWindow

# The panel keeps the nearest faces whatever their percentage: calibrated percentages are steep
# (near 0 or 100), and lowering the slider must still reveal the near misses.
SEARCH_LIMIT = 3000
SEARCH_FLOOR = 0.0
PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.webp *.heic *.heif *.tif *.tiff *.bmp *.gif)"

SearchRun = Callable[["Library", float], list[SearchHit]]  # (library, floor) → hits


class Search(QObject):
    """Runs the searches the panel shows; the panel's own widgets do the rest."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._token = 0
        self._last: SearchRun | None = None
        self._first_person: int | None = None
        window.faces_view.face_clicked.connect(self.show_similar)
        window.similar.view.face_clicked.connect(self.show_similar)
        window.photo_view.face_clicked.connect(self.show_similar)
        window.similar.refetch_requested.connect(self.search_again)

    def show_similar(self, face_id: int) -> None:
        """Search for faces like ``face_id``; the panel shows them."""
        w = self.window
        if w.reader is None or w.editor is None:
            return
        try:
            face = w.reader.face(face_id)
        except Exception as exc:
            w.show_error(user_message(exc))
            return
        who = face.person_name or (UNNAMED if face.person_id is not None else "no person yet")
        w.similar.show_query(face_id, f"<b>Faces like this one</b><br>{who}", w.thumbs.get(face_id))
        w.similar_dock.show()
        self._first_person = face.person_id
        self._search(
            lambda lib, floor: lib.search(face_id=face_id, threshold=floor, limit=SEARCH_LIMIT),
            min(SEARCH_FLOOR, w.similar.threshold()),
        )

    def choose_photo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Search with a photo", "", PHOTO_FILTER)
        if path:
            self.search_photo(path)

    def search_photo(self, path: str) -> None:
        """Search with a face (the largest) in a photo from outside the library."""
        w = self.window
        if w.editor is None:
            return
        w.similar.show_query(None, f"<b>Faces like the one in</b><br>{Path(path).name}")
        w.similar_dock.show()
        self._first_person = None
        self._search(
            lambda lib, floor: lib.search(image=path, threshold=floor, limit=SEARCH_LIMIT),
            min(SEARCH_FLOOR, w.similar.threshold()),
        )

    def _search(self, run: SearchRun, floor: float) -> None:
        w = self.window
        assert w.editor is not None
        self._token += 1
        token = self._token
        self._last = run
        first = self._first_person

        def done(hits: list[SearchHit]) -> None:
            if token == self._token:
                w.similar.set_hits(hits, first, floor)
                w.search_finished.emit(len(hits))

        def failed(message: str) -> None:
            if token == self._token:
                w.similar.count_label.setText(message)
                w.show_error(message)
                w.search_finished.emit(-1)

        w.editor.submit("search", lambda lib: run(lib, floor), done, failed)

    def search_again(self, floor: float) -> None:
        """The last search again, from a lower floor (the slider went below what was fetched)."""
        if self._last is not None:
            self._search(self._last, max(0.0, floor - 10.0))

    def refresh(self) -> None:
        """After an edit: the hits again, so their people are up to date."""
        w = self.window
        if w.similar.query_face_id is not None and w.similar_dock.isVisible():
            self.search_again(w.similar.fetched_floor + 10.0)
