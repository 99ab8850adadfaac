"""The library as the review queue sees it, read in one go (``load``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database

from faceorganizer.services import quality
from faceorganizer.storage import faces, not_same, persons, settings


@dataclass
class ReviewData:
    """The library as the queue sees it: visible faces of one model as parallel arrays, and
    what the user decided."""

    face_ids: np.ndarray  # int64 (n,)
    embeddings: np.ndarray  # float32 (n, dims), unit rows
    photo_ids: np.ndarray  # int64 (n,)
    person_ids: np.ndarray  # int64 (n,), -1 where unassigned
    pinned: np.ndarray  # bool (n,)
    scores: np.ndarray  # float (n,): detection score
    poor: np.ndarray  # bool (n,): under the quality bar (``services.quality``): never asked about
    rejections: set[tuple[int, int]]  # (face id, person id)
    not_same_persons: set[tuple[int, int]]
    not_same_faces: set[tuple[int, int]]
    names: dict[int, str | None]  # every person
    hidden: set[int]  # hidden persons: never asked about


def load(db: Database) -> ReviewData:
    """The library's state, in one read."""
    model_id = str(settings.get(db, "model_id"))
    found = faces.for_clustering(db, model_id)
    rows = persons.all_rows(db)
    return ReviewData(
        face_ids=found.face_ids,
        embeddings=found.embeddings,
        photo_ids=found.photo_ids,
        person_ids=found.person_ids,
        pinned=found.pinned,
        scores=found.scores,
        poor=quality.poor_mask(found.quality, found.judged, quality.bar(db)),
        rejections=faces.all_rejections(db),
        not_same_persons=not_same.all_persons(db),
        not_same_faces=not_same.all_faces(db),
        names={r.id: r.name for r in rows},
        hidden={r.id for r in rows if r.hidden},
    )
