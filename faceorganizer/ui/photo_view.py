"""One photo, upright, with a box and a name on every face; click a box to search, double-click
it to open the person, or name the face right there from its menu."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QPainter,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneMouseEvent,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from faceorganizer.services.types import FaceInfo
from faceorganizer.ui.elided_label import ElidedLabel
from faceorganizer.ui.people_model import UNNAMED
from faceorganizer.ui.thumbnails import PhotoLoader


class _Tag(QGraphicsRectItem):
    """The label under a face's box; it reads as a button ("Who is this?"), so a click on it
    is one on the face (it fell through to the photo)."""

    def __init__(self, rect: QRectF, box: FaceBox) -> None:
        super().__init__(rect, box)
        self._box = box
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._box.tag_clicked()
            event.accept()
            return
        super().mousePressEvent(event)


class FaceBox(QGraphicsRectItem):
    """A face's box in photo coordinates, with its name on a label above it."""

    def __init__(self, face: FaceInfo, view: PhotoView, selected: bool) -> None:
        x1, y1, x2, y2 = face.box
        super().__init__(QRectF(x1, y1, x2 - x1, y2 - y1))
        self.face = face
        self._view = view
        named = face.person_name is not None
        color = QColor(60, 200, 90) if named else QColor(255, 190, 40)
        poor = face.person_id is None and face.poor_reason is not None
        if face.person_id is None:
            color = QColor(150, 150, 150) if poor else QColor(240, 90, 70)
        self._color, self._poor = color, poor
        self.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAcceptHoverEvents(True)
        self.setToolTip("Click: similar faces · Double-click: open person · Right-click: name")
        text = face.person_name or (UNNAMED if face.person_id is not None else "Who is this?")
        if poor:
            text = f"Too poor to recognise: {face.poor_reason}"
        label = QGraphicsSimpleTextItem(text, self)
        font = QFont()
        font.setPointSize(11)
        font.setBold(True)
        label.setFont(font)
        label.setBrush(QColor("white"))
        label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        bg = _Tag(label.boundingRect().adjusted(-4, -2, 4, 2), self)
        self._tag = bg
        bg.setToolTip("Click to name this face" if text == "Who is this?" else self.toolTip())
        bg.setPen(Qt.PenStyle.NoPen)
        bg.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        bg.setPos(QPointF(x1, y2 + 2))
        label.setParentItem(bg)
        label.setPos(0, 0)
        self.set_chosen(selected)

    def set_chosen(self, chosen: bool) -> None:
        """Blue and thicker for the face the user chose (the one searched with)."""
        color = QColor(40, 140, 255) if chosen else self._color
        pen = QPen(color)
        pen.setCosmetic(True)
        pen.setWidth(4 if chosen else 3)
        if self._poor:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)
        self._tag.setBrush(color.darker(130))

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._view.face_clicked.emit(self.face.face_id)
            event.accept()
            return
        super().mousePressEvent(event)

    def tag_clicked(self) -> None:
        """A click on the label: "Who is this?" asks for the name, any other searches."""
        if self.face.person_id is None and self.face.poor_reason is None:
            self._view.ask_name(self.face)
        else:
            self._view.face_clicked.emit(self.face.face_id)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.face.person_id is not None:
            self._view.person_opened.emit(self.face.person_id)
        else:
            self._view.ask_name(self.face)
        event.accept()

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        menu = QMenu()
        menu.addAction(
            "Find similar faces", lambda: self._view.face_clicked.emit(self.face.face_id)
        )
        if self.face.person_id is not None:
            menu.addAction(
                "Open person", lambda: self._view.person_opened.emit(self.face.person_id)
            )
        menu.addAction("Name this face…", lambda: self._view.ask_name(self.face))
        menu.exec(event.screenPos())


class _Canvas(QGraphicsView):
    def __init__(self, scene: QGraphicsScene, parent: QWidget) -> None:
        super().__init__(scene, parent)
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QColor(30, 30, 32))
        self.fit = True

    def wheelEvent(self, event: QWheelEvent) -> None:
        factor = 1.2 if event.angleDelta().y() > 0 else 1 / 1.2
        self.fit = False
        self.scale(factor, factor)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.fit and self.scene() and not self.scene().sceneRect().isEmpty():
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)


