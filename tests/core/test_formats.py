"""Formats people's photo folders hold besides JPEG: each decodes to the same upright image as its
JPEG twin (within codec noise), from real files made in the test run; a RAW+JPEG pair is one
photo."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceorganizer.core.images import SUPPORTED_EXTENSIONS, ImageLoadError, load_image
from faceorganizer.services.scan.files import raw_companions, walk
from tests.helpers.dng_writer import write_dng

PORTRAIT = "photos/face_recognition_examples/obama/obama2.jpg"  # 626x1200


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


@pytest.fixture(scope="module")
def portrait(faces_dir: Path) -> Image.Image:
    with Image.open(faces_dir / PORTRAIT) as im:
        return im.convert("RGB").resize((314, 600))


@pytest.fixture
def twin(portrait: Image.Image, tmp_path: Path) -> np.ndarray:
    """What the JPEG twin decodes to."""
    path = tmp_path / "twin.jpg"
    portrait.save(path, quality=95)
    return load_image(path).rgb


def test_jpeg_xl_decodes_like_its_jpeg_twin(portrait, twin, tmp_path: Path) -> None:
    assert ".jxl" in SUPPORTED_EXTENSIONS
    path = tmp_path / "face.jxl"
    portrait.save(path, quality=95)
    img = load_image(path)
    assert (img.width, img.height, img.format) == (314, 600, "JXL")
    assert mean_abs_diff(img.rgb, twin) < 3


def test_damaged_jpeg_xl_is_a_clear_error(portrait, tmp_path: Path) -> None:
    path = tmp_path / "cut.jxl"
    buf = io.BytesIO()
    portrait.save(buf, format="JXL", quality=95)
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert err.value.reason == "damaged JPEG XL"  # not libjxl's "Generic Error. Please build…"


def _mp4_boxes() -> bytes:
    """A tiny MP4 (ftyp + moov + mdat boxes), as a motion photo appends after the JPEG."""

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    return (
        box(b"ftyp", b"isom\0\0\2\0isomiso2mp41")
        + box(b"moov", box(b"mvhd", bytes(100)))
        + box(b"mdat", os.urandom(4096))
    )


@pytest.mark.parametrize("kind", ["google", "samsung"])
def test_motion_photo_decodes_to_its_still_image(portrait, twin, tmp_path: Path, kind) -> None:
    """Google (XMP MotionPhoto, video appended) and Samsung (video after a MotionPhoto_Data
    marker) motion photos are JPEGs with a video after the image: the still is the photo."""
    buf = io.BytesIO()
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description xmlns:GCamera="http://ns.google.com/photos/1.0/'
        b'camera/" GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1"/></rdf:RDF>'
        b"</x:xmpmeta>"
    )
    portrait.save(buf, format="JPEG", quality=95, xmp=xmp if kind == "google" else None)
    trailer = _mp4_boxes()
    if kind == "samsung":
        trailer = b"MotionPhoto_Data" + trailer
    path = tmp_path / ("PXL_0001.MP.jpg" if kind == "google" else "20240101_120000.jpg")
    path.write_bytes(buf.getvalue() + trailer)
    img = load_image(path)
    assert (img.width, img.height) == (314, 600)
    assert mean_abs_diff(img.rgb, twin) == 0


def test_ultra_hdr_jpeg_is_its_first_picture_decoded_small(tmp_path: Path, faces_dir) -> None:
    """A JPEG with a second picture (an Ultra HDR gain map, MPO) is read as its first picture,
    with DCT scaling like any JPEG."""
    with Image.open(faces_dir / PORTRAIT) as im:
        main = im.convert("RGB")
    gain_map = main.resize((main.width // 4, main.height // 4)).convert("L").convert("RGB")
    path = tmp_path / "ultrahdr.jpg"
    main.save(path, format="MPO", save_all=True, append_images=[gain_map], quality=95)
    with Image.open(path) as check:
        assert check.format == "MPO"
    img = load_image(path, max_side=300)
    assert (img.width, img.height) == main.size
    assert max(img.rgb.shape[:2]) == 300
    reference = np.asarray(main.resize((img.rgb.shape[1], img.rgb.shape[0]), Image.BOX))
    assert mean_abs_diff(img.rgb, reference) < 4


@pytest.mark.parametrize("orientation", [1, 6])
def test_dng_with_full_size_preview_decodes_like_its_jpeg_twin(
    portrait, twin, tmp_path: Path, orientation: int
) -> None:
    """The embedded JPEG is used (fast) and turned upright by the RAW's orientation."""
    stored = portrait if orientation == 1 else portrait.transpose(Image.Transpose.ROTATE_90)
    path = write_dng(
        tmp_path / "IMG_0001.DNG", np.asarray(stored), preview=stored, orientation=orientation
    )
    img = load_image(path)
    assert img.format == "DNG (preview)"
    assert (img.width, img.height) == (314, 600)
    assert mean_abs_diff(img.rgb, twin) < 3


