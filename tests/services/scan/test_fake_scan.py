"""Scan, group, edit, undo and search a library through the real services with fake models."""

from __future__ import annotations

from pathlib import Path

from faceorganizer.core.pipeline import FaceEngine
from faceorganizer.services.library import Library


def _groups(lib: Library) -> dict[int, set[str]]:
    """Person id -> the photo file names of its faces."""
    out: dict[int, set[str]] = {}
    for face in lib.faces():
        if face.person_id is not None:
            out.setdefault(face.person_id, set()).add(Path(face.photo_path).name)
    return out


def test_scan_groups_each_colour_into_one_person(library: Library, album) -> None:
    _, who = album
    counts = library.counts()
    assert counts["photos"] == 11 and counts["photo_errors"] == 1
    assert counts["faces"] == sum(len(v) for v in who.values())
    groups = sorted(_groups(library).values(), key=len)
    expected = sorted(
        ({Path(p).name for p in who[name]} for name in ("ann", "bob", "cid")), key=len
    )
    assert groups == expected  # eve (one photo) stays without a person
    assert library.face_count(unassigned=True) == 1
    (broken,) = library.photo_errors()
    assert Path(broken.path).name == "broken.jpg" and broken.error


def test_rescan_of_an_unchanged_folder_does_nothing(library: Library, engine: FaceEngine) -> None:
    before = library.counts()
    summary = library.scan(engine=engine)
    assert (summary.new, summary.changed, summary.unchanged) == (0, 0, 11)
    assert library.counts() == before


def test_edits_undo_and_redo(library: Library) -> None:
    people = library.people()
    biggest = people[0]
    info = library.name_person(biggest.person_id, "Ann")
    assert library.person("Ann").face_count == biggest.face_count
    other = people[1]
    library.merge_people("Ann", [other.person_id])
    assert library.person("Ann").face_count == biggest.face_count + other.face_count
    undone = library.undo()
    assert undone is not None and undone.kind == "merge"
    assert library.person("Ann").face_count == biggest.face_count
    library.redo()
    assert library.person("Ann").face_count == biggest.face_count + other.face_count
    assert [e.kind for e in library.history()][:2] == ["merge", "name"]
    assert info.kind == "name"


def test_rejected_face_never_returns_on_recluster(library: Library) -> None:
    person = library.people()[0]
    face = library.faces(person.person_id)[0]
    library.reject_faces([face.face_id], person.person_id)
    library.cluster()
    assert library.face(face.face_id).person_id != person.person_id


def test_search_ranks_the_same_colour_first(library: Library, album) -> None:
    _, who = album
    ann_photo = Path(who["ann"][0]).name
    query = next(f for f in library.faces() if Path(f.photo_path).name == ann_photo)
    hits = library.search(face_id=query.face_id, threshold=50)
    names = {Path(h.face.photo_path).name for h in hits}
    assert names == {Path(p).name for p in who["ann"]} - {ann_photo}
