"""People stay put: the reproduction of issue 9, item 1, through the services.

A library of ``photos/five_celebrity`` + ``photos/deepface_testset`` (three photos of Mindy
Kaling held back for later). The user merges the two Madonna groups and names her; a rescan, a
regroup and reopening the library then move no face between people (Katy Perry's faces used to
drift into Madonna), while new photos of a named person still join her. What a scan placed is one
history entry that undo reverts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from faceorganizer.services.library import Library
from tests.helpers.library_support import (
    HELD_BACK,
    LATER,
    celebrity_library,
    copy_library,
    people_of,
    shared_engine,
)


def _person_folder(path: str) -> str:
    return Path(path).parent.name


@pytest.fixture
def celebrities(tmp_path: Path) -> tuple[Path, Path, Path]:
    folder, db, later = celebrity_library()
    new_folder, new_db = copy_library(folder, db, tmp_path)
    return new_folder, new_db, later


def _assigned(lib: Library) -> dict[int, int]:
    return {f.face_id: f.person_id for f in lib.faces(include_hidden=True) if f.person_id}


def _merge_madonna(lib: Library) -> int:
    groups = people_of(lib, "madonna")
    assert len(groups) >= 2, "the reproduction needs Madonna split in two groups"
    target = max(groups, key=lambda p: lib.person(p).face_count)
    lib.merge_people(target, [g for g in groups if g != target])
    lib.name_person(target, "Madonna")
    return target


def test_rescan_regroup_and_reopen_move_no_face(celebrities) -> None:
    folder, db, _ = celebrities
    with Library.open(db) as lib:
        madonna = _merge_madonna(lib)
        (katy,) = people_of(lib, "katy_perry")
        katy_faces = {f.face_id for f in lib.faces(katy)}
        before = _assigned(lib)
        lib.scan(engine=shared_engine())
        lib.cluster()
    with Library.open(db) as lib:
        lib.scan(engine=shared_engine())
        after = _assigned(lib)
        assert {f: after.get(f) for f in before} == before
        assert {f.face_id for f in lib.faces(katy)} == katy_faces
        grew = [f for f, p in after.items() if p == madonna and f not in before]
        assert all(_person_folder(lib.face(f).photo_path) == "madonna" for f in grew)


def test_a_new_person_does_not_take_its_old_groups_faces(celebrities) -> None:
    """``move FACE --new``, name that person, regroup: the face's old unnamed group keeps its
    other faces (it used to dissolve into the new person)."""
    _, db, _ = celebrities
    with Library.open(db) as lib:
        group = max(people_of(lib, "elton_john"), key=lambda p: lib.person(p).face_count)
        faces = [f.face_id for f in lib.faces(group)]
        lib.move_faces(faces[:1], None)
        new = lib.face(faces[0]).person_id
        lib.name_person(new, "Elton John")
        lib.cluster()
        assert [f.face_id for f in lib.faces(group)] == faces[1:]
        assert [f.face_id for f in lib.faces(new)] == faces[:1]


def _name_mindy(lib: Library) -> int:
    (mindy,) = people_of(lib, LATER)
    lib.name_person(mindy, "Mindy Kaling")
    return mindy


def _add_later_photos(folder: Path, later: Path) -> set[str]:
    for photo in later.iterdir():
        shutil.copy2(photo, folder / "five_celebrity" / LATER / photo.name)
    return {p.name for p in later.iterdir()}


def test_new_photos_of_a_named_person_join_her(celebrities) -> None:
    folder, db, later = celebrities
    with Library.open(db) as lib:
        _merge_madonna(lib)
        mindy = _name_mindy(lib)
        before = _assigned(lib)
        names = _add_later_photos(folder, later)
        summary = lib.scan(engine=shared_engine())
        assert summary.new == HELD_BACK
        after = _assigned(lib)
        assert {f: after.get(f) for f in before} == before
        joined = [f for f in lib.faces(mindy) if Path(f.photo_path).name in names]
        assert len(joined) == HELD_BACK


def test_a_scans_placements_are_one_history_entry_that_undo_reverts(celebrities) -> None:
    folder, db, later = celebrities
    with Library.open(db) as lib:
        (first,) = [e for e in lib.history() if e.kind == "auto"]
        assert first.description.startswith("Scan: ") and "new groups" in first.description
        mindy = _name_mindy(lib)
        hers = {f.face_id for f in lib.faces(mindy)}
        _add_later_photos(folder, later)
        summary = lib.scan(engine=shared_engine())
        entry = lib.history()[0]
        assert entry.kind == "auto" and summary.placed == entry.description
        assert " joined " in entry.description
        placed = {f.face_id for f in lib.faces(mindy)} - hers
        assert placed

        undone = lib.undo()
        assert undone is not None and undone.edit_id == entry.edit_id
        assert {f.face_id for f in lib.faces(mindy)} == hers
        assert lib.person(mindy).name == "Mindy Kaling"
        lib.scan(engine=shared_engine())
        lib.cluster()
        assert {f.face_id for f in lib.faces(mindy)} == hers, "undone placements came back"
        assert placed <= {f.face_id for f in lib.faces(unassigned=True)}

        redone = lib.redo()
        assert redone is not None and redone.edit_id == entry.edit_id
        assert {f.face_id for f in lib.faces(mindy)} == hers | placed
