"""User edits of people, each one edit-log entry that undo and redo replay exactly.

Every edit runs in one transaction: capture the state of the faces, persons, rejections and
"not the same" pairs it touches, change them, capture again, and log both. Undo writes the
"before" state back, redo the "after" state; faces deleted since (a photo removed by a scan)
are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from sqlite_utils import Database

from faceorganizer.services.errors import LibraryError, NotFoundError
from faceorganizer.services.types import EditInfo
from faceorganizer.storage import edit_log, faces, not_same, persons
from faceorganizer.storage.db import transaction
from faceorganizer.storage.edit_log import EditRow
from faceorganizer.storage.faces import FaceState
from faceorganizer.storage.persons import PersonRow

USER = "user"


def resolve_person(db: Database, ref: int | str) -> int:
    """A person id from an id or a (case-insensitive, unique) name."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        pid = int(ref)
        if persons.get(db, pid) is None:
            raise NotFoundError(f"no person with id {pid}")
        return pid
    found = persons.by_name(db, str(ref).strip())
    if not found:
        raise NotFoundError(f"no person named {ref!r}")
    if len(found) > 1:
        ids = ", ".join(str(p.id) for p in found)
        raise NotFoundError(f"several persons are named {ref!r} (ids {ids}); use an id")
    return found[0].id


def require_faces(db: Database, face_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(f) for f in face_ids})
    if not ids:
        raise LibraryError("no faces given")
    present = faces.existing_ids(db, ids)
    missing = sorted(set(ids) - set(present))
    if missing:
        raise NotFoundError(f"no face with id {', '.join(map(str, missing))}")
    return ids


def _capture(db: Database, face_ids: list[int], person_ids: set[int]) -> dict[str, Any]:
    states = faces.states(db, face_ids)
    pids = set(person_ids) | {s.person_id for s in states.values() if s.person_id is not None}
    rows = {p: persons.get(db, p) for p in sorted(pids)}
    return {
        "faces": {str(f): asdict(s) for f, s in states.items()},
        "persons": {str(p): (asdict(r) if r else None) for p, r in rows.items()},
        "rejections": sorted(faces.rejections_of(db, face_ids)),
        "not_same_persons": sorted(not_same.of_persons(db, pids)),
        "not_same_faces": sorted(not_same.of_faces(db, face_ids)),
    }


def restore(db: Database, state: dict[str, Any]) -> None:
    """Write a captured state back: persons, then face assignments, then rejections."""
    for row in state["persons"].values():
        if row is not None:
            persons.put(db, PersonRow(**row))
    alive = set(faces.existing_ids(db, (int(f) for f in state["faces"])))
    for fid, s in state["faces"].items():
        if int(fid) in alive:
            faces.set_state(db, int(fid), FaceState(**s))
    faces.clear_rejections(db, alive)
    faces.add_rejections(db, [(f, p) for f, p in state["rejections"] if f in alive])
    if "not_same_persons" in state:  # edits logged before migration 0009 have none
        not_same.clear_persons(db, (int(p) for p in state["persons"]))
        not_same.add_persons(db, state["not_same_persons"])
        not_same.clear_faces(db, alive)
        pairs = state["not_same_faces"]
        present = set(faces.existing_ids(db, {f for pair in pairs for f in pair}))
        not_same.add_faces(db, [(a, b) for a, b in pairs if a in present and b in present])
    for pid, row in state["persons"].items():
        if row is None:
            faces.clear_person(db, int(pid))
            persons.delete(db, int(pid))


def _info(row: EditRow) -> EditInfo:
    return EditInfo(row.id, row.kind, row.description, row.created_at, row.undone)


def run_edit(
    db: Database,
    kind: str,
    description: str,
    face_ids: list[int],
    person_ids: set[int],
    change: Callable[[], Iterable[int]],
) -> EditInfo:
    """Apply ``change`` (which returns ids of persons it created) as one logged, undoable edit."""
    with transaction(db):
        before = _capture(db, face_ids, person_ids)
        created = set(change())
        touched = set(person_ids) | created | {int(p) for p in before["persons"]}
        persons.delete_empty_unnamed(db, sorted(touched - created))
        after = _capture(db, face_ids, touched)
        for pid in after["persons"]:
            before["persons"].setdefault(pid, None)
        for pid in before["persons"]:
            after["persons"].setdefault(pid, None)
        row = edit_log.append(db, kind, description, {"before": before, "after": after})
    return _info(row)


def undo(db: Database) -> EditInfo | None:
    return _replay(db, edit_log.next_undo, "before", undone=True)


def redo(db: Database) -> EditInfo | None:
    return _replay(db, edit_log.next_redo, "after", undone=False)


def _replay(
    db: Database, pick: Callable[[Database], EditRow | None], side: str, undone: bool
) -> EditInfo | None:
    """Write one side (before/after) of the next edit back, in one transaction."""
    with transaction(db):
        row = pick(db)
        if row is None:
            return None
        restore(db, row.payload[side])
        edit_log.set_undone(db, row.id, undone)
    return EditInfo(row.id, row.kind, row.description, row.created_at, undone)


def history(db: Database, limit: int | None = 50) -> list[EditInfo]:
    return [_info(r) for r in edit_log.history(db, limit)]


