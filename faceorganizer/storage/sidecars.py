"""What XMP sync needs of the library: per-photo signatures of the XMP last seen, and the named
faces of photos (the regions a sidecar should hold)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlite_utils import Database

from faceorganizer.storage.faces import placeholders, rows_where_in
from faceorganizer.storage.photos import now


@dataclass(frozen=True)
class NamedFaceRow:
    face_id: int
    photo_id: int
    name: str
    box: tuple[float, float, float, float]
    assigned_by: str | None


def signatures(db: Database) -> dict[int, str]:
    return {int(p): str(s) for p, s in db.execute("SELECT photo_id, signature FROM xmp_sync")}


def set_signatures(db: Database, values: Iterable[tuple[int, str]]) -> None:
    stamp = now()
    db.conn.executemany(
        "INSERT INTO xmp_sync(photo_id, signature, checked_at) VALUES (?, ?, ?) "
        "ON CONFLICT(photo_id) DO UPDATE SET signature = excluded.signature, "
        "checked_at = excluded.checked_at",
        [(p, s, stamp) for p, s in values],
    )


def forget_signature(db: Database, photo_id: int) -> None:
    """Make the next XMP import read this photo again (its faces were detected afresh)."""
    db.execute("DELETE FROM xmp_sync WHERE photo_id = ?", [photo_id])


_NAMED = (
    "SELECT f.id, f.photo_id, s.name, f.x1, f.y1, f.x2, f.y2, f.assigned_by FROM faces f "
    "JOIN persons s ON s.id = f.person_id"
)
_VISIBLE = "s.name IS NOT NULL AND f.hidden = 0 AND s.hidden = 0"


def named_faces(db: Database, photo_ids: Iterable[int]) -> list[NamedFaceRow]:
    """Visible faces of visible named persons in these photos (what their sidecars show)."""
    ids = list(photo_ids)
    out: list[NamedFaceRow] = []
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        sql = (
            f"{_NAMED} WHERE {_VISIBLE} AND f.photo_id IN ({placeholders(len(chunk))}) "
            "ORDER BY f.photo_id, f.x1"
        )
        for r in db.execute(sql, chunk).fetchall():
            out.append(NamedFaceRow(r[0], r[1], r[2], (r[3], r[4], r[5], r[6]), r[7]))
    return out


def photos_with_named_faces(db: Database, person_id: int | None = None) -> list[int]:
    sql = (
        "SELECT DISTINCT f.photo_id FROM faces f JOIN persons s ON s.id = f.person_id "
        f"WHERE {_VISIBLE}"
    )
    params: list[object] = []
    if person_id is not None:
        sql += " AND s.id = ?"
        params.append(person_id)
    return sorted(int(r[0]) for r in db.execute(sql + " ORDER BY 1", params))


def photos_of_faces(db: Database, face_ids: Iterable[int]) -> set[int]:
    return {int(r[0]) for r in rows_where_in(db, "SELECT photo_id FROM faces", "id", face_ids)}


def photos_of_persons(db: Database, person_ids: Iterable[int]) -> set[int]:
    found = rows_where_in(db, "SELECT DISTINCT photo_id FROM faces", "person_id", person_ids)
    return {int(r[0]) for r in found}