LEGEND = (
    "<span style='color:#2a2'>■</span> named &nbsp; "
    "<span style='color:#d90'>■</span> unnamed group &nbsp; "
    "<span style='color:#e54'>■</span> no person &nbsp; "
    "<span style='color:#28f'>■</span> the face you chose"
)


class PhotoView(QWidget):
    """Shows a photo (decoded off the GUI thread) and its faces as clickable boxes."""

    face_clicked = Signal(int)
    person_opened = Signal(int)
    name_requested = Signal(int)  # face id: the window asks for a name and applies it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene = QGraphicsScene(self)
        self.canvas = _Canvas(self.scene, self)
        self.caption = ElidedLabel()
        self.caption.setObjectName("photoCaption")
        self.legend = QLabel(LEGEND)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.legend.setWordWrap(True)  # two lines beside the similar-faces panel, not cut off
        self.status = ElidedLabel()
        self.status.setObjectName("photoStatus")
        head = QHBoxLayout()
        head.setContentsMargins(6, 2, 6, 2)
        head.addWidget(self.caption, 3)
        head.addWidget(self.status, 2)
        head.addWidget(self.legend, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.canvas, 1)
        self.loader = PhotoLoader(parent=self)
        self.face_clicked.connect(self.choose)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_failed)
        self._request = 0
        self._photo: Any = None
        self._faces: list[FaceInfo] = []
        self._selected: int | None = None
        self._pixmap_item: QGraphicsPixmapItem | None = None
        self.boxes: list[FaceBox] = []

    def show_photo(self, photo: Any, faces: list[FaceInfo], selected_face: int | None) -> None:
        """``photo`` is a ``PhotoInfo``; boxes are in its upright full-size coordinates."""
        self._photo, self._faces, self._selected = photo, faces, selected_face
        self.scene.clear()
        self.boxes = []
        self._pixmap_item = None
        n = len(faces)
        self.caption.set_full_text(f"{Path(photo.path).name} — {n} face{'s' * (n != 1)}")
        self.caption.setToolTip(photo.path)
        self.status.set_full_text("")
        self.scene.setSceneRect(QRectF(0, 0, max(1, photo.width), max(1, photo.height)))
        self._add_boxes()
        self.canvas.fit = True
        self.canvas.fitInView(self.scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self._request = self.loader.load(photo.path)

    def refresh_faces(self, faces: list[FaceInfo]) -> None:
        """After an edit: redraw the boxes and names, keep the picture."""
        self._faces = faces
        for box in self.boxes:
            self.scene.removeItem(box)
        self.boxes = []
        self._add_boxes()

    def _add_boxes(self) -> None:
        for face in self._faces:
            box = FaceBox(face, self, face.face_id == self._selected)
            box.setZValue(1)
            self.scene.addItem(box)
            self.boxes.append(box)

    def _on_loaded(self, request: int, image: QImage) -> None:
        if request != self._request or self._photo is None:
            return
        pix = QPixmap.fromImage(image)
        item = self.scene.addPixmap(pix)
        item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        w, h = max(1, self._photo.width), max(1, self._photo.height)
        item.setScale(w / max(1, pix.width()))
        if abs(pix.height() * item.scale() - h) > 2:  # unknown stored size: trust the pixels
            self.scene.setSceneRect(
                QRectF(0, 0, pix.width() * item.scale(), pix.height() * item.scale())
            )
        item.setZValue(0)
        self._pixmap_item = item
        if self.canvas.fit:
            self.canvas.fitInView(self.scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def _on_failed(self, request: int, reason: str) -> None:
        if request == self._request:
            self.status.set_full_text(f"cannot show the photo: {reason}")

    def has_picture(self) -> bool:
        return self._pixmap_item is not None

    def choose(self, face_id: int) -> None:
        """Mark ``face_id`` as the face the user chose; the others lose the mark."""
        self._selected = face_id
        for box in self.boxes:
            box.set_chosen(box.face.face_id == face_id)

    def ask_name(self, face: FaceInfo) -> None:
        self.name_requested.emit(face.face_id)

    def current_photo(self) -> Any:
        return self._photo
