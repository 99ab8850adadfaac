"""Detection figures at the engine's chosen settings, on the shared photos.

All single-person photos, group photos, no-face images and EXIF-rotated copies, plus a fixed
sample of the LFW crops (the whole LFW set is measured by ``benchmarks/detection_recall.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceorganizer.core import detection as det
from faceorganizer.core.images import load_image
from faceorganizer.core.regions import iou
from tests.helpers import benchmark_modules

LFW_SAMPLE = 60


@pytest.fixture(scope="module")
def detector() -> det.Detector:
    return det.Detector("cpu")


@pytest.fixture(scope="module")
def report(detector: det.Detector, faces_dir: Path):
    dr = benchmark_modules.load("detection_recall")
    rows = dr.sample_rows(dr.read_manifest(faces_dir), LFW_SAMPLE)
    return dr.evaluate(detector, rows, dr.read_groups(faces_dir), detector.detect_side, faces_dir)


def test_labelled_face_found_in_single_person_photos(report) -> None:
    fig = report.figures["photo"]
    assert fig.total == 199
    assert fig.rate >= 0.99, fig.misses


def test_labelled_face_found_in_lfw_crops(report) -> None:
    fig = report.figures["lfw_crop"]
    assert fig.total == LFW_SAMPLE
    assert fig.rate >= 0.99, fig.misses


def test_every_named_person_in_group_photos_has_a_face(report) -> None:
    fig = report.figures["group"]
    assert fig.total == 6
    assert fig.hits == fig.total, fig.misses


def test_no_face_on_images_without_faces(report) -> None:
    fig = report.figures["no_face"]
    assert fig.total == 9
    assert fig.hits == fig.total, fig.misses


def test_exif_rotated_faces_are_where_the_upright_original_has_them(report) -> None:
    fig = report.figures["exif_rotated"]
    assert fig.total == 13
    assert fig.hits == fig.total, fig.misses


def test_coordinates_are_those_of_the_given_array(detector: det.Detector, faces_dir: Path) -> None:
    """A large photo given at full size is shrunk for detection, but boxes come back in its
    own pixels: they match detection on a half-size copy scaled by two."""
    full = load_image(faces_dir / "photos/deepface_testset/_group/couple.jpg")
    assert max(full.rgb.shape) > (detector.detect_side or 0)
    half = load_image(full.path, max_side=max(full.rgb.shape) // 2)
    big, small = detector.detect([full.rgb, half.rgb])
    assert len(big) >= 2 and len(big) == len(small)
    for a, b in zip(
        sorted(big, key=lambda d: d.box[0]), sorted(small, key=lambda d: d.box[0]), strict=True
    ):
        scaled = np.array(b.box) * full.rgb.shape[1] / half.rgb.shape[1]
        assert np.allclose(a.box, scaled, atol=0.08 * a.size)
        assert a.landmarks.shape == (5, 2) and a.landmarks.dtype == np.float32
        x0, y0, x1, y1 = a.box
        assert np.all((a.landmarks[:, 0] > x0) & (a.landmarks[:, 0] < x1))
        assert np.all((a.landmarks[:, 1] > y0) & (a.landmarks[:, 1] < y1))
        assert a.landmarks[0, 0] < a.landmarks[1, 0]  # image-left eye first


def test_padded_batches_match_one_at_a_time(detector: det.Detector, faces_dir: Path) -> None:
    """The GPU path (zero-padded batches of mixed sizes) gives the CPU path's faces (padding
    changes each pyramid level's size a little, so boxes move by a few pixels)."""
    names = [
        "photos/face_recognition_examples/_group/two_people.jpg",
        "photos/facenet_pytorch/_group/multiface.jpg",
        "robustness/no_face/synthetic_noise.jpg",
    ]
    images = [load_image(faces_dir / n, max_side=600).rgb for n in names]
    batched = det.Detector("cpu", batch_size=4, pad_to=256)
    assert batched._padded_shape(images[0].shape) == batched._padded_shape(images[1].shape)
    one = detector.detect(images)
    many = batched.detect(images)
    assert [len(f) for f in one] == [len(f) for f in many] and len(one[0]) == 2
    for a_faces, b_faces in zip(one, many, strict=True):
        left_first = (sorted(f, key=lambda d: d.box[0]) for f in (a_faces, b_faces))
        for a, b in zip(*left_first, strict=True):
            assert iou(a.box, b.box) >= 0.75, (a.box, b.box)


def test_no_image_gives_no_result(detector: det.Detector) -> None:
    assert detector.detect([]) == []
    with pytest.raises(ValueError):
        detector.detect([np.zeros((10, 10), np.uint8)])


def test_a_face_cut_by_the_border_keeps_its_landmarks_and_faces_inside_do_not_move(
    faces_dir: Path,
) -> None:
    """The detector's margin (``core.detection.DEFAULT_EDGE``) against none: a face whose
    forehead the photo's top edge cuts is found where the whole photo has it, and faces wholly
    inside a photo are found as they were."""
    bare, edged = det.Detector("cpu", edge=0), det.Detector("cpu")
    whole = load_image(faces_dir / "photos/face_recognition_examples/obama/obama2.jpg").rgb
    (ref,) = edged.detect([whole])[0]
    eye = float(np.linalg.norm(ref.landmarks[1] - ref.landmarks[0]))
    top = int(ref.box[1] + 0.25 * (ref.box[3] - ref.box[1]))
    cut = np.ascontiguousarray(whole[top:])
    shift = np.array([0, top], np.float32)

    def error(found: list) -> float:
        near = [float(np.abs(d.landmarks + shift - ref.landmarks).mean()) for d in found]
        return min(near, default=np.inf) / eye

    assert error(edged.detect([cut])[0]) < 0.1
    assert error(bare.detect([cut])[0]) > 0.2  # lost, or its landmarks moved
    group = load_image(faces_dir / "photos/facenet_pytorch/_group/multiface.jpg").rgb
    before, after = bare.detect([group])[0], edged.detect([group])[0]
    assert len(after) >= len(before) >= 5
    for d in before:
        (same,) = [a for a in after if np.abs(np.subtract(a.box, d.box)).max() < 0.01]
        assert np.abs(same.landmarks - d.landmarks).max() < 0.01
