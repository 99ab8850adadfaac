"""Decoding real photos in every supported format, upright, and every bad file as a typed error."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceorganizer.core.images import SUPPORTED_EXTENSIONS, ImageLoadError, load_image

PORTRAIT = "photos/face_recognition_examples/obama/obama2.jpg"  # 626x1200
LARGE = "photos/deepface_testset/_group/couple.jpg"  # 2280x1588


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


@pytest.fixture(scope="module")
def portrait(faces_dir: Path) -> Image.Image:
    with Image.open(faces_dir / PORTRAIT) as im:
        return im.convert("RGB").resize((313, 600))


def test_jpeg_decodes_at_full_size(faces_dir: Path) -> None:
    img = load_image(faces_dir / PORTRAIT)
    assert img.rgb.dtype == np.uint8 and img.rgb.shape == (1200, 626, 3)
    assert (img.width, img.height, img.scale, img.format) == (626, 1200, 1.0, "JPEG")


def test_large_jpeg_is_decoded_small_with_scale_back_to_original(faces_dir: Path) -> None:
    img = load_image(faces_dir / LARGE, max_side=600)
    h, w = img.rgb.shape[:2]
    assert max(h, w) == 600
    assert (img.width, img.height) == (2280, 1588)
    assert img.scale == pytest.approx(2280 / w, rel=1e-6)
    assert h * img.scale == pytest.approx(1588, rel=0.01)
    full = np.asarray(Image.open(faces_dir / LARGE).convert("RGB").resize((w, h)))
    assert mean_abs_diff(img.rgb, full) < 6


@pytest.mark.parametrize(("suffix", "shrunk"), [(".jpg", (1140, 794)), (".png", (1140, 794))])
def test_a_min_side_keeps_the_dct_scale_or_an_integer_reduction(
    faces_dir: Path, tmp_path: Path, suffix: str, shrunk: tuple[int, int]
) -> None:
    """Between ``min_side`` and ``max_side`` a JPEG stays at its DCT scale (1/2) and another
    format is reduced by an integer factor, instead of being resized to ``max_side``; the
    pixels are those of a resize of the whole photo, and the scale maps them back."""
    path = tmp_path / f"large{suffix}"
    with Image.open(faces_dir / LARGE) as im:
        im.convert("RGB").save(path, quality=95)
    img = load_image(path, max_side=1200, min_side=900)
    assert (img.rgb.shape[1], img.rgb.shape[0]) == shrunk
    assert (img.width, img.height) == (2280, 1588)
    assert img.scale == pytest.approx(2280 / shrunk[0], rel=1e-6)
    full = np.asarray(Image.open(path).convert("RGB").resize(shrunk, Image.Resampling.BOX))
    assert mean_abs_diff(img.rgb, full) < 3
    assert max(load_image(path, max_side=1200).rgb.shape) == 1200
    assert max(load_image(path, max_side=1200, min_side=1150).rgb.shape) == 1200


@pytest.mark.parametrize(
    ("fmt", "suffix", "tolerance"),
    [
        ("PNG", ".png", 0.5),
        ("WEBP", ".webp", 6),
        ("TIFF", ".tiff", 0.5),
        ("BMP", ".bmp", 0.5),
        ("HEIF", ".heic", 8),
        ("AVIF", ".avif", 8),
    ],
)
def test_every_supported_format_round_trips(
    portrait: Image.Image, tmp_path: Path, fmt: str, suffix: str, tolerance: float
) -> None:
    assert suffix in SUPPORTED_EXTENSIONS
    path = tmp_path / f"face{suffix}"
    portrait.save(path, format=fmt)
    img = load_image(path)
    assert (img.width, img.height) == portrait.size
    assert mean_abs_diff(img.rgb, np.asarray(portrait)) < tolerance


def test_exif_rotated_photos_decode_upright(manifest, faces_dir: Path) -> None:
    rotated = [r for r in manifest if r.kind == "exif_rotated"]
    assert len(rotated) == 13
    originals = {
        "matt_damon": [faces_dir / "photos/deepface_testset/matt_damon/img30.jpg"],
        "obama": [faces_dir / "photos/face_recognition_examples/obama/obama2.jpg"],
        "mindy_kaling": sorted(
            (faces_dir / "photos/five_celebrity/mindy_kaling").glob("val__httpcdnpaste*")
        ),
    }
    for row in rotated:
        img = load_image(row.path, max_side=400)
        swapped = row.exif_orientation in (5, 6, 7, 8)
        assert (img.width, img.height) == (
            (row.height, row.width) if swapped else (row.width, row.height)
        )
        diffs = []
        for original in originals[row.person]:
            ref = load_image(original, max_side=400)
            if ref.rgb.shape == img.rgb.shape:
                diffs.append(mean_abs_diff(img.rgb, ref.rgb))
        assert diffs and min(diffs) < 8, row.relpath


def test_cmyk_jpeg_becomes_rgb(portrait: Image.Image, tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    portrait.convert("CMYK").save(path, quality=95)
    img = load_image(path)
    assert img.rgb.shape == (600, 313, 3)
    assert mean_abs_diff(img.rgb, np.asarray(portrait)) < 8


def test_16_bit_png_is_scaled_not_clipped(portrait: Image.Image, tmp_path: Path) -> None:
    gray8 = np.asarray(portrait.convert("L"))
    path = tmp_path / "gray16.png"
    Image.fromarray(gray8.astype(np.uint16) * 257).save(path)
    with Image.open(path) as written:
        assert written.mode.startswith("I")
    img = load_image(path)
    assert img.rgb.shape == (600, 313, 3)
    assert mean_abs_diff(img.rgb[..., 0], gray8) < 1
    assert np.array_equal(img.rgb[..., 0], img.rgb[..., 2])


def test_rgba_png_is_composited_over_white(portrait: Image.Image, tmp_path: Path) -> None:
    rgba = portrait.convert("RGBA")
    alpha = np.full(rgba.size[::-1], 255, np.uint8)
    alpha[:, :50] = 0
    rgba.putalpha(Image.fromarray(alpha))
    path = tmp_path / "alpha.png"
    rgba.save(path)
    img = load_image(path)
    assert np.all(img.rgb[:, :50] == 255)
    assert mean_abs_diff(img.rgb[:, 50:], np.asarray(portrait)[:, 50:]) < 0.5


def test_grayscale_and_palette_images_become_rgb(portrait: Image.Image, tmp_path: Path) -> None:
    for mode in ("L", "LA", "P", "1"):
        path = tmp_path / f"{mode}.png"
        portrait.convert(mode).save(path)
        img = load_image(path)
        assert img.rgb.shape == (600, 313, 3), mode


def test_animated_gif_gives_its_first_frame(
    portrait: Image.Image, faces_dir: Path, tmp_path: Path
) -> None:
    other = Image.open(faces_dir / LARGE).convert("RGB").resize(portrait.size)
    path = tmp_path / "anim.gif"
    portrait.save(path, save_all=True, append_images=[other], duration=100, loop=0)
    img = load_image(path)
    first = mean_abs_diff(img.rgb, np.asarray(portrait))
    assert first < 12
    assert first < mean_abs_diff(img.rgb, np.asarray(other))


def test_truncated_jpeg(faces_dir: Path, tmp_path: Path) -> None:
    data = (faces_dir / PORTRAIT).read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert err.value.reason == "truncated JPEG"
    assert err.value.path == str(path)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty file"):
        load_image(path)


def test_text_named_jpg_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list: eggs, milk\n" * 20)
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert err.value.reason == "not an image"


def _png_with_declared_size(small_png: bytes, width: int, height: int) -> bytes:
    """The same PNG with its IHDR claiming another size (CRC fixed, so it parses)."""
    ihdr_at = small_png.index(b"IHDR")
    body = bytearray(small_png[ihdr_at : ihdr_at + 17])
    body[4:12] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)
    return small_png[:ihdr_at] + bytes(body) + crc + small_png[ihdr_at + 21 :]


def test_png_declaring_a_huge_size_is_refused(portrait: Image.Image, tmp_path: Path) -> None:
    small = tmp_path / "small.png"
    portrait.resize((64, 64)).save(small)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_with_declared_size(small.read_bytes(), 50000, 50000))
    with pytest.raises(ImageLoadError) as err:
        load_image(bomb)
    assert err.value.reason == "too large: 50000x50000"


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="file not found"):
        load_image(tmp_path / "gone.jpg")
    with pytest.raises(ImageLoadError, match="folder"):
        load_image(tmp_path)


def test_unsupported_format(tmp_path: Path) -> None:
    path = tmp_path / "drawing.xcf"  # CR2 was the example before RAW files became readable
    path.write_bytes(b"\x00\x01 not a picture PIL knows" * 10)
    with pytest.raises(ImageLoadError, match="unsupported format"):
        load_image(path)
