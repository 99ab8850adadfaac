"""Region geometry: EXIF orientation against PIL's own ``exif_transpose``, and face matching."""

from __future__ import annotations

import pytest
from PIL import Image, ImageOps

from faceorganizer.core import regions as geo


def _pil_upright(stored: tuple[int, int], box: tuple[int, int, int, int], orientation: int):
    """Where PIL puts a stored pixel box once it turns the image upright."""
    mask = Image.new("L", stored, 0)
    mask.paste(255, box)
    mask.getexif()[0x0112] = orientation
    found = ImageOps.exif_transpose(mask).getbbox()
    assert found is not None
    return tuple(float(v) for v in found)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_maps_agree_with_pil(orientation: int) -> None:
    stored = (320, 240)
    box = (20, 30, 90, 200)
    upright_size = (240, 320) if orientation >= 5 else (320, 240)
    mapped = geo.stored_to_upright(geo.to_normalised(box, *stored), orientation)
    got = geo.to_pixels(mapped, *upright_size)
    want = _pil_upright(stored, box, orientation)
    assert all(abs(a - b) < 1e-6 for a, b in zip(got, want, strict=True)), (got, want)
    back = geo.upright_to_stored(mapped, orientation)
    assert all(
        abs(a - b) < 1e-9 for a, b in zip(back, geo.to_normalised(box, *stored), strict=True)
    )
    assert geo.stored_size(*upright_size, orientation) == stored


def test_garbage_orientations_count_as_upright() -> None:
    assert [geo.valid_orientation(v) for v in (None, "x", 0, 9, "6", 3.0)] == [1, 1, 1, 1, 6, 3]


def test_match_pairs_each_region_with_its_best_face() -> None:
    faces = [(100, 100, 200, 220), (400, 90, 490, 200)]
    regions = [(380, 60, 510, 230), (80, 70, 230, 260), (700, 700, 760, 760)]
    assert geo.match(regions, faces) == {0: 1, 1: 0}


def test_a_region_drawn_around_the_head_still_matches_its_face() -> None:
    face = (100.0, 100.0, 160.0, 170.0)
    head = (70.0, 50.0, 200.0, 230.0)  # IoU 0.18, each centre inside the other
    assert geo.iou(head, face) < geo.SAME_FACE_IOU
    assert geo.match([head], [face]) == {0: 0}
    assert geo.match([(0.0, 0.0, 40.0, 40.0)], [face]) == {}
