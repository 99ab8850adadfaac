"""What a search asks with: a library face's vector, or a face of a photo from outside the
library (the engine runs once per photo: the last one is kept, so listing its faces and then
searching with the one the user picks does not embed it twice)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from sqlite_utils import Database

from faceorganizer.services.errors import LibraryError, NotFoundError
from faceorganizer.services.types import ImageFace
from faceorganizer.storage import faces

if TYPE_CHECKING:
    from faceorganizer.core.pipeline import FaceEngine
    from faceorganizer.core.types import EmbeddedFace, PhotoFaces


class QueryFaces:
    """Query vectors for one Library (used from its thread)."""

    def __init__(self) -> None:
        self._image: tuple[tuple[str, int, str], PhotoFaces] | None = None

    def face_vector(self, db: Database, face_id: int, model_id: str) -> np.ndarray:
        found = faces.embedding_of(db, int(face_id))
        if found is None:
            raise NotFoundError(f"no face with id {face_id}")
        vector, made_by = found
        if made_by != model_id:
            raise LibraryError(f"face {face_id} was made by {made_by}, not {model_id}")
        return vector

    def photo(
        self, image: str | os.PathLike[str], model_id: str, engine: Callable[[], FaceEngine]
    ) -> PhotoFaces:
        """The faces the engine finds in a photo from outside the library (at least one)."""
        path = str(image)
        try:
            key = (path, os.stat(path).st_mtime_ns, model_id)
        except OSError as exc:
            raise LibraryError(f"cannot read {image}: {exc.strerror or exc}") from None
        if self._image is None or self._image[0] != key:
            result = engine().embed_image(path)
            if result.error:
                raise LibraryError(f"cannot read {image}: {result.error}")
            self._image = (key, result)
        result = self._image[1]
        if not result.faces:
            raise NotFoundError(f"no face found in {image}")
        return result

    def image_faces(
        self,
        image: str | os.PathLike[str],
        model_id: str,
        engine: Callable[[], FaceEngine],
        bar: float = 0.0,
    ) -> list[ImageFace]:
        """The photo's faces, each under the quality ``bar`` saying why."""
        result = self.photo(image, model_id, engine)
        sizes = [f.detection.width * f.detection.height for f in result.faces]
        largest = max(range(len(sizes)), key=sizes.__getitem__)
        return [
            ImageFace(
                k,
                f.detection.box,
                f.detection.score,
                f.thumbnail,
                k == largest,
                _reason(f, model_id, bar),
            )  # fmt: skip
            for k, f in enumerate(result.faces)
        ]

    def image_face(
        self,
        image: str | os.PathLike[str],
        face_index: int | None,
        model_id: str,
        engine: Callable[[], FaceEngine],
    ) -> EmbeddedFace:
        """The chosen face of the photo (``face_index``), else its largest."""
        result = self.photo(image, model_id, engine)
        if face_index is None:
            return max(result.faces, key=lambda f: f.detection.width * f.detection.height)
        if 0 <= face_index < len(result.faces):
            return result.faces[face_index]
        raise NotFoundError(f"{image} has {len(result.faces)} face(s); no face {face_index}")


def _reason(face: EmbeddedFace, model_id: str, bar: float) -> str | None:
    """Why a face of an outside photo is under the quality ``bar`` (None: it is not)."""
    if face.signals is None or face.quality_recipe <= 0 or face.quality >= bar:
        return None
    from faceorganizer.services.quality import reason_text

    return reason_text(model_id, json.dumps(face.signals), bar)
