"""The ``Library``'s review part: the questions to ask now, and answering one (each answer one
undoable edit, run through the Library's edits so sidecars follow).

Runs on the Library's thread; the queue's neighbour searches run on the Library's device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from sqlite_utils import Database

from faceorganizer.services import review
from faceorganizer.services.types import EditInfo, Suggestion

if TYPE_CHECKING:
    import torch


class Review:
    """The review queue ("Is this the same person?") of one library."""

    def __init__(
        self,
        db: Database,
        device: Callable[[], torch.device],
        edit: Callable[..., EditInfo],  # runs ``fn(db, *args)`` as one edit (``Edits.run``)
    ) -> None:
        self.db = db
        self._device = device
        self._edit = edit

    def queue(self, limit: int | None, skipped: Iterable[str]) -> list[Suggestion]:
        """The review questions to ask now, best first (``skipped`` ids left out)."""
        found = review.pending(self.db, self._device(), skipped)
        return found[:limit] if limit is not None else found

    def accept(self, suggestion_id: str, excluded: Sequence[int]) -> EditInfo:
        """Do what the question proposes (``excluded`` faces: "not this person"); one edit."""
        return self._edit(review.accept, suggestion_id, excluded)

    def reject(self, suggestion_id: str) -> EditInfo:
        """Record the opposite of what the question proposes, for good; one edit."""
        return self._edit(review.reject, suggestion_id)
