"""How edits name people: ``{person:ID}`` references filled in whenever an edit is listed.

A description names a person through ``{person:ID}`` (the person's name when the edit was made,
else its name now, so a group named later is no longer "unnamed") or ``{was:ID}`` (its name when
the edit was made). A person still unnamed then is "an unnamed person (12 faces)", its face count
when the edit was made (``{person:ID:12}``): the count is how the people grid tells unnamed
groups apart, where an id means nothing to a user.
"""

from __future__ import annotations

import re
from typing import Any

from sqlite_utils import Database

from faceorganizer.storage import persons

_PERSON_REF = re.compile(r"\{(person|was):(\d+)(?::(\d+))?\}")
UNNAMED_PERSON = "an unnamed person"


def person_ref(pid: int, as_it_was: bool = False, faces: int | None = None) -> str:
    """A person in a description, named when it is listed (see the module docstring)."""
    count = f":{int(faces)}" if faces is not None else ""
    return f"{{{'was' if as_it_was else 'person'}:{int(pid)}{count}}}"


def counted_ref(db: Database, pid: int, as_it_was: bool = False) -> str:
    """``person_ref`` with the person's face count now (shown while it has no name)."""
    return person_ref(pid, as_it_was, persons.face_count(db, pid, shown_only=True))


def unnamed(faces: int | None) -> str:
    if faces is None:
        return UNNAMED_PERSON
    return f"{UNNAMED_PERSON} ({faces_text(faces)})"


def describe(db: Database, description: str, payload: dict[str, Any]) -> str:
    """``description`` with its person references filled in."""

    def name_in(side: str, pid: str) -> str | None:
        row = payload.get(side, {}).get("persons", {}).get(pid)
        return row.get("name") if isinstance(row, dict) else None

    def fill(m: re.Match[str]) -> str:
        kind, pid, count = m.group(1), m.group(2), m.group(3)
        name = name_in("before", pid)
        if name is None and kind == "person":
            row = persons.get(db, int(pid))
            name = (row.name if row is not None else None) or name_in("after", pid)
        return repr(name) if name else unnamed(int(count) if count else None)

    return _PERSON_REF.sub(fill, description)


def faces_text(n: int) -> str:
    return f"{n} face{'s' * (n != 1)}"


def people_text(db: Database, pids: list[int]) -> str:
    """ "'Ann', 'Bo' and 2 unnamed people (9 faces)": the names of people an edit removes
    (fixed: no one can rename them later), the unnamed ones counted with their faces."""
    rows = [persons.get(db, p) for p in pids]
    names = [repr(r.name) for r in rows if r is not None and r.name]
    nameless = [p for p, r in zip(pids, rows, strict=True) if r is None or not r.name]
    if nameless:
        faces = sum(persons.face_count(db, p, shown_only=True) for p in nameless)
        many = f"{len(nameless)} unnamed people ({faces_text(faces)})"
        names.append(unnamed(faces) if len(nameless) == 1 else many)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
