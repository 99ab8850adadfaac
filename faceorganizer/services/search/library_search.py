"""The ``Library``'s search part: faces like a library face, a face in a photo from outside the
library, or a whole person, scored with person-level evidence.

Runs on the Library's thread; its index (``similar.LibrarySearch``) lives on the Library's
device and follows the library's model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
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


class Search:
    """Similar-face search over one library."""

    def __init__(
        self,
        db: Database,
        engine: Callable[[], FaceEngine],
        device: Callable[[], torch.device],
    ) -> None:
        self.db = db
        self._engine = engine
        self._device = device
        self.index: LibrarySearch | None = None
        self._queries = QueryFaces()

    def close(self) -> None:
        self.index = None

    def _model_id(self) -> str:
        return str(settings.get(self.db, "model_id"))

    def image_faces(self, image: str | os.PathLike[str]) -> list[ImageFace]:
        """The faces found in a photo from outside the library, to choose one to search with
        (``search(image=..., face_index=...)``); ``largest`` marks the one used by default."""
        cut = quality.bar(self.db)
        return self._queries.image_faces(image, self._model_id(), self._engine, cut)

    def _index_for(self, model_id: str) -> LibrarySearch:
        device = self._device()
        if self.index is None or (self.index.model_id, self.index.device) != (model_id, device):
            self.index = LibrarySearch(model_id, device)
        return self.index

    def search(
        self,
        face_id: int | None,
        image: str | os.PathLike[str] | None,
        face_index: int | None,
        threshold: float | None,
        limit: int | None,
        person: int | str | None,
        like_person: int | str | None,
    ) -> list[SearchHit]:
        """Faces ranked by the chance that each is the query's person, scored with person-level
        evidence (``core.person_search``): those at or above ``threshold`` percent (default: the
        library's "same person at" setting), best first, the query's own face(s) left out.

        The query is a library face (``face_id``), a face in ``image`` (the largest, or
        ``face_index``), or a whole person (``like_person``: "faces like this person").
        ``person`` keeps only the results in that person. A face under the library's quality
        bar, asked with or found, is never shown above ``core.quality.POOR_CEILING`` percent.
        """
        if threshold is None:
            threshold = float(settings.get(self.db, "threshold_percent"))
        pid = edits.resolve_person(self.db, person) if person is not None else None
        model_id = self._model_id()
        index = self._index_for(model_id)
        most = limit if pid is None else None  # a person filter comes after the ranking
        cut = quality.bar(self.db)
        if like_person is not None:
            query_person = edits.resolve_person(self.db, like_person)
            found = index.by_person(self.db, query_person, threshold, most)
        elif face_id is not None:
            vector = self._queries.face_vector(self.db, face_id, model_id)
            row = faces.get(self.db, int(face_id))
            poor = row is not None and row.poor(cut)
            found = index.by_face(self.db, vector, face_id, threshold, most, poor)
        elif image is not None:
            face = self._queries.image_face(image, face_index, model_id, self._engine)
            vector = np.asarray(face.embedding, np.float32)
            poor = face.quality_recipe > 0 and face.quality < cut
            found = index.by_face(self.db, vector, None, threshold, most, poor)
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

    def face_embeddings(self, face_ids: Sequence[int]) -> list[tuple[np.ndarray, str]]:
        """The stored embedding (float32, unit length) and the model that made it of each face,
        in the order asked: the library's vectors, for other tools (``faces --embeddings``)."""
        found = faces.vectors_of(self.db, face_ids)
        missing = [f for f in face_ids if int(f) not in found]
        if missing:
            raise LibraryError(f"no face with id {missing[0]}")
        return [found[int(f)] for f in face_ids]
