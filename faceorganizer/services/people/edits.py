"""User edits of people, each one edit-log entry that undo and redo replay exactly.

Every edit runs in one transaction: capture the state of the faces, persons, rejections and
"not the same" pairs it touches, change them, capture again, and log both. An edit that changes
nothing is not logged: its ``EditInfo`` has ``changed=False``, ``edit_id`` 0 and says why, so the
history holds only real edits (and a batch of edits from the GUI never stops halfway on one that
had nothing to do). Undo writes the "before" state back, redo the "after" state; faces deleted
since (a photo removed by a scan) are skipped, and counted in the ``EditInfo`` returned.

Descriptions name people through ``{person:ID}`` (the person's name when the edit was made, else
its name now, so a group named later is no longer "unnamed") and ``{was:ID}`` (its name when the
edit was made); they are filled in whenever an edit is listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, replace
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


def capture(db: Database, face_ids: list[int], person_ids: set[int]) -> dict[str, Any]:
    """The state of these faces, their persons and ``person_ids``, and their rejections."""
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


_PERSON_REF = re.compile(r"\{(person|was):(\d+)\}")
UNNAMED_PERSON = "an unnamed person"


def person_ref(pid: int, as_it_was: bool = False) -> str:
    """A person in a description, named when it is listed (see the module docstring)."""
    return f"{{{'was' if as_it_was else 'person'}:{int(pid)}}}"


def describe(db: Database, description: str, payload: dict[str, Any]) -> str:
    """``description`` with its person references filled in."""

    def name_in(side: str, pid: str) -> str | None:
        row = payload.get(side, {}).get("persons", {}).get(pid)
        return row.get("name") if isinstance(row, dict) else None

    def fill(m: re.Match[str]) -> str:
        kind, pid = m.group(1), m.group(2)
        name = name_in("before", pid)
        if name is None and kind == "person":
            row = persons.get(db, int(pid))
            name = (row.name if row is not None else None) or name_in("after", pid)
        return repr(name) if name else UNNAMED_PERSON

    return _PERSON_REF.sub(fill, description)


def info(db: Database, row: EditRow, undone: bool | None = None) -> EditInfo:
    text = describe(db, row.description, row.payload)
    done = row.undone if undone is None else undone
    return EditInfo(row.id, row.kind, text, row.created_at, done)


def run_edit(
    db: Database,
    kind: str,
    description: str,
    face_ids: list[int],
    person_ids: set[int],
    change: Callable[[], Iterable[int]],
    unchanged: str = "",
) -> EditInfo:
    """Apply ``change`` (which returns ids of persons it created) as one logged, undoable edit;
    one that changes nothing is not logged (``changed=False``; ``unchanged`` says why)."""
    with transaction(db):
        before = capture(db, face_ids, person_ids)
        created = set(change())
        touched = set(person_ids) | created | {int(p) for p in before["persons"]}
        persons.delete_empty_unnamed(db, sorted(touched - created))
        after = capture(db, face_ids, touched)
        for pid in after["persons"]:
            before["persons"].setdefault(pid, None)
        for pid in before["persons"]:
            after["persons"].setdefault(pid, None)
        if before == after:
            why = describe(db, f"nothing to change: {unchanged or description.lower()}", {})
            return EditInfo(0, kind, why, edit_log.now(), changed=False)
        row = edit_log.append(db, kind, description, {"before": before, "after": after})
        return info(db, row)


def undo(db: Database) -> EditInfo | None:
    return _replay(db, edit_log.next_undo, "before", undone=True)


def redo(db: Database) -> EditInfo | None:
    return _replay(db, edit_log.next_redo, "after", undone=False)


def _replay(
    db: Database, pick: Callable[[Database], EditRow | None], side: str, undone: bool
) -> EditInfo | None:
    """Write one side (before/after) of the next edit back, in one transaction; the result
    counts the edit's faces that are gone and says whether anything changed."""
    with transaction(db):
        row = pick(db)
        if row is None:
            return None
        state = row.payload[side]
        alive = faces.existing_ids(db, (int(f) for f in state["faces"]))
        pids = {int(p) for p in state["persons"]}
        now = capture(db, alive, pids)
        restore(db, state)
        changed = capture(db, alive, pids) != now
        edit_log.set_undone(db, row.id, undone)
    missing = len(state["faces"]) - len(alive)
    return replace(info(db, row, undone), missing_faces=missing, changed=changed)


def history(db: Database, limit: int | None = 50) -> list[EditInfo]:
    return [info(db, r) for r in edit_log.history(db, limit)]


def next_undo(db: Database) -> EditInfo | None:
    row = edit_log.next_undo(db)
    return info(db, row) if row else None


def next_redo(db: Database) -> EditInfo | None:
    row = edit_log.next_redo(db)
    return info(db, row) if row else None


def _faces_text(n: int) -> str:
    return f"{n} face{'s' * (n != 1)}"


