"""The review-queue methods of ``Library`` (``services.library``), kept in their own module:
the questions to ask now, and answering one (``services.review``).

A mixin: it relies on the ``Library`` attributes declared below and runs on the Library's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from faceorganizer.services.types import EditInfo, Suggestion
from faceorganizer.storage.db import known_errors

if TYPE_CHECKING:
    from pathlib import Path

    import torch


class ReviewMethods:
    path: Path
    db: Database

    def torch_device(self) -> torch.device:
        raise NotImplementedError

    def _edit(self, fn: Callable[..., EditInfo], *args: Any) -> EditInfo:
        raise NotImplementedError

    def review_queue(
        self, limit: int | None = None, skipped: Iterable[str] = ()
    ) -> list[Suggestion]:
        """The review questions to ask now, best first (``skipped`` ids left out)."""
        from faceorganizer.services import review

        with known_errors(self.path):
            found = review.pending(self.db, self.torch_device(), skipped)
        return found[:limit] if limit is not None else found

    def review_accept(self, suggestion_id: str, excluded: Sequence[int] = ()) -> EditInfo:
        """Do what the question proposes (``excluded`` faces: "not this person"); one edit."""
        from faceorganizer.services import review

        return self._edit(review.accept, suggestion_id, excluded)

    def review_reject(self, suggestion_id: str) -> EditInfo:
        """Record the opposite of what the question proposes, for good; one edit."""
        from faceorganizer.services import review

        return self._edit(review.reject, suggestion_id)
