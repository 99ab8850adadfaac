"""The review queue on a copy of the session's scanned library (real photos, real model): the
errors a scan leaves (a person split in two, a face left out, a stranger's face in a group,
a person nobody has yet) become questions, and every answer is one edit that undo reverts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceorganizer.cli import main
from faceorganizer.services.errors import LibraryError
from faceorganizer.services.library import Library
from faceorganizer.services.review import StaleSuggestionError
from faceorganizer.services.review.answers import parse
from tests.helpers.library_support import canonical_dump, library_copy


@pytest.fixture
def lib(tmp_path: Path):
    _, db = library_copy(tmp_path)
    with Library.open(db) as library:
        yield library


def biggest(lib: Library, n: int = 0) -> int:
    return lib.people()[n].person_id


def face_ids(lib: Library, person: int) -> list[int]:
    return [f.face_id for f in lib.faces(person_id=person)]


def set_person(lib: Library, faces: list[int], person: int | None) -> None:
    """Put faces where a scan's grouping could have left them (automatic, not the user's)."""
    by = "auto" if person is not None else None
    lib.db.conn.executemany(
        "UPDATE faces SET person_id = ?, assigned_by = ? WHERE id = ?",
        [(person, by, f) for f in faces],
    )
    lib.db.conn.commit()


def split(lib: Library, person: int) -> int:
    """Half of ``person``'s faces into a new automatic person, as a too strict grouping does."""
    half = face_ids(lib, person)[::2]
    other = int(lib.db.execute("INSERT INTO persons(created_at) VALUES ('now')").lastrowid)
    set_person(lib, half, other)
    return other


def edits(lib: Library) -> list:
    """The history without the scan's own entry (what the copied library's scan placed)."""
    return [e for e in lib.history() if e.kind != "auto"]


def kinds(lib: Library) -> dict[str, list]:
    found: dict[str, list] = {}
    for s in lib.review_queue():
        found.setdefault(s.kind, []).append(s)
    return found


def test_accepting_a_merge_merges_and_is_one_history_entry(lib: Library) -> None:
    person = biggest(lib)
    other = split(lib, person)
    total = len(face_ids(lib, person)) + len(face_ids(lib, other))
    merge = next(s for s in lib.review_queue() if s.kind == "merge")
    assert {merge.person_id, merge.other_person_id} == {person, other}
    assert merge.chance >= 0.9 and merge.question == "Are these the same person?"
    before = canonical_dump(lib.db.conn)
    info = lib.review_accept(merge.suggestion_id)
    assert info.kind == "merge" and [e.edit_id for e in edits(lib)] == [info.edit_id]
    assert len(face_ids(lib, int(merge.person_id or 0))) == total
    assert all(s.kind != "merge" for s in lib.review_queue())
    lib.undo()
    assert canonical_dump(lib.db.conn) == before


def test_not_the_same_survives_reclustering_and_suppresses_the_pair(lib: Library, tmp_path):
    person = biggest(lib)
    other = split(lib, person)
    faces_before = {p: set(face_ids(lib, p)) for p in (person, other)}
    merge = next(s for s in lib.review_queue() if s.kind == "merge")
    info = lib.review_reject(merge.suggestion_id)
    assert info.kind == "not-same" and len(edits(lib)) == 1
    links = lib.db.execute("SELECT person_a, person_b FROM not_same_persons").fetchall()
    assert links == [tuple(sorted((person, other)))]
    lib.cluster()
    assert {p: set(face_ids(lib, p)) for p in (person, other)} == faces_before
    assert lib.db.execute("SELECT count(*) FROM not_same_persons").fetchone()[0] == 1
    assert all({s.person_id, s.other_person_id} != {person, other} for s in lib.review_queue())
    lib.undo()  # the answer undone: the question comes back
    assert any(s.suggestion_id == merge.suggestion_id for s in lib.review_queue())


