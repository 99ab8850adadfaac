"""What a library holds, as the CLI and the GUI read it: counts, people, faces and photos.

Plain reads, cheap enough for the GUI thread (paged queries); runs on the Library's thread.
"""

from __future__ import annotations

from sqlite_utils import Database

from faceorganizer.services import quality
from faceorganizer.services.errors import NotFoundError
from faceorganizer.services.people import edits
from faceorganizer.services.rows import face_info, person_info
from faceorganizer.services.types import FaceInfo, PersonInfo, PhotoInfo
from faceorganizer.storage import faces, persons, photos


class Contents:
    """The library's people, faces and photos."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def counts(self) -> dict[str, int]:
        return {
            "photos": photos.count(self.db),
            "photo_errors": photos.count(self.db, "error"),
            "faces": faces.count(self.db),
            "unassigned": faces.count_unassigned(self.db, quality.bar(self.db)),
            "other": faces.count_other(self.db, quality.bar(self.db)),
            "people": len(persons.summaries(self.db, include_hidden=True)),
            "named": persons.count_named(self.db),
        }

    def people(self, include_hidden: bool, name_filter: str | None) -> list[PersonInfo]:
        found = persons.summaries(self.db, include_hidden, name_filter)
        return [person_info(s) for s in found]

    def person(self, ref: int | str) -> PersonInfo:
        pid = edits.resolve_person(self.db, ref)
        found = persons.summaries(self.db, person_id=pid)
        if found:
            return person_info(found[0])
        row = persons.get(self.db, pid)
        assert row is not None
        return PersonInfo(pid, row.name, 0, 0, None, bool(row.hidden))

    def people_named(self, name: str, exclude: int | None) -> list[PersonInfo]:
        found = [p.id for p in persons.by_name(self.db, name.strip()) if p.id != exclude]
        return [self.person(p) for p in found]

    def _person_id(self, person: int | str | None) -> int | None:
        return edits.resolve_person(self.db, person) if person is not None else None

    def faces(
        self,
        person_id: int | str | None,
        unassigned: bool,
        include_hidden: bool,
        limit: int | None,
        offset: int,
        other: bool,
    ) -> list[FaceInfo]:
        """A person's faces, or those in no person (``unassigned``: at or above the quality bar;
        ``other``: under it, each saying why)."""
        pid = self._person_id(person_id)
        cut = quality.bar(self.db)
        found = faces.listing(
            self.db, pid, unassigned or other, include_hidden, limit, offset,
            cut if unassigned or other else None, other,
        )  # fmt: skip
        return [face_info(r, cut) for r in found]

    def face_count(
        self, person_id: int | str | None, unassigned: bool, include_hidden: bool, other: bool
    ) -> int:
        pid = self._person_id(person_id)
        cut = quality.bar(self.db) if unassigned or other else None
        return faces.listing_count(self.db, pid, unassigned or other, include_hidden, cut, other)

    def face(self, face_id: int) -> FaceInfo:
        row = faces.get(self.db, int(face_id))
        if row is None:
            raise NotFoundError(f"no face with id {face_id}")
        return face_info(row, quality.bar(self.db))

    def face_thumbnail(self, face_id: int) -> bytes:
        data = faces.thumbnail(self.db, int(face_id))
        if data is None:
            raise NotFoundError(f"no face with id {face_id}")
        return data

    def photo(self, photo_id: int) -> PhotoInfo:
        row = photos.get(self.db, int(photo_id))
        if row is None:
            raise NotFoundError(f"no photo with id {photo_id}")
        n = sum(not f.not_face for f in faces.of_photo(self.db, row.id))
        return PhotoInfo(row.id, row.path, row.width, row.height, row.status, row.error, n)

    def photo_faces(self, photo_id: int) -> list[FaceInfo]:
        cut = quality.bar(self.db)
        return [face_info(r, cut) for r in faces.of_photo(self.db, int(photo_id)) if not r.not_face]

    def photo_errors(self) -> list[PhotoInfo]:
        return [
            PhotoInfo(r.id, r.path, r.width, r.height, r.status, r.error, 0)
            for r in photos.errors(self.db)
        ]