def _people_text(db: Database, pids: list[int]) -> str:
    """ "'Ann', 'Bo' and 2 unnamed people": the names of people an edit removes (fixed: no one
    can rename them later), the unnamed ones counted."""
    rows = [persons.get(db, p) for p in pids]
    names = [repr(r.name) for r in rows if r is not None and r.name]
    unnamed = len(pids) - len(names)
    if unnamed:
        names.append(UNNAMED_PERSON if unnamed == 1 else f"{unnamed} unnamed people")
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def name_person(db: Database, ref: int | str, name: str | None) -> EditInfo:
    pid = resolve_person(db, ref)
    name = (name or "").strip() or None
    row = persons.get(db, pid)
    old = person_ref(pid, as_it_was=True)
    if name is None:
        what = f"Remove the name of {old}"
    else:
        what = f"Rename {old} to {name!r}" if row and row.name else f"Name {old} {name!r}"

    def change() -> list[int]:
        persons.update(db, pid, name=name)
        return []

    now = person_ref(pid)
    same = f"{now} is already named {name!r}" if name else f"{now} has no name"
    return run_edit(db, "name", what, [], {pid}, change, same)


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

    what = f"Merge {_people_text(db, oids)} into {person_ref(tid)}"
    return run_edit(db, "merge", what, scope, {tid, *oids}, change)


def move_faces(
    db: Database, face_ids: Iterable[int], to: int | str | None, new_name: str | None = None
) -> EditInfo:
    """Move faces to a person, or (``to=None``) to a new person, named ``new_name`` if given."""
    ids = require_faces(db, face_ids)
    tid = resolve_person(db, to) if to is not None else None
    new_name = (new_name or "").strip() or None

    def change() -> list[int]:
        target = tid if tid is not None else persons.create(db, new_name)
        faces.assign(db, ids, target, USER)
        faces.remove_rejections(db, [(f, target) for f in ids])
        return [] if tid is not None else [target]

    where = person_ref(tid) if tid is not None else "a new person"
    if tid is None and new_name:
        where = f"a new person {new_name!r}"
    what = f"Move {_faces_text(len(ids))} to {where}"
    same = f"the faces are already confirmed in {where}"
    return run_edit(db, "move", what, ids, {tid} if tid is not None else set(), change, same)


def reject_faces(db: Database, face_ids: Iterable[int], from_person: int | str) -> EditInfo:
    """ "Not this person": faces in the person leave it; every face is recorded as not being it
    (re-grouping and names read from XMP honour that, also for faces not in it now)."""
    ids = require_faces(db, face_ids)
    pid = resolve_person(db, from_person)
    states = faces.states(db, ids)
    inside = [f for f in ids if states[f].person_id == pid]

    def change() -> list[int]:
        faces.assign(db, inside, None, None)
        faces.add_rejections(db, [(f, pid) for f in ids])
        return []

    n = len(ids)
    if inside:
        what = f"Take {_faces_text(n)} out of {person_ref(pid)}"
    else:  # none of them is in it now: only the "not this person" mark changes
        what = f"Mark {_faces_text(n)} (not in it) as not {person_ref(pid)}"
    same = f"the faces are already marked as not {person_ref(pid)}"
    return run_edit(db, "reject", what, ids, {pid}, change, same)


def confirm_faces(db: Database, face_ids: Iterable[int]) -> EditInfo:
    ids = require_faces(db, face_ids)

    def change() -> list[int]:
        states = faces.states(db, ids)
        assigned = [f for f in ids if states[f].person_id is not None]
        faces.pin(db, assigned)
        return []

    same = "the faces are already confirmed, or in no person"
    return run_edit(db, "confirm", f"Confirm {_faces_text(len(ids))}", ids, set(), change, same)


def hide_person(db: Database, ref: int | str, hidden: bool = True) -> EditInfo:
    pid = resolve_person(db, ref)
    verb = "Hide" if hidden else "Unhide"

    def change() -> list[int]:
        persons.update(db, pid, hidden=int(hidden))
        return []

    kind = "hide" if hidden else "unhide"
    same = f"{person_ref(pid)} is {'already' if hidden else 'not'} hidden"
    return run_edit(db, kind, f"{verb} {person_ref(pid)}", [], {pid}, change, same)


def hide_faces(db: Database, face_ids: Iterable[int], hidden: bool = True) -> EditInfo:
    ids = require_faces(db, face_ids)

    def change() -> list[int]:
        faces.set_hidden(db, ids, hidden)
        return []

    verb, kind = ("Hide", "hide") if hidden else ("Unhide", "unhide")
    same = f"the faces are {'already' if hidden else 'not'} hidden"
    return run_edit(db, kind, f"{verb} {_faces_text(len(ids))}", ids, set(), change, same)


def set_cover(db: Database, ref: int | str, face_id: int) -> EditInfo:
    pid = resolve_person(db, ref)
    (fid,) = require_faces(db, [face_id])
    if faces.states(db, [fid])[fid].person_id != pid:
        raise LibraryError(f"face {fid} does not belong to {describe(db, person_ref(pid), {})}")

    def change() -> list[int]:
        persons.update(db, pid, cover_face_id=fid)
        return []

    what = f"Use face {fid} as the cover of {person_ref(pid)}"
    same = f"face {fid} is already the chosen cover of {person_ref(pid)}"
    return run_edit(db, "cover", what, [], {pid}, change, same)


def mark_not_face(db: Database, face_ids: Iterable[int], not_face: bool = True) -> EditInfo:
    """Detections that are not faces leave their person, search and clustering (and come back
    with ``not_face=False``, or by undo)."""
    ids = require_faces(db, face_ids)

    def change() -> list[int]:
        faces.set_not_face(db, ids, not_face)
        return []

    what = f"Mark {_faces_text(len(ids))} as {'not a face' if not_face else 'a face again'}"
    same = f"the faces are {'already' if not_face else 'not'} marked as not a face"
    return run_edit(db, "not-face" if not_face else "face", what, ids, set(), change, same)