def test_regrouping_never_merges_the_split_the_queue_asks(lib: Library) -> None:
    """The control of the test above: regrouping never merges people (issue 9), so a split
    person stays split until the user answers the queue's question."""
    person = biggest(lib)
    faces = face_ids(lib, person)
    other = split(lib, person)
    lib.cluster()
    assert {lib.face(f).person_id for f in faces} == {person, other}
    assert any(
        s.kind == "merge" and {s.person_id, s.other_person_id} == {person, other}
        for s in lib.review_queue()
    )


def test_a_rejected_who_is_this_never_comes_back(lib: Library) -> None:
    person = biggest(lib)
    face = face_ids(lib, person)[0]
    set_person(lib, [face], None)
    who = next(s for s in lib.review_queue() if s.kind == "who")
    assert who.person_id == person and who.face_ids == (face,)
    assert who.suggestion_id == f"w{person}-{face}"
    lib.review_reject(who.suggestion_id)
    assert (face, person) in set(lib.db.execute("SELECT face_id, person_id FROM rejections"))
    lib.cluster()
    assert lib.face(face).person_id != person
    assert all(face not in s.face_ids or s.person_id != person for s in lib.review_queue())


def test_who_is_this_accepted_places_the_faces_as_the_users(lib: Library) -> None:
    person = biggest(lib)
    faces = face_ids(lib, person)[:2]
    set_person(lib, faces, None)
    who = next(s for s in lib.review_queue() if s.kind == "who")
    assert sorted(who.face_ids) == sorted(faces) and who.question == "Are these the same person?"
    lib.name_person(person, "Ann")
    who = next(s for s in lib.review_queue() if s.kind == "who")
    assert who.question == "Are these 'Ann'?"
    lib.review_accept(who.suggestion_id, excluded=[faces[1]])
    assert lib.face(faces[0]).person_id == person and lib.face(faces[0]).assigned_by == "user"
    assert lib.face(faces[1]).person_id is None
    assert (faces[1], person) in set(lib.db.execute("SELECT face_id, person_id FROM rejections"))
    assert [e.kind for e in edits(lib)] == ["move", "name"]


def test_a_face_that_does_not_belong_is_asked_about_then_removed_or_kept(lib: Library) -> None:
    person, other = biggest(lib, 0), biggest(lib, 1)
    stray = face_ids(lib, other)[0]
    set_person(lib, [stray], person)
    odd = next(s for s in lib.review_queue() if s.kind == "odd")
    assert odd.suggestion_id == f"o{person}-{stray}" and odd.chance >= 0.9
    before = canonical_dump(lib.db.conn)
    lib.review_accept(odd.suggestion_id)  # Remove
    assert lib.face(stray).person_id is None
    assert any(s.kind == "who" and s.person_id == other for s in lib.review_queue())
    lib.undo()
    assert canonical_dump(lib.db.conn) == before
    lib.review_reject(odd.suggestion_id)  # Keep: the user confirmed it
    assert lib.face(stray).assigned_by == "user" and lib.face(stray).person_id == person
    assert all(s.kind != "odd" for s in lib.review_queue())


def loosen_smallest(lib: Library) -> list[int]:
    """The smallest person's faces left without a person, as if nobody had them yet."""
    person = lib.people()[-1].person_id
    faces = face_ids(lib, person)
    set_person(lib, faces, None)
    lib.db.execute("DELETE FROM persons WHERE id = ?", [person])
    lib.db.conn.commit()
    return faces


def test_faces_nobody_has_become_a_new_person(lib: Library) -> None:
    faces = loosen_smallest(lib)
    new = next(s for s in lib.review_queue() if s.kind == "new")
    assert set(new.face_ids) <= set(faces) and len(new.face_ids) >= 2 and new.person_id is None
    before = canonical_dump(lib.db.conn)
    lib.review_accept(new.suggestion_id, excluded=[new.face_ids[-1]])
    made = {lib.face(f).person_id for f in new.face_ids[:-1]}
    assert len(made) == 1 and None not in made
    assert {lib.face(f).assigned_by for f in new.face_ids[:-1]} == {"user"}
    assert lib.face(new.face_ids[-1]).person_id is None
    assert len(edits(lib)) == 1
    lib.undo()
    assert canonical_dump(lib.db.conn) == before


