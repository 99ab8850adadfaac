"""XMP face regions without a library: our sidecars read back by exiftool, regions written by
exiftool (every EXIF orientation) read by us, other tags kept, photos never written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from faceorganizer.core import regions as geo
from faceorganizer.services.xmp import regions as xr
from tests.helpers.xmp_support import (
    close_boxes,
    read_with_exiftool,
    region_info,
    region_info_mp,
    run_exiftool,
    stored_box,
)

ROTATED = "robustness/exif_orientation"


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def _copy(faces_dir: Path, rel: str, dest: Path) -> Path:
    target = dest / Path(rel).name
    shutil.copyfile(faces_dir / rel, target)
    return target


def test_write_read_round_trip_and_exiftool_reads_what_we_wrote(
    faces_dir: Path, tmp_path: Path
) -> None:
    photo = _copy(faces_dir, f"{ROTATED}/obama/obama2_orient6.jpg", tmp_path)
    original = _digest(photo)
    with Image.open(photo) as im:
        stored_size = im.size
    orientation = xr.photo_orientation(str(photo))
    assert orientation == 6
    upright_size = (stored_size[1], stored_size[0])
    faces = [
        xr.NamedFace(11, "Barack Obama", (210.0, 120.0, 420.0, 380.0), confirmed=True),
        xr.NamedFace(12, "Zoë Ünicode-Test", (20.0, 30.0, 120.0, 160.0)),
    ]
    done = xr.write_regions(str(photo), faces, upright_size, orientation)
    assert done is not None and done.changed and done.path == str(photo) + ".xmp"
    assert _digest(photo) == original

    read = xr.read_regions(str(photo))
    assert not read.errors
    assert [r.name for r in read.regions] == ["Barack Obama", "Zoë Ünicode-Test"]
    for r, f in zip(read.regions, faces, strict=True):
        assert r.ours and r.scheme == "mwg"
        assert close_boxes(geo.to_pixels(r.box, *upright_size), f.box, 1e-3)

    info = read_with_exiftool(Path(done.path))["RegionInfo"]
    assert info["AppliedToDimensions"] == {
        "W": stored_size[0],
        "H": stored_size[1],
        "Unit": "pixel",
    }
    for region, face in zip(info["RegionList"], faces, strict=True):
        assert region["Name"] == face.name and region["Type"] == "Face"
        expected, _ = stored_box(upright_size, face.box, orientation)
        a = region["Area"]
        got = (
            (a["X"] - a["W"] / 2) * stored_size[0],
            (a["Y"] - a["H"] / 2) * stored_size[1],
            (a["X"] + a["W"] / 2) * stored_size[0],
            (a["Y"] + a["H"] / 2) * stored_size[1],
        )
        assert close_boxes(got, expected, 1.5), (got, expected)

    again = xr.write_regions(str(photo), faces, upright_size, orientation)
    assert again is not None and not again.changed
    assert _digest(photo) == original


def test_regions_written_by_exiftool_on_rotated_copies(faces_dir: Path, tmp_path: Path) -> None:
    """Every orientation, MWG embedded in the photo, in photo.xmp, and Microsoft's regions."""
    for rel in sorted((faces_dir / ROTATED).rglob("*.jpg")):
        photo = _copy(faces_dir, str(rel.relative_to(faces_dir)), tmp_path)
        with Image.open(photo) as im:
            stored = im.size
            orientation = geo.valid_orientation(im.getexif().get(0x0112))
        upright = geo.stored_size(*stored, orientation)  # the sides swap back the same way
        up_box = (0.2 * upright[0], 0.1 * upright[1], 0.5 * upright[0], 0.6 * upright[1])
        s_box, s_size = stored_box(upright, up_box, orientation)
        assert s_size == stored
        sidecar = photo.with_suffix(".xmp")
        run_exiftool(
            "-q",
            "-o",
            str(sidecar),
            f"-RegionInfo={region_info(stored, [('Someone', s_box, 'Face')])}",
        )
        mp_box = (0.6 * upright[0], 0.5 * upright[1], 0.9 * upright[0], 0.9 * upright[1])
        s_mp, _ = stored_box(upright, mp_box, orientation)
        run_exiftool(
            "-q",
            "-overwrite_original",
            f"-RegionInfoMP={region_info_mp(stored, [('Other', s_mp)])}",
            str(photo),
        )
        found = xr.read_regions(str(photo))
        assert not found.errors
        by_name = {r.name: r for r in found.regions}
        assert set(by_name) == {"Someone", "Other"}, rel
        assert by_name["Someone"].source == str(sidecar)
        assert by_name["Other"].scheme == "mp" and by_name["Other"].source == str(photo)
        tol = 1.5
        assert close_boxes(geo.to_pixels(by_name["Someone"].box, *upright), up_box, tol), rel
        assert close_boxes(geo.to_pixels(by_name["Other"].box, *upright), mp_box, tol), rel


