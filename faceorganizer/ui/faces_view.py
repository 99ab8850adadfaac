"""A grid of face thumbnails: select many, drag them onto a person, click one to search."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from faceorganizer import config
from faceorganizer.core.thumbnails import thumbnail_origin
from faceorganizer.ui.elided_label import fit_header
from faceorganizer.ui.faces_model import FaceIdRole, FaceRole, HeaderRole, PercentRole, ReasonRole
from faceorganizer.ui.people_view import paint_thumbnail

FACE_THUMB = 96
FACE_CELL = QSize(108, 108)
CAPTION_CELL = QSize(108, 134)

_Index = QModelIndex | QPersistentModelIndex


class FaceDelegate(QStyledItemDelegate):
    """A square thumbnail; with ``captions``, the similarity % and the person's name under it;
    with ``reasons``, why the face is too poor to recognise ("cut by the edge").

    Rows carrying ``HeaderRole`` (a person's group in search results) paint as a label card.
    """

    def __init__(self, parent: QWidget | None = None, captions: bool = False) -> None:
        super().__init__(parent)
        self.captions = captions
        self.reasons = False
        # Percentages at or above the library's "same person at" setting are drawn strong.
        self.same_person_at = float(config.default("threshold_percent"))

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        return CAPTION_CELL if self.captions or self.reasons else FACE_CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        cell: QRect = option.rect  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        pal: QPalette = option.palette  # type: ignore[attr-defined]
        header = index.data(HeaderRole)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if header:
            self._paint_header(painter, option, cell, str(header))
            painter.restore()
            return
        thumb = QRect(
            cell.x() + (cell.width() - FACE_THUMB) // 2, cell.y() + 6, FACE_THUMB, FACE_THUMB
        )
        face = index.data(FaceRole)
        if face is not None and getattr(face, "hidden", False):
            painter.setOpacity(0.45)
        paint_thumbnail(painter, thumb, index.data(Qt.ItemDataRole.DecorationRole), False)
        painter.setOpacity(1.0)
        if state & QStyle.StateFlag.State_Selected:
            pen = painter.pen()
            pen.setColor(pal.color(QPalette.ColorRole.Highlight))
            pen.setWidth(4)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(thumb.adjusted(-2, -2, 2, 2), 9, 9)
        confirmed = face is not None and getattr(face, "assigned_by", None) == "user"
        if confirmed and getattr(face, "person_id", None) is not None and not self.captions:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(40, 160, 80))
            painter.drawEllipse(thumb.right() - 16, thumb.bottom() - 16, 12, 12)
        if self.reasons and not self.captions:
            self._paint_place(painter, thumb, face)
            self._paint_reason(painter, option, cell, thumb, str(index.data(ReasonRole) or ""))
        if self.captions:
            percent = index.data(PercentRole)
            text_rect = QRect(cell.x() + 2, thumb.bottom() + 3, cell.width() - 4, 22)
            font = QFont(option.font)  # type: ignore[attr-defined]
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(_percent_color(float(percent or 0), self.same_person_at))
            painter.drawText(
                text_rect, Qt.AlignmentFlag.AlignCenter, f"{float(percent or 0):.0f} %"
            )
        painter.restore()

    def _paint_place(self, painter: QPainter, thumb: QRect, face: object) -> None:
        """The face's own box on its thumbnail: a face cut by the photo's border sits off-centre
        in it, beside a neighbour's whole face that would otherwise look like the one meant."""
        where = face_place(face, thumb)
        if where is None:
            return
        pen = painter.pen()
        pen.setColor(PLACE_COLOR)
        pen.setWidth(2)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(where)

    def _paint_reason(
        self, painter: QPainter, option: QStyleOptionViewItem, cell: QRect, thumb: QRect, text: str
    ) -> None:
        small = QFont(option.font)  # type: ignore[attr-defined]
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        painter.setFont(small)
        painter.setPen(QColor(150, 110, 30))
        box = QRect(cell.x() + 2, thumb.bottom() + 2, cell.width() - 4, 24)
        elided = painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, box.width())
        painter.drawText(box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, elided)

    def _paint_header(
        self, painter: QPainter, option: QStyleOptionViewItem, cell: QRect, text: str
    ) -> None:
        box = cell.adjusted(4, 6, -4, -6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(128, 128, 128, 40))
        painter.drawRoundedRect(box, 8, 8)
        font = QFont(option.font)  # type: ignore[attr-defined]
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))  # type: ignore[attr-defined]
        room = box.adjusted(6, 6, -6, -6)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        painter.drawText(room, flags, fit_header(painter.fontMetrics(), room, int(flags), text))


