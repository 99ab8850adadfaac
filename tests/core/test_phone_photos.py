"""Small faces in phone-sized photos: a generated 4032x3024 photo with LFW faces 60-100 px wide
at known places (``benchmarks/phone_scenes.py``), saved as JPEG and as HEIC, goes through the
engine at its defaults; every face is found where it was pasted, in original coordinates."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceorganizer.core.pipeline import FaceEngine
from tests.helpers import benchmark_modules


@pytest.fixture(scope="module")
def phone_photo(tmp_path_factory: pytest.TempPathFactory, faces_dir: Path):
    ps = benchmark_modules.load("phone_scenes")
    out = tmp_path_factory.mktemp("phone")
    (photo,) = ps.build_photos(
        out, 1, seed=11, faces_per_photo=(5, 5), widths=[(60, 100)], faces_dir=faces_dir
    )
    assert len(photo.faces) == 5 and all(60 <= f.width <= 100 for f in photo.faces)
    return ps, photo, out / "heic" / "000.heic"


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine(device="cpu")


@pytest.mark.parametrize("kind", ["jpeg", "heic"])
def test_faces_of_60_to_100_px_are_found_in_place(phone_photo, engine: FaceEngine, kind) -> None:
    ps, photo, heic = phone_photo
    path = photo.path if kind == "jpeg" else str(heic)
    result = engine.embed_image(path)
    assert result.error is None
    assert (result.width, result.height) == ps.PHONE_SIZE
    boxes = [f.detection.box for f in result.faces]
    for face in photo.faces:
        overlaps = [ps.iou(face.box, b) for b in boxes]
        assert max(overlaps, default=0.0) >= 0.5, (face, boxes)
    assert len(boxes) <= len(photo.faces) + 1  # the blurred scene adds at most a stray box
