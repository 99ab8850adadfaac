"""Face names through XMP with a real library: regions written by exiftool on copies of shared
photos (rotated ones too) arrive on the right faces at the next scan, as one undoable edit;
disagreements are reported, not applied; names given here reach sidecars that exiftool reads."""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from faceorganizer.cli import main
from faceorganizer.core.regions import iou
from faceorganizer.services.export import contact_sheet
from faceorganizer.services.library import Library
from faceorganizer.services.types import FaceInfo
from tests.helpers.library_support import FACES_DIR, scanned_into, shared_engine
from tests.helpers.xmp_support import (
    close_boxes,
    grow,
    read_with_exiftool,
    region_info,
    region_info_mp,
    run_exiftool,
    stored_box,
)

PHOTOS = {
    "two.jpg": "photos/face_recognition_examples/_group/two_people.jpg",
    "matt6.jpg": "robustness/exif_orientation/matt_damon/img30_orient6.jpg",
    "obama3.jpg": "robustness/exif_orientation/obama/obama2_orient3.jpg",
    "mindy5.jpg": (
        "robustness/exif_orientation/mindy_kaling/val__httpcdnpastemagazinecomwwwarticlesm_orient5.jpg"
    ),
}


@functools.cache
def _base() -> tuple[Path, Path]:
    """A folder of the four photos and a library scanned from it, no XMP yet (never modified)."""
    root = Path(tempfile.mkdtemp(prefix="fo-xmp-"))
    folder = root / "photos"
    folder.mkdir()
    for name, rel in PHOTOS.items():
        shutil.copyfile(FACES_DIR / rel, folder / name)
    return folder, scanned_into(root / "library.sqlite3", [folder])


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, Path]:
    folder, db = _base()
    new_folder = tmp_path / "photos"
    shutil.copytree(folder, new_folder)
    new_db = tmp_path / "library.sqlite3"
    shutil.copyfile(db, new_db)
    con = sqlite3.connect(new_db)
    con.execute(
        "UPDATE photos SET path = ? || substr(path, ?)", [str(new_folder), len(str(folder)) + 1]
    )
    con.execute(
        "UPDATE settings SET value = replace(value, ?, ?) WHERE key = 'folders'",
        [str(folder), str(new_folder)],
    )
    con.commit()
    con.close()
    return new_folder, new_db


def _faces_of(lib: Library, photo: Path) -> list[FaceInfo]:
    (row,) = [f for f in lib.faces(include_hidden=True) if f.photo_path == str(photo)][:1] or [None]
    assert row is not None, f"no face in {photo}"
    return sorted(lib.photo_faces(row.photo_id), key=lambda f: f.box[0])


def _geometry(photo: Path) -> tuple[tuple[int, int], tuple[int, int], int]:
    """(upright size, stored size, orientation) of a photo, read with PIL."""
    with Image.open(photo) as im:
        stored = im.size
        orientation = int(im.getexif().get(0x0112, 1))
    upright = (stored[1], stored[0]) if orientation >= 5 else stored
    return upright, stored, orientation


def _same_face(faces: list[FaceInfo], box: tuple[float, ...]) -> FaceInfo:
    best = max(faces, key=lambda f: iou(f.box, box))
    assert iou(best.box, box) > 0.5, (best.box, box)
    return best


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.jpg")}