def next_undo(db: Database) -> EditInfo | None:
    row = edit_log.next_undo(db)
    return _info(row) if row else None


def next_redo(db: Database) -> EditInfo | None:
    row = edit_log.next_redo(db)
    return _info(row) if row else None


def _label(db: Database, pid: int) -> str:
    row = persons.get(db, pid)
    return f"{row.name!r} ({pid})" if row and row.name else f"person {pid}"


def name_person(db: Database, ref: int | str, name: str | None) -> EditInfo:
    pid = resolve_person(db, ref)
    name = (name or "").strip() or None
    old = _label(db, pid)
    what = f"Rename {old} to {name!r}" if name else f"Remove the name of {old}"

    def change() -> list[int]:
        persons.update(db, pid, name=name)
        return []

    return run_edit(db, "name", what, [], {pid}, change)


def merge_people(db: Database, target: int | str, others: Iterable[int | str]) -> EditInfo:
    tid = resolve_person(db, target)
    oids = sorted({resolve_person(db, o) for o in others} - {tid})
    if not oids:
        raise LibraryError("nothing to merge: give at least one other person")
    moved = [f for o in oids for f in faces.ids_of_person(db, o)]
    scope = sorted(set(moved) | set(faces.rejected_from(db, oids)))

    def change() -> list[int]:
        t = persons.get(db, tid)
        if t is not None and t.name is None:
            names = [n for o in oids if (n := persons.get(db, o).name)]  # type: ignore[union-attr]
            if names:
                persons.update(db, tid, name=names[0])
        faces.assign(db, moved, tid, USER)
        old = faces.rejections_of(db, scope)
        repointed = {(f, tid) for f, p in old if p in oids and f not in set(moved)}
        faces.remove_rejections(db, [(f, p) for f, p in old if p in oids or p == tid])
        faces.add_rejections(db, repointed)
        not_same.merge_persons(db, tid, oids)
        for o in oids:
            persons.delete(db, o)
        return []

    what = f"Merge {', '.join(_label(db, o) for o in oids)} into {_label(db, tid)}"
    return run_edit(db, "merge", what, scope, {tid, *oids}, change)


def move_faces(db: Database, face_ids: Iterable[int], to: int | str | None) -> EditInfo:
    ids = require_faces(db, face_ids)
    tid = resolve_person(db, to) if to is not None else None

    def change() -> list[int]:
        target = tid if tid is not None else persons.create(db)
        faces.assign(db, ids, target, USER)
        faces.remove_rejections(db, [(f, target) for f in ids])
        return [] if tid is not None else [target]

    where = _label(db, tid) if tid is not None else "a new person"
    what = f"Move {len(ids)} face{'s' * (len(ids) != 1)} to {where}"
    return run_edit(db, "move", what, ids, {tid} if tid is not None else set(), change)


def reject_faces(db: Database, face_ids: Iterable[int], from_person: int | str) -> EditInfo:
    ids = require_faces(db, face_ids)
    pid = resolve_person(db, from_person)

    def change() -> list[int]:
        states = faces.states(db, ids)
        leaving = [f for f in ids if states[f].person_id == pid]
        faces.assign(db, leaving, None, None)
        faces.add_rejections(db, [(f, pid) for f in ids])
        return []

    what = f"{len(ids)} face{'s' * (len(ids) != 1)} not {_label(db, pid)}"
    return run_edit(db, "reject", what, ids, {pid}, change)


def confirm_faces(db: Database, face_ids: Iterable[int]) -> EditInfo:
    ids = require_faces(db, face_ids)

    def change() -> list[int]:
        states = faces.states(db, ids)
        assigned = [f for f in ids if states[f].person_id is not None]
        faces.pin(db, assigned)
        return []

    return run_edit(db, "confirm", f"Confirm {len(ids)} face(s)", ids, set(), change)


def hide_person(db: Database, ref: int | str, hidden: bool = True) -> EditInfo:
    pid = resolve_person(db, ref)
    verb = "Hide" if hidden else "Unhide"

    def change() -> list[int]:
        persons.update(db, pid, hidden=int(hidden))
        return []

    kind = "hide" if hidden else "unhide"
    return run_edit(db, kind, f"{verb} {_label(db, pid)}", [], {pid}, change)


def hide_faces(db: Database, face_ids: Iterable[int], hidden: bool = True) -> EditInfo:
    ids = require_faces(db, face_ids)

    def change() -> list[int]:
        faces.set_hidden(db, ids, hidden)
        return []

    verb, kind = ("Hide", "hide") if hidden else ("Unhide", "unhide")
    return run_edit(db, kind, f"{verb} {len(ids)} face(s)", ids, set(), change)


def set_cover(db: Database, ref: int | str, face_id: int) -> EditInfo:
    pid = resolve_person(db, ref)
    (fid,) = require_faces(db, [face_id])
    if faces.states(db, [fid])[fid].person_id != pid:
        raise LibraryError(f"face {fid} does not belong to {_label(db, pid)}")

    def change() -> list[int]:
        persons.update(db, pid, cover_face_id=fid)
        return []

    return run_edit(
        db, "cover", f"Use face {fid} as the cover of {_label(db, pid)}", [], {pid}, change
    )
