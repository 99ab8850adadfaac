"""Face names through XMP sidecars with the real services and fake models (no exiftool here:
tests/services/xmp/test_xmp_*.py check our files against exiftool on real photos)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from faceorganizer.core.pipeline import FaceEngine
from faceorganizer.services.library import Library
from faceorganizer.services.types import ScanProgress
from faceorganizer.services.xmp import regions as xmp_regions


def _named(lib: Library) -> dict[tuple[str, int], str | None]:
    """(photo file name, left edge) -> person name, for every face."""
    return {
        (Path(f.photo_path).name, round(f.box[0])): f.person_name
        for f in lib.faces(include_hidden=True)
    }


def _assigned(lib: Library) -> dict[tuple[str, int], str | None]:
    return {
        (Path(f.photo_path).name, round(f.box[0])): f.assigned_by
        for f in lib.faces()
        if f.person_name
    }


def _name_by_colour(lib: Library, album) -> None:
    folder, _ = album
    for name in ("ann", "bob", "cid"):
        alone = str(folder / f"{name}_1.png")  # a photo of that colour alone
        face = next(f for f in lib.faces() if f.photo_path == alone)
        assert face.person_id is not None
        lib.name_person(face.person_id, name.title())


def test_names_written_by_one_library_arrive_in_another(
    library: Library, album, engine: FaceEngine, tmp_path: Path
) -> None:
    folder, _ = album
    _name_by_colour(library, album)
    library.confirm_faces([f.face_id for f in library.faces(person_id="Ann")][:2])
    written = library.write_xmp()
    assert written.errors == [] and written.written == written.photos == 8
    assert written.faces == 9
    assert sorted(p.name for p in folder.glob("*.xmp")) == sorted(
        p.name + ".xmp"
        for p in folder.iterdir()
        if p.suffix != ".xmp" and p.name.split("_")[0] in ("ann", "bob", "cid")
    )
    with Library.open(tmp_path / "other.sqlite3", device="cpu") as other:
        other.set_setting("model_id", engine.model_id)
        phases: list[tuple[str, int]] = []
        summary = other.scan(
            [folder], engine=engine, progress=lambda p: phases.append((p.phase, p.total))
        )
        assert ("names", 11 - 1) in phases  # every readable photo is read once
        assert summary.xmp is not None and summary.xmp.named == 9 and not summary.xmp.conflicts
        assert [e.kind for e in other.history()] == ["import"]
        assert _named(other) == _named(library)
        # confirmed here: confirmed there; grouped automatically here: not confirmed there
        assert _assigned(other) == _assigned(library)
        assert set(_assigned(other).values()) == {"user", "auto"}
        assert other.scan(engine=engine).xmp.photos == 0  # nothing changed since


def test_sidecars_follow_edits_undo_and_redo(library: Library, album) -> None:
    _, who = album
    library.set_setting("xmp_write_sidecars", True)
    _name_by_colour(library, album)
    photo = who["bob"][0]

    def names() -> list[str | None]:
        return [r.name for r in xmp_regions.read_regions(photo).regions]

    assert names() == ["Bob"]
    bob = library.person("Bob").person_id
    library.name_person(bob, "Robert")
    assert names() == ["Robert"]
    library.undo()
    assert names() == ["Bob"]
    library.redo()
    assert names() == ["Robert"]
    library.name_person(bob, None)
    assert names() == [] and not Path(photo + ".xmp").exists()


def test_a_region_without_a_detected_face_becomes_a_named_face(
    library: Library, album, engine: FaceEngine
) -> None:
    folder, _ = album
    photo = folder / "nobody.png"
    ghost = xmp_regions.NamedFace(0, "Ghost", (40.0, 30.0, 80.0, 70.0), confirmed=True)
    assert xmp_regions.write_regions(str(photo), [ghost], (160, 120), 1) is not None
    before = library.counts()["faces"]
    summary = library.import_xmp([folder], changed_only=True, engine=engine)
    assert (summary.cut, summary.named) == (1, 1)
    (face,) = library.faces(person_id="Ghost")
    assert face.photo_path == str(photo) and face.assigned_by == "user"
    assert all(abs(a - b) < 1.0 for a, b in zip(face.box, ghost.box, strict=True))
    assert library.counts()["faces"] == before + 1
    assert library.undo() is not None and library.face(face.face_id).person_id is None


def test_a_lightroom_style_sidecar_is_read_and_updated_in_place(
    library: Library, album, engine: FaceEngine
) -> None:
    _, who = album
    photo = Path(who["eve"][0])
    face = next(f for f in library.faces(unassigned=True) if f.photo_path == str(photo))
    theirs = photo.with_suffix(".xmp")
    xmp_regions.write_regions(str(photo), [xmp_regions.NamedFace(0, "Eve", face.box)], (160, 120))
    shutil.move(str(photo) + ".xmp", theirs)
    summary = library.import_xmp(changed_only=True, engine=engine)
    assert summary.named == 1 and library.face(face.face_id).person_name == "Eve"
    library.name_person(library.face(face.face_id).person_id, "Eve Adams")
    library.write_xmp("Eve Adams")
    assert not Path(str(photo) + ".xmp").exists()
    assert [r.name for r in xmp_regions.read_regions(str(photo)).regions] == ["Eve Adams"]


def test_a_scan_cancelled_while_reading_names_reads_them_next_time(
    library: Library, album, engine: FaceEngine, tmp_path: Path
) -> None:
    folder, _ = album
    _name_by_colour(library, album)
    library.write_xmp()
    with Library.open(tmp_path / "other.sqlite3", device="cpu") as other:
        other.set_setting("model_id", engine.model_id)
        cancel = threading.Event()

        def stop_at_names(p: ScanProgress) -> None:
            if p.phase == "names":
                cancel.set()

        first = other.scan([folder], engine=engine, progress=stop_at_names, cancel=cancel)
        assert first.cancelled and first.xmp is not None and first.xmp.photos == 0
        assert not [f for f in other.faces() if f.person_name]
        second = other.scan(engine=engine)
        assert second.xmp is not None and second.xmp.named == 9


def test_the_scan_summary_tells_how_many_names_came_from_xmp() -> None:
    from faceorganizer.services.types import NameConflict, ScanSummary, XmpImportSummary
    from faceorganizer.ui.scan_panel import describe_summary

    conflict = NameConflict("a.jpg", 1, "Bob", "Alice", "named otherwise")
    s = ScanSummary(new=2, xmp=XmpImportSummary(photos=2, named=3, conflicts=[conflict]))
    assert describe_summary(s).endswith(
        "; 3 face names read from XMP, 1 not applied (they disagree with your names)"
    )
    assert "XMP" not in describe_summary(ScanSummary(new=2, xmp=XmpImportSummary(photos=2)))


def test_regions_embedded_in_a_heic_photo_are_read(tmp_path: Path) -> None:
    from PIL import Image

    from faceorganizer.core.images import load_image

    jpeg = tmp_path / "face.jpg"
    Image.new("RGB", (200, 100), (128, 128, 128)).save(jpeg)
    xmp_regions.write_regions(
        str(jpeg), [xmp_regions.NamedFace(1, "Hana", (20.0, 10.0, 60.0, 50.0))], (200, 100), 1
    )
    heic = tmp_path / "face.heic"
    load_image(jpeg)  # registers the HEIF opener
    with Image.open(jpeg) as im:
        im.save(heic, xmp=Path(str(jpeg) + ".xmp").read_bytes(), quality=60)
    (region,) = xmp_regions.read_regions(str(heic)).regions
    assert region.name == "Hana" and region.source == str(heic)
    assert all(abs(a - b) < 1e-5 for a, b in zip(region.box, (0.1, 0.1, 0.3, 0.5), strict=True))


def test_overlapping_regions_of_one_file_are_two_faces_but_copies_elsewhere_are_not(
    tmp_path: Path,
) -> None:
    from PIL import Image

    photo = tmp_path / "pair.jpg"
    Image.new("RGB", (200, 100), (128, 128, 128)).save(photo)
    mother = xmp_regions.NamedFace(1, "Mother", (40.0, 10.0, 100.0, 80.0), confirmed=True)
    child = xmp_regions.NamedFace(2, "Child", (70.0, 30.0, 120.0, 90.0), confirmed=True)
    xmp_regions.write_regions(str(photo), [mother, child], (200, 100), 1)
    shutil.copyfile(str(photo) + ".xmp", photo.with_suffix(".xmp"))  # an older copy beside it
    found = xmp_regions.read_regions(str(photo)).regions
    assert [(r.name, Path(r.source).name) for r in found] == [
        ("Mother", "pair.jpg.xmp"),
        ("Child", "pair.jpg.xmp"),
    ]
