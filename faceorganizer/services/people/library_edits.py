"""The ``Library``'s edits part: every user edit, undo and redo, the history, and regrouping
(which places faces as one undoable entry). After each change the photos' XMP sidecars follow
(``on_change``, when the library writes sidecars).

Runs on the Library's thread; each edit is one transaction and one edit-log entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from sqlite_utils import Database

from faceorganizer.services.people import clustering, edits
from faceorganizer.services.types import ClusterChanges, EditInfo, XmpWriteSummary
from faceorganizer.storage import sidecars

if TYPE_CHECKING:
    import torch


class Sidecars(Protocol):
    """What edits need of the Library's XMP part (``services.xmp.library_xmp.Xmp``)."""

    def sidecars_on(self) -> bool: ...
    def write_sidecars(self, photo_ids: Iterable[int]) -> XmpWriteSummary: ...
    def sync_edit(self, info: EditInfo | None) -> None: ...


class Edits:
    """Edits of people and faces, each undoable, with their sidecars kept up to date."""

    def __init__(
        self,
        db: Database,
        xmp: Sidecars,
        device: Callable[[], torch.device],
        check: Callable[[], None],
    ) -> None:
        self.db = db
        self._xmp = xmp
        self._device = device
        self._check = check

    def run(self, fn: Callable[..., EditInfo], *args: Any) -> EditInfo:
        """``fn(db, *args)``, an edit of ``services.people.edits`` (or of the review queue)."""
        info = fn(self.db, *args)
        self._xmp.sync_edit(info)
        return info

    def name_person(self, person: int | str, name: str | None) -> EditInfo:
        return self.run(edits.name_person, person, name)

    def merge_people(self, target: int | str, others: Sequence[int | str]) -> EditInfo:
        return self.run(edits.merge_people, target, others)

    def move_faces(
        self, face_ids: Sequence[int], to: int | str | None, new_name: str | None
    ) -> EditInfo:
        return self.run(edits.move_faces, face_ids, to, new_name)

    def reject_faces(self, face_ids: Sequence[int], from_person: int | str) -> EditInfo:
        return self.run(edits.reject_faces, face_ids, from_person)

    def confirm_faces(self, face_ids: Sequence[int]) -> EditInfo:
        return self.run(edits.confirm_faces, face_ids)

    def hide_person(self, person: int | str, hidden: bool) -> EditInfo:
        return self.run(edits.hide_person, person, hidden)

    def hide_faces(self, face_ids: Sequence[int], hidden: bool) -> EditInfo:
        return self.run(edits.hide_faces, face_ids, hidden)

    def set_cover(self, person: int | str, face_id: int) -> EditInfo:
        return self.run(edits.set_cover, person, face_id)

    def mark_not_face(self, face_ids: Sequence[int], not_face: bool) -> EditInfo:
        return self.run(edits.mark_not_face, face_ids, not_face)

    def undo(self) -> EditInfo | None:
        info = edits.undo(self.db)
        self._xmp.sync_edit(info)
        return info

    def redo(self) -> EditInfo | None:
        info = edits.redo(self.db)
        self._xmp.sync_edit(info)
        return info

    def history(self, limit: int | None) -> list[EditInfo]:
        return edits.history(self.db, limit)

    def next_undo(self) -> EditInfo | None:
        return edits.next_undo(self.db)

    def next_redo(self) -> EditInfo | None:
        return edits.next_redo(self.db)

    def cluster(
        self, dry_run: bool, source: str, run_id: str | None, checked: bool = False
    ) -> ClusterChanges:
        """Place new and unassigned faces into people (``services.people.clustering``) as one
        history entry named by ``source``; the sidecars of the photos whose faces moved follow.
        The file is checked for damage first, unless ``dry_run`` or ``checked`` already."""
        if not (dry_run or checked):
            self._check()
        changes = clustering.apply_clustering(
            self.db, dry_run, device=self._device(), source=source, run_id=run_id
        )
        if not dry_run and self._xmp.sidecars_on():
            moved = [f for ids in (*changes.joined.values(), *changes.left.values()) for f in ids]
            self._xmp.write_sidecars(sidecars.photos_of_faces(self.db, moved))
        return changes
