"""The review queue ("Is this the same person?"): questions whose answers turn a library into a
right one in few clicks (``queue``), and their answers, each one undoable edit (``answers``).
``scoring`` is the queue's seam to person-level evidence and its calibration."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlite_utils import Database

from faceorganizer.services.review import answers
from faceorganizer.services.review.answers import StaleSuggestionError
from faceorganizer.services.types import Suggestion

if TYPE_CHECKING:
    import torch

__all__ = ["StaleSuggestionError", "accept", "pending", "reject"]

accept = answers.accept
reject = answers.reject


def pending(
    db: Database, device: torch.device | None = None, skipped: Iterable[str] = ()
) -> list[Suggestion]:
    """The questions to ask now, best first, leaving out the ``skipped`` ones."""
    from faceorganizer.core.models.registry import calibration_for
    from faceorganizer.services.review import data as review_data
    from faceorganizer.services.review import queue, scoring
    from faceorganizer.storage import settings

    model_id = str(settings.get(db, "model_id"))
    data = review_data.load(db)
    found = queue.build(
        data, calibration_for(model_id), scoring.review_calibration(model_id), device
    )
    return queue.without(found, skipped)
