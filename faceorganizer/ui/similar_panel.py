"""Similar faces: ranked hits grouped by person, a threshold slider with a live count, and a
bulk "assign to person" of everything above it; "like the whole person" when the clicked face
has one.

The search itself runs on the editing worker (a matrix product over the whole library); the
panel gets the nearest faces from 0 % once and filters them locally as the slider moves.
Hits are picked as files are in a file manager (a click selects, Ctrl and Shift add, arrows
move) so that any of them can be assigned; "Find similar" searches again with the one picked,
and a double-click opens its photo, as in every face grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from faceorganizer import config
from faceorganizer.core.quality import POOR_CEILING
from faceorganizer.services.types import PersonInfo, SearchHit
from faceorganizer.ui.faces_view import FaceDelegate, FacesView
from faceorganizer.ui.similar_model import SimilarModel
from faceorganizer.ui.thumbnails import ThumbnailCache


class SimilarPanel(QWidget):
    """The query face, the slider and its live count, the grouped hits, and bulk assign."""

    assign_requested = Signal(list)  # face ids
    search_requested = Signal(int)  # face id: search again with this hit
    face_opened = Signal(int)
    whole_person_toggled = Signal(bool)  # search with the query face's whole person, or not

    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("similarPanel")
        self._thumbs = thumbnails
        self.query_face_id: int | None = None
        self.model = SimilarModel(thumbnails, self)

        self.query_image = QLabel()
        self.query_image.setFixedSize(72, 72)
        self.query_image.setScaledContents(True)
        self.title = QLabel("Click a face to see similar faces")
        self.title.setWordWrap(True)
        self.title.setObjectName("similarTitle")
        head = QHBoxLayout()
        head.addWidget(self.query_image)
        head.addWidget(self.title, 1)
        self.whole_person = QCheckBox("Like the whole person")
        self.whole_person.setToolTip(
            "Find faces like all the faces of this person together, not just this one"
        )
        self.whole_person.setVisible(False)
        self._person_available = False
        self.warning = QLabel()
        self.warning.setObjectName("similarWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #a06000;")
        self.warning.setVisible(False)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setPageStep(5)
        self.slider.setValue(round(config.default("threshold_percent")))
        self.slider.setAccessibleName("Similarity threshold")
        self.slider.setToolTip("Show faces at least this similar")
        self.threshold_label = QLabel()
        self.threshold_label.setMinimumWidth(56)
        self.count_label = QLabel()
        self.count_label.setObjectName("similarCount")
        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel("Similarity ≥"))
        slider_row.addWidget(self.slider, 1)
        slider_row.addWidget(self.threshold_label)

        self.select_button = QPushButton("Select all")
        self.select_button.setToolTip("Select every face above the threshold")
        self.search_button = QPushButton("Find similar")
        self.search_button.setToolTip("Search again with the selected face")
        self.assign_button = QPushButton("Assign to person…")
        self.assign_button.setToolTip("Put the selected faces into one person")
        counts = QHBoxLayout()
        counts.addWidget(self.count_label, 1)
        counts.addWidget(self.select_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.search_button)
        buttons.addWidget(self.assign_button)
        buttons.addStretch(1)

        self.view = FacesView(self, captions=True, clicks_search=False)
        self.view.setModel(self.model)
        self.view.setAccessibleName("Similar faces")
        self.view.setToolTip(
            "Click to select, Ctrl or Shift and click to select more · double-click opens the photo"
        )

        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.warning)
        layout.addWidget(self.whole_person)
        layout.addLayout(slider_row)
        layout.addLayout(counts)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)

        thumbnails.thumbnail_ready.connect(self._on_thumbnail)
        self.slider.valueChanged.connect(self._on_slider)
        self.select_button.clicked.connect(self.select_all_above)
        self.assign_button.clicked.connect(self._on_assign)
        self.search_button.clicked.connect(self._on_search)
        self.view.face_opened.connect(self.face_opened)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.whole_person.toggled.connect(self.whole_person_toggled)
        self._on_slider(self.slider.value())

    def threshold(self) -> float:
        return float(self.slider.value())

    def set_same_person_at(self, percent: float) -> None:
        """The library's "same person at" setting: the slider's default and where the
        percentages turn from grey to colour."""
        delegate = self.view.itemDelegate()
        if isinstance(delegate, FaceDelegate):
            delegate.same_person_at = float(percent)
        self.slider.setValue(round(percent))
        self.view.viewport().update()

    def show_query(
        self,
        face_id: int | None,
        title: str,
        pixmap: QPixmap | None = None,
        has_person: bool = False,
    ) -> None:
        """Announce a new search (results follow in ``set_hits``); ``has_person``: the query
        face has a person, so the panel offers to search with all of it."""
        self.query_face_id = face_id
        self.set_title(title)
        self.query_image.setPixmap(pixmap if pixmap is not None else QPixmap())
        self.query_image.setVisible(pixmap is not None)
        self.set_person_available(has_person)
        self.count_label.setText("Searching…")

    def set_title(self, title: str) -> None:
        self.title.setText(title)

    def set_poor_query(self, reason: str | None) -> None:
        """Say that the query face is too poor to compare reliably (``reason``: why), or
        nothing (None)."""
        if reason is None:
            self.warning.setVisible(False)
            self.warning.clear()
            return
        self.warning.setText(
            f"This face is too poor to compare reliably ({reason}): no face is shown as more "
            f"than {POOR_CEILING:.0f} % likely the same person."
        )
        self.warning.setVisible(True)

    def set_person_available(self, available: bool) -> None:
        """Offer "like the whole person" (kept as the user left it while it is offered)."""
        self._person_available = available
        self.whole_person.setVisible(available)
        if not available:
            self.whole_person.blockSignals(True)
            self.whole_person.setChecked(False)
            self.whole_person.blockSignals(False)

    def whole_person_on(self) -> bool:
        return self._person_available and self.whole_person.isChecked()

    def _on_thumbnail(self, face_id: int) -> None:
        if face_id == self.query_face_id:
            pixmap = self._thumbs.get(face_id)
            if pixmap is not None:
                self.set_query_pixmap(pixmap)

    def set_query_pixmap(self, pixmap: QPixmap) -> None:
        self.query_image.setPixmap(pixmap)
        self.query_image.setVisible(True)

    def set_hits(
        self, hits: Sequence[SearchHit], people: Mapping[int, PersonInfo] | None = None
    ) -> None:
        own = [h for h in hits if h.face.face_id != self.query_face_id]
        self.model.set_hits(own, people)
        self._update_count()

    def _on_slider(self, value: int) -> None:
        self.threshold_label.setText(f"{value} %")
        self.model.set_threshold(value)
        self._update_count()

    def _update_count(self) -> None:
        n = self.model.count_above()
        self.count_label.setText(f"{n} face{'s' * (n != 1)} ≥ {self.slider.value()} %")
        self._update_buttons()

    def _update_buttons(self) -> None:
        selected = self.view.selected_face_ids()
        self.select_button.setEnabled(self.model.count_above() > 0)
        self.assign_button.setEnabled(bool(selected))
        self.search_button.setEnabled(len(selected) == 1)

    def _on_search(self) -> None:
        selected = self.view.selected_face_ids()
        if len(selected) == 1:
            self.search_requested.emit(selected[0])

    def select_all_above(self) -> None:
        sel = QItemSelection()
        for row in range(self.model.rowCount()):
            if self.model.hit_at(row) is not None:
                idx = self.model.index(row)
                sel.select(idx, idx)
        self.view.selectionModel().select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def _on_assign(self) -> None:
        ids = self.view.selected_face_ids()
        if ids:
            self.assign_requested.emit(ids)

    def clear(self) -> None:
        self.query_face_id = None
        self.set_person_available(False)
        self.set_poor_query(None)
        self.model.set_hits([])
        self.title.setText("Click a face to see similar faces")
        self.query_image.setVisible(False)
        self._update_count()
