"""The user's "Not the same" answers: pairs of persons, and pairs of faces without a person,
that are different people. Each pair is stored once, smaller id first.

Person ids are never reused (``AUTOINCREMENT``), so a pair whose person was deleted is inert;
readers skip it, and undo that brings the person back finds it again.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from faceorganizer.storage.faces import rows_where_in

Pair = tuple[int, int]


def ordered(a: int, b: int) -> Pair:
    a, b = int(a), int(b)
    return (a, b) if a < b else (b, a)


def _ordered_pairs(pairs: Iterable[Pair]) -> list[Pair]:
    return sorted({ordered(a, b) for a, b in pairs if int(a) != int(b)})


# persons


def add_persons(db: Database, pairs: Iterable[Pair]) -> None:
    db.conn.executemany(
        "INSERT OR IGNORE INTO not_same_persons(person_a, person_b) VALUES (?, ?)",
        _ordered_pairs(pairs),
    )


def all_persons(db: Database) -> set[Pair]:
    cur = db.execute("SELECT person_a, person_b FROM not_same_persons")
    return {(int(a), int(b)) for a, b in cur.fetchall()}


def of_persons(db: Database, person_ids: Iterable[int]) -> set[Pair]:
    """Every pair with at least one of these persons."""
    ids = sorted({int(p) for p in person_ids})
    select = "SELECT person_a, person_b FROM not_same_persons"
    found = set(rows_where_in(db, select, "person_a", ids))
    found |= set(rows_where_in(db, select, "person_b", ids))
    return {(int(a), int(b)) for a, b in found}


def clear_persons(db: Database, person_ids: Iterable[int]) -> None:
    """Remove every pair with one of these persons."""
    ids = [(int(p), int(p)) for p in person_ids]
    db.conn.executemany("DELETE FROM not_same_persons WHERE person_a = ? OR person_b = ?", ids)


def merge_persons(db: Database, target: int, others: Iterable[int]) -> None:
    """``others`` became ``target``: their pairs are the target's now, and a pair among the
    merged persons is gone (the user said they are one person after all)."""
    merged = {int(target), *(int(o) for o in others)}
    pairs = of_persons(db, merged)
    clear_persons(db, merged)
    moved = []
    for a, b in pairs:
        a2 = int(target) if a in merged else a
        b2 = int(target) if b in merged else b
        if a2 != b2:
            moved.append((a2, b2))
    add_persons(db, moved)


# faces


def add_faces(db: Database, pairs: Iterable[Pair]) -> None:
    db.conn.executemany(
        "INSERT OR IGNORE INTO not_same_faces(face_a, face_b) VALUES (?, ?)",
        _ordered_pairs(pairs),
    )


def all_faces(db: Database) -> set[Pair]:
    cur = db.execute("SELECT face_a, face_b FROM not_same_faces")
    return {(int(a), int(b)) for a, b in cur.fetchall()}


def of_faces(db: Database, face_ids: Iterable[int]) -> set[Pair]:
    """Every pair with at least one of these faces."""
    ids = sorted({int(f) for f in face_ids})
    select = "SELECT face_a, face_b FROM not_same_faces"
    found = set(rows_where_in(db, select, "face_a", ids))
    found |= set(rows_where_in(db, select, "face_b", ids))
    return {(int(a), int(b)) for a, b in found}


def clear_faces(db: Database, face_ids: Iterable[int]) -> None:
    """Remove every pair with one of these faces (a face deleted with its photo)."""
    ids = [(int(f), int(f)) for f in face_ids]
    db.conn.executemany("DELETE FROM not_same_faces WHERE face_a = ? OR face_b = ?", ids)


def repoint_face(db: Database, old: int, new: int) -> None:
    """Face ``old`` is face ``new`` now (its photo was read again): its pairs follow it."""
    pairs = of_faces(db, [old])
    clear_faces(db, [old])
    add_faces(db, [(new if a == old else a, new if b == old else b) for a, b in pairs])
