"""Rows of the persons table, and the per-person counts the people views list."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from faceorganizer.storage.db import row_id
from faceorganizer.storage.photos import now


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str | None
    cover_face_id: int | None
    hidden: int
    created_at: str


@dataclass(frozen=True)
class PersonSummary:
    id: int
    name: str | None
    face_count: int
    photo_count: int
    cover_face_id: int | None
    hidden: int
    months: str | None = None  # unnamed persons: "YYYY-MM/YYYY-MM", first and last photo


COLUMNS = "id, name, cover_face_id, hidden, created_at"

# The month a photo was taken: EXIF's date when it looks like one, else the file's date (as
# Immich and Google Photos fall back to it).
_MONTH = """
CASE WHEN p.taken_at GLOB '[12][0-9][0-9][0-9][:-][01][0-9]*' AND p.taken_at >= '1826'
     THEN replace(substr(p.taken_at, 1, 7), ':', '-')
     ELSE strftime('%Y-%m', p.mtime, 'unixepoch') END
"""
# A cover the user chose, while it still belongs to the person; else its best visible face.
# Named people first, by name; then unnamed groups in the order they were made (the largest of
# a scan first): an order no edit of faces changes, so cards do not jump under the user. An
# unnamed group has the span of its photos' months, which tells it from the others.
_SUMMARY = f"""
SELECT s.id, s.name, count(f.id), count(DISTINCT f.photo_id),
       coalesce(
         (SELECT c.id FROM faces c WHERE c.id = s.cover_face_id AND c.person_id = s.id),
         (SELECT b.id FROM faces b WHERE b.person_id = s.id
          ORDER BY b.hidden, b.quality DESC, b.score DESC, b.id LIMIT 1)),
       s.hidden,
       CASE WHEN s.name IS NULL THEN
         (SELECT min(m) || '/' || max(m) FROM
           (SELECT {_MONTH} AS m FROM faces d JOIN photos p ON p.id = d.photo_id
            WHERE d.person_id = s.id AND d.hidden = 0))
       END
FROM persons s LEFT JOIN faces f ON f.person_id = s.id AND f.hidden = 0
WHERE {{where}}
GROUP BY s.id
HAVING count(f.id) > 0 OR s.name IS NOT NULL
ORDER BY s.name IS NULL, s.name COLLATE NOCASE, s.id
"""


def create(db: Database, name: str | None = None) -> int:
    cur = db.execute(
        "INSERT INTO persons(name, hidden, created_at) VALUES (?, 0, ?)", [name, now()]
    )
    return row_id(cur)


def get(db: Database, person_id: int) -> PersonRow | None:
    row = db.execute(f"SELECT {COLUMNS} FROM persons WHERE id = ?", [person_id]).fetchone()
    return PersonRow(*row) if row else None


def by_name(db: Database, name: str) -> list[PersonRow]:
    cur = db.execute(
        f"SELECT {COLUMNS} FROM persons WHERE name = ? COLLATE NOCASE ORDER BY id", [name]
    )
    return [PersonRow(*r) for r in cur.fetchall()]


def all_rows(db: Database) -> list[PersonRow]:
    return [PersonRow(*r) for r in db.execute(f"SELECT {COLUMNS} FROM persons ORDER BY id")]


def summaries(
    db: Database,
    include_hidden: bool = False,
    name_filter: str | None = None,
    person_id: int | None = None,
) -> list[PersonSummary]:
    where: list[str] = ["1"]
    params: list[object] = []
    if not include_hidden:
        where.append("s.hidden = 0")
    if name_filter:
        where.append("s.name LIKE ?")
        params.append(f"%{name_filter}%")
    if person_id is not None:
        where = ["s.id = ?"]
        params = [person_id]
    cur = db.execute(_SUMMARY.format(where=" AND ".join(where)), params)
    return [PersonSummary(*r) for r in cur.fetchall()]


def put(db: Database, row: PersonRow) -> None:
    db.execute(
        "INSERT INTO persons(id, name, cover_face_id, hidden, created_at) VALUES (?,?,?,?,?) "
        "ON CONFLICT(id) DO UPDATE SET name = excluded.name, cover_face_id = "
        "excluded.cover_face_id, hidden = excluded.hidden, created_at = excluded.created_at",
        [row.id, row.name, row.cover_face_id, row.hidden, row.created_at],
    )


def update(db: Database, person_id: int, **values: object) -> None:
    cols = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"UPDATE persons SET {cols} WHERE id = ?", [*values.values(), person_id])


def delete(db: Database, person_id: int) -> None:
    db.execute("DELETE FROM persons WHERE id = ?", [person_id])


def face_count(db: Database, person_id: int, shown_only: bool = False) -> int:
    """Faces in the person (``shown_only``: not hidden, as the people grid counts them)."""
    shown = " AND hidden = 0" if shown_only else ""
    sql = f"SELECT count(*) FROM faces WHERE person_id = ?{shown}"
    return int(db.execute(sql, [person_id]).fetchone()[0])


def delete_empty_unnamed(db: Database, person_ids: list[int] | None = None) -> list[int]:
    """Remove unnamed persons left without faces (named ones stay, even empty)."""
    sql = (
        "SELECT s.id FROM persons s WHERE s.name IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = s.id)"
    )
    params: list[object] = []
    if person_ids is not None:
        if not person_ids:
            return []
        sql += f" AND s.id IN ({','.join('?' * len(person_ids))})"
        params = list(person_ids)
    gone = [r[0] for r in db.execute(sql, params).fetchall()]
    db.conn.executemany("DELETE FROM persons WHERE id = ?", [(p,) for p in gone])
    return gone


def named_ids(db: Database) -> set[int]:
    return {r[0] for r in db.execute("SELECT id FROM persons WHERE name IS NOT NULL")}


def count_named(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM persons WHERE name IS NOT NULL").fetchone()[0])


def repoint_cover(db: Database, old_face_id: int, new_face_id: int) -> None:
    """A re-detected face replaces the old one as any person's cover."""
    db.execute(
        "UPDATE persons SET cover_face_id = ? WHERE cover_face_id = ?", [new_face_id, old_face_id]
    )
