"""Alignment and cropping functions, checked against independent computations on real photos."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from faceorganizer.core.alignment import (
    DLIB_TEMPLATE_150,
    box_crop,
    similarity_transform,
    warp_chips,
)

PHOTO = "photos/face_recognition_examples/obama/obama.jpg"


@pytest.fixture(scope="module")
def photo(faces_dir) -> np.ndarray:
    with Image.open(faces_dir / PHOTO) as im:
        return np.asarray(im.convert("RGB"))


def _similarity(angle: float, scale: float, tx: float, ty: float) -> np.ndarray:
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, tx], [s, c, ty]])


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:, :2].T + m[:, 2]


def test_recovers_an_exact_similarity() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        angle, scale = rng.uniform(-np.pi, np.pi), rng.uniform(0.05, 5)
        m = _similarity(angle, scale, *rng.uniform(-300, 300, 2))
        src = rng.uniform(0, 500, (5, 2))
        assert np.allclose(similarity_transform(src, _apply(m, src)), m, atol=1e-9)


def test_least_squares_agrees_with_a_linear_solve() -> None:
    """A similarity is linear in (a, b, tx, ty): x' = a x - b y + tx, y' = b x + a y + ty."""
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 200, (5, 2))
    dst = DLIB_TEMPLATE_150 + rng.normal(0, 3, (5, 2))
    rows = [[x, -y, 1, 0] for x, y in src] + [[y, x, 0, 1] for x, y in src]
    rhs = np.concatenate([dst[:, 0], dst[:, 1]])
    a, b, tx, ty = np.linalg.lstsq(np.array(rows), rhs, rcond=None)[0]
    expected = np.array([[a, -b, tx], [b, a, ty]])
    assert np.allclose(similarity_transform(src, dst), expected, atol=1e-9)


def test_never_returns_a_reflection() -> None:
    src = np.random.default_rng(3).uniform(0, 100, (5, 2))
    mirrored = src * [-1, 1]
    m = similarity_transform(src, mirrored)
    assert np.linalg.det(m[:, :2]) > 0


def test_rejects_degenerate_points() -> None:
    with pytest.raises(ValueError):
        similarity_transform(np.ones((5, 2)), DLIB_TEMPLATE_150)
    with pytest.raises(ValueError):
        similarity_transform(np.zeros((4, 2)), DLIB_TEMPLATE_150)


def test_translation_copies_pixels_exactly(photo: np.ndarray) -> None:
    x0, y0, size = 300, 200, 150
    m = np.array([[1.0, 0, -x0], [0, 1.0, -y0]])
    chip = warp_chips(photo, m[None], size)
    assert chip.shape == (1, 3, size, size) and chip.dtype == torch.float32
    expected = torch.from_numpy(photo[y0 : y0 + size, x0 : x0 + size].copy()).permute(2, 0, 1)
    assert torch.allclose(chip[0], expected.float(), atol=1e-3)


def test_outside_the_image_repeats_its_edge(photo: np.ndarray) -> None:
    h, w = photo.shape[:2]
    half_out = np.array([[1.0, 0, -(w - 50)], [0, 1.0, -100.0]])
    far_out = np.array([[1.0, 0, 10_000.0], [0, 1.0, 10_000.0]])
    chips = warp_chips(photo, np.stack([half_out, far_out]), 100)
    edge = torch.from_numpy(photo[100:200, w - 1].astype(np.float32)).T  # (3, 100)
    assert torch.allclose(chips[0, :, :, 60:], edge[:, :, None].expand(3, 100, 40), atol=1e-3)
    expected = torch.from_numpy(photo[100:200, w - 50 : w - 1].copy()).permute(2, 0, 1).float()
    assert torch.allclose(chips[0, :, :, :49], expected, atol=1e-3)
    assert chips[1].abs().max() == 0


def test_shrinking_averages_instead_of_aliasing(photo: np.ndarray) -> None:
    """A 4x smaller chip should look like a proper 4x reduction (area average), not like
    every 4th pixel, which is what bilinear sampling alone would give. Chip pixel u sits over
    image pixels x0 + 4u .. x0 + 4u + 3, centred at x0 + 4u + 1.5."""
    x0, y0, size = 100, 100, 150
    m = np.array([[0.25, 0, -(x0 + 1.5) / 4], [0, 0.25, -(y0 + 1.5) / 4]])
    chip = warp_chips(photo, m[None], size)[0].permute(1, 2, 0).numpy()
    region = photo[y0 : y0 + 4 * size, x0 : x0 + 4 * size].astype(np.float64)
    area = region.reshape(size, 4, size, 4, 3).mean(axis=(1, 3))
    nearest = region[1::4, 1::4]
    ours = np.abs(chip[1:-1, 1:-1] - area[1:-1, 1:-1]).mean()
    aliased = np.abs(nearest[1:-1, 1:-1] - area[1:-1, 1:-1]).mean()
    assert ours < 0.5  # the reduced image is rounded to uint8
    assert aliased > 2.0


def test_rotated_chip_matches_pil(photo: np.ndarray) -> None:
    """The warp agrees with PIL's affine transform (same pixel-centre convention)."""
    m = _similarity(np.deg2rad(15), 1.3, -400, -150)
    size = 120
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
    # PIL samples output pixel (x, y) at a (x + .5) + b (y + .5) + c - .5 in pixel-centre terms
    a, b, c = inv[0]
    d, e, f = inv[1]
    c_pil = c - 0.5 * (a + b) + 0.5
    f_pil = f - 0.5 * (d + e) + 0.5
    pil = Image.fromarray(photo).transform(
        (size, size), Image.AFFINE, (a, b, c_pil, d, e, f_pil), resample=Image.BILINEAR
    )
    ours = warp_chips(photo, m[None], size)[0].permute(1, 2, 0).numpy()
    diff = np.abs(ours - np.asarray(pil, dtype=np.float32))[2:-2, 2:-2]
    assert diff.mean() < 1.0


@pytest.mark.parametrize("margin", [0, 14, 32])
def test_box_crop_is_facenet_pytorchs_crop(photo: np.ndarray, margin: int) -> None:
    from facenet_pytorch.models.utils.detect_face import extract_face

    h, w = photo.shape[:2]
    boxes = ([312.4, 187.9, 571.2, 520.6], [-20.5, 30.2, 200.0, 260.7], [w - 90, h - 80, w + 5, h])
    for box in boxes:
        theirs = extract_face(Image.fromarray(photo), np.array(box), 160, margin)
        ours = box_crop(photo, box, margin, 160)
        assert ours.shape == (160, 160, 3) and ours.dtype == np.uint8
        assert np.array_equal(ours, theirs.permute(1, 2, 0).numpy().astype(np.uint8))
