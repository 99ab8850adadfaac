"""A library's settings (declared in ``faceorganizer.config``) and the folders it scans.

Folder paths arrive normalised (``scan.files.normalise``, done once by the ``Library``), so a
folder is stored and compared in one spelling. Runs on the Library's thread.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from faceorganizer import config
from faceorganizer.services.errors import LibraryError, NotFoundError
from faceorganizer.services.library import engines
from faceorganizer.storage import settings
from faceorganizer.storage.db import transaction

if TYPE_CHECKING:
    import torch

    from faceorganizer.core.pipeline import FaceEngine


class LibrarySettings:
    """Reads and checked writes of the library's settings."""

    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.path = path

    def all(self) -> dict[str, Any]:
        return settings.get_all(self.db)

    def set(self, key: str, value: Any) -> None:
        """Store a setting; a value that does not fit, or an unknown model, is a
        ``LibraryError`` saying so."""
        try:
            if key == "model_id":
                from faceorganizer.core.models.registry import get_spec

                get_spec(str(value))
            with transaction(self.db, self.path):
                settings.put(self.db, key, value)
        except (config.SettingError, ValueError) as exc:
            raise LibraryError(str(exc)) from None

    def model_id(self) -> str:
        return str(settings.get(self.db, "model_id"))

    def min_face_size(self) -> int | None:
        size = settings.get(self.db, "min_face_size")
        return int(size) if size else None

    def engine(self, device: torch.device) -> FaceEngine:
        """The process's shared engine for this library's model and minimum face size."""
        return engines.engine_for(self.model_id(), device, self.min_face_size())

    def folders(self) -> list[str]:
        return list(settings.get(self.db, "folders") or [])

    def add_folder(self, path: str) -> list[str]:
        if not os.path.isdir(path):
            raise NotFoundError(f"no such folder: {path}")
        current = self.folders()
        if path not in current:
            self.set("folders", [*current, path])
        return self.folders()

    def remove_folder(self, path: str) -> list[str]:
        self.set("folders", [f for f in self.folders() if f != path])
        return self.folders()

    def scan_roots(self, roots: list[str] | None) -> list[str]:
        """The folders a scan walks: ``roots``, added to the library's folders first, else all
        of the library's folders."""
        if roots is not None:
            for root in roots:
                self.add_folder(root)
        found = roots if roots is not None else self.folders()
        if not found:
            raise LibraryError("no folders to scan: add a folder first")
        return found