def test_a_sidecar_keeps_other_tags_and_regions_and_ours_are_replaced(
    faces_dir: Path, tmp_path: Path
) -> None:
    photo = _copy(faces_dir, "photos/face_recognition_examples/_group/two_people.jpg", tmp_path)
    original = _digest(photo)
    with Image.open(photo) as im:
        size = im.size
    sidecar = Path(str(photo) + ".xmp")
    pet = (900.0, 400.0, 1000.0, 500.0)
    stranger = (30.0, 400.0, 130.0, 520.0)
    on_our_face = (230.0, 20.0, 392.0, 225.0)
    theirs = [
        ("Rex", pet, "Pet"),
        ("Stranger", stranger, "Face"),
        ("Old Name", on_our_face, "Face"),
    ]
    run_exiftool(
        "-q",
        "-o",
        str(sidecar),
        "-XMP-dc:Subject=holiday",
        "-XMP-xmp:Rating=4",
        "-XMP-lr:HierarchicalSubject=People|Friends",
        "-XMP-digiKam:TagsList=People/Friends",
        f"-RegionInfo={region_info(size, theirs)}",
    )
    before = read_with_exiftool(sidecar)
    ours = [xr.NamedFace(3, "Left Person", (233.0, 21.0, 390.0, 223.0), confirmed=True)]
    done = xr.write_regions(str(photo), ours, size, 1)
    assert done is not None and done.kept == 2 and done.replaced == ("Old Name",)
    xr.write_regions(
        str(photo), [*ours, xr.NamedFace(2, "Right", (788.0, 49.0, 941.0, 255.0))], size, 1
    )
    xr.write_regions(str(photo), ours, size, 1)
    after = run_exiftool(
        "-j",
        "-n",
        "-XMP-dc:Subject",
        "-XMP-xmp:Rating",
        "-XMP-lr:all",
        "-XMP-digiKam:all",
        str(sidecar),
    )
    for tag, value in (
        ("Subject", "holiday"),
        ("Rating", 4),
        ("HierarchicalSubject", "People|Friends"),
        ("TagsList", "People/Friends"),
    ):
        assert f'"{tag}": {value!r}'.replace("'", '"') in after, (tag, after)
    names = [r["Name"] for r in read_with_exiftool(sidecar)["RegionInfo"]["RegionList"]]
    assert names == ["Rex", "Stranger", "Left Person"]
    assert before["RegionInfo"]["RegionList"][0]["Name"] == "Rex"
    assert _digest(photo) == original
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_damaged_sidecar_is_reported_and_left_alone(faces_dir: Path, tmp_path: Path) -> None:
    photo = _copy(faces_dir, "photos/face_recognition_examples/_group/two_people.jpg", tmp_path)
    sidecar = Path(str(photo) + ".xmp")
    sidecar.write_text("<x:xmpmeta this is not xml")
    read = xr.read_regions(str(photo))
    assert read.errors and str(sidecar) in read.errors[0]
    with pytest.raises(xr.SidecarError):
        xr.write_regions(str(photo), [xr.NamedFace(1, "A", (1.0, 1.0, 50.0, 50.0))], (1126, 661), 1)
    assert sidecar.read_text() == "<x:xmpmeta this is not xml"