def test_names_from_xmp_arrive_on_the_right_faces_as_one_undoable_edit(library) -> None:
    folder, db = library
    with Library.open(db) as lib:
        before = {name: _faces_of(lib, folder / name) for name in PHOTOS}
    left, right = before["two.jpg"][0], before["two.jpg"][-1]
    up, stored, o = _geometry(folder / "two.jpg")
    regions = [
        ("Ann Left", stored_box(up, grow(left.box, 1.3, up), o)[0], "Face"),
        ("Ben Right", stored_box(up, grow(right.box, 1.3, up), o)[0], "Face"),
    ]
    run_exiftool("-q", "-o", str(folder / "two.xmp"), f"-RegionInfo={region_info(stored, regions)}")

    up, stored, o = _geometry(folder / "matt6.jpg")
    matt = before["matt6.jpg"][0]
    empty = (0.02 * up[0], 0.7 * up[1], 0.12 * up[0], 0.9 * up[1])
    regions = [
        ("Matt Damon", stored_box(up, grow(matt.box, 1.2, up), o)[0], "Face"),
        ("Nobody Here", stored_box(up, empty, o)[0], "Face"),
        (
            "A Cat",
            stored_box(up, (0.8 * up[0], 0.8 * up[1], 0.95 * up[0], 0.95 * up[1]), o)[0],
            "Pet",
        ),
    ]
    run_exiftool(
        "-q",
        "-overwrite_original",
        f"-RegionInfo={region_info(stored, regions)}",
        str(folder / "matt6.jpg"),
    )

    up, stored, o = _geometry(folder / "obama3.jpg")
    obama = before["obama3.jpg"][0]
    mp = region_info_mp(stored, [("Barack Obama", stored_box(up, obama.box, o)[0])])
    run_exiftool("-q", "-o", str(folder / "obama3.jpg.xmp"), f"-RegionInfoMP={mp}")

    up, stored, o = _geometry(folder / "mindy5.jpg")
    mindy = before["mindy5.jpg"][0]
    region = [("Mindy Kaling", stored_box(up, grow(mindy.box, 1.1, up), o)[0], "Face")]
    run_exiftool(
        "-q", "-o", str(folder / "mindy5.jpg.xmp"), f"-RegionInfo={region_info(stored, region)}"
    )
    digests = _digests(folder)

    with Library.open(db) as lib:
        summary = lib.scan(engine=shared_engine())
        xmp = summary.xmp
        assert xmp is not None and not xmp.errors and not xmp.conflicts
        assert (xmp.photos, xmp.with_regions, xmp.named, xmp.cut) == (4, 4, 6, 1)
        assert [e.kind for e in lib.history()] == ["import", "auto"]  # the first scan's placements
        after = {name: _faces_of(lib, folder / name) for name in PHOTOS}
        expected = {
            ("two.jpg", left.box): "Ann Left",
            ("two.jpg", right.box): "Ben Right",
            ("matt6.jpg", matt.box): "Matt Damon",
            ("obama3.jpg", obama.box): "Barack Obama",
            ("mindy5.jpg", mindy.box): "Mindy Kaling",
        }
        for (name, box), who in expected.items():
            face = _same_face(after[name], box)
            assert (face.person_name, face.assigned_by) == (who, "user"), name
        cut = [f for f in after["matt6.jpg"] if f.person_name == "Nobody Here"]
        assert len(cut) == 1 and close_boxes(cut[0].box, empty, 2.0)
        assert len(after["matt6.jpg"]) == len(before["matt6.jpg"]) + 1

        again = lib.scan(engine=shared_engine())
        assert again.xmp is not None and again.xmp.photos == 0

        undone = lib.undo()
        assert undone is not None and undone.kind == "import"
        names = {f.person_name for f in lib.faces(include_hidden=True)}
        assert not names & {"Ann Left", "Ben Right", "Matt Damon", "Barack Obama", "Mindy Kaling"}
    assert _digests(folder) == digests


def test_names_that_disagree_are_reported_not_applied(library) -> None:
    folder, db = library
    with Library.open(db) as lib:
        faces = _faces_of(lib, folder / "two.jpg")
        left, right = faces[0], faces[-1]
        lib.move_faces([left.face_id], None)
        lib.name_person(lib.face(left.face_id).person_id, "Alice")
        obama = _faces_of(lib, folder / "obama3.jpg")[0]
        lib.move_faces([obama.face_id], None)
        carol = lib.face(obama.face_id).person_id
        lib.name_person(carol, "Carol")
        lib.reject_faces([right.face_id], carol)
        kept = {f.face_id: (f.person_id, f.person_name) for f in lib.faces(include_hidden=True)}
        history = len(lib.history())

    up, stored, o = _geometry(folder / "two.jpg")
    regions = [
        ("Bob", stored_box(up, left.box, o)[0], "Face"),
        ("carol", stored_box(up, right.box, o)[0], "Face"),
    ]
    run_exiftool(
        "-q", "-o", str(folder / "two.jpg.xmp"), f"-RegionInfo={region_info(stored, regions)}"
    )
    with Library.open(db) as lib:
        xmp = lib.import_xmp(changed_only=True, engine=shared_engine())
        reasons = {(c.face_id, c.xmp_name): (c.library_name, c.reason) for c in xmp.conflicts}
        assert reasons == {
            (left.face_id, "Bob"): ("Alice", "named otherwise"),
            (right.face_id, "carol"): (None, "marked as not this person"),
        }
        assert xmp.named == 0 and xmp.edit_id is None and len(lib.history()) == history
        now = {f.face_id: (f.person_id, f.person_name) for f in lib.faces(include_hidden=True)}
        assert now == kept


