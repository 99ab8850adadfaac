"""The ``Library`` methods that keep its file whole: a full check and a backup (a mixin, so
``library.py`` stays about the use cases). Same threading contract as ``Library``."""

from __future__ import annotations

import os
from pathlib import Path

from sqlite_utils import Database

from faceorganizer.services.library import file as library_file
from faceorganizer.services.library import maintenance
from faceorganizer.services.library.maintenance import BackupReport, CheckReport


class MaintenanceMethods:
    path: Path
    db: Database

    def check(self) -> CheckReport:
        """A full integrity check; damage marks the library (writers refuse it), a clean
        result clears the mark."""
        with library_file.known_errors(self.path):
            return maintenance.check(self.db, self.path)

    def backup(self, dest: str | os.PathLike[str], force: bool = False) -> BackupReport:
        """A checked copy of this library at ``dest`` (works while others read and write)."""
        with library_file.known_errors(self.path):
            return maintenance.backup(self.db, self.path, Path(dest), force)
