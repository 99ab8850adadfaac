"""Fast checks of issue 13's pieces on fake models and generated files (the real-input tests are
test_scan_safety, test_library_file, test_export_safety, test_hostile_corpus and test_kill9)."""

from __future__ import annotations

import argparse
import os
import sqlite3
from pathlib import Path

import pytest

from faceorganizer.cli.arguments import percent, positive_int
from faceorganizer.services.errors import LibraryCorruptError, NotFoundError, ScanRunningError
from faceorganizer.services.library import Library, maintenance
from faceorganizer.services.scan.files import EXPORT_MARK, os_path, stored_path, walk
from faceorganizer.storage import integrity, locks


def test_stored_paths_round_trip_undecodable_bytes() -> None:
    raw = os.fsdecode(b"/photos/caf\xe9/bad\xff\xfe.jpg")
    stored = stored_path(raw)
    assert stored is not None and stored.encode("utf-8")
    assert os_path(stored) == raw
    assert stored_path("/photos/Zoë 😀.jpg") == "/photos/Zoë 😀.jpg"


def test_walk_lists_what_it_never_opens_and_follows_each_folder_once(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a/photo.jpg").write_bytes(b"x")
    os.symlink("..", tmp_path / "a/up")
    os.symlink(tmp_path / "a", tmp_path / "a_again")
    os.symlink(tmp_path / "a/photo.jpg", tmp_path / "link.jpg")
    os.link(tmp_path / "a/photo.jpg", tmp_path / "hard.jpg")
    os.mkfifo(tmp_path / "pipe.jpg")
    os.symlink("gone.jpg", tmp_path / "dangling.jpg")
    (tmp_path / "photo.jxl").write_bytes(b"\xff\x0a")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / EXPORT_MARK).write_text("")
    (tmp_path / "export/copy.jpg").write_bytes(b"x")
    found = {os.path.relpath(e.path, tmp_path): e.problem for e in walk([tmp_path])}
    assert found == {  # real folders first, files before subfolders: the hard link is met first
        "hard.jpg": None,
        "pipe.jpg": "a pipe (FIFO), not a photo file",
        "dangling.jpg": "broken link: its target does not exist",
        "photo.jxl": None,  # a photo type: opened (and found damaged) by the decoder
    }


def test_argument_types_refuse_nonsense() -> None:
    assert percent("65") == 65.0 and positive_int("3") == 3
    for bad in ("150", "-5", "nan", "inf", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            percent(bad)
    for bad in ("0", "-1", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive_int(bad)


def test_open_creates_only_when_asked(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no library at"):
        Library.open(tmp_path / "typo.sqlite3", create=False)
    assert not list(tmp_path.iterdir())


def test_a_second_scan_is_refused(library: Library, album) -> None:
    folder, _ = album
    with locks.scan_lock(library.path), pytest.raises(ScanRunningError):
        library.scan([folder])


def test_no_op_edits_leave_no_history(library: Library) -> None:
    person = library.people()[0].person_id
    info = library.hide_person(person, hidden=False)
    assert (info.changed, info.edit_id) == (False, 0)
    assert info.description.startswith("nothing to change")
    assert [e.kind for e in library.history()] == ["auto"]  # the scan's placements only


def test_damage_is_marked_refused_and_salvaged(tmp_path: Path, library: Library) -> None:
    library.name_person(library.people()[0].person_id, "Kept")
    path = library.path
    backup = maintenance.backup(library.db, path, tmp_path / "backup.sqlite3")
    assert Path(backup.dest).stat().st_size > 0
    library.close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = [r[0] for r in con.execute("SELECT pageno FROM dbstat WHERE name = 'faces_person'")]
    con.close()
    data = bytearray(path.read_bytes())
    page = 4096 * (pages[0] - 1)
    data[page : page + 4096] = b"\xa5" * 4096  # an index page: the rows themselves survive
    path.write_bytes(bytes(data))
    with Library.open(path, read_only=True) as lib:
        assert not lib.check().ok
    with pytest.raises(LibraryCorruptError, match="library recover"):
        Library.open(path)
    report = maintenance.recover(path, tmp_path / "recovered.sqlite3")
    assert report.problems == [] and report.tables["faces"]["dropped"] == 0
    with Library.open(tmp_path / "recovered.sqlite3") as lib:
        assert lib.person("Kept").face_count > 0
    os.replace(backup.dest, path)
    with Library.open(path, read_only=True) as lib:
        assert lib.check().ok
    assert integrity.recorded_damage(path) is None
    Library.open(path).close()
