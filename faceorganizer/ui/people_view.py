"""The people grid: person cards you can open, rename in place, multi-select and drag to merge.

A drag scrolls the grid when it nears the top or bottom edge and follows the mouse wheel, so a
card can be dropped on one that was off screen when the drag began. Qt's drag loop (X11,
Wayland) swallows wheel events, so while a drag is over the grid an application event filter
(installed after the loop's own, hence asked first) takes them.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from faceorganizer.ui.people_model import FaceCountRole, HiddenRole, NamedRole, PersonIdRole

THUMB = 120
CARD = QSize(148, 186)
DRAG_EDGE = 56  # px at the top and bottom of the grid where a drag scrolls it
DRAG_SCROLL_MS = 30
DRAG_SCROLL_MAX = 28  # px per step at the very edge

_Index = QModelIndex | QPersistentModelIndex


def paint_thumbnail(painter: QPainter, rect: QRect, pixmap: QPixmap | None, round_: bool) -> None:
    """A face thumbnail scaled to fill ``rect`` (cropped, centred), or a grey placeholder."""
    path = QPainterPath()
    if round_:
        path.addEllipse(rect)
    else:
        path.addRoundedRect(rect, 8, 8)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    painter.setClipPath(path)
    if pixmap is None or pixmap.isNull():
        painter.fillRect(rect, QColor(200, 200, 205))
    else:
        scaled = pixmap.scaled(
            rect.size(),
            Qt.AspectRatioMode.KeepAspectRatioByExpanding,
            Qt.TransformationMode.SmoothTransformation,
        )
        x = rect.x() + (rect.width() - scaled.width()) // 2
        y = rect.y() + (rect.height() - scaled.height()) // 2
        painter.drawPixmap(x, y, scaled)
    painter.restore()


class PersonCardDelegate(QStyledItemDelegate):
    """Round cover face, name (grey "Unnamed" when none), face count."""

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        return CARD

    @staticmethod
    def thumb_rect(cell: QRect) -> QRect:
        return QRect(cell.x() + (cell.width() - THUMB) // 2, cell.y() + 8, THUMB, THUMB)

    @staticmethod
    def name_rect(cell: QRect) -> QRect:
        return QRect(cell.x() + 4, cell.y() + THUMB + 14, cell.width() - 8, 22)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        cell = option.rect  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        pal: QPalette = option.palette  # type: ignore[attr-defined]
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if state & QStyle.StateFlag.State_Selected:
            color = QColor(pal.color(QPalette.ColorRole.Highlight))
            color.setAlpha(70)
            painter.setPen(QColor(pal.color(QPalette.ColorRole.Highlight)))
            painter.setBrush(color)
            painter.drawRoundedRect(cell.adjusted(2, 2, -2, -2), 10, 10)
        elif state & QStyle.StateFlag.State_MouseOver:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(128, 128, 128, 35))
            painter.drawRoundedRect(cell.adjusted(2, 2, -2, -2), 10, 10)
        hidden = bool(index.data(HiddenRole))
        if hidden:
            painter.setOpacity(0.45)
        paint_thumbnail(
            painter, self.thumb_rect(cell), index.data(Qt.ItemDataRole.DecorationRole), True
        )
        named = bool(index.data(NamedRole))
        font = QFont(option.font)  # type: ignore[attr-defined]
        font.setBold(named)
        font.setItalic(not named)
        painter.setFont(font)
        text_color = pal.color(QPalette.ColorRole.Text)
        painter.setPen(text_color if named else QColor(128, 128, 128))
        name_rect = self.name_rect(cell)
        name = painter.fontMetrics().elidedText(
            str(index.data(Qt.ItemDataRole.DisplayRole) or ""),
            Qt.TextElideMode.ElideRight,
            name_rect.width(),
        )
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignCenter, name)
        count = int(index.data(FaceCountRole) or 0)
        small = QFont(option.font)  # type: ignore[attr-defined]
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.9))
        painter.setFont(small)
        painter.setPen(QColor(120, 120, 120))
        count_rect = QRect(name_rect.x(), name_rect.bottom() + 1, name_rect.width(), 18)
        label = f"{count} face{'s' if count != 1 else ''}" + (" · hidden" if hidden else "")
        painter.drawText(count_rect, Qt.AlignmentFlag.AlignCenter, label)
        painter.restore()

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: _Index) -> QWidget:
        editor = QLineEdit(parent)
        editor.setPlaceholderText("Name")
        editor.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return editor

    def setEditorData(self, editor: QWidget, index: _Index) -> None:
        assert isinstance(editor, QLineEdit)
        if editor.property("filled"):
            return  # the card repainted (a thumbnail came): keep what the user is typing
        editor.setProperty("filled", True)
        editor.setText(str(index.data(Qt.ItemDataRole.EditRole) or ""))
        editor.selectAll()

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: _Index) -> None:
        assert isinstance(editor, QLineEdit)
        model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(
        self, editor: QWidget, option: QStyleOptionViewItem, index: _Index
    ) -> None:
        editor.setGeometry(self.name_rect(option.rect))  # type: ignore[attr-defined]


class PeopleView(QListView):
    """Grid of person cards. Enter or double-click the face opens; F2 or double-click the name
    renames; drag one or more cards onto another to merge them into it."""

    person_activated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setGridSize(QSize(CARD.width() + 6, CARD.height() + 6))
        self.setSpacing(0)
        self.setWordWrap(True)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.viewport().setAcceptDrops(True)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragDropOverwriteMode(True)
        self.setDropIndicatorShown(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setItemDelegate(PersonCardDelegate(self))
        self.setAccessibleName("People")
        self._scroll_speed = 0
        self._drag_timer = QTimer(self)
        self._drag_timer.setInterval(DRAG_SCROLL_MS)
        self._drag_timer.timeout.connect(self._drag_scroll)
        self._wheel_filter = False
        self.activated.connect(self._on_activated)

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.person_activated.emit(int(index.data(PersonIdRole)))

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if index.isValid() and event.button() == Qt.MouseButton.LeftButton:
            cell = self.visualRect(index)
            if PersonCardDelegate.name_rect(cell).contains(event.position().toPoint()):
                self.setCurrentIndex(index)
                self.edit(index)
                return
            self.person_activated.emit(int(index.data(PersonIdRole)))
            return
        super().mouseDoubleClickEvent(event)

    def selected_person_ids(self) -> list[int]:
        rows = sorted(self.selectionModel().selectedIndexes(), key=lambda i: i.row())
        return [int(i.data(PersonIdRole)) for i in rows]

    # scrolling while a drag is over the grid

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        super().dragEnterEvent(event)
        app = QApplication.instance()
        if app is not None and not self._wheel_filter:
            app.installEventFilter(self)
            self._wheel_filter = True

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        super().dragMoveEvent(event)
        y = event.position().y()
        height = self.viewport().height()
        edge = min(DRAG_EDGE, height // 4)
        if y < edge:
            self._scroll_speed = -self._speed(edge - y, edge)
        elif y > height - edge:
            self._scroll_speed = self._speed(y - (height - edge), edge)
        else:
            self._scroll_speed = 0
        if self._scroll_speed and not self._drag_timer.isActive():
            self._drag_timer.start()

    @staticmethod
    def _speed(depth: float, edge: int) -> int:
        return max(2, round(DRAG_SCROLL_MAX * min(1.0, depth / max(1, edge))))

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._end_drag()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._end_drag()
        super().dropEvent(event)

    def _end_drag(self) -> None:
        self._scroll_speed = 0
        self._drag_timer.stop()
        app = QApplication.instance()
        if app is not None and self._wheel_filter:
            app.removeEventFilter(self)
            self._wheel_filter = False

    def _drag_scroll(self) -> None:
        bar = self.verticalScrollBar()
        if not self._scroll_speed or not self.isVisible():
            self._drag_timer.stop()
            return
        bar.setValue(bar.value() + self._scroll_speed)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """During a drag over the grid: the wheel scrolls it (the drag loop would eat it)."""
        if self._wheel_filter and event.type() == QEvent.Type.Wheel:
            assert isinstance(event, QWheelEvent)
            where = self.viewport().mapFromGlobal(event.globalPosition().toPoint())
            if self.viewport().rect().contains(where):
                self._wheel_scroll(event)
                return True
        return super().eventFilter(watched, event)

    def _wheel_scroll(self, event: QWheelEvent) -> None:
        bar = self.verticalScrollBar()
        pixels = event.pixelDelta().y()
        if not pixels:
            notches = event.angleDelta().y() / 120
            pixels = round(notches * QApplication.wheelScrollLines() * bar.singleStep())
        bar.setValue(bar.value() - pixels)

    def current_person_id(self) -> int | None:
        index = self.currentIndex()
        return int(index.data(PersonIdRole)) if index.isValid() else None
