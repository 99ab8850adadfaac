"""The library file against typos, full disks, damage and crashes (issue 13, defects 8, 9, 12,
13): real CLI processes, a real full tmpfs, real damaged pages, real backups."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from faceorganizer.services.errors import LibraryCorruptError
from faceorganizer.services.library import Library
from faceorganizer.storage import integrity, persons
from faceorganizer.storage.db import transaction
from tests.helpers.library_support import REPO, library_copy


def _cli(db: Path | str, *argv: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "faceorganizer", *argv, "--library", str(db), "--device", "cpu"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _checkpoint(db: Path) -> None:
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def _damage_middle(db: Path, seed: int = 13) -> None:
    """8 KB of random bytes in the middle of the file (the issue's reproduction)."""
    data = bytearray(db.read_bytes())
    start = len(data) // 2 - 4096
    data[start : start + 8192] = random.Random(seed).randbytes(8192)
    db.write_bytes(bytes(data))


def test_a_typo_in_library_creates_nothing(tmp_path: Path) -> None:
    typo = tmp_path / "libary.sqlite3"
    for argv in (
        ["people"],
        ["undo"],
        ["search", "--face", "1"],
        ["history"],
        ["name", "1", "X"],
        ["faces"],
        ["photos", "--errors"],
        ["cluster"],
        ["export", str(tmp_path / "out"), "--format", "csv"],
        ["library", "check"],
        ["library", "backup", str(tmp_path / "b.sqlite3")],
    ):
        done = _cli(typo, *argv)
        assert done.returncode == 1, (argv, done.stderr)
        assert done.stderr.startswith(f"faceorganizer: error: no library at {typo}"), argv
        assert "Traceback" not in done.stderr
    assert sorted(os.listdir(tmp_path)) == []


def test_a_library_path_under_a_file_is_a_message(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    photos = tmp_path / "photos"
    photos.mkdir()
    done = _cli(a_file / "lib.sqlite3", "scan", str(photos))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "a part of that path is a file, not a folder" in done.stderr
    assert a_file.read_text() == "x"


def test_damage_in_the_middle_is_found_refused_and_recovered(tmp_path: Path) -> None:
    folder, db = library_copy(tmp_path / "lib")
    with Library.open(db) as lib:
        people = [p for p in lib.people() if p.face_count >= 2]
        for i, p in enumerate(people):
            lib.name_person(p.person_id, f"Person {i}")
    _checkpoint(db)
    backup = tmp_path / "backup.sqlite3"
    assert _cli(db, "library", "backup", str(backup)).returncode == 0
    _damage_middle(db)

    faces = _cli(db, "faces", "--json")
    assert "Traceback" not in faces.stderr and faces.returncode in (0, 1), faces.stderr
    scan = _cli(db, "scan", str(folder), "--quiet")
    assert scan.returncode == 1 and "Traceback" not in scan.stderr, scan.stderr
    assert "is damaged" in scan.stderr and "library recover" in scan.stderr
    assert integrity.damage_mark(db).exists()
    name = _cli(db, "name", "Person 0", "Renamed")
    assert name.returncode == 1 and "nothing more is written to it" in name.stderr
    check = _cli(db, "library", "check")
    assert check.returncode == 1 and "is damaged:" in check.stdout

    recovered = tmp_path / "recovered.sqlite3"
    done = _cli(db, "library", "recover", str(recovered), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["problems"] == [] and report["tables"]["persons"]["copied"] > 0
    assert _cli(recovered, "library", "check").returncode == 0
    with Library.open(recovered) as lib:
        names = {p.name for p in lib.people()}
        assert names & {f"Person {i}" for i in range(len(people))}
        assert lib.counts()["faces"] > 0

    shutil.copyfile(backup, db)  # the user puts the backup back
    for stale in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    assert _cli(db, "library", "check").returncode == 0
    assert not integrity.damage_mark(db).exists()
    assert _cli(db, "name", "Person 0", "Renamed").returncode == 0


def _library_of_persons(path: Path, n: int = 400) -> None:
    with Library.open(path) as lib, transaction(lib.db):
        for i in range(n):
            persons.create(lib.db, f"person {i} " + "x" * 300)
    _checkpoint(path)


def test_unclean_shutdown_is_followed_by_a_check(tmp_path: Path) -> None:
    db = tmp_path / "lib.sqlite3"
    _library_of_persons(db)
    crash = textwrap.dedent(
        """
        import os, sys
        from faceorganizer.services.library import Library
        lib = Library.open(sys.argv[1])
        lib.name_person(1, "written, then the process dies")
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", crash, str(db)], cwd=REPO, check=True, timeout=120)
    assert db.with_name(db.name + "-wal").stat().st_size > 0
    clean = tmp_path / "clean.sqlite3"
    _library_of_persons(clean)
    for path in (db, clean):
        data = bytearray(path.read_bytes())
        middle = len(data) // 4096 // 2 * 4096  # a page of persons: the open never reads it
        data[middle : middle + 64] = b"\x5a" * 64
        path.write_bytes(bytes(data))

    with Library.open(clean, read_only=True) as lib:  # a clean close: no check, no cost
        assert lib.path == clean
    with pytest.raises(LibraryCorruptError, match="is damaged"):
        Library.open(db)
    assert integrity.damage_mark(db).exists()
    with Library.open(db, read_only=True) as lib:  # reading what is left still works
        assert lib.read_only


def test_backup_while_another_connection_writes(tmp_path: Path) -> None:
    db = tmp_path / "lib.sqlite3"
    _library_of_persons(db, 50)
    writer = sqlite3.connect(db, isolation_level=None)
    (tmp_path / "copies").mkdir()
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE persons SET name = 'uncommitted' WHERE id = 1")
    try:
        done = _cli(db, "library", "backup", str(tmp_path / "copies"), "--json", timeout=120)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert done.returncode == 0, done.stderr
    copy = Path(json.loads(done.stdout)["dest"])
    assert copy.parent == tmp_path / "copies" and copy.suffix == ".sqlite3"
    con = sqlite3.connect(copy)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT name FROM persons WHERE id = 1").fetchone()[0] != "uncommitted"
    assert con.execute("SELECT count(*) FROM persons").fetchone()[0] == 50
    con.close()
    again = _cli(db, "library", "backup", str(copy))
    assert again.returncode == 1 and "use --force" in again.stderr


FULL_DISK = textwrap.dedent(
    """
    import json, os, shutil, subprocess, sys
    mount, library, photos, out = sys.argv[1:5]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mount], check=True)
    db = os.path.join(mount, "lib.sqlite3")
    shutil.copyfile(library, db)
    os.environ["FACEORGANIZER_LOG_DIR"] = os.path.join(mount, "logs")  # the log is full too
    crash = "import os, sys; from faceorganizer.services.library import Library; " \\
        "lib = Library.open(sys.argv[1]); lib.name_person(1, 'From the WAL'); os._exit(0)"
    subprocess.run([sys.executable, "-c", crash, db], check=True)
    os.unlink(db + "-shm")  # the WAL index must be rebuilt, and cannot grow on disk
    try:
        with open(os.path.join(mount, "filler"), "wb") as f:
            while True:
                f.write(b"\\0" * 65536)
                f.flush()
    except OSError:
        pass
    runs = {}
    for name, argv in {
        "people": ["people", "--json"],
        "faces": ["faces", "--json"],
        "photos": ["photos", "--json"],
        "history": ["history", "--json"],
        "search": ["search", "--face", "1", "--json"],
        "export": ["export", out, "--format", "csv"],
        "check": ["library", "check"],
        "name": ["name", "1", "Another name"],
        "scan": ["scan", photos, "--quiet", "--no-cluster"],
    }.items():
        p = subprocess.run(
            [sys.executable, "-m", "faceorganizer", *argv, "--library", db, "--device", "cpu"],
            capture_output=True, text=True, timeout=300,
        )
        runs[name] = [p.returncode, p.stdout, p.stderr]
    print(json.dumps(runs))
    """
)


def _can_mount_tmpfs() -> bool:
    try:
        done = subprocess.run(
            [
                "unshare",
                "--user",
                "--map-root-user",
                "--mount",
                "sh",
                "-c",
                "mount -t tmpfs -o size=1m tmpfs /mnt",
            ],  # fmt: skip
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def test_full_disk_reads_work_and_writes_say_full(tmp_path: Path) -> None:
    if not _can_mount_tmpfs():
        pytest.skip("no user namespaces here: a small tmpfs cannot be mounted")
    folder, db = library_copy(tmp_path / "lib")
    _checkpoint(db)
    mount = tmp_path / "full"
    mount.mkdir()
    done = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            sys.executable,
            "-c",
            FULL_DISK,
            str(mount),
            str(db),
            str(folder),
            str(tmp_path / "faces.csv"),
        ],  # fmt: skip
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads(done.stdout)
    db = mount / "lib.sqlite3"
    for name in ("people", "faces", "photos", "history", "search", "export", "check"):
        status, _, err = runs[name]
        assert status == 0, (name, err)
    people = json.loads(runs["people"][1])
    assert "From the WAL" in {p["name"] for p in people}  # read from the WAL, in memory
    assert (tmp_path / "faces.csv").read_text().startswith("face_id,")
    for name in ("name", "scan"):
        status, _, err = runs[name]
        assert status == 1, (name, err)
        full = f"the disk holding the library is full ({db}); free some space"
        assert err == f"faceorganizer: error: {full}\n", (name, err)
    assert all("Traceback" not in err and "Logging error" not in err for _, _, err in runs.values())


@pytest.mark.timeout(120)
@pytest.mark.parametrize("suffix", ["-journal", "-wal", "-shm"])
def test_a_pipe_or_link_beside_the_library_is_refused_by_name(tmp_path: Path, suffix: str) -> None:
    db = tmp_path / "library.sqlite3"
    Library.open(db).close()
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 the user's photo")
    companion = db.with_name(db.name + suffix)
    for make, what in ((os.mkfifo, "a pipe"), (lambda p: p.symlink_to(photo), "a link")):
        companion.unlink(missing_ok=True)
        make(companion)
        for argv in (["people"], ["name", "1", "X"]):
            done = _cli(db, *argv, timeout=60)
            assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
            assert f"{companion}, a file SQLite keeps beside it, is {what}" in done.stderr
    assert photo.read_bytes() == b"\xff\xd8 the user's photo"
    companion.unlink()
    assert _cli(db, "people").returncode == 0


def test_a_backup_onto_a_full_disk_names_that_disk_and_leaves_nothing(
    tmp_path: Path, tiny_disk: Path
) -> None:
    db = tmp_path / "library.sqlite3"
    with Library.open(db) as lib, transaction(lib.db):
        for i in range(50):
            persons.create(lib.db, f"person {i} " + "x" * 300)
    dest = tiny_disk / "copy.sqlite3"
    done = _cli(db, "library", "backup", str(dest))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr == f"faceorganizer: error: cannot write {dest}: the disk is full\n"
    assert os.listdir(tiny_disk) == []
    assert _cli(db, "library", "check").returncode == 0


def test_a_killed_recovery_leaves_nothing_after_the_next_one(tmp_path: Path) -> None:
    """A recovery killed mid-way left its half-built library (the temporary file, its WAL,
    shared memory and lock) beside the destination for good."""
    db = tmp_path / "library.sqlite3"
    Library.open(db).close()
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    left = [out / f".rec.sqlite3.{dead}.0123abcd.fo-tmp{s}" for s in ("", "-wal", "-shm", ".lock")]
    for path in left:
        path.write_bytes(b"half")
    done = _cli(db, "library", "recover", str(out / "rec.sqlite3"))
    assert done.returncode == 0, done.stderr
    assert os.listdir(out) == ["rec.sqlite3"]


def test_a_read_only_destination_is_named_with_the_reason(tmp_path: Path) -> None:
    """Backup said "it cannot be created there" only, recover named its temporary file with
    SQLite's "unable to open database file", and an export that wrote nothing exited 0."""
    from tests.helpers.hostile_corpus import can_deny_access

    if not can_deny_access():
        pytest.skip("permissions cannot be made to bite here")
    folder, db = library_copy(tmp_path / "lib")
    with Library.open(db) as lib:
        lib.name_person(lib.people()[0].person_id, "Someone")
    dest = tmp_path / "read-only"
    dest.mkdir()
    if os.geteuid() == 0:
        os.chown(dest, 65534, 65534)  # root inside a user namespace is nobody to it
    os.chmod(dest, 0o555)
    prefix = ["unshare", "--user", "--map-root-user"] if os.geteuid() == 0 else []
    for argv, said in (
        (["library", "backup", str(dest / "b.sqlite3")], f"cannot write {dest / 'b.sqlite3'}: "),
        (["library", "recover", str(dest / "r.sqlite3")], f"cannot write {dest / 'r.sqlite3'}: "),
        (["export", str(dest), "--copy"], "permission denied"),
    ):
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "faceorganizer", *argv, "--library", str(db)],
            cwd=REPO, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        assert done.returncode == 1, (argv, done.stdout, done.stderr)
        assert said in done.stdout + done.stderr, (argv, done.stdout, done.stderr)
        assert "unable to open" not in done.stderr and "fo-tmp" not in done.stderr
    assert os.listdir(dest) == []
