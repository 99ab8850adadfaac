"""One way out (``core.writer``): never through a link, never onto what a guard protects, atomic
with stale temporaries of dead writers removed, idempotent on re-run; on real files and links."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from faceorganizer.core.reader import ReadRefused
from faceorganizer.core.writer import (
    Guard,
    WriteRefused,
    clean_stale,
    copy_unique,
    fit_name,
    make_folder,
    put_unique,
    temp_path,
    write_file,
)


def test_the_writer_never_writes_through_a_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.jpg"
    victim.write_bytes(b"a photo")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    with pytest.raises(WriteRefused, match="link"):
        write_file(link, b"table", replace=True)
    assert victim.read_bytes() == b"a photo"


def test_the_guard_protects_files_photos_and_folders(tmp_path: Path) -> None:
    library = tmp_path / "lib.sqlite3"
    library.write_bytes(b"library")
    hard = tmp_path / "hard.sqlite3"
    os.link(library, hard)
    scanned = tmp_path / "photos"
    scanned.mkdir()
    photo = tmp_path / "elsewhere.jpg"
    guard = Guard(
        files=(str(library),), is_photo=lambda p: p == str(photo), folders=(str(scanned),)
    )
    for target, says in (
        (library, "the library"),
        (hard, "the library"),
        (photo, "a photo of the library"),
        (scanned / "out.csv", "inside the scanned folder"),
    ):
        with pytest.raises(WriteRefused, match=says):
            write_file(target, b"x", guard, replace=True)
    assert library.read_bytes() == b"library"


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    left = tmp_path / f".photo.jpg.xmp.{dead.stdout.strip()}.0123abcd.fo-tmp"
    left.write_bytes(b"half")
    mine = temp_path(tmp_path / "other.xmp")
    mine.write_bytes(b"in flight")  # this process's: alive
    assert clean_stale(tmp_path, force=True) == 1
    assert not left.exists() and mine.exists()


def test_put_and_copy_are_idempotent_and_never_overwrite(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"the user's")
    path, written = put_unique(tmp_path, "a.jpg", b"crop")
    assert (path.name, written) == ("a (2).jpg", True)
    assert put_unique(tmp_path, "a.jpg", b"crop") == (path, False)
    assert (tmp_path / "a.jpg").read_bytes() == b"the user's"
    src = tmp_path / "src.bin"
    src.write_bytes(b"photo bytes")
    out = tmp_path / "out"
    out.mkdir()
    first = copy_unique(str(src), out, "p.jpg")
    assert first == (out / "p.jpg", True)
    assert copy_unique(str(src), out, "p.jpg") == (out / "p.jpg", False)
    zero = tmp_path / "zero.jpg"
    zero.symlink_to("/dev/zero")
    with pytest.raises(ReadRefused, match="a device"):
        copy_unique(str(zero), out, "z.jpg")
    assert sorted(p.name for p in out.iterdir()) == ["p.jpg"]


def test_a_folder_the_user_named_may_be_a_link_one_the_app_picks_may_not(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "exports"
    link.symlink_to(real)
    make_folder(link, Guard(), chosen=True)
    with pytest.raises(WriteRefused, match="link"):
        make_folder(link, Guard())


def test_long_and_non_ascii_names_are_shortened_to_fit_not_refused(tmp_path: Path) -> None:
    """A name of 250 bytes (125 two-byte characters) fits the disk, but its temporary name and
    its ``(2)`` variant did not: export, crops and sidecars failed with "name too long"."""
    source = tmp_path / ("é" * 125 + ".jpg")
    source.write_bytes(b"\xff\xd8 a photo")
    out = tmp_path / "out"
    out.mkdir()
    copied, written = copy_unique(str(source), out, source.name)
    assert written and copied.name == source.name and copied.read_bytes() == source.read_bytes()
    again, written = copy_unique(str(source), out, source.name)
    assert (again, written) == (copied, False)
    other, written = put_unique(out, source.name, b"other bytes")
    assert written and other.name.endswith(" (2).jpg") and len(os.fsencode(other.name)) <= 255
    crop_name = fit_name("x" * 251, "_face0.jpg")
    assert crop_name.endswith("x_face0.jpg") and len(os.fsencode(crop_name)) == 255
    crop, _ = put_unique(out, crop_name, b"crop")
    assert crop.name == crop_name and crop.read_bytes() == b"crop"
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
