"""People as a list model: one row per person (named first, by name; then unnamed groups in the
order they were made), rows exposed page by page.

The model reads from the GUI's read-only Library (one cheap query for the list) and never
writes: renames and merges are emitted as requests (``rename_requested``,
``merge_requested``, ``faces_dropped``) that the window sends to the editing worker.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from faceorganizer.services.types import PersonInfo
from faceorganizer.ui.thumbnails import ThumbnailCache

PERSON_MIME = "application/x-faceorganizer-persons"
FACE_MIME = "application/x-faceorganizer-faces"

PersonIdRole = Qt.ItemDataRole.UserRole + 1
FaceCountRole = Qt.ItemDataRole.UserRole + 2
CoverFaceRole = Qt.ItemDataRole.UserRole + 3
NamedRole = Qt.ItemDataRole.UserRole + 4
HiddenRole = Qt.ItemDataRole.UserRole + 5
PersonRole = Qt.ItemDataRole.UserRole + 6
PhotoCountRole = Qt.ItemDataRole.UserRole + 7

UNNAMED = "Unnamed"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_Index = QModelIndex | QPersistentModelIndex


def display_name(person: PersonInfo) -> str:
    return person.name or UNNAMED


def _month(value: str) -> tuple[int, int] | None:
    try:
        year, month = (int(v) for v in value.split("-")[:2])
    except ValueError:
        return None
    return (year, month) if 1 <= month <= 12 else None


def date_span(first: str | None, last: str | None) -> str:
    """ "May 2009", "May–Jul 2009" or "2009–2014" from two "YYYY-MM" months ("" if unknown)."""
    a, b = _month(first or ""), _month(last or "")
    if a is None or b is None:
        return ""
    if a == b:
        return f"{MONTHS[a[1] - 1]} {a[0]}"
    if a[0] == b[0]:
        return f"{MONTHS[a[1] - 1]}–{MONTHS[b[1] - 1]} {a[0]}"
    return f"{a[0]}–{b[0]}"


def long_name(person: PersonInfo) -> str:
    """The name; an unnamed group with its faces and dates: "Unnamed (12 faces, 2009–2014)"."""
    if person.name:
        return person.name
    n = person.face_count
    span = date_span(person.first_month, person.last_month)
    return f"{UNNAMED} ({n} face{'s' * (n != 1)}{', ' + span if span else ''})"


def told_apart(person: PersonInfo) -> str:
    """The name where groups sit side by side (the similar-faces panel, Review): an unnamed
    group with the span of its photos' dates, as its card in the people grid shows it
    ("Unnamed · 2009–2014")."""
    span = "" if person.name else date_span(person.first_month, person.last_month)
    return f"{display_name(person)} · {span}" if span else display_name(person)


def caption(person: PersonInfo) -> str:
    """A card's caption: the name; for an unnamed group, the span of its photos' dates (which
    tells one unnamed group from another), or "Unnamed" when there is none."""
    if person.name:
        return person.name
    return date_span(person.first_month, person.last_month) or UNNAMED


def encode_ids(ids: Sequence[int]) -> QByteArray:
    return QByteArray(json.dumps([int(i) for i in ids]).encode())


def decode_ids(data: QByteArray | bytes) -> list[int]:
    try:
        raw = bytes(data.data()) if isinstance(data, QByteArray) else bytes(data)
        return [int(i) for i in json.loads(raw.decode() or "[]")]
    except (ValueError, TypeError):
        return []


class PeopleModel(QAbstractListModel):
    """Person cards: cover thumbnail, name (an unnamed group: its dates), face count."""

    rename_requested = Signal(int, str)  # person id, new name
    merge_requested = Signal(int, list)  # target person id, other person ids
    faces_dropped = Signal(list, int)  # face ids, target person id

    PAGE = 400

    def __init__(self, thumbnails: ThumbnailCache | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._library: Any = None
        self._all: list[PersonInfo] = []
        self._shown = 0
        self._row_of: dict[int, int] = {}
        self._cover_row: dict[int, int] = {}
        self._thumbs = thumbnails
        self.include_hidden = False
        self.name_filter: str | None = None
        if thumbnails is not None:
            thumbnails.thumbnail_ready.connect(self._on_thumbnail)

    def set_library(self, library: Any, load: bool = True) -> None:
        """Read from ``library``; with ``load=False`` the caller delivers rows (``set_people``)."""
        self._library = library
        if load:
            self.refresh(reset=True)
        else:
            self.set_people([], reset=True)

    def set_query(self, name_filter: str | None, include_hidden: bool) -> bool:
        """Change what is listed without reading; True if it changed (the caller reloads)."""
        name_filter = (name_filter or "").strip() or None
        changed = (name_filter, include_hidden) != (self.name_filter, self.include_hidden)
        self.name_filter, self.include_hidden = name_filter, include_hidden
        return changed

    def set_filter(self, text: str | None) -> None:
        text = (text or "").strip() or None
        if text != self.name_filter:
            self.name_filter = text
            self.refresh(reset=True)

    def set_include_hidden(self, include: bool) -> None:
        if include != self.include_hidden:
            self.include_hidden = include
            self.refresh(reset=True)

    def _query(self) -> list[PersonInfo]:
        if self._library is None:
            return []
        return list(
            self._library.people(include_hidden=self.include_hidden, name_filter=self.name_filter)
        )

    def refresh(self, reset: bool = False) -> None:
        """Re-read the people from the library on this thread."""
        self.set_people(self._query(), reset)

    def set_people(self, people: list[PersonInfo], reset: bool = False) -> bool:
        """Show ``people`` (read elsewhere, e.g. on a worker); an unchanged order updates the
        cells in place and keeps the selection. Returns True when the rows were reset."""
        same_order = (
            not reset
            and len(people) >= self._shown
            and [p.person_id for p in people[: self._shown]]
            == [p.person_id for p in self._all[: self._shown]]
        )
        if same_order:
            old_shown = self._shown
            self._all = people
            self._index_rows()
            if old_shown:
                self.dataChanged.emit(self.index(0), self.index(old_shown - 1))
            if old_shown < self.PAGE and len(people) > old_shown:
                self._grow(min(len(people), self.PAGE) - old_shown)
            return False
        self.beginResetModel()
        self._all = people
        self._index_rows()
        self._shown = min(len(people), max(self.PAGE, self._shown if not reset else 0))
        self.endResetModel()
        return True

    def _index_rows(self) -> None:
        self._row_of = {p.person_id: i for i, p in enumerate(self._all)}
        self._cover_row = {
            p.cover_face_id: i for i, p in enumerate(self._all) if p.cover_face_id is not None
        }

    def _grow(self, n: int) -> None:
        if n <= 0:
            return
        self.beginInsertRows(QModelIndex(), self._shown, self._shown + n - 1)
        self._shown += n
        self.endInsertRows()

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._shown < len(self._all)

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if not parent.isValid():
            self._grow(min(self.PAGE, len(self._all) - self._shown))

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._shown

    def total(self) -> int:
        return len(self._all)

    def person_at(self, row: int) -> PersonInfo | None:
        return self._all[row] if 0 <= row < self._shown else None

    def row_of(self, person_id: int) -> int:
        """Row of a person, exposing more rows if needed; -1 when not listed."""
        row = self._row_of.get(person_id, -1)
        if row >= self._shown:
            self._grow(row + 1 - self._shown)
        return row

    def people(self) -> list[PersonInfo]:
        return list(self._all)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self._shown:
            return None
        p = self._all[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return caption(p)
        if role == Qt.ItemDataRole.EditRole:
            return p.name or ""
        if role == Qt.ItemDataRole.ToolTipRole:
            faces = f"{p.face_count} face{'s' if p.face_count != 1 else ''}"
            photos = f"{p.photo_count} photo{'s' if p.photo_count != 1 else ''}"
            span = date_span(p.first_month, p.last_month) if not p.name else ""
            when = f", {span}" if span else ""
            tip = f"{display_name(p)} — {faces} in {photos}{when}"
            return tip + (" (hidden)" if p.hidden else "") + ("" if p.name else " · F2 to name")
        if role == Qt.ItemDataRole.DecorationRole:
            if self._thumbs is None or p.cover_face_id is None:
                return None
            return self._thumbs.get(p.cover_face_id)
        if role == PersonIdRole:
            return p.person_id
        if role == FaceCountRole:
            return p.face_count
        if role == PhotoCountRole:
            return p.photo_count
        if role == CoverFaceRole:
            return p.cover_face_id
        if role == NamedRole:
            return p.name is not None
        if role == HiddenRole:
            return p.hidden
        if role == PersonRole:
            return p
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        p = self._all[index.row()]
        name = str(value or "").strip()
        if not name or name == (p.name or ""):
            return False
        self.rename_requested.emit(p.person_id, name)
        return True

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if not index.isValid():
            return base
        return (
            base
            | Qt.ItemFlag.ItemIsEditable
            | Qt.ItemFlag.ItemIsDragEnabled
            | Qt.ItemFlag.ItemIsDropEnabled
        )

    def roleNames(self) -> dict[int, QByteArray]:
        names = dict(super().roleNames())
        names[PersonIdRole] = QByteArray(b"personId")
        names[FaceCountRole] = QByteArray(b"faceCount")
        return names

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [PERSON_MIME, FACE_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        ids = sorted({int(self.data(i, PersonIdRole)) for i in indexes if i.isValid()})
        mime.setData(PERSON_MIME, encode_ids(ids))
        return mime

    def canDropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: _Index
    ) -> bool:
        if not parent.isValid():
            return False
        return data.hasFormat(PERSON_MIME) or data.hasFormat(FACE_MIME)

    def dropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: _Index
    ) -> bool:
        """A person dropped onto a person merges them; faces dropped move there."""
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        target = int(self.data(parent, PersonIdRole))
        if data.hasFormat(PERSON_MIME):
            others = [i for i in decode_ids(data.data(PERSON_MIME)) if i != target]
            if others:
                self.merge_requested.emit(target, others)
        elif data.hasFormat(FACE_MIME):
            faces = decode_ids(data.data(FACE_MIME))
            if faces:
                self.faces_dropped.emit(faces, target)
        return False  # the merge happens through the worker; a refresh follows

    def _on_thumbnail(self, face_id: int) -> None:
        row = self._cover_row.get(face_id, -1)
        if 0 <= row < self._shown:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])