def test_faces_said_to_be_apart_stay_apart(lib: Library) -> None:
    loosen_smallest(lib)
    new = next(s for s in lib.review_queue() if s.kind == "new")
    lib.review_reject(new.suggestion_id)
    lead = new.face_ids[0]
    pairs = set(lib.db.execute("SELECT face_a, face_b FROM not_same_faces"))
    assert pairs == {tuple(sorted((lead, f))) for f in new.face_ids[1:]}
    assert all(s.suggestion_id != new.suggestion_id for s in lib.review_queue())
    lib.cluster()
    lead_person = lib.face(lead).person_id
    apart = new.face_ids[1:]  # the faces the user said are not the lead's person
    assert lead_person is None or all(lib.face(f).person_id != lead_person for f in apart)


def test_the_queue_shrinks_as_it_is_answered(lib: Library) -> None:
    person, other, third = biggest(lib, 0), biggest(lib, 1), biggest(lib, 2)
    split(lib, person)
    set_person(lib, face_ids(lib, other)[:1], None)
    set_person(lib, face_ids(lib, third)[:1], person)
    queue = lib.review_queue()
    assert {s.kind for s in queue} >= {"merge", "who", "odd"}
    assert [s.value for s in queue] == sorted((s.value for s in queue), reverse=True)
    sizes, answered = [len(queue)], set()
    for _ in range(20):
        if not queue:
            break
        answered.add(queue[0].suggestion_id)
        lib.review_reject(queue[0].suggestion_id)
        queue = lib.review_queue()
        sizes.append(len(queue))
        assert not answered & {s.suggestion_id for s in queue}  # an answer is never asked again
    assert sizes[-1] == 0 and all(a >= b for a, b in zip(sizes, sizes[1:], strict=False))
    assert len(edits(lib)) == len(sizes) - 1


def test_a_question_the_library_moved_past_is_refused(lib: Library) -> None:
    person = biggest(lib)
    other = split(lib, person)
    merge = next(s for s in lib.review_queue() if s.kind == "merge")
    lib.merge_people(person, [other])
    before = canonical_dump(lib.db.conn)
    with pytest.raises(StaleSuggestionError, match="out of date"):
        lib.review_accept(merge.suggestion_id)
    with pytest.raises(LibraryError, match="no review question"):
        lib.review_reject("x12-13")
    assert canonical_dump(lib.db.conn) == before
    assert parse("w3-10-11").face_ids == (10, 11) and parse("m4-5").other_person_id == 5


def test_review_from_the_command_line(tmp_path: Path, capsys) -> None:
    _, db = library_copy(tmp_path)
    with Library.open(db) as lib:
        person = biggest(lib)
        other = split(lib, person)

    def run(*argv: str) -> tuple[int, object]:
        status = main([*argv, "--json", "--library", str(db)])
        out = capsys.readouterr().out
        return status, json.loads(out) if out.strip() else None

    status, queue = run("review")
    assert status == 0 and isinstance(queue, list)
    merge = next(s for s in queue if s["kind"] == "merge")
    assert {merge["person_id"], merge["other_person_id"]} == {person, other}
    status, edit = run("review", "accept", merge["suggestion_id"])
    assert status == 0 and edit["kind"] == "merge"
    status, err = run("review", "reject", merge["suggestion_id"])
    assert status == 1 and "out of date" in err["error"]
    assert run("history")[1][0]["edit_id"] == edit["edit_id"]
    assert main(["review", "--library", str(db)]) == 0
    listed = capsys.readouterr().out
    assert merge["suggestion_id"] not in listed and ("%" in listed or "nothing" in listed)
