"""Our engine's embeddings of shared labelled photos, computed once per test session.

Embedding ~1,150 LFW crops takes a minute or two on two cores, so the clustering, search and
verification tests share one computation (module-level cache, not a fixture, so that several
test files can use it without a conftest of their own).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceorganizer.core.calibration import labelled_face
from tests.helpers.photos import load_manifest


@dataclass(frozen=True)
class EngineFaces:
    """Every face found in a set of photos; ``label`` is "" except on each photo's labelled face."""

    embeddings: np.ndarray
    photo: np.ndarray
    label: np.ndarray
    paths: tuple[str, ...]

    def labelled(self) -> np.ndarray:
        return np.flatnonzero(self.label != "")


def _embed(paths: list[Path], person: dict[str, str]) -> EngineFaces:
    from faceorganizer.core.pipeline import FaceEngine

    engine = FaceEngine(model_id="dlib-resnet-v1", device="cpu")
    vecs, photo, label, done = [], [], [], []
    for result in engine.process(paths):
        pick = labelled_face(result) if result.error is None else None
        for k, face in enumerate(result.faces):
            vecs.append(face.embedding)
            photo.append(len(done))
            label.append(person[str(result.path)] if k == pick else "")
        done.append(str(result.path))
    return EngineFaces(
        np.asarray(vecs, np.float32), np.asarray(photo, np.int64), np.asarray(label), tuple(done)
    )


LFW_MIN_PHOTOS = 7
LFW_MAX_PHOTOS = 12


@functools.cache
def engine_faces(kind: str) -> EngineFaces:
    """All faces of the manifest's photos of one kind (``photo``, ...).

    ``lfw_sample`` is a fixed slice of ``lfw_dev`` that keeps the suite's budget: the people with
    at least 7 photos, their first 12 each (331 photos, 32 people, 1,602 same-person pairs).
    """
    if kind == "lfw_sample":
        rows = [r for r in load_manifest() if r.kind == "lfw_crop"]
        by_person: dict[str, list] = {}
        for r in sorted(rows, key=lambda r: r.relpath):
            by_person.setdefault(r.person, []).append(r)
        rows = [
            r
            for mine in by_person.values()
            if len(mine) >= LFW_MIN_PHOTOS
            for r in mine[:LFW_MAX_PHOTOS]
        ]
    else:
        rows = [r for r in load_manifest() if r.kind == kind]
    return _embed([r.path for r in rows], {str(r.path): r.person.lower() for r in rows})
