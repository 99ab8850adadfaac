"""A person's faces (or those in no person, or the other faces: under the quality bar) as a list
model that loads pages on demand.

``rowCount`` is the library's count; ``data`` reads the page a row falls in the first time it
is painted, so a person with 100k faces opens as fast as one with ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from faceorganizer.services.types import FaceInfo
from faceorganizer.ui.people_model import FACE_MIME, PersonIdRole, encode_ids
from faceorganizer.ui.thumbnails import ThumbnailCache

FaceIdRole = Qt.ItemDataRole.UserRole + 20
FaceRole = Qt.ItemDataRole.UserRole + 21
PhotoIdRole = Qt.ItemDataRole.UserRole + 22
PercentRole = Qt.ItemDataRole.UserRole + 23
HeaderRole = Qt.ItemDataRole.UserRole + 24
ReasonRole = Qt.ItemDataRole.UserRole + 25

_Index = QModelIndex | QPersistentModelIndex


class FacesModel(QAbstractListModel):
    """Faces of one person (``person_id``), or unassigned faces, paged from the Library."""

    PAGE = 256

    def __init__(self, thumbnails: ThumbnailCache | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._library: Any = None
        self._thumbs = thumbnails
        self.person_id: int | None = None
        self.unassigned = False
        self.other = False  # the faces in no person under the quality bar
        self.include_hidden = False
        self._count = 0
        self._pages: dict[int, list[FaceInfo]] = {}
        self._row_of_face: dict[int, int] = {}
        if thumbnails is not None:
            thumbnails.thumbnail_ready.connect(self._on_thumbnail)

    def set_library(self, library: Any) -> None:
        self._library = library
        self.refresh()

    def show_person(self, person_id: int | None, include_hidden: bool = False) -> None:
        self.person_id, self.unassigned, self.include_hidden = person_id, False, include_hidden
        self.other = False
        self.refresh()

    def show_unassigned(self, include_hidden: bool = False) -> None:
        self.person_id, self.unassigned, self.include_hidden = None, True, include_hidden
        self.other = False
        self.refresh()

    def show_other(self, include_hidden: bool = False) -> None:
        self.person_id, self.unassigned, self.include_hidden = None, False, include_hidden
        self.other = True
        self.refresh()

    def clear(self) -> None:
        self.person_id, self.unassigned, self.other = None, False, False
        self.refresh()

    def _active(self) -> bool:
        return self._library is not None and (
            self.person_id is not None or self.unassigned or self.other
        )

    def _filters(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "person_id": self.person_id,
            "unassigned": self.unassigned,
            "include_hidden": self.include_hidden,
        }
        if self.other:
            found["other"] = True
        return found

    def refresh(self, reset: bool = True) -> None:
        """Re-count and drop the loaded pages. With ``reset=False`` a grid that only kept or
        gained rows updates in place (faces come in id order, new ones at the end), so the
        scroll position and selection survive a refresh during a scan."""
        count = int(self._library.face_count(**self._filters())) if self._active() else 0
        if reset or count < self._count:
            self.beginResetModel()
            self._count = count
            self._pages.clear()
            self._row_of_face.clear()
            self.endResetModel()
            return
        old = self._count
        self._pages.clear()
        self._row_of_face.clear()
        if old:
            self.dataChanged.emit(self.index(0), self.index(old - 1))
        if count > old:
            self.beginInsertRows(QModelIndex(), old, count - 1)
            self._count = count
            self.endInsertRows()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def _page(self, page: int) -> list[FaceInfo]:
        rows = self._pages.get(page)
        if rows is None:
            rows = list(
                self._library.faces(**self._filters(), limit=self.PAGE, offset=page * self.PAGE)
            )
            self._pages[page] = rows
            for i, f in enumerate(rows):
                self._row_of_face[f.face_id] = page * self.PAGE + i
        return rows

    def face_at(self, row: int) -> FaceInfo | None:
        if not 0 <= row < self._count:
            return None
        rows = self._page(row // self.PAGE)
        i = row % self.PAGE
        return rows[i] if i < len(rows) else None

    def row_of(self, face_id: int) -> int:
        return self._row_of_face.get(face_id, -1)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        face = self.face_at(index.row())
        if face is None:
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbs.get(face.face_id) if self._thumbs is not None else None
        if role == Qt.ItemDataRole.ToolTipRole:
            who = face.person_name or ("Unnamed" if face.person_id is not None else "No person")
            how = " (confirmed)" if face.assigned_by == "user" and face.person_id else ""
            why = f"\nToo poor to recognise: {face.poor_reason}" if face.poor_reason else ""
            return f"{who}{how}\n{Path(face.photo_path).name}{why}"
        if role == ReasonRole:
            return face.poor_reason
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"Face {face.face_id} in {Path(face.photo_path).name}"
        if role == FaceIdRole:
            return face.face_id
        if role == FaceRole:
            return face
        if role == PhotoIdRole:
            return face.photo_id
        if role == PersonIdRole:
            return face.person_id
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [FACE_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        ids = [int(self.data(i, FaceIdRole)) for i in indexes if i.isValid()]
        mime.setData(FACE_MIME, encode_ids(ids))
        return mime

    def roleNames(self) -> dict[int, QByteArray]:
        names = dict(super().roleNames())
        names[FaceIdRole] = QByteArray(b"faceId")
        return names

    def _on_thumbnail(self, face_id: int) -> None:
        row = self._row_of_face.get(face_id, -1)
        if 0 <= row < self._count:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])
