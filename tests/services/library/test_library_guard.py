"""The Library facade's one error guard: damage SQLite reports in any use case marks the library
damaged (so no later writer adds to it), whichever part of the Library found it."""

from __future__ import annotations

import inspect
import sqlite3
from pathlib import Path

import pytest

from faceorganizer.services.errors import LibraryCorruptError
from faceorganizer.services.library import Library
from faceorganizer.storage import integrity, photos
from faceorganizer.storage.db import transaction


def _library_with_damaged_photos(path: Path) -> None:
    """A library whose photos table spans many pages, the middle ones overwritten: opening it
    reads none of them (a clean close: no check), reading the photos does."""
    with Library.open(path) as lib, transaction(lib.db):
        for i in range(600):
            photos.insert(
                lib.db, path=f"/photos/{i:04d}-" + "x" * 300 + ".jpg", size=1, mtime=0.0,
                hash=None, width=10, height=10, status="ok", error=None, model_id=None,
            )  # fmt: skip
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    data = bytearray(path.read_bytes())
    middle = len(data) // 4096 // 2 * 4096
    data[middle : middle + 4 * 4096] = b"\x5a" * (4 * 4096)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "use", [lambda lib: lib.import_xmp(), lambda lib: lib.write_xmp(), lambda lib: lib.counts()]
)
def test_damage_found_in_a_use_case_marks_the_library_damaged(tmp_path: Path, use) -> None:
    path = tmp_path / "library.sqlite3"
    _library_with_damaged_photos(path)
    with Library.open(path) as lib:
        assert not integrity.damage_mark(path).exists()
        with pytest.raises(LibraryCorruptError, match="is damaged"):
            use(lib)
    assert integrity.damage_mark(path).exists()
    with pytest.raises(LibraryCorruptError, match="nothing more is written"):
        Library.open(path)


def test_every_public_method_runs_under_the_guard() -> None:
    public = [
        name
        for name, member in vars(Library).items()
        if not name.startswith("_") and not isinstance(member, classmethod)
    ]
    assert len(public) > 40
    for name in public:
        member = getattr(Library, name)
        fn = member.fget if isinstance(member, property) else member
        assert inspect.unwrap(fn) is not fn, f"Library.{name} is not guarded"
