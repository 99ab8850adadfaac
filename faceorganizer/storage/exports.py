"""The read-only queries behind exports: every face as a table row, and the photos of each named
person."""

from __future__ import annotations

from sqlite_utils import Database

FACE_FIELDS = ["face_id", "photo", "x1", "y1", "x2", "y2", "score", "person_id", "person",
               "assigned_by", "hidden"]  # fmt: skip

_FACES_SQL = """
SELECT f.id, p.path, f.x1, f.y1, f.x2, f.y2, f.score, s.id, s.name, f.assigned_by, f.hidden
FROM faces f JOIN photos p ON p.id = f.photo_id LEFT JOIN persons s ON s.id = f.person_id
ORDER BY p.path, f.x1
"""

_PERSON_PHOTOS_SQL = """
SELECT DISTINCT s.id, s.name, p.path
FROM faces f JOIN persons s ON s.id = f.person_id JOIN photos p ON p.id = f.photo_id
WHERE s.name IS NOT NULL AND f.hidden = 0 AND s.hidden = 0
ORDER BY s.name, p.path
"""


def face_records(db: Database) -> list[dict[str, object]]:
    """Every face: photo path, box, score, person and how it got there."""
    return [dict(zip(FACE_FIELDS, r, strict=True)) for r in db.execute(_FACES_SQL).fetchall()]


def named_person_photos(db: Database) -> list[tuple[int, str, str]]:
    """(person id, name, photo path) for every visible named person and each of their photos."""
    return [(int(a), str(b), str(c)) for a, b, c in db.execute(_PERSON_PHOTOS_SQL).fetchall()]


_SHEET_SQL = """
SELECT f.id, p.path, f.x1, f.y1, f.x2, f.y2, p.width, p.height, p.taken_at
FROM faces f JOIN photos p ON p.id = f.photo_id
WHERE f.person_id = ? AND f.hidden = 0
ORDER BY coalesce(p.taken_at, '9999'), p.path, f.x1
"""


def person_sheet_faces(db: Database, person_id: int) -> list[tuple]:
    """(face id, photo path, x1, y1, x2, y2, photo width, height, taken_at) of a person's
    visible faces, oldest photo first (photos without a date last)."""
    return [tuple(r) for r in db.execute(_SHEET_SQL, [person_id]).fetchall()]