@pytest.mark.parametrize("orientation", [1, 6])
def test_dng_without_preview_is_demosaiced_upright(
    portrait, twin, tmp_path: Path, orientation: int
) -> None:
    """Without a preview LibRaw demosaics the mosaic; its tone curve is not the JPEG's, so the
    twin is compared after matching mean brightness."""
    stored = portrait if orientation == 1 else portrait.transpose(Image.Transpose.ROTATE_90)
    path = write_dng(tmp_path / "IMG_0002.dng", np.asarray(stored), orientation=orientation)
    img = load_image(path)
    assert img.format == "DNG (demosaic)"
    assert (img.width, img.height) == (314, 600)
    got = img.rgb.astype(np.float64)
    got *= twin.mean() / got.mean()
    assert mean_abs_diff(np.clip(got, 0, 255).astype(np.uint8), twin) < 12
    assert np.corrcoef(got.ravel(), twin.astype(np.float64).ravel())[0, 1] > 0.97


def test_dng_is_scaled_down_when_asked(portrait, tmp_path: Path) -> None:
    path = write_dng(tmp_path / "big.dng", np.asarray(portrait), preview=portrait)
    img = load_image(path, max_side=300)
    assert max(img.rgb.shape[:2]) == 300 and (img.width, img.height) == (314, 600)
    assert img.scale == pytest.approx(600 / 300, rel=0.01)


@pytest.mark.parametrize("suffix", [".cr2", ".nef", ".arw", ".dng"])
def test_damaged_raw_is_a_clear_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"IMG_0003{suffix}"
    path.write_bytes(b"II*\0" + os.urandom(2000))
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert "RAW" in err.value.reason


def test_raw_beside_its_jpeg_is_one_file_with_a_companion(tmp_path: Path, portrait) -> None:
    portrait.save(tmp_path / "IMG_0001.JPG")
    write_dng(tmp_path / "IMG_0001.CR2", np.asarray(portrait))
    write_dng(tmp_path / "IMG_0002.DNG", np.asarray(portrait))
    portrait.save(tmp_path / "IMG_0003.jpg")
    entries = {Path(e.path).name: e for e in walk([tmp_path])}
    assert sorted(entries) == ["IMG_0001.JPG", "IMG_0002.DNG", "IMG_0003.jpg"]
    assert entries["IMG_0001.JPG"].companions == (str(tmp_path / "IMG_0001.CR2"),)
    assert entries["IMG_0002.DNG"].companions == ()
    assert raw_companions(["a.heic", "A.NEF", "a.png", "b.nef"]) == {"a.heic": "A.NEF"}


def test_raw_and_jpeg_pair_is_one_photo_and_keeps_its_people(tmp_path: Path, faces_dir) -> None:
    """Scanned together, IMG_0001.CR2 + IMG_0001.JPG is one photo (its face counted once);
    when the JPEG is deleted the RAW takes the photo over and its face keeps its name."""
    from faceorganizer.services.library import Library
    from tests.helpers.library_support import shared_engine

    with Image.open(faces_dir / PORTRAIT) as im:
        photo = im.convert("RGB").resize((314, 600))
    folder = tmp_path / "camera"
    folder.mkdir()
    photo.save(folder / "IMG_0001.JPG", quality=95)
    write_dng(folder / "IMG_0001.CR2", np.asarray(photo), preview=photo)
    write_dng(folder / "IMG_0002.DNG", np.asarray(photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    engine = shared_engine()
    with Library.open(tmp_path / "lib.sqlite3") as lib:
        summary = lib.scan([folder], engine=engine)
        assert (summary.new, summary.failed) == (2, 0)
        rows = lib.db.execute("SELECT path, companions FROM photos ORDER BY path").fetchall()
        assert rows == [
            (str(folder / "IMG_0001.JPG"), str(folder / "IMG_0001.CR2")),
            (str(folder / "IMG_0002.DNG"), None),
        ]
        assert lib.counts()["faces"] == 2
        (face,) = [f for f in lib.faces() if f.photo_path.endswith("IMG_0001.JPG")]
        lib.move_faces([face.face_id], None)
        lib.name_person(lib.face(face.face_id).person_id, "Barack")

        assert lib.scan(engine=engine).unchanged == 2
        (folder / "IMG_0001.JPG").unlink()
        summary = lib.scan(engine=engine)
        assert (summary.changed, summary.new, summary.removed) == (1, 0, 0)
        rows = lib.db.execute("SELECT id, path, companions FROM photos ORDER BY path").fetchall()
        assert [(p, c) for _, p, c in rows] == [
            (str(folder / "IMG_0001.CR2"), None),
            (str(folder / "IMG_0002.DNG"), None),
        ]
        assert rows[0][0] == face.photo_id
        (named,) = [f for f in lib.faces(person_id="Barack") if f.photo_id == face.photo_id]
        assert named.photo_path == str(folder / "IMG_0001.CR2")
        assert lib.counts()["faces"] == 2
