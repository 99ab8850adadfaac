"""Random sequences of scans, edits, review answers, re-clusterings and undos on a real scanned
library: every user decision survives every re-clustering and every rescan, and undo/redo return
the exact state before/after an edit."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from faceorganizer.services.errors import LibraryError
from faceorganizer.services.library import Library
from tests.helpers.library_support import canonical_dump, library_copy, shared_engine

OPS = ("name", "merge", "move", "move_new", "reject", "confirm", "hide", "hide_face",
       "cover", "cluster", "undo", "redo", "scan_move", "scan_delete", "scan_change",
       "review_accept", "review_reject")  # fmt: skip
SCANS = ("scan_move", "scan_delete", "scan_change")


def _decisions(lib: Library) -> tuple[dict[int, int], set[tuple[int, int]], dict[int, str]]:
    pinned = dict(
        lib.db.execute("SELECT id, person_id FROM faces WHERE assigned_by = 'user'").fetchall()
    )
    rejected = set(lib.db.execute("SELECT face_id, person_id FROM rejections").fetchall())
    names = dict(lib.db.execute("SELECT id, name FROM persons WHERE name IS NOT NULL").fetchall())
    return pinned, rejected, names


def _apart(lib: Library) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """The "not the same" answers: pairs of persons, pairs of faces."""
    persons = set(lib.db.execute("SELECT person_a, person_b FROM not_same_persons").fetchall())
    faces = set(lib.db.execute("SELECT face_a, face_b FROM not_same_faces").fetchall())
    return persons, faces


def _review(lib: Library, accept: bool, pick: st.DataObject) -> None:
    """Answer one question of the queue (any of it, not only the first)."""
    queue = lib.review_queue()
    if not queue:
        raise LibraryError("nothing to review")
    s = pick.draw(st.sampled_from(queue))
    if accept:
        left_out: list[int] = []
        if s.kind in ("who", "new") and len(s.face_ids) > 1:
            left_out = pick.draw(st.lists(st.sampled_from(s.face_ids), max_size=1))
        lib.review_accept(s.suggestion_id, left_out)
    else:
        lib.review_reject(s.suggestion_id)


def _apply(lib: Library, op: str, pick: st.DataObject) -> bool:
    people = [p.person_id for p in lib.people(include_hidden=True)]
    faces = [f.face_id for f in lib.faces(include_hidden=True)]
    if not people:  # an undo of the scan's placements leaves every face without a person
        return False
    some_faces = pick.draw(st.lists(st.sampled_from(faces), min_size=1, max_size=3, unique=True))
    person = pick.draw(st.sampled_from(people))
    try:
        if op == "name":
            info = lib.name_person(person, pick.draw(st.sampled_from(["Ann", "Bo", "Cy", ""])))
        elif op == "merge":
            info = lib.merge_people(person, [pick.draw(st.sampled_from(people))])
        elif op == "move":
            info = lib.move_faces(some_faces, person)
        elif op == "move_new":
            info = lib.move_faces(some_faces, None)
        elif op == "reject":
            info = lib.reject_faces(some_faces, person)
        elif op == "confirm":
            info = lib.confirm_faces(some_faces)
        elif op == "hide":
            info = lib.hide_person(person, pick.draw(st.booleans()))
        elif op == "hide_face":
            info = lib.hide_faces(some_faces, pick.draw(st.booleans()))
        elif op == "cover":
            info = lib.set_cover(
                person, lib.faces(person_id=person, include_hidden=True)[0].face_id
            )
        elif op in ("review_accept", "review_reject"):
            _review(lib, op == "review_accept", pick)
            return True
        return info.changed  # an edit that changes nothing is not logged: nothing to undo
    except (LibraryError, IndexError):
        return False


def _pinned_by_photo(lib: Library) -> dict[int, set[tuple[int, int]]]:
    """Per photo, its user-assigned faces as (person, rounded box centre x)."""
    out: dict[int, set[tuple[int, int]]] = {}
    rows = lib.db.execute(
        "SELECT photo_id, person_id, x1, x2 FROM faces WHERE assigned_by = 'user'"
    ).fetchall()
    for photo, person, x1, x2 in rows:
        out.setdefault(photo, set()).add((person, round((x1 + x2) / 20)))
    return out


def _scan(lib: Library, folder: Path, op: str, pick: st.DataObject) -> None:
    """Change one photo file the way a user's folder changes, rescan, and check that nothing the
    user decided is lost: names stay, pinned faces keep their person (a re-encoded photo's new
    faces inherit them), and only a deleted photo's faces go."""
    files = sorted(p for p in folder.rglob("*.jpg") if "broken" not in p.parts)
    path = pick.draw(st.sampled_from(files))
    row = lib.db.execute("SELECT id FROM photos WHERE path = ?", [str(path)]).fetchone()
    photo = row[0] if row else None
    names = _decisions(lib)[2]
    pinned = _pinned_by_photo(lib)
    if op == "scan_move":
        target = folder / "moved" / f"renamed_{path.name}"
        target.parent.mkdir(exist_ok=True)
        path.rename(target)
    elif op == "scan_delete":
        path.unlink()
    else:
        with Image.open(path) as im:
            im.load()
            im.save(path, quality=80)
    lib.scan(engine=shared_engine())
    assert _decisions(lib)[2] == names  # a named person stays, even when emptied
    now = _pinned_by_photo(lib)
    for ph, decided in pinned.items():
        if op == "scan_delete" and ph == photo:
            assert ph not in now
        else:
            assert _same_places(now.get(ph, set()), decided), (op, ph, now.get(ph), decided)


