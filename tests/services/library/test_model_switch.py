"""A library scanned with dlib switches to the SFace-based default: every photo is embedded
again (with progress) by the new model, and every named person and every decision the user made
is still there, face for face."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceorganizer.config import DEFAULT_MODEL_ID
from faceorganizer.core.models.registry import FUSION_ID, MODELS
from faceorganizer.core.pipeline import FaceEngine
from faceorganizer.services.library import Library
from faceorganizer.services.types import ScanProgress
from faceorganizer.storage import not_same
from faceorganizer.storage.db import transaction
from tests.helpers.library_support import make_photo_folder

OLD = "dlib-resnet-v1"
NEW = DEFAULT_MODEL_ID if DEFAULT_MODEL_ID != OLD else FUSION_ID

Key = tuple[str, tuple[int, int, int, int]]


def key(lib: Library, face_id: int) -> Key:
    f = lib.face(face_id)
    return f.photo_path, tuple(round(v) for v in f.box)  # type: ignore[return-value]


def decisions(lib: Library) -> dict[str, object]:
    """Everything the user decided, by photo and box (face ids change when a photo is read
    again), and every named person with its faces."""
    everything = lib.faces(include_hidden=True)
    by_id = {f.face_id: key(lib, f.face_id) for f in everything}
    db = lib.db
    rejections = db.execute("SELECT face_id, person_id FROM rejections").fetchall()
    return {
        "named": {
            p.name: sorted(by_id[f.face_id] for f in lib.faces(p.person_id, include_hidden=True))
            for p in lib.people(include_hidden=True)
            if p.name
        },
        "state": {
            by_id[f.face_id]: (f.person_name, f.assigned_by, f.hidden, f.not_face)
            for f in everything
            if f.assigned_by == "user" or f.hidden or f.not_face
        },
        "rejections": sorted((by_id[f], lib.person(p).name) for f, p in rejections),
        "not_same_faces": sorted(
            tuple(sorted((by_id[a], by_id[b]))) for a, b in not_same.all_faces(db)
        ),
        "not_same_persons": sorted(
            tuple(sorted((lib.person(a).name, lib.person(b).name)))  # type: ignore[type-var]
            for a, b in not_same.all_persons(db)
        ),
        "covers": sorted(
            (p.name, by_id[p.cover_face_id])
            for p in lib.people(include_hidden=True)
            if p.name and p.cover_face_id
        ),
    }


@pytest.mark.slow
def test_a_dlib_library_switches_model_keeping_people_and_decisions(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    make_photo_folder(folder)
    with Library.open(tmp_path / "library.sqlite3") as lib:
        lib.set_setting("model_id", OLD)
        lib.scan([folder], engine=FaceEngine(model_id=OLD, device="cpu"))
        people = [p for p in lib.people() if p.face_count >= 2]
        alpha, beta, gamma = people[0], people[1], people[2]
        lib.name_person(alpha.person_id, "Alpha")
        lib.name_person(beta.person_id, "Beta")
        lib.name_person(gamma.person_id, "Gamma")
        alpha_faces = lib.faces(alpha.person_id)
        beta_faces = lib.faces(beta.person_id)
        lib.confirm_faces([alpha_faces[0].face_id])
        lib.set_cover(alpha.person_id, alpha_faces[-1].face_id)
        lib.reject_faces([beta_faces[-1].face_id], beta.person_id)
        lib.hide_faces([beta_faces[0].face_id])
        loose = lib.faces(unassigned=True)
        lib.move_faces([loose[0].face_id], gamma.person_id)
        lib.mark_not_face([loose[1].face_id])
        with transaction(lib.db):
            not_same.add_persons(lib.db, [(alpha.person_id, gamma.person_id)])
            not_same.add_faces(lib.db, [(loose[2].face_id, loose[3].face_id)])
        before = decisions(lib)
        photos = lib.counts()["photos"]
        ok_photos = photos - len(lib.photo_errors())

        lib.set_setting("model_id", NEW)
        seen: list[ScanProgress] = []
        summary = lib.scan(progress=seen.append)
        assert summary.changed == ok_photos and summary.new == 0 and summary.removed == 0
        assert summary.decisions_dropped == []
        scanning = [p for p in seen if p.phase == "scanning"]
        assert scanning and scanning[-1].done == scanning[-1].total == ok_photos
        models = lib.db.execute("SELECT DISTINCT model_id, length(embedding) FROM faces").fetchall()
        assert models == [(NEW, 4 * MODELS[NEW].dims)]
        after = decisions(lib)
        for part in before:
            assert after[part] == before[part], part
        assert before["named"]["Alpha"] and before["rejections"] and before["not_same_faces"]
        # regrouping with the new model keeps every named person as it is
        lib.cluster()
        assert decisions(lib)["named"] == before["named"]