def test_names_reach_sidecars_exiftool_reads_and_follow_edits_undo_and_redo(
    library, capsys
) -> None:
    folder, db = library
    digests = _digests(folder)
    with Library.open(db) as lib:
        lib.set_setting("xmp_write_sidecars", True)
        left = _faces_of(lib, folder / "two.jpg")[0]
        matt = _faces_of(lib, folder / "matt6.jpg")[0]
        lib.move_faces([left.face_id], None)
        ann = lib.face(left.face_id).person_id
        lib.name_person(ann, "Ann")
        lib.move_faces([matt.face_id], None)
        lib.name_person(lib.face(matt.face_id).person_id, "Matt")
        left, matt = lib.face(left.face_id), lib.face(matt.face_id)

    for photo, face, name in (
        (folder / "two.jpg", left, "Ann"),
        (folder / "matt6.jpg", matt, "Matt"),
    ):
        sidecar = Path(str(photo) + ".xmp")
        info = read_with_exiftool(sidecar)["RegionInfo"]
        up, stored, o = _geometry(photo)
        assert info["AppliedToDimensions"] == {"W": stored[0], "H": stored[1], "Unit": "pixel"}
        named = [r for r in info["RegionList"] if r["Name"] == name]
        assert len(named) == 1 and named[0]["Type"] == "Face"
        a = named[0]["Area"]
        got = (
            (a["X"] - a["W"] / 2) * stored[0],
            (a["Y"] - a["H"] / 2) * stored[1],
            (a["X"] + a["W"] / 2) * stored[0],
            (a["Y"] + a["H"] / 2) * stored[1],
        )
        assert close_boxes(got, stored_box(up, face.box, o)[0], 1.5), (photo, got)

    sidecar = Path(str(folder / "two.jpg") + ".xmp")

    def names() -> list[str]:
        return [r["Name"] for r in read_with_exiftool(sidecar)["RegionInfo"]["RegionList"]]

    with Library.open(db) as lib:
        lib.name_person(ann, "Anna")
        assert names() == ["Anna"]
        lib.undo()
        assert names() == ["Ann"]
        lib.redo()
        assert names() == ["Anna"]
        lib.hide_faces([left.face_id])
        assert not sidecar.exists()  # it held only our region
        lib.undo()
        assert names() == ["Anna"]

    status = main(["xmp", "write", "--all", "--json", "--library", str(db)])
    out = json.loads(capsys.readouterr().out)
    assert status == 0 and (out["photos"], out["written"], out["unchanged"]) == (2, 0, 2)
    status = main(["xmp", "write", "--person", "Matt", "--json", "--library", str(db)])
    assert status == 0 and json.loads(capsys.readouterr().out)["faces"] == 1
    status = main(["xmp", "show", str(folder / "two.jpg")])
    assert status == 0 and "Anna" in capsys.readouterr().out
    for argv, said in (  # typos: they read nothing, and said only "no face regions", "0 photo(s)"
        (["xmp", "show", str(folder / "tow.jpg")], "no such file"),
        (["xmp", "import", str(folder / "typo"), "--library", str(db)], "no such folder"),
    ):
        assert main(argv) == 1 and said in capsys.readouterr().err
    with Library.open(db) as lib:
        again = lib.scan(engine=shared_engine())
        assert again.xmp is not None and again.xmp.photos == 0
    assert _digests(folder) == digests


def test_export_writes_a_contact_sheet_per_named_person(library, tmp_path: Path) -> None:
    folder, db = library
    with Library.open(db) as lib:
        face = _faces_of(lib, folder / "two.jpg")[0]
        lib.move_faces([face.face_id], None)
        lib.name_person(lib.face(face.face_id).person_id, "Ann/Left")
        summary = lib.export(tmp_path / "out", mode="link", contact_sheet=True)
    assert summary.sheets == 1
    sheet = tmp_path / "out" / "Ann_Left" / "Ann_Left - contact sheet.jpg"
    with Image.open(sheet) as im:
        assert im.size == contact_sheet.PAGE and im.format == "JPEG"
        x = (
            contact_sheet.MARGIN
            + (im.width - 2 * contact_sheet.MARGIN) // contact_sheet.COLUMNS // 2
        )
        y = contact_sheet.MARGIN + contact_sheet.HEADER + contact_sheet.TILE // 2
        tile = im.crop((x - 40, y - 40, x + 40, y + 40)).convert("L")
        assert tile.getextrema()[0] < 200  # a face, not white paper
        second = im.crop((x + 200 - 40, y - 40, x + 200 + 40, y + 40)).convert("L")
        assert second.getextrema() == (255, 255) or second.getextrema()[0] > 240


def test_contact_sheets_run_to_numbered_pages(faces_dir: Path, tmp_path: Path) -> None:
    photo = faces_dir / PHOTOS["two.jpg"]
    faces = [
        contact_sheet.SheetFace(i, str(photo), (233.0, 21.0, 390.0, 223.0), 1126, 661, f"face {i}")
        for i in range(contact_sheet.PER_PAGE + 3)
    ]
    pages = contact_sheet.write_sheets(tmp_path, "Many", "Many Faces", faces, lambda _f: None)
    assert [p.name for p in pages] == ["Many - contact sheet 1.jpg", "Many - contact sheet 2.jpg"]
    assert all(p.stat().st_size > 10_000 for p in pages)
