"""Immich's own XMP face test, on a photo of ours: a portrait with MWG and Microsoft Photo
regions for Marie and Pierre Curie, and the same photo stored rotated with EXIF orientation 6,
both written by exiftool. Each photo gets exactly one face per name, at the same place in both;
MWG wins, and a Microsoft region only adds a name MWG lacks."""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from faceorganizer.core import regions as geo
from faceorganizer.services.library import Library
from faceorganizer.services.xmp import regions as xr
from tests.helpers.library_support import shared_engine
from tests.helpers.xmp_support import (
    UNDO,
    grow,
    region_info,
    region_info_mp,
    run_exiftool,
    stored_box,
)

PORTRAIT = "photos/face_recognition_examples/_group/two_people.jpg"
NAMES = ("Marie Curie", "Pierre Curie")
ONLY_MP = "Eve Curie"  # a name only the Microsoft regions have
TOLERANCE = 0.02  # of the photo's side


def _faces_left_to_right(photo: Path) -> list[tuple[float, float, float, float]]:
    faces = shared_engine().embed_image(photo).faces
    assert len(faces) >= 2, photo
    boxes = sorted(tuple(float(v) for v in f.detection.box) for f in faces)
    return boxes[:2]  # type: ignore[return-value]


def _make_photos(faces_dir: Path, folder: Path) -> tuple[Path, Path, tuple[int, int]]:
    """portrait.jpg (upright) and portrait-orientation-6.jpg (stored turned, EXIF 6) with the
    same regions: MWG in each file's stored frame (as MWG says), Microsoft's copied unchanged
    from the upright file (as in Immich's test file)."""
    folder.mkdir()
    upright = folder / "portrait.jpg"
    shutil.copyfile(faces_dir / PORTRAIT, upright)
    rotated = folder / "portrait-orientation-6.jpg"
    with Image.open(upright) as im:
        size = im.size
        exif = Image.Exif()
        exif[0x0112] = 6
        im.transpose(UNDO[6]).save(rotated, quality=95, exif=exif)
    boxes = [grow(b, 1.3, size) for b in _faces_left_to_right(upright)]
    w, h = size
    eve = (0.02 * w, 0.75 * h, 0.12 * w, 0.95 * h)  # no face there: a region drawn by hand
    mp = list(zip(NAMES, boxes, strict=True))
    run_exiftool(
        "-q",
        "-overwrite_original",
        f"-RegionInfo={region_info(size, [(n, b, 'Face') for n, b in mp])}",
        f"-RegionInfoMP={region_info_mp(size, [*mp, (ONLY_MP, eve)])}",
        str(upright),
    )
    turned = [(n, stored_box(size, b, 6)[0], "Face") for n, b in mp]
    stored = (h, w)
    run_exiftool(
        "-q",
        "-overwrite_original",
        f"-RegionInfo={region_info(stored, turned)}",
        f"-RegionInfoMP={region_info_mp(size, mp)}",
        str(rotated),
    )
    return upright, rotated, size


def _named(lib: Library, photo: Path, size: tuple[int, int]) -> dict[str, list[tuple]]:
    """Name -> normalised upright boxes of the photo's faces of that name."""
    w, h = size
    out: dict[str, list[tuple]] = {}
    for f in lib.faces(include_hidden=True):
        if f.photo_path == str(photo) and f.person_name:
            x0, y0, x1, y1 = f.box
            out.setdefault(f.person_name, []).append((x0 / w, y0 / h, x1 / w, y1 / h))
    return out


def test_one_face_per_name_at_the_same_place_in_the_rotated_copy(
    faces_dir: Path, tmp_path: Path
) -> None:
    upright, rotated, size = _make_photos(faces_dir, tmp_path / "photos")

    straight_read, turned_read = (xr.read_regions(str(p)).regions for p in (upright, rotated))
    assert sorted(r.name or "" for r in straight_read) == sorted((*NAMES, ONLY_MP))
    assert sorted(r.name or "" for r in turned_read) == sorted(NAMES)  # was each name twice
    flat = {r.name: r for r in straight_read}
    turned = {r.name: r for r in turned_read}
    assert all(turned[n].scheme == "mwg" for n in NAMES)
    for name in NAMES:
        pairs = zip(flat[name].box, turned[name].box, strict=True)
        assert all(abs(a - b) < TOLERANCE for a, b in pairs), name

    with Library.open(tmp_path / "library.sqlite3", device="cpu") as lib:
        summary = lib.scan([tmp_path / "photos"], engine=shared_engine())
        assert summary.xmp is not None and not summary.xmp.conflicts
        straight, turned_faces = _named(lib, upright, size), _named(lib, rotated, size)
    assert {n: len(b) for n, b in straight.items()} == {n: 1 for n in (*NAMES, ONLY_MP)}
    assert {n: len(b) for n, b in turned_faces.items()} == {n: 1 for n in NAMES}
    for name in NAMES:
        (a,), (b,) = straight[name], turned_faces[name]
        assert geo.iou(a, b) > 0.7, (name, a, b)
        assert geo.iou(a, flat[name].box) > 0.3, (name, a, flat[name].box)  # the detected face
