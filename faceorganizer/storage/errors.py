"""Known library failures, told apart from bugs, each with a message a user can act on.

They live in storage (the lowest layer that raises them); ``services.errors`` re-exports them.
"""

from __future__ import annotations


class LibraryError(Exception):
    """Base of every known library failure: the CLI prints it, the GUI shows it."""


class NotFoundError(LibraryError, LookupError):
    """A person, face or photo the user named does not exist."""


class LibraryLockedError(LibraryError):
    """Another process holds the write lock for longer than we wait."""


class ScanRunningError(LibraryLockedError):
    """Another scan of the same library is running (in this or another process)."""


class LibraryCorruptError(LibraryError):
    """The file is not a FaceOrganizer library, or SQLite found it damaged."""


class DiskFullError(LibraryError):
    """No space left to write the library."""


class NewerLibraryError(LibraryError):
    """The library was written by a newer FaceOrganizer whose schema we do not know."""


class ReadOnlyLibraryError(LibraryError):
    """A write was attempted on a library opened read-only (or on a read-only file)."""
