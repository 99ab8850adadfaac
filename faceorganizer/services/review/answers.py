"""Answering a review question: each answer is one edit-log entry that undo reverts.

An answer names its question by id (``m12-34``, ``w12-345-346``, ``n345-346``, ``o12-345``), so
the CLI can answer what it listed before; a question the library has moved past (a person
merged away, a face placed meanwhile) is refused with a message instead of doing something the
user did not see.

========  ==============================  ===============================================
kind      accept                          reject
========  ==============================  ===============================================
merge     merge the second into the first "Not the same": a lasting pair of persons
who       the faces join the person       "Not this person" for each face
new       the faces become a new person   "Not the same": the first face and each other
odd       take the face out ("not this")  "Keep": the face is confirmed in its person
========  ==============================  ===============================================

``excluded`` faces of a ``who`` or ``new`` question (the user unticked them) are left out of an
accept and rejected from the person instead, in the same entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlite_utils import Database

from faceorganizer.services.errors import LibraryError, NotFoundError
from faceorganizer.services.people import edits
from faceorganizer.services.types import EditInfo
from faceorganizer.storage import faces, not_same, persons

KINDS = {"m": "merge", "w": "who", "n": "new", "o": "odd"}
_ID = re.compile(r"^([mwno])(\d+(?:-\d+)+)$")


class StaleSuggestionError(LibraryError):
    """The question no longer fits the library (it changed since the queue was read)."""


@dataclass(frozen=True)
class Question:
    kind: str
    person_id: int | None  # merge: the target; who, odd: the person
    other_person_id: int | None  # merge: the person merged in
    face_ids: tuple[int, ...]


def parse(suggestion_id: str) -> Question:
    m = _ID.match(suggestion_id.strip())
    if not m:
        raise NotFoundError(f"no review question {suggestion_id!r}")
    kind = KINDS[m.group(1)]
    ids = tuple(int(x) for x in m.group(2).split("-"))
    if kind == "merge" and len(ids) == 2 and ids[0] != ids[1]:
        return Question(kind, ids[0], ids[1], ())
    if kind == "who" and len(set(ids[1:])) == len(ids) - 1:
        return Question(kind, ids[0], None, ids[1:])
    if kind == "new" and len(set(ids)) == len(ids):
        return Question(kind, None, None, ids)
    if kind == "odd" and len(ids) == 2:
        return Question(kind, ids[0], None, ids[1:])
    raise NotFoundError(f"no review question {suggestion_id!r}")


def _label(db: Database, pid: int) -> str:
    row = persons.get(db, pid)
    return repr(row.name) if row and row.name else f"person {pid}"


def _faces_text(n: int) -> str:
    return f"{n} face{'s' * (n != 1)}"


def _check(db: Database, q: Question, suggestion_id: str) -> None:
    """Refuse a question the library has moved past."""

    def stale(why: str) -> StaleSuggestionError:
        return StaleSuggestionError(f"review question {suggestion_id} is out of date: {why}")

    for pid in (q.person_id, q.other_person_id):
        if pid is not None and persons.get(db, pid) is None:
            raise stale(f"person {pid} is gone")
    if not q.face_ids:
        return
    states = faces.states(db, q.face_ids)
    missing = [f for f in q.face_ids if f not in states]
    if missing:
        raise stale(f"face {missing[0]} is gone")
    if q.kind in ("who", "new"):
        placed = [f for f in q.face_ids if states[f].person_id is not None]
        if placed:
            raise stale(f"face {placed[0]} has a person now")
    if q.kind == "odd" and states[q.face_ids[0]].person_id != q.person_id:
        raise stale(f"face {q.face_ids[0]} is no longer in {_label(db, int(q.person_id or 0))}")


def accept(db: Database, suggestion_id: str, excluded: Iterable[int] = ()) -> EditInfo:
    q = parse(suggestion_id)
    _check(db, q, suggestion_id)
    left_out = set(int(f) for f in excluded) & set(q.face_ids)
    if q.kind == "merge":
        assert q.person_id is not None and q.other_person_id is not None
        return edits.merge_people(db, q.person_id, [q.other_person_id])
    if q.kind == "odd":
        assert q.person_id is not None
        return edits.reject_faces(db, q.face_ids, q.person_id)
    taken = [f for f in q.face_ids if f not in left_out]
    if not taken:
        raise LibraryError("every face was left out: answer no instead")
    if q.kind == "who":
        assert q.person_id is not None
        return _place(db, taken, sorted(left_out), q.person_id)
    return _place(db, taken, sorted(left_out), None)


def _place(db: Database, taken: list[int], left_out: list[int], pid: int | None) -> EditInfo:
    """``taken`` faces join ``pid`` (a new person when None); ``left_out`` faces are "not this
    person"."""

    def change() -> list[int]:
        target = pid if pid is not None else persons.create(db)
        faces.assign(db, taken, target, edits.USER)
        faces.remove_rejections(db, [(f, target) for f in taken])
        faces.add_rejections(db, [(f, target) for f in left_out])
        return [] if pid is not None else [target]

    where = _label(db, pid) if pid is not None else "a new person"
    what = f"Review: {_faces_text(len(taken))} to {where}"
    if left_out:
        what += f", {_faces_text(len(left_out))} not"
    ids = sorted(taken + left_out)
    return edits.run_edit(db, "move", what, ids, {pid} if pid is not None else set(), change)


def reject(db: Database, suggestion_id: str) -> EditInfo:
    q = parse(suggestion_id)
    _check(db, q, suggestion_id)
    if q.kind == "merge":
        a, b = int(q.person_id or 0), int(q.other_person_id or 0)

        def different() -> list[int]:
            not_same.add_persons(db, [(a, b)])
            return []

        what = f"Review: {_label(db, a)} and {_label(db, b)} are not the same person"
        return edits.run_edit(db, "not-same", what, [], {a, b}, different)
    if q.kind == "who":
        assert q.person_id is not None
        return edits.reject_faces(db, q.face_ids, q.person_id)
    if q.kind == "odd":
        return edits.confirm_faces(db, q.face_ids)
    lead, *others = q.face_ids

    def apart() -> list[int]:
        not_same.add_faces(db, [(lead, o) for o in others])
        return []

    what = f"Review: face {lead} is not the same person as {_faces_text(len(others))}"
    return edits.run_edit(db, "not-same", what, list(q.face_ids), set(), apart)
