"""Similar faces: ranked hits grouped by person, a threshold slider with a live count, and a
bulk "assign to person" of everything above it.

The search itself runs on the editing worker (a matrix product over the whole library); the
panel fetches once down to a floor below the slider and filters locally as the slider moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelection,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from faceorganizer import config
from faceorganizer.services.types import SearchHit
from faceorganizer.ui.faces_model import FaceIdRole, FaceRole, HeaderRole, PercentRole, PhotoIdRole
from faceorganizer.ui.faces_view import FaceDelegate, FacesView
from faceorganizer.ui.people_model import FACE_MIME, UNNAMED, PersonIdRole, encode_ids
from faceorganizer.ui.thumbnails import ThumbnailCache

_Index = QModelIndex | QPersistentModelIndex


def group_hits(hits: Sequence[SearchHit], first_person: int | None) -> list[list[SearchHit]]:
    """Hits grouped by person: the query's own person first, then by each group's best hit;
    faces with no person last."""
    groups: dict[int | None, list[SearchHit]] = {}
    for hit in sorted(hits, key=lambda h: -h.percent):
        groups.setdefault(hit.face.person_id, []).append(hit)

    def rank(item: tuple[int | None, list[SearchHit]]) -> tuple[int, float]:
        pid, members = item
        if first_person is not None and pid == first_person:
            return (0, 0.0)
        return (2 if pid is None else 1, -members[0].percent)

    return [members for _, members in sorted(groups.items(), key=rank)]


class SimilarModel(QAbstractListModel):
    """Rows: a header per person group, then that group's hits, best first."""

    def __init__(self, thumbnails: ThumbnailCache | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._thumbs = thumbnails
        self._hits: list[SearchHit] = []
        self._rows: list[tuple[str, SearchHit | None]] = []
        self._row_of_face: dict[int, int] = {}
        self.threshold = float(config.default("threshold_percent"))
        self.first_person: int | None = None
        if thumbnails is not None:
            thumbnails.thumbnail_ready.connect(self._on_thumbnail)

    def set_hits(self, hits: Sequence[SearchHit], first_person: int | None) -> None:
        self._hits = list(hits)
        self.first_person = first_person
        self._rebuild()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = float(threshold)
        self._rebuild()

    def hits_above(self) -> list[SearchHit]:
        return [h for h in self._hits if h.percent >= self.threshold]

    def count_above(self) -> int:
        return sum(1 for h in self._hits if h.percent >= self.threshold)

    def _rebuild(self) -> None:
        self.beginResetModel()
        self._rows = []
        self._row_of_face = {}
        for members in group_hits(self.hits_above(), self.first_person):
            face = members[0].face
            who = face.person_name or (UNNAMED if face.person_id is not None else "No person")
            self._rows.append((f"{who}\n{len(members)} face{'s' * (len(members) != 1)}", None))
            for hit in members:
                self._row_of_face[hit.face.face_id] = len(self._rows)
                self._rows.append(("", hit))
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def hit_at(self, row: int) -> SearchHit | None:
        return self._rows[row][1] if 0 <= row < len(self._rows) else None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        header, hit = self._rows[index.row()]
        if hit is None:
            if role in (HeaderRole, Qt.ItemDataRole.DisplayRole):
                return header
            return None
        face = hit.face
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{hit.percent:.0f} %"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbs.get(face.face_id) if self._thumbs is not None else None
        if role == Qt.ItemDataRole.ToolTipRole:
            who = face.person_name or (UNNAMED if face.person_id is not None else "No person")
            return f"{who} — {hit.percent:.0f} % similar"
        if role == FaceIdRole:
            return face.face_id
        if role == FaceRole:
            return face
        if role == PercentRole:
            return hit.percent
        if role == PersonIdRole:
            return face.person_id
        if role == PhotoIdRole:
            return face.photo_id
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return super().flags(index)
        if self._rows[index.row()][1] is None:
            return Qt.ItemFlag.ItemIsEnabled
        return super().flags(index) | Qt.ItemFlag.ItemIsDragEnabled

    def mimeTypes(self) -> list[str]:
        return [FACE_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        ids = [i.data(FaceIdRole) for i in indexes if i.isValid()]
        mime.setData(FACE_MIME, encode_ids([int(i) for i in ids if i is not None]))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def _on_thumbnail(self, face_id: int) -> None:
        row = self._row_of_face.get(face_id, -1)
        if row >= 0:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


class SimilarPanel(QWidget):
    """The query face, the slider and its live count, the grouped hits, and bulk assign."""

    threshold_changed = Signal(float)
    refetch_requested = Signal(float)  # the slider went below what was fetched
    assign_requested = Signal(list)  # face ids
    face_opened = Signal(int)

    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("similarPanel")
        self._thumbs = thumbnails
        self.fetched_floor = 0.0
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
        self.assign_button = QPushButton("Assign to person…")
        self.assign_button.setToolTip("Put the selected faces into one person")
        buttons = QHBoxLayout()
        buttons.addWidget(self.count_label, 1)
        buttons.addWidget(self.select_button)
        buttons.addWidget(self.assign_button)

        self.view = FacesView(self, captions=True)
        self.view.setModel(self.model)
        self.view.setAccessibleName("Similar faces")

        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(slider_row)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)

        thumbnails.thumbnail_ready.connect(self._on_thumbnail)
        self.slider.valueChanged.connect(self._on_slider)
        self.select_button.clicked.connect(self.select_all_above)
        self.assign_button.clicked.connect(self._on_assign)
        self.view.face_opened.connect(self.face_opened)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
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

    def show_query(self, face_id: int | None, title: str, pixmap: QPixmap | None = None) -> None:
        """Announce a new search (results follow in ``set_hits``)."""
        self.query_face_id = face_id
        self.title.setText(title)
        self.query_image.setPixmap(pixmap if pixmap is not None else QPixmap())
        self.query_image.setVisible(pixmap is not None)
        self.count_label.setText("Searching…")

    def _on_thumbnail(self, face_id: int) -> None:
        if face_id == self.query_face_id:
            pixmap = self._thumbs.get(face_id)
            if pixmap is not None:
                self.set_query_pixmap(pixmap)

    def set_query_pixmap(self, pixmap: QPixmap) -> None:
        self.query_image.setPixmap(pixmap)
        self.query_image.setVisible(True)

    def set_hits(self, hits: Sequence[SearchHit], first_person: int | None, floor: float) -> None:
        self.fetched_floor = floor
        own = [h for h in hits if h.face.face_id != self.query_face_id]
        self.model.set_hits(own, first_person)
        self._update_count()

    def _on_slider(self, value: int) -> None:
        self.threshold_label.setText(f"{value} %")
        self.model.set_threshold(value)
        self._update_count()
        self.threshold_changed.emit(float(value))
        if value < self.fetched_floor and self.query_face_id is not None:
            self.refetch_requested.emit(float(value))

    def _update_count(self) -> None:
        n = self.model.count_above()
        self.count_label.setText(f"{n} face{'s' * (n != 1)} ≥ {self.slider.value()} %")
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.select_button.setEnabled(self.model.count_above() > 0)
        self.assign_button.setEnabled(bool(self.view.selected_face_ids()))

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
        self.model.set_hits([], None)
        self.title.setText("Click a face to see similar faces")
        self.query_image.setVisible(False)
        self._update_count()
