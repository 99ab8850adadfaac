"""The Review page: one question at a time ("Are these the same person?"), the faces it is
about large and side by side, one key per answer (Y, N, S to skip) and Undo.

The page only shows and asks; ``mainwindow/review.py`` decides what to show and answers.
Faces show their stored thumbnail at once and a sharper crop of the photo when it is decoded
(``LargeFaceLoader``, on the thread pool).

Threading contract: GUI thread only; decoding runs on a ``QThreadPool`` and comes back queued.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QRect, QRunnable, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from faceorganizer.services.types import FaceInfo
from faceorganizer.ui.elided_label import FittedLabel
from faceorganizer.ui.people_view import paint_thumbnail

TILE = 168  # px of a face on the page, at most
MIN_TILE = 56  # ... at least: the faces shrink before the page would widen the window
COLUMNS = 3  # faces per row on one side
CROP_MAX_SIDE = 1600  # the photo is decoded no larger than this for a crop


@dataclass
class Side:
    """One side of a question: a title and the faces shown under it."""

    title: str
    faces: list[FaceInfo] = field(default_factory=list)
    checkable: bool = False  # the user may untick faces that are not the person
    more: int = 0  # faces of the person not shown


@dataclass
class Question:
    """What the page shows for one review question."""

    text: str
    left: Side
    right: Side
    yes: str  # the accept button's text ("Merge", "Yes", "Remove")
    no: str  # the reject button's text ("Not the same", "No", "Keep")
    chance: float
    position: str  # "3 of 12"


class _Relay(QObject):
    """One per process, never deleted: a crop finishing after its page is gone has somewhere
    to go (each loader takes only its own crops)."""

    decoded = Signal(int, int, object)  # loader id, face id, QImage or None


_relay: _Relay | None = None


def _the_relay() -> _Relay:
    global _relay
    if _relay is None:
        _relay = _Relay()
    return _relay


class _CropFace(QRunnable):
    def __init__(self, face: FaceInfo, loader: int) -> None:
        super().__init__()
        self.face, self.loader = face, loader

    def run(self) -> None:
        from faceorganizer.core.images import load_image
        from faceorganizer.core.thumbnails import face_thumbnail

        try:
            loaded = load_image(self.face.photo_path, max_side=CROP_MAX_SIDE)
            box = tuple(v / loaded.scale for v in self.face.box)
            data = face_thumbnail(loaded.rgb, box, size=2 * TILE)  # type: ignore[arg-type]
        except Exception:  # an unreadable photo keeps its stored thumbnail
            _the_relay().decoded.emit(self.loader, self.face.face_id, None)
            return
        image = QImage.fromData(data, "JPEG")  # type: ignore[arg-type]
        _the_relay().decoded.emit(self.loader, self.face.face_id, None if image.isNull() else image)


class LargeFaceLoader(QObject):
    """Sharp face crops from the photos, decoded on the pool and kept for a few questions."""

    ready = Signal(int, QPixmap)  # face id, pixmap
    _ids = itertools.count(1)

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._id = next(self._ids)
        _the_relay().decoded.connect(self._on_decoded)
        self._cache: dict[int, QPixmap] = {}
        self._pending: set[int] = set()

    def get(self, face: FaceInfo) -> QPixmap | None:
        pixmap = self._cache.get(face.face_id)
        if pixmap is None and face.face_id not in self._pending:
            self._pending.add(face.face_id)
            self._pool.start(_CropFace(face, self._id))
        return pixmap

    def clear(self) -> None:
        self._cache.clear()

    def busy(self) -> bool:
        return bool(self._pending)

    @Slot(int, int, object)
    def _on_decoded(self, loader: int, face_id: int, image: QImage | None) -> None:
        if loader != self._id:
            return
        self._pending.discard(face_id)
        if image is None:
            return
        if len(self._cache) > 200:
            self._cache.clear()
        pixmap = QPixmap.fromImage(image)
        self._cache[face_id] = pixmap
        self.ready.emit(face_id, pixmap)


class FaceTile(QWidget):
    """A large face; a checkable one is unticked by a click (a red cross: "not this person")."""

    toggled = Signal(int, bool)  # face id, still ticked

    def __init__(self, face: FaceInfo, checkable: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.face = face
        self.checkable = checkable
        self.ticked = True
        self.pixmap: QPixmap | None = None
        self.setMinimumSize(QSize(MIN_TILE, MIN_TILE))
        self.setMaximumSize(QSize(TILE, TILE))
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setAccessibleName(f"face {face.face_id}")
        if checkable:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self.setToolTip("Click if this face is not the person")

    def sizeHint(self) -> QSize:
        return QSize(TILE, TILE)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        if pixmap is not None:
            self.pixmap = pixmap
            self.update()

    def set_ticked(self, ticked: bool) -> None:
        if self.checkable and ticked != self.ticked:
            self.ticked = ticked
            self.update()
            self.toggled.emit(self.face.face_id, ticked)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.checkable and event.button() == Qt.MouseButton.LeftButton:
            self.set_ticked(not self.ticked)
            event.accept()
            return
        super().mousePressEvent(event)

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height())
        rect = QRect((self.width() - side) // 2, (self.height() - side) // 2, side, side)
        if not self.ticked:
            painter.setOpacity(0.35)
        paint_thumbnail(painter, rect, self.pixmap, False)
        if not self.ticked:
            painter.setOpacity(1.0)
            pen = QPen(QColor(220, 50, 40))
            pen.setWidth(max(3, side // 28))
            painter.setPen(pen)
            inner = rect.adjusted(side // 4, side // 4, -side // 4, -side // 4)
            painter.drawLine(inner.topLeft(), inner.bottomRight())
            painter.drawLine(inner.topRight(), inner.bottomLeft())
        painter.end()


class _SidePanel(QFrame):
    """A title over a grid of face tiles."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = FittedLabel(bold=1.2)
        self.grid = QGridLayout()
        self.grid.setSpacing(8)
        self.more = QLabel()
        self.more.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(self.grid)
        layout.addWidget(self.more)
        layout.addStretch(1)
        self.tiles: list[FaceTile] = []

    def show_side(self, side: Side) -> list[FaceTile]:
        for tile in self.tiles:
            self.grid.removeWidget(tile)
            tile.deleteLater()
        self.title.set_full_text(side.title)
        self.tiles = []
        for i, face in enumerate(side.faces):
            tile = FaceTile(face, side.checkable)
            self.grid.addWidget(tile, i // COLUMNS, i % COLUMNS)
            self.tiles.append(tile)
        self.more.setText(f"and {side.more:,} more" if side.more else "")
        return self.tiles


class ReviewPage(QWidget):
    """The review page. Signals: ``answered("yes"|"no"|"skip")``, ``undo_requested``."""

    answered = Signal(str)
    undo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<h2>Review</h2>")
        self.title.setObjectName("reviewTitle")
        self.status = QLabel()
        self.status.setObjectName("reviewStatus")
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.status)
        self.question = QLabel()
        self.question.setObjectName("reviewQuestion")
        self.question.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.question.setWordWrap(True)
        font = QFont(self.question.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        self.question.setFont(font)
        self.left = _SidePanel()
        self.right = _SidePanel()
        sides = QHBoxLayout()
        sides.addWidget(self.left, 1)
        sides.addWidget(self.right, 1)
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.yes_button = QPushButton()
        self.no_button = QPushButton()
        self.skip_button = QPushButton("Skip (S)")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo the last answer (or any last edit)")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.yes_button, self.no_button, self.skip_button):
            b.setMinimumWidth(110)
            b.setMinimumHeight(40)
            buttons.addWidget(b)
        buttons.addSpacing(40)
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.addWidget(self.question)
        body.addLayout(sides, 1)
        body.addWidget(self.hint)
        body.addLayout(buttons)
        self.message = QLabel()
        self.message.setObjectName("reviewMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.message, 1)
        self.yes_button.clicked.connect(lambda: self.answered.emit("yes"))
        self.no_button.clicked.connect(lambda: self.answered.emit("no"))
        self.skip_button.clicked.connect(lambda: self.answered.emit("skip"))
        self.undo_button.clicked.connect(self.undo_requested)
        self.shortcuts = {}
        for key, answer in (("Y", "yes"), ("N", "no"), ("S", "skip")):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda a=answer: self._key(a))
            self.shortcuts[answer] = shortcut
        self.tiles: list[FaceTile] = []
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the keys reach the page once shown
        self.show_message("")

    def _key(self, answer: str) -> None:
        if self.body.isVisible() and self.yes_button.isEnabled():
            self.answered.emit(answer)

    def show_question(self, q: Question) -> list[FaceTile]:
        """Show ``q``; returns its face tiles (for the pixmaps the controller fills in)."""
        self.question.setText(q.text)
        self.tiles = self.left.show_side(q.left) + self.right.show_side(q.right)
        self.yes_button.setText(f"{q.yes} (Y)")
        self.no_button.setText(f"{q.no} (N)")
        checkable = q.left.checkable or q.right.checkable
        self.hint.setText(
            ("Click a face that is not the person to leave it out · " if checkable else "")
            + f"{100 * q.chance:.0f} % likely"
        )
        self.status.setText(q.position)
        self.message.hide()
        self.body.show()
        self.set_busy(False)
        return self.tiles

    def show_message(self, html: str) -> None:
        """No question to show: say why (nothing to review, still looking)."""
        self.message.setText(html)
        self.body.hide()
        self.message.show()
        self.status.setText("")
        self.tiles = []

    def set_busy(self, busy: bool) -> None:
        for b in (self.yes_button, self.no_button, self.skip_button):
            b.setEnabled(not busy)

    def excluded(self) -> list[int]:
        """Faces the user unticked."""
        return [t.face.face_id for t in self.tiles if t.checkable and not t.ticked]
