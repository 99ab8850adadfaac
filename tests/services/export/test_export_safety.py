"""Exports never overwrite a photo or a file without --force, never land inside a scanned
folder, and are never scanned back in (issue 13, defects 2, 3 and 12), through the real CLI on a
copy of the session's scanned library."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from faceorganizer.cli import main
from faceorganizer.services.library import Library
from tests.helpers.library_support import REPO, library_copy, shared_engine


@pytest.fixture
def copied(tmp_path: Path):
    folder, db = library_copy(tmp_path / "lib")
    with Library.open(db) as lib:
        for i, p in enumerate(x for x in lib.people() if x.face_count >= 2):
            lib.name_person(p.person_id, f"Person {i}")
    return folder, db


def _cli(db: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "faceorganizer", *argv, "--library", str(db)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _a_photo(folder: Path) -> Path:
    """A photo of the library (not an unreadable one, not in the skipped hidden folder)."""
    found = sorted(folder.rglob("*.jpg"))
    return next(p for p in found if not {"broken", ".thumbnails"} & set(p.parts))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_table_export_never_overwrites_a_photo_even_with_force(copied) -> None:
    folder, db = copied
    photo = _a_photo(folder)
    before = _sha(photo)
    for extra in ([], ["--force"]):
        done = _cli(db, "export", str(photo), "--format", "csv", *extra)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert "inside the library's folder" in done.stderr
    assert _sha(photo) == before
    with Library.open(db) as lib:
        lib.remove_folder(folder)  # a photo of the library outside its folders now
    done = _cli(db, "export", str(photo), "--format", "json", "--force")
    assert done.returncode == 1 and "is a photo of the library" in done.stderr
    assert _sha(photo) == before


def test_table_export_replaces_an_existing_file_only_with_force(copied, tmp_path: Path) -> None:
    _, db = copied
    target = tmp_path / "mine.csv"
    target.write_text("my own spreadsheet\n")
    done = _cli(db, "export", str(target), "--format", "csv")
    assert done.returncode == 1
    assert done.stderr.strip().endswith("already exists (a file); use --force to replace it")
    assert target.read_text() == "my own spreadsheet\n"
    done = _cli(db, "export", str(target), "--format", "csv", "--force")
    assert done.returncode == 0, done.stderr
    assert target.read_text().startswith("face_id,")


def test_export_onto_or_under_a_file_says_so(copied, tmp_path: Path) -> None:
    _, db = copied
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    cases = [
        (["export", str(a_file / "sub" / "out.csv"), "--format", "csv"], "is a file, not a folder"),
        (["export", str(a_file)], "is a file, not a folder"),
        (["export", str(a_file / "people")], "is a file, not a folder"),
    ]
    for argv, message in cases:
        done = _cli(db, *argv)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert message in done.stderr
    assert a_file.read_text() == "x"


def test_person_folders_never_land_in_a_scanned_folder_nor_come_back_in(
    copied, tmp_path: Path
) -> None:
    folder, db = copied
    done = _cli(db, "export", str(folder / "by-person"), "--by-person")
    assert done.returncode == 1 and "inside the library's folder" in done.stderr
    assert not (folder / "by-person").exists()
    out = tmp_path / "export"
    assert _cli(db, "export", str(out), "--json").returncode == 0
    assert _cli(db, "export", str(tmp_path / "copies"), "--copy").returncode == 0
    with Library.open(db) as lib:
        before = lib.counts()
        # the user adds the export folders to the library: our links and copies are skipped
        summary = lib.scan([out, tmp_path / "copies"], engine=shared_engine(), cluster=False)
        assert (summary.new, summary.changed, summary.removed) == (0, 0, 0)
        assert lib.counts() == before
    exported = [p for p in out.rglob("*.jpg")]
    assert exported and all(p.is_symlink() for p in exported)


def test_cli_json_errors_are_one_line(copied, tmp_path: Path, capsys) -> None:
    folder, db = copied
    photo = _a_photo(folder)
    before = _sha(photo)
    status = main(["export", str(photo), "--format", "csv", "--json", "--library", str(db)])
    out = json.loads(capsys.readouterr().out)
    assert status == 1 and "inside the library's folder" in out["error"]
    assert _sha(photo) == before


def test_a_full_destination_disk_is_named_and_nothing_is_left(copied, tiny_disk: Path) -> None:
    folder, db = copied
    library_before = db.stat().st_size
    photos = {p: _sha(p) for p in folder.rglob("*.jpg")}
    done = _cli(db, "export", str(tiny_disk / "out"), "--by-person", "--copy")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    message = done.stderr.lower()
    assert "the disk is full" in message and str(tiny_disk) in done.stderr
    assert "library" not in message.split("the disk is full")[0][-80:]
    assert not [p for p in tiny_disk.rglob("*") if p.name.endswith((".part", ".tmp"))]
    assert {p: _sha(p) for p in photos} == photos
    with Library.open(db) as lib:  # the library is whole and still usable
        assert lib.check().ok and lib.people()
    assert db.stat().st_size >= library_before
