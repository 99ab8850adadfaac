"""The similar-faces panel's model: the hits above the threshold, grouped by person, a header
row per group. Rows are read on the GUI thread from hits a worker found."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, Qt

from faceorganizer import config
from faceorganizer.services.people.labels import faces_text
from faceorganizer.services.types import PersonInfo, SearchHit
from faceorganizer.ui.faces_model import FaceIdRole, FaceRole, HeaderRole, PercentRole, PhotoIdRole
from faceorganizer.ui.people_model import (
    FACE_MIME,
    UNNAMED,
    PersonIdRole,
    encode_ids,
    told_apart,
)
from faceorganizer.ui.thumbnails import ThumbnailCache

_Index = QModelIndex | QPersistentModelIndex


def group_hits(hits: Sequence[SearchHit]) -> list[list[SearchHit]]:
    """Hits grouped by person (faces without a person make one group), best hit first in each,
    groups ordered by their evidence: the best hit's percentage, then the number of hits. The
    query's own person and the faces of no one rank where their evidence puts them."""
    groups: dict[int | None, list[SearchHit]] = {}
    for hit in sorted(hits, key=lambda h: (-h.percent, -h.cosine, h.face.face_id)):
        groups.setdefault(hit.face.person_id, []).append(hit)
    return sorted(groups.values(), key=lambda g: (-g[0].percent, -len(g), g[0].face.face_id))


class SimilarModel(QAbstractListModel):
    """Rows: a header per person group, then that group's hits, best first."""

    def __init__(self, thumbnails: ThumbnailCache | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._thumbs = thumbnails
        self._hits: list[SearchHit] = []
        self._people: Mapping[int, PersonInfo] = {}
        self._rows: list[tuple[str, SearchHit | None]] = []
        self._row_of_face: dict[int, int] = {}
        self.threshold = float(config.default("threshold_percent"))
        if thumbnails is not None:
            thumbnails.thumbnail_ready.connect(self._on_thumbnail)

    def set_hits(
        self, hits: Sequence[SearchHit], people: Mapping[int, PersonInfo] | None = None
    ) -> None:
        """``people``: the unnamed groups among the hits, read with them (off the GUI thread),
        so that their cards tell them apart."""
        self._hits = list(hits)
        self._people = dict(people or {})
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
        for members in group_hits(self.hits_above()):
            self._rows.append((self._header(members), None))
            for hit in members:
                self._row_of_face[hit.face.face_id] = len(self._rows)
                self._rows.append(("", hit))
        self.endResetModel()

    def _header(self, members: list[SearchHit]) -> str:
        """ "Ann\n3 faces · 97 %"; an unnamed group as the people grid tells it apart:
        "Unnamed · 2009–2014\n3 of 40 faces · 97 %"."""
        face, n = members[0].face, len(members)
        person = self._people.get(face.person_id) if face.person_id is not None else None
        who = face.person_name or (UNNAMED if face.person_id is not None else "No person")
        count = faces_text(n)
        if person is not None and not face.person_name:
            who, count = told_apart(person), f"{n} of {faces_text(person.face_count)}"
        return f"{who}\n{count} · {members[0].percent:.0f} %"

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def hit_at(self, row: int) -> SearchHit | None:
        return self._rows[row][1] if 0 <= row < len(self._rows) else None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        header, hit = self._rows[index.row()]
        if hit is None:
            if role in (HeaderRole, Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
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