def _same_places(now: set[tuple[int, int]], decided: set[tuple[int, int]]) -> bool:
    """The same persons at the same places, a box centre allowed to move by one rounding step
    (a re-encoded photo's face is found a pixel or two away)."""
    left = sorted(now, key=lambda t: (str(t[0]), t[1]))
    right = sorted(decided, key=lambda t: (str(t[0]), t[1]))
    return len(left) == len(right) and all(
        a[0] == b[0] and abs(a[1] - b[1]) <= 1 for a, b in zip(left, right, strict=True)
    )


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=st.lists(st.sampled_from(OPS), min_size=3, max_size=10), pick=st.data())
def test_decisions_survive_reclustering_and_undo_restores_exactly(ops, pick) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder, db = library_copy(Path(tmp))
        with Library.open(db) as lib:
            for op in ops:
                if op in SCANS:
                    _scan(lib, folder, op, pick)
                    continue
                if op == "cluster":
                    pinned, rejected, names = _decisions(lib)
                    apart_persons, apart_faces = _apart(lib)
                    was = dict(lib.db.execute("SELECT id, person_id FROM faces").fetchall())
                    lib.cluster()
                    now = dict(lib.db.execute("SELECT id, person_id FROM faces").fetchall())
                    assert all(now[f] == p for f, p in pinned.items())
                    assert not any(now.get(f) == p for f, p in rejected)
                    assert _decisions(lib)[2] == names
                    assert _apart(lib) == (apart_persons, apart_faces)
                    for a, b in apart_persons:  # grouping never joins persons said apart
                        assert not any(
                            {p, now.get(f)} == {a, b} for f, p in was.items() if p in (a, b)
                        )
                    for a, b in apart_faces:  # nor faces said apart
                        together = was.get(a) is not None and was.get(a) == was.get(b)
                        assert together or now.get(a) is None or now.get(a) != now.get(b)
                    continue
                if op in ("undo", "redo"):
                    (lib.undo if op == "undo" else lib.redo)()
                    continue
                before = canonical_dump(lib.db.conn)
                if not _apply(lib, op, pick):
                    assert canonical_dump(lib.db.conn) == before  # refused or no-op: no change
                    continue
                after = canonical_dump(lib.db.conn)
                lib.undo()
                assert canonical_dump(lib.db.conn) == before
                lib.redo()
                assert canonical_dump(lib.db.conn) == after
