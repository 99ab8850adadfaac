"""Random sequences of edits, re-clusterings and undos on a real scanned library: every user
decision survives every re-clustering, and undo/redo return the exact state before/after."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from library_support import canonical_dump, scanned_library

from faceorganizer.services.errors import LibraryError
from faceorganizer.services.library import Library

OPS = ("name", "merge", "move", "move_new", "reject", "confirm", "hide", "hide_face",
       "cover", "cluster", "undo", "redo")  # fmt: skip


def _decisions(lib: Library) -> tuple[dict[int, int], set[tuple[int, int]], dict[int, str]]:
    pinned = dict(
        lib.db.execute("SELECT id, person_id FROM faces WHERE assigned_by = 'user'").fetchall()
    )
    rejected = set(lib.db.execute("SELECT face_id, person_id FROM rejections").fetchall())
    names = dict(lib.db.execute("SELECT id, name FROM persons WHERE name IS NOT NULL").fetchall())
    return pinned, rejected, names


def _apply(lib: Library, op: str, pick: st.DataObject) -> bool:
    people = [p.person_id for p in lib.people(include_hidden=True)]
    faces = [f.face_id for f in lib.faces(include_hidden=True)]
    some_faces = pick.draw(st.lists(st.sampled_from(faces), min_size=1, max_size=3, unique=True))
    person = pick.draw(st.sampled_from(people))
    try:
        if op == "name":
            lib.name_person(person, pick.draw(st.sampled_from(["Ann", "Bo", "Cy", ""])))
        elif op == "merge":
            lib.merge_people(person, [pick.draw(st.sampled_from(people))])
        elif op == "move":
            lib.move_faces(some_faces, person)
        elif op == "move_new":
            lib.move_faces(some_faces, None)
        elif op == "reject":
            lib.reject_faces(some_faces, person)
        elif op == "confirm":
            lib.confirm_faces(some_faces)
        elif op == "hide":
            lib.hide_person(person, pick.draw(st.booleans()))
        elif op == "hide_face":
            lib.hide_faces(some_faces, pick.draw(st.booleans()))
        elif op == "cover":
            lib.set_cover(person, lib.faces(person_id=person, include_hidden=True)[0].face_id)
        return True
    except (LibraryError, IndexError):
        return False


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=st.lists(st.sampled_from(OPS), min_size=3, max_size=10), pick=st.data())
def test_decisions_survive_reclustering_and_undo_restores_exactly(ops, pick) -> None:
    _, pristine = scanned_library()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "library.sqlite3"
        shutil.copyfile(pristine, db)
        with Library.open(db) as lib:
            for op in ops:
                if op == "cluster":
                    pinned, rejected, names = _decisions(lib)
                    lib.cluster()
                    now = dict(lib.db.execute("SELECT id, person_id FROM faces").fetchall())
                    assert all(now[f] == p for f, p in pinned.items())
                    assert not any(now.get(f) == p for f, p in rejected)
                    assert _decisions(lib)[2] == names
                    continue
                if op in ("undo", "redo"):
                    (lib.undo if op == "undo" else lib.redo)()
                    continue
                before = canonical_dump(lib.db.conn)
                if not _apply(lib, op, pick):
                    assert canonical_dump(lib.db.conn) == before  # a refused edit changes nothing
                    continue
                after = canonical_dump(lib.db.conn)
                lib.undo()
                assert canonical_dump(lib.db.conn) == before
                lib.redo()
                assert canonical_dump(lib.db.conn) == after
