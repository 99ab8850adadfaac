"""The damage mark beside a library is a file like any other: read through ``core.reader`` (a
pipe or a device in its place never hangs or floods a command) and written through
``core.writer`` (never through a link)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from faceorganizer.services.library import Library
from faceorganizer.storage import integrity


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["pipe", "device", "folder"])
def test_a_mark_that_is_not_a_file_is_not_read(tmp_path: Path, kind: str) -> None:
    library = tmp_path / "library.sqlite3"
    mark = integrity.damage_mark(library)
    if kind == "pipe":
        os.mkfifo(mark)
    elif kind == "device":
        mark.symlink_to("/dev/zero")
    else:
        mark.mkdir()
    recorded = integrity.recorded_damage(library)
    assert recorded is not None and str(mark) in recorded
    assert {"pipe": "a pipe", "device": "a device", "folder": "a folder"}[kind] in recorded


def test_marking_damage_never_writes_through_a_link(tmp_path: Path) -> None:
    library = tmp_path / "library.sqlite3"
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 the user's photo")
    integrity.damage_mark(library).symlink_to(photo)
    integrity.mark_damaged(library, ["page 33 is damaged"])
    assert photo.read_bytes() == b"\xff\xd8 the user's photo"
    assert integrity.damage_mark(library).is_symlink()


def test_a_mark_that_is_a_file_is_written_and_read(tmp_path: Path) -> None:
    library = tmp_path / "library.sqlite3"
    integrity.mark_damaged(library, ["page 33 is damaged"])
    assert integrity.recorded_damage(library).endswith("page 33 is damaged")  # type: ignore[union-attr]
    integrity.clear_damage(library)
    assert integrity.recorded_damage(library) is None


@pytest.mark.timeout(60)
def test_a_pipe_left_as_the_mark_is_cleared_by_a_passing_check(tmp_path: Path) -> None:
    library = tmp_path / "library.sqlite3"
    Library.open(library).close()
    os.mkfifo(integrity.damage_mark(library))
    with Library.open(library, read_only=True) as lib:
        assert lib.check().problems == []
    assert not os.path.lexists(integrity.damage_mark(library))
