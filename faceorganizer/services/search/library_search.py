"""The search methods of ``Library`` (``services.library``): faces like a library face, a face
in a photo from outside the library, or a whole person, scored with person-level evidence.

A mixin: it relies on the ``Library`` attributes declared below and runs on the Library's thread.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import numpy as np
from sqlite_utils import Database

from faceorganizer.services import quality
from faceorganizer.services.errors import LibraryError
from faceorganizer.services.people import edits
from faceorganizer.services.rows import face_info
from faceorganizer.services.search.query_faces import QueryFaces
from faceorganizer.services.search.similar import LibrarySearch
from faceorganizer.services.types import ImageFace, SearchHit
from faceorganizer.storage import faces, settings

if TYPE_CHECKING:
    import torch

    from faceorganizer.core.pipeline import FaceEngine


class SearchMethods:
    db: Database
    _search: LibrarySearch | None
    _queries: QueryFaces

    @property
    def model_id(self) -> str:
        raise NotImplementedError

    def engine(self) -> FaceEngine:
        raise NotImplementedError

    def torch_device(self) -> torch.device:
        raise NotImplementedError

    def _known_errors(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def image_faces(self, image: str | os.PathLike[str]) -> list[ImageFace]:
        """The faces found in a photo from outside the library, to choose one to search with
        (``search(image=..., face_index=...)``); ``largest`` marks the one used by default."""
        with self._known_errors():
            cut = quality.bar(self.db)
            return self._queries.image_faces(image, self.model_id, self.engine, cut)

    def search(
        self,
        face_id: int | None = None,
        image: str | os.PathLike[str] | None = None,
        face_index: int | None = None,
        threshold: float | None = None,
        limit: int | None = None,
        person: int | str | None = None,
        like_person: int | str | None = None,
    ) -> list[SearchHit]:
        """Faces ranked by the chance that each is the query's person, scored with person-level
        evidence (``core.person_search``): those at or above ``threshold`` percent (default: the
        library's "same person at" setting), best first, the query's own face(s) left out.

        The query is a library face (``face_id``), a face in ``image`` (the largest, or
        ``face_index``), or a whole person (``like_person``: "faces like this person").
        ``person`` keeps only the results in that person. A face under the library's quality
        bar, asked with or found, is never shown above ``core.quality.POOR_CEILING`` percent.
        """
        with self._known_errors():
            if threshold is None:
                threshold = float(settings.get(self.db, "threshold_percent"))
            pid = edits.resolve_person(self.db, person) if person is not None else None
            device = self.torch_device()
            if self._search is None or (self._search.model_id, self._search.device) != (
                self.model_id,
                device,
            ):
                self._search = LibrarySearch(self.model_id, device)
            most = limit if pid is None else None  # a person filter comes after the ranking
            cut = quality.bar(self.db)
            if like_person is not None:
                query_person = edits.resolve_person(self.db, like_person)
                found = self._search.by_person(self.db, query_person, threshold, most)
            elif face_id is not None:
                vector = self._queries.face_vector(self.db, face_id, self.model_id)
                row = faces.get(self.db, int(face_id))
                poor = row is not None and row.poor(cut)
                found = self._search.by_face(self.db, vector, face_id, threshold, most, poor)
            elif image is not None:
                face = self._queries.image_face(image, face_index, self.model_id, self.engine)
                vector = np.asarray(face.embedding, np.float32)
                poor = face.quality_recipe > 0 and face.quality < cut
                found = self._search.by_face(self.db, vector, None, threshold, most, poor)
            else:
                raise LibraryError("search needs a face id, an image or a person")
            hits = []
            for fid, percent, cos in found:
                row = faces.get(self.db, fid)
                if row is None or (pid is not None and row.person_id != pid):
                    continue
                hits.append(SearchHit(face_info(row, cut), percent, cos))
                if limit is not None and len(hits) >= limit:
                    break
            return hits
