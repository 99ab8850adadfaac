"""The session lock beside a library is never opened through a link (on real files)."""

from __future__ import annotations

from pathlib import Path

from faceorganizer.storage.locks import SessionLock


def test_a_link_in_place_of_the_session_lock_creates_nothing_where_it_points(
    tmp_path: Path,
) -> None:
    library = tmp_path / "library.sqlite3"
    library.touch()
    elsewhere = tmp_path / "elsewhere" / "created.txt"
    elsewhere.parent.mkdir()
    (tmp_path / "library.sqlite3.lock").symlink_to(elsewhere)
    lock = SessionLock(library)
    assert lock.acquire() is False  # no lock, and the library still opens
    lock.release()
    assert not elsewhere.exists()
