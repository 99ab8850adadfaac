"""The known library failures the CLI and the GUI show as messages (defined in storage)."""

from faceorganizer.storage.errors import (
    DiskFullError,
    LibraryCorruptError,
    LibraryError,
    LibraryLockedError,
    NewerLibraryError,
    NotFoundError,
    ReadOnlyLibraryError,
    ScanRunningError,
)

__all__ = [
    "DiskFullError",
    "LibraryCorruptError",
    "LibraryError",
    "LibraryLockedError",
    "NewerLibraryError",
    "NotFoundError",
    "ReadOnlyLibraryError",
    "ScanRunningError",
]
