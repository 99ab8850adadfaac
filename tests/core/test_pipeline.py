"""The engine end to end on real photos with the real default model."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceorganizer.core.images import load_image
from faceorganizer.core.pipeline import FaceEngine
from faceorganizer.core.regions import iou
from faceorganizer.core.thumbnails import THUMBNAIL_SIZE
from faceorganizer.core.types import PhotoFaces

GROUPS = [
    "photos/face_recognition_examples/_group/two_people.jpg",
    "photos/face_recognition_examples/_group/obama_and_biden.jpg",
    "photos/face_recognition_examples/_group/kit_with_rose.jpg",
]
REFERENCE_PEOPLE = ("obama", "biden", "kit_harington", "rose_leslie")
ROTATED = "robustness/exif_orientation/obama/obama2_orient6.jpg"
UPRIGHT = "photos/face_recognition_examples/obama/obama2.jpg"


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine("dlib-resnet-v1", device="cpu")


@pytest.fixture(scope="module")
def results(engine: FaceEngine, faces_dir: Path, tmp_path_factory) -> list[PhotoFaces]:
    bad = tmp_path_factory.mktemp("bad") / "notes.jpg"
    bad.write_text("not a photo")
    refs = [
        p
        for person in REFERENCE_PEOPLE
        for p in sorted((faces_dir / "photos/face_recognition_examples" / person).glob("*"))[:2]
    ]
    paths = [faces_dir / g for g in GROUPS] + [bad, faces_dir / "gone.jpg"] + refs
    paths += [faces_dir / ROTATED, faces_dir / UPRIGHT]
    return list(engine.process(paths))


def by_path(results: list[PhotoFaces], faces_dir: Path, rel: str) -> PhotoFaces:
    return next(r for r in results if r.path == str(faces_dir / rel))


def test_one_result_per_path_with_errors_not_exceptions(results, faces_dir: Path) -> None:
    assert len(results) == len({r.path for r in results}) == 3 + 2 + 8 + 2
    errors = {Path(r.path).name: r.error for r in results if r.error}
    assert errors == {"notes.jpg": "not an image", "gone.jpg": "file not found"}


def test_faces_carry_unit_embeddings_thumbnails_quality_and_timings(results) -> None:
    faces = [f for r in results for f in r.faces]
    assert len(faces) >= 3 * 2 + 8
    for r in results:
        if r.error:
            continue
        assert {"decode", "detect", "align", "embed"} <= set(r.timings)
        for f in r.faces:
            assert f.embedding.shape == (128,) and f.embedding.dtype == np.float32
            assert abs(float(np.linalg.norm(f.embedding)) - 1.0) < 1e-4
            assert f.model_id == "dlib-resnet-v1"
            assert 0.0 < f.quality <= 1.0
            x0, y0, x1, y1 = f.detection.box
            assert 0 <= x0 < x1 <= r.width and 0 <= y0 < y1 <= r.height
            thumb = Image.open(io.BytesIO(f.thumbnail))
            assert thumb.format == "JPEG" and thumb.size == (THUMBNAIL_SIZE, THUMBNAIL_SIZE)


def test_group_photos_name_the_right_face_left_to_right(results, faces_dir: Path) -> None:
    """Each labelled person's best-matching face in a group photo, ordered by x, follows
    ``groups.csv``; reference embeddings come from their single-person photos."""
    refs: dict[str, np.ndarray] = {}
    for r in results:
        person = Path(r.path).parent.name
        if person in REFERENCE_PEOPLE and r.faces:
            best = max(r.faces, key=lambda f: f.detection.size)
            refs.setdefault(person, np.zeros(128, np.float32))
            refs[person] = refs[person] + best.embedding
    with open(faces_dir / "groups.csv", newline="") as f:
        order = {
            row["relpath"]: row["people_left_to_right"].split(";") for row in csv.DictReader(f)
        }
    for rel in GROUPS:
        photo = by_path(results, faces_dir, rel)
        people = [p for p in order[rel] if p in refs]
        assert len(people) == 2
        emb = np.stack([f.embedding for f in photo.faces])
        picks = []
        for person in people:
            sims = emb @ (refs[person] / np.linalg.norm(refs[person]))
            k = int(np.argmax(sims))
            assert sims[k] > 0.85, (rel, person, sims)
            picks.append(k)
        xs = [photo.faces[k].detection.box[0] for k in picks]
        assert len(set(picks)) == 2 and xs == sorted(xs), rel


def test_boxes_are_in_full_resolution_coordinates(engine: FaceEngine, results, faces_dir) -> None:
    """The engine decodes big photos small; its boxes still match detection at full size."""
    rel = "photos/face_recognition_examples/_group/obama_and_biden.jpg"  # 2000x1428
    photo = by_path(results, faces_dir, rel)
    full = load_image(faces_dir / rel)
    assert (photo.width, photo.height) == (full.width, full.height) == (2000, 1428)
    reference = engine.detector.detect([full.rgb])[0]
    assert len(photo.faces) == len(reference)
    for face in photo.faces:
        assert max(iou(face.detection.box, ref.box) for ref in reference) > 0.7


def test_exif_rotated_photo_gives_the_same_face(results, faces_dir: Path) -> None:
    rotated = by_path(results, faces_dir, ROTATED)
    upright = by_path(results, faces_dir, UPRIGHT)
    assert (rotated.width, rotated.height) == (upright.width, upright.height)
    assert len(rotated.faces) == len(upright.faces) >= 1
    a, b = rotated.faces[0], upright.faces[0]
    assert iou(a.detection.box, b.detection.box) > 0.8
    assert float(a.embedding @ b.embedding) > 0.95


def test_batching_across_photos_does_not_change_embeddings(
    engine: FaceEngine, results, faces_dir: Path
) -> None:
    single = FaceEngine(embedder=engine.embedder, detector=engine.detector, batch_size=1)
    photo = single.embed_image(faces_dir / GROUPS[0])
    batched = by_path(results, faces_dir, GROUPS[0])
    assert len(photo.faces) == len(batched.faces)
    for a, b in zip(photo.faces, batched.faces, strict=True):
        assert np.allclose(a.embedding, b.embedding, atol=1e-4)


def test_cancel_stops_between_photos(engine: FaceEngine, faces_dir: Path) -> None:
    paths = sorted((faces_dir / "lfw_dev/Aaron_Peirsol").glob("*"))[:3]
    cancel = threading.Event()
    seen = []
    for result in engine.process(paths, cancel=cancel):
        seen.append(result)
        cancel.set()
    assert 1 <= len(seen) < len(paths)


def test_photo_workers_give_what_one_thread_gives(engine: FaceEngine, faces_dir: Path) -> None:
    """Photos spread over CPU workers (one torch thread each) come back in order with the
    faces and embeddings that one thread running every model call finds."""
    paths = [faces_dir / g for g in GROUPS] + [faces_dir / "gone.jpg", faces_dir / ROTATED]
    one = FaceEngine(embedder=engine.embedder, detector=engine.detector, workers=1)
    three = FaceEngine(embedder=engine.embedder, detector=engine.detector, workers=3)
    serial, parallel = list(one.process(paths)), list(three.process(paths))
    assert [r.path for r in parallel] == [str(p) for p in paths]
    assert parallel[3].error == serial[3].error == "file not found"
    assert sum(len(r.faces) for r in parallel) >= 5
    for a, b in zip(serial, parallel, strict=True):
        assert len(a.faces) == len(b.faces)
        for fa, fb in zip(a.faces, b.faces, strict=True):
            assert np.allclose(fa.detection.box, fb.detection.box, atol=1e-3)
            assert np.allclose(fa.embedding, fb.embedding, atol=1e-4)


def test_workers_wait_while_another_caller_holds_the_models(
    engine: FaceEngine, faces_dir: Path
) -> None:
    """The engine's workers run the models only under its lock: a search by photo holding it
    keeps a scan's photos waiting, and they come once it is released."""
    workers = FaceEngine(embedder=engine.embedder, detector=engine.detector, workers=2)
    paths = [faces_dir / g for g in GROUPS[:2]]
    out: list[PhotoFaces] = []
    scan = threading.Thread(target=lambda: out.extend(workers.process(paths)))
    with workers._models_lock:
        scan.start()
        scan.join(timeout=3.0)
        assert scan.is_alive() and not out
    scan.join(timeout=120)
    assert [r.path for r in out] == [str(p) for p in paths]
    assert all(len(r.faces) >= 2 for r in out)
