"""Which face of a re-read photo is the same face as one stored before: same place (box overlap)
and, when the file's bytes changed, alike (embeddings). Only such a face inherits the old one's
person, pin, hidden flag, rejections and cover; the others' decisions are dropped and reported
(a photo replaced by another person's photo must not hand that person the old name).

Runs inside the scan writer's transaction, on its thread.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlite_utils import Database

from faceorganizer.core.models.registry import calibration_for
from faceorganizer.core.regions import iou
from faceorganizer.core.types import EmbeddedFace
from faceorganizer.storage import faces, not_same, persons

# The same face when the boxes overlap this much and the two embeddings are this alike
# (calibrated percent: far above any two people's faces, below a photo re-encoded, resized or
# colour-corrected).
SAME_FACE_IOU = 0.5
SAME_FACE_PERCENT = 99.0


def min_cosine(model_id: str) -> float:
    """The cosine at or above which two faces of one place in a photo are the same face."""
    return calibration_for(model_id).cosine_at(SAME_FACE_PERCENT)


def lost_text(lost: list[faces.FaceRow]) -> str:
    who = sorted({o.person_name or f"person {o.person_id}" for o in lost if o.person_id})
    what = f" of {', '.join(who)}" if who else ""
    n = len(lost)
    return (
        f"the photo changed: {n} face{'s' * (n != 1)}{what} not found again as the same face; "
        "their people and marks were not carried over"
    )


def carry_over(
    db: Database,
    old: list[faces.FaceRow],
    new_ids: list[int],
    new_faces: Sequence[EmbeddedFace],
    min_cosine: float | None,
) -> list[faces.FaceRow]:
    """A re-detected photo keeps each face's person, pin, hidden flag, rejections and "not the
    same" pairs where the new face is the same face: its box overlaps (IoU) and, when the
    file's bytes changed, it looks the same (``min_cosine``; a replaced photo is another face
    at the same place). Old faces are then deleted; returns those whose decisions were
    dropped."""
    boxes = [f.detection.box for f in new_faces]
    pairs = sorted(
        ((iou(o.box, b), i, j) for i, o in enumerate(old) for j, b in enumerate(boxes)),
        reverse=True,
    )
    vectors = faces.vectors_of(db, [o.id for o in old]) if min_cosine is not None else {}
    used_old: set[int] = set()
    used_new: set[int] = set()
    old_rej = faces.rejections_of(db, [o.id for o in old])
    for overlap, i, j in pairs:
        if overlap < SAME_FACE_IOU or i in used_old or j in used_new:
            continue
        if min_cosine is not None and not _alike(vectors.get(old[i].id), new_faces[j], min_cosine):
            continue
        used_old.add(i)
        used_new.add(j)
        o, nid = old[i], new_ids[j]
        faces.set_state(db, nid, faces.FaceState(o.person_id, o.assigned_by, o.hidden, o.not_face))
        faces.add_rejections(db, [(nid, p) for f, p in old_rej if f == o.id])
        persons.repoint_cover(db, o.id, nid)
        not_same.repoint_face(db, o.id, nid)
    rejected = {f for f, _ in old_rej}
    lost = [
        o
        for i, o in enumerate(old)
        if i not in used_old
        and (o.person_id is not None or o.hidden or o.not_face or o.id in rejected)
    ]
    affected = sorted({o.person_id for o in old if o.person_id is not None})
    faces.delete(db, [o.id for o in old])
    persons.delete_empty_unnamed(db, affected)
    return lost


def _alike(old: tuple[np.ndarray, str] | None, new: EmbeddedFace, min_cosine: float) -> bool:
    if old is None:
        return False
    vector, model_id = old
    other = np.asarray(new.embedding, np.float32)
    if model_id != new.model_id or vector.shape != other.shape:
        return False  # made by another model: likeness cannot be told, so not carried
    cosine = float(vector @ other) / float(np.linalg.norm(vector) * np.linalg.norm(other) or 1.0)
    return cosine >= min_cosine
