"""Scanning a real folder of shared photos: incremental rescans, moves, deletions, changes,
unreadable files, cancellation and resumption, and originals left untouched."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceorganizer.cli import main
from faceorganizer.services.library import Library
from faceorganizer.services.types import ScanProgress
from tests.helpers.library_support import (
    BROKEN,
    canonical_dump,
    library_copy,
    scanned_library,
    shared_engine,
    subset,
    tree_hashes,
)


def _duplicates(lib: Library) -> list[tuple]:
    return lib.db.execute(
        "SELECT photo_id, x1, y1, x2, y2, count(*) FROM faces "
        "GROUP BY photo_id, x1, y1, x2, y2 HAVING count(*) > 1"
    ).fetchall()


@pytest.fixture
def lib_copy(tmp_path: Path):
    folder, db = library_copy(tmp_path)
    with Library.open(db) as lib:
        yield folder, lib


def test_first_scan_records_every_photo_and_every_unreadable_file() -> None:
    folder, db = scanned_library()
    with Library.open(db, read_only=True) as lib:
        counts = lib.counts()
        assert counts["photos"] == len(subset()) + len(BROKEN)  # the hidden folder is skipped
        errors = {os.path.relpath(p.path, folder): p.error for p in lib.photo_errors()}
        assert set(errors) == BROKEN and all(errors.values())
        assert counts["faces"] >= len(subset()) - 2  # every photo but the two without a face
        assert not _duplicates(lib)
        no_face = [p for p, who in subset() if p.startswith("robustness/no_face")]
        for rel in no_face:
            pid = lib.db.execute("SELECT id FROM photos WHERE path = ?", [str(folder / rel)])
            assert lib.photo_faces(pid.fetchone()[0]) == []
        assert lib.folders() == [str(folder)]


def test_rescan_without_changes_touches_nothing(lib_copy) -> None:
    folder, lib = lib_copy
    before = canonical_dump(lib.db.conn)
    summary = lib.scan(engine=shared_engine())
    assert (summary.new, summary.changed, summary.moved, summary.removed) == (0, 0, 0, 0)
    assert summary.unchanged == lib.counts()["photos"]
    assert canonical_dump(lib.db.conn) == before


def _photo_with_one_face(lib: Library, folder: Path, under: str) -> tuple[Path, int]:
    for p in sorted((folder / under).iterdir()):
        row = lib.db.execute("SELECT id FROM photos WHERE path = ?", [str(p)]).fetchone()
        faces = lib.photo_faces(row[0])
        if len(faces) == 1:
            return p, faces[0].face_id
    raise AssertionError(f"no single-face photo under {under}")


def test_moved_and_renamed_photos_keep_their_faces_and_people(lib_copy) -> None:
    folder, lib = lib_copy
    a, face_a = _photo_with_one_face(lib, folder, "photos/face_recognition_examples/obama")
    b, face_b = _photo_with_one_face(lib, folder, "photos/deepface_testset/katy_perry")
    lib.name_person(lib.face(face_a).person_id, "Barack")
    lib.name_person(lib.face(face_b).person_id, "Katy")
    lib.confirm_faces([face_b])
    before = {f: lib.face(f) for f in (face_a, face_b)}
    (folder / "elsewhere/deeper").mkdir(parents=True)
    shutil.move(a, folder / "elsewhere/deeper/renamed.jpg")
    b.rename(b.with_name("katy renamed.jpg"))

    summary = lib.scan(engine=shared_engine())
    assert (summary.moved, summary.new, summary.removed, summary.faces_added) == (2, 0, 0, 0)
    for f, old in before.items():
        new = lib.face(f)
        assert (new.photo_id, new.box, new.person_id, new.person_name, new.assigned_by) == (
            old.photo_id,
            old.box,
            old.person_id,
            old.person_name,
            old.assigned_by,
        )
    assert lib.face(face_a).photo_path == str(folder / "elsewhere/deeper/renamed.jpg")
    assert (lib.face(face_b).person_name, lib.face(face_b).assigned_by) == ("Katy", "user")


def test_deleted_photo_faces_leave_people_and_named_people_stay(lib_copy) -> None:
    folder, lib = lib_copy
    path, face = _photo_with_one_face(lib, folder, "photos/deepface_testset/scarlett_johansson")
    lib.move_faces([face], None)
    pid = lib.face(face).person_id
    lib.name_person(pid, "Scarlett alone")
    other_path, other = _photo_with_one_face(lib, folder, "photos/face_recognition_examples/obama")
    lib.move_faces([other], None)
    unnamed = lib.face(other).person_id
    path.unlink()
    other_path.unlink()

    summary = lib.scan(engine=shared_engine())
    assert summary.removed == 2
    assert (
        lib.db.execute("SELECT count(*) FROM faces WHERE id IN (?, ?)", [face, other]).fetchone()[0]
        == 0
    )
    kept = lib.person("Scarlett alone")
    assert (kept.person_id, kept.face_count) == (pid, 0)
    assert unnamed not in {p.person_id for p in lib.people(include_hidden=True)}
    assert not lib.db.execute("SELECT 1 FROM photos WHERE path = ?", [str(path)]).fetchone()


def test_changed_photo_is_redetected_and_keeps_decisions(lib_copy) -> None:
    folder, lib = lib_copy
    path, face = _photo_with_one_face(lib, folder, "photos/face_recognition_examples/kit_harington")
    lib.move_faces([face], None)
    pid = lib.face(face).person_id
    lib.name_person(pid, "Kit")
    lib.reject_faces([face], "Kit")  # then put back by hand: pinned, rejection of Kit undone
    lib.move_faces([face], "Kit")
    lib.hide_faces([face])
    with Image.open(path) as im:
        im.load()
        im.save(path, quality=70)  # re-encoded: new bytes, the same face

    summary = lib.scan(engine=shared_engine())
    assert (summary.changed, summary.new, summary.moved) == (1, 0, 0)
    (new,) = lib.photo_faces(
        lib.face(lib.faces(person_id="Kit", include_hidden=True)[0].face_id).photo_id
    )
    assert new.face_id != face
    assert (new.person_name, new.assigned_by, new.hidden) == ("Kit", "user", True)
    assert lib.db.execute("SELECT count(*) FROM faces WHERE id = ?", [face]).fetchone()[0] == 0
    assert not _duplicates(lib)


def test_cancelled_scan_resumes_without_duplicates(tmp_path: Path) -> None:
    source, reference = scanned_library()
    folder = tmp_path / "photos"
    shutil.copytree(source / "lfw_dev", folder / "lfw_dev")
    total = sum(1 for _ in folder.rglob("*.jpg"))
    cancel = threading.Event()

    def stop_early(p: ScanProgress) -> None:
        if p.phase == "scanning" and p.done >= 3:
            cancel.set()

    with Library.open(tmp_path / "lib.sqlite3") as lib:
        small_batches = shared_engine(batch_size=2)
        first = lib.scan([folder], engine=small_batches, progress=stop_early, cancel=cancel)
        assert first.cancelled
        stored = lib.counts()["photos"]
        assert 3 <= stored < total
        # "Scan stopped: 1772 new … — 264 faces added" read as if every new photo was in
        assert (first.read, first.to_read) == (stored, total)
        from faceorganizer.ui.scan_panel import describe_summary

        assert describe_summary(first).startswith(f"Scan stopped after {stored} of {total} photos")
        second = lib.scan(engine=shared_engine())
        assert not second.cancelled
        assert (second.new, second.unchanged) == (total - stored, stored)
        with Library.open(reference, read_only=True) as ref:
            expected = ref.db.execute(
                "SELECT count(*) FROM faces f JOIN photos p ON p.id = f.photo_id "
                "WHERE p.path LIKE '%/lfw_dev/%'"
            ).fetchone()[0]
        assert lib.counts()["faces"] == expected
        assert not _duplicates(lib)


def test_originals_are_byte_identical_after_scan_cluster_and_export(lib_copy, tmp_path) -> None:
    folder, lib = lib_copy
    before = tree_hashes(folder)
    lib.scan(engine=shared_engine())
    lib.cluster()
    people = [p for p in lib.people() if p.face_count >= 2][:2]
    for i, p in enumerate(people):
        lib.name_person(p.person_id, f"Person {i}")
    lib.export(tmp_path / "by-person")
    lib.export(tmp_path / "copies", mode="copy")
    lib.export(tmp_path / "faces.csv", fmt="csv")
    assert tree_hashes(folder) == before
    assert sorted(os.listdir(tmp_path / "by-person")) == ["Person 0", "Person 1"]
    linked = next((tmp_path / "by-person/Person 0").iterdir())
    assert linked.is_symlink() and Path(os.readlink(linked)).is_relative_to(folder)


def test_photos_errors_lists_unreadable_files(lib_copy, capsys) -> None:
    folder, lib = lib_copy
    status = main(["photos", "--errors", "--json", "--library", str(lib.path)])
    import json

    listed = json.loads(capsys.readouterr().out)
    assert status == 0
    assert {os.path.relpath(p["path"], folder) for p in listed} == BROKEN
    assert {p["error"] for p in listed} == {"truncated JPEG", "not an image"}


def test_photos_of_an_older_recipe_are_reembedded_keeping_people(lib_copy) -> None:
    """After an upgrade changes how the model embeds, the next scan redoes the older photos only,
    and their faces keep their people and names."""
    folder, lib = lib_copy
    path, face = _photo_with_one_face(lib, folder, "photos/face_recognition_examples/kit_harington")
    lib.move_faces([face], None)
    lib.name_person(lib.face(face).person_id, "Kit")
    pid = lib.face(face).photo_id
    old_vector = lib.db.execute("SELECT embedding FROM faces WHERE id = ?", [face]).fetchone()[0]
    lib.db.execute("UPDATE photos SET recipe = 0 WHERE id = ?", [pid])

    summary = lib.scan(engine=shared_engine())
    assert (summary.changed, summary.new, summary.moved, summary.removed) == (1, 0, 0, 0)
    (new,) = lib.photo_faces(pid)
    assert (new.person_name, new.assigned_by) == ("Kit", "user")
    assert lib.db.execute("SELECT recipe FROM photos WHERE id = ?", [pid]).fetchone()[0] >= 1
    vector = lib.db.execute("SELECT embedding FROM faces WHERE id = ?", [new.face_id]).fetchone()
    # the same recipe as the rest of the library, computed again
    assert np.allclose(
        np.frombuffer(vector[0], np.float32), np.frombuffer(old_vector, np.float32), atol=1e-4
    )
    again = lib.scan(engine=shared_engine())
    assert again.changed == 0 and again.unchanged == lib.counts()["photos"]