PLACE_COLOR = QColor(240, 170, 30)


def face_place(face: object, thumb: QRect) -> QRect | None:
    """Where ``face`` (a ``FaceInfo``) lies in its thumbnail painted in ``thumb``, clipped to
    it; None when the photo's size is not known."""
    width, height = getattr(face, "photo_size", (0, 0))
    box = getattr(face, "box", None)
    if box is None or width <= 0 or height <= 0:
        return None
    left, top, side = thumbnail_origin(box, width, height)
    scale = thumb.width() / side
    x0, y0, x1, y1 = ((v - o) * scale for v, o in zip(box, (left, top, left, top), strict=True))
    place = QRect(round(thumb.x() + x0), round(thumb.y() + y0), round(x1 - x0), round(y1 - y0))
    return place.intersected(thumb.adjusted(1, 1, -1, -1))


def _percent_color(percent: float, same_person_at: float) -> QColor:
    """Green well above the "same person" threshold, amber just above it, grey below."""
    if percent >= same_person_at + (100.0 - same_person_at) / 2:
        return QColor(30, 140, 60)
    if percent >= same_person_at:
        return QColor(150, 120, 0)
    return QColor(150, 150, 150)


class FacesView(QListView):
    """Face thumbnails in a grid; ``face_clicked`` on click or keyboard move, ``face_opened``
    on double-click or Enter (the window shows the photo).

    ``clicks_search=False``: clicks and the keyboard only select, as in a file manager (the
    similar faces, where the user picks results by hand); ``face_clicked`` is never emitted.
    """

    face_clicked = Signal(int)
    face_opened = Signal(int)

    def __init__(
        self, parent: QWidget | None = None, captions: bool = False, clicks_search: bool = True
    ) -> None:
        super().__init__(parent)
        self.clicks_search = clicks_search
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        cell = CAPTION_CELL if captions else FACE_CELL
        self.setGridSize(QSize(cell.width() + 4, cell.height() + 4))
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setItemDelegate(FaceDelegate(self, captions=captions))
        self._quiet = False
        self.clicked.connect(self._on_clicked)
        self.activated.connect(self._on_activated)

    def show_reasons(self, on: bool) -> None:
        """Write under each face why it is too poor to recognise (the "Other faces")."""
        delegate = self.itemDelegate()
        if not isinstance(delegate, FaceDelegate) or delegate.reasons == on:
            return
        delegate.reasons = on
        cell = CAPTION_CELL if delegate.captions or on else FACE_CELL
        self.setGridSize(QSize(cell.width() + 4, cell.height() + 4))
        self.doItemsLayout()

    def setModel(self, model) -> None:  # type: ignore[no-untyped-def,override]
        super().setModel(model)
        self.selectionModel().currentChanged.connect(self._on_current)

    def set_current_quietly(self, index: QModelIndex) -> None:
        """Move the cursor without announcing a face (opening a page is not a search)."""
        self._quiet = True
        try:
            self.setCurrentIndex(index)
        finally:
            self._quiet = False

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._quiet or QApplication.mouseButtons() != Qt.MouseButton.NoButton:
            return  # set by the program, or a click (``clicked`` reports it)
        face_id = current.data(FaceIdRole) if current.isValid() else None
        if face_id is not None and self._searches():
            self.face_clicked.emit(int(face_id))

    def _on_clicked(self, index: QModelIndex) -> None:
        face_id = index.data(FaceIdRole)
        if face_id is not None and self._searches():
            self.face_clicked.emit(int(face_id))

    def _searches(self) -> bool:
        """A plain click or arrow searches; with Ctrl or Shift it only adds to the selection."""
        extend = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        return self.clicks_search and not QApplication.keyboardModifiers() & extend

    def _on_activated(self, index: QModelIndex) -> None:
        face_id = index.data(FaceIdRole)
        if face_id is not None:
            self.face_opened.emit(int(face_id))

    def selected_face_ids(self) -> list[int]:
        rows = sorted(self.selectionModel().selectedIndexes(), key=lambda i: i.row())
        ids = (i.data(FaceIdRole) for i in rows)
        return [int(i) for i in ids if i is not None]