def test_a_sidecar_the_toolkit_cannot_parse_is_named_and_left_alone(
    faces_dir: Path, tmp_path: Path
) -> None:
    """Well-formed XML with a character XML forbids (``&#27;``): the XMP toolkit only logs an
    error and returns no properties, so the sidecar looked empty, its regions vanished silently,
    the toolkit's own words reached the terminal, and a write replaced another app's tags."""
    photo = _copy(faces_dir, "photos/face_recognition_examples/_group/two_people.jpg", tmp_path)
    sidecar = Path(str(photo) + ".xmp")
    sidecar.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5" xmp:Label="Keep&#27;"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    before = sidecar.read_bytes()
    read = xr.read_regions(str(photo))
    assert len(read.errors) == 1 and str(sidecar) in read.errors[0]
    assert "not valid XMP" in read.errors[0]
    with pytest.raises(xr.SidecarError, match="not valid XMP"):
        xr.write_regions(str(photo), [xr.NamedFace(1, "A", (1.0, 1.0, 50.0, 50.0))], (1126, 661), 1)
    assert sidecar.read_bytes() == before
    shown = subprocess.run(
        [sys.executable, "-m", "faceorganizer", "xmp", "show", str(photo)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    said = shown.stdout + shown.stderr
    assert f"{sidecar}: not valid XMP" in said and "XMP Toolkit" not in said, said


def test_a_photo_name_too_long_for_a_sidecar_is_no_error_on_read(
    faces_dir: Path, tmp_path: Path
) -> None:
    """A 255-byte photo name cannot have a ``photo.jpg.xmp``: every import listed it as an
    error ("file name too long"); a write says the name is too long for the disk."""
    photo = _copy(faces_dir, "photos/face_recognition_examples/_group/two_people.jpg", tmp_path)
    photo = photo.rename(tmp_path / ("x" * 251 + ".jpg"))
    assert xr.read_regions(str(photo)).errors == []
    with pytest.raises(xr.SidecarError, match="the name is too long for this disk"):
        xr.write_regions(str(photo), [xr.NamedFace(1, "A", (1.0, 1.0, 50.0, 50.0))], (1126, 661), 1)


def test_show_names_each_xmp_it_cannot_read_and_fails_when_none_reads(
    faces_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A photo whose embedded XMP is damaged said only "no face regions" (exit 0): the error was
    dropped. Now each file is named with the reason, and a show that read nothing fails."""
    from faceorganizer.cli import main

    good = _copy(faces_dir, "photos/face_recognition_examples/_group/two_people.jpg", tmp_path)
    data = good.read_bytes()
    packet = (
        b'http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description <<<'
    )
    app1 = b"\xff\xe1" + (len(packet) + 2).to_bytes(2, "big") + packet
    photo = tmp_path / "damaged_xmp.jpg"
    photo.write_bytes(data[:2] + app1 + data[2:])
    read = xr.read_regions(str(photo))
    assert read.regions == [] and len(read.errors) == 1, read.errors
    assert str(photo) in read.errors[0] and "XMP" in read.errors[0]
    assert main(["xmp", "show", str(photo)]) == 1
    out = capsys.readouterr()
    assert str(photo) in out.out + out.err and "no face regions" not in out.out

    Path(f"{photo}.xmp").write_bytes(b"\x00\x01 <<not xml")  # a damaged sidecar as well
    assert main(["xmp", "show", "--json", str(photo)]) == 1
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["errors"]) == 2 and f"{photo}.xmp: not valid XMP" in shown["errors"][0]
    assert main(["xmp", "show", str(good)]) == 0  # nothing to read is no failure
    assert "no face regions" in capsys.readouterr().out


def test_an_invalid_applied_to_dimensions_is_said_as_ignored_not_unreadable(
    faces_dir: Path, tmp_path: Path
) -> None:
    """A region in normalised units does not need AppliedToDimensions: with ``stDim:w="nan"`` it
    is still taken, and the message said "cannot read" as if the sidecar had been lost."""
    from faceorganizer.cli.xmp_commands import import_text
    from faceorganizer.services.types import XmpImportSummary
    from tests.helpers.hostile_corpus import area, sidecar_xmp

    photo = _copy(faces_dir, "photos/face_recognition_examples/_group/two_people.jpg", tmp_path)
    sidecar = Path(f"{photo}.xmp")
    pixels = {"x": "125", "y": "120", "w": "100", "h": "120", "unit": "pixel"}
    sidecar.write_bytes(sidecar_xmp([("Ann", area()), ("Bo", pixels)], {"w": "nan", "h": "9"}))
    read = xr.read_regions(str(photo))
    assert [r.name for r in read.regions] == ["Ann"]
    assert len(read.errors) == 2, read.errors
    ignored, dropped = read.errors
    assert ignored.startswith(f"{sidecar}: ignored its AppliedToDimensions (stDim:w is 'nan'")
    assert "the regions' own normalised units are used" in ignored
    assert dropped.startswith(f"{sidecar}: face region 2: in pixels") and "not taken" in dropped
    text = import_text(XmpImportSummary(errors=[(str(photo), e) for e in read.errors]))
    assert "cannot read" not in text and ignored in text and dropped in text
    photo_error = XmpImportSummary(errors=[(str(photo), "truncated JPEG")])  # names no file
    assert import_text(photo_error).endswith(f"cannot read {photo}: truncated JPEG")
