"""Pick one face of a photo from outside the library to search with ("Search with a photo" of
a photo with several faces)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from faceorganizer.services.types import ImageFace

THUMB = QSize(112, 112)


def face_pixmap(face: ImageFace) -> QPixmap:
    pixmap = QPixmap()
    pixmap.loadFromData(face.thumbnail)
    return pixmap


class FacePicker(QDialog):
    """The faces of a photo, largest first selected; ``chosen`` after ``exec()`` is the face's
    ``index`` (for ``Library.search(image=..., face_index=...)``) or None when cancelled."""

    def __init__(self, path: str, faces: Sequence[ImageFace], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Which face?")
        self.chosen: int | None = None
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(THUMB)
        self.list.setGridSize(QSize(THUMB.width() + 16, THUMB.height() + 28))
        self.list.setMovement(QListView.Movement.Static)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        for face in faces:
            item = QListWidgetItem(QIcon(face_pixmap(face)), f"face {face.index + 1}")
            item.setData(Qt.ItemDataRole.UserRole, face.index)
            item.setToolTip(f"detection score {face.score:.2f}")
            self.list.addItem(item)
            if face.largest:
                self.list.setCurrentItem(item)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Search with this face")
        layout = QVBoxLayout(self)
        name = Path(path).name
        label = QLabel(f"{len(faces)} faces in {name}: choose the one to search with.")
        label.setWordWrap(True)
        layout.addWidget(label)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.resize(520, 360)
        self.list.itemActivated.connect(lambda _item: self.pick())
        buttons.accepted.connect(self.pick)
        buttons.rejected.connect(self.reject)

    def pick(self, index: int | None = None) -> None:
        """Choose the face ``index`` (default: the current one) and close."""
        if index is None:
            item = self.list.currentItem()
            if item is None:
                return
            index = int(item.data(Qt.ItemDataRole.UserRole))
        self.chosen = index
        self.accept()
