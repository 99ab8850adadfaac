"""Which faces of a library can be judged: the quality bar, the reasons a user reads, and judging
again the faces whose quality was computed otherwise (a library made before faces had a
quality, or with an older fit) from what the library stores, without the photos.

A face under the bar (``config`` ``quality_bar``) is kept, shown under "Other faces" with its
reasons, searchable and assignable by hand, but never grouped, asked about or shown at a high
percentage automatically; what the user decided about it always stands.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from sqlite_utils import Database

from faceorganizer.storage import face_quality, settings
from faceorganizer.storage.db import transaction

log = logging.getLogger(__name__)

BATCH = 2000


def bar(db: Database) -> float:
    """The library's quality bar."""
    return float(settings.get(db, "quality_bar"))


def refresh(db: Database, model_id: str | None = None) -> int:
    """Judge again every face of the library's model whose quality is stale; returns how many.
    Each batch is its own short transaction, so a reader never waits long. About 1.2 ms of one
    CPU per face (2,805 faces in 6.2 s with loading torch): a library of 100k faces upgrading
    takes two minutes, once."""
    from faceorganizer.core.quality import quality_model
    from faceorganizer.core.quality import recipe as quality_recipe
    from faceorganizer.core.quality_signals import measure
    from faceorganizer.core.region_faces import landmarks_in_box

    model_id = model_id or str(settings.get(db, "model_id"))
    model = quality_model(model_id)
    recipe = quality_recipe(model_id)
    done = 0
    start = time.monotonic()
    while True:
        stale = face_quality.stale(db, model_id, recipe, BATCH)
        if not stale:
            break
        values = []
        for f in stale:
            marks = f.landmarks if f.landmarks is not None else landmarks_in_box(f.box)
            signals = measure(
                f.box, marks, f.score, f.width, f.height, f.thumbnail, f.embedding, model
            )
            values.append((f.id, model.quality(signals), signals.to_json(), recipe))
        with transaction(db):
            face_quality.set_quality(db, values)
        done += len(values)
    if done:
        log.info("judged %d faces again in %.1f s", done, time.monotonic() - start)
    return done


def refresh_if_stale(db: Database) -> int:
    """``refresh`` when some face of the library's model is stale (a cheap count otherwise,
    without loading torch): a library opened for writing is judged before anything reads it."""
    from faceorganizer.core.quality import recipe as quality_recipe

    model_id = str(settings.get(db, "model_id"))
    if not face_quality.count_stale(db, model_id, quality_recipe(model_id)):
        return 0
    return refresh(db, model_id)


def reason_text(model_id: str, signals_json: str | None, cut: float) -> str:
    """What a user reads for a face under the bar ``cut``: "cut by the edge, too blurred"."""
    from faceorganizer.core.quality import Signals, quality_model

    signals = Signals.from_json(signals_json)
    if signals is None:
        return "too poor to recognise"
    return ", ".join(quality_model(model_id).reasons(signals, cut)) or "too poor to recognise"


def poor_mask(quality: np.ndarray, judged: np.ndarray, cut: float) -> np.ndarray:
    """Which faces are under the bar (a face not judged yet is not)."""
    return np.asarray(judged, bool) & (np.asarray(quality, np.float64) < cut)
