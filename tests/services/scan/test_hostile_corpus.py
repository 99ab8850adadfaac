"""A real `faceorganizer scan` of the generated hostile corpus (``hostile_corpus.py``: 50+ kinds
of awkward, broken and special files, mixed with good photos): it finishes, every good photo's
faces are there, every bad file is listed once with a short human reason, nothing is stored
twice, and a rescan retries nothing."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from faceorganizer.services.library import Library
from faceorganizer.services.scan.files import EXPORT_MARK
from tests.helpers.hostile_corpus import (
    FOREIGN_UID,
    FORMULA_NAME,
    build,
    can_deny_access,
    expected_rows,
    restore_access,
    scan_command,
)
from tests.helpers.library_support import FACES_DIR, REPO

# Not a reason a user can act on: exception reprs, tracebacks, library internals.
MACHINE_TALK = re.compile(r"Traceback|Error\(|torch|tensor|errno|\[Errno|0x[0-9a-f]{6}", re.I)


def _scan(corpus: Path, library: Path) -> dict:
    argv = [sys.executable, "-m", "faceorganizer", "scan", str(corpus), "--library", str(library)]
    argv += ["--json", "--no-cluster", "--quiet", "--device", "cpu"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(scan_command(argv), cwd=REPO, env=env, capture_output=True, timeout=900)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    assert b"Traceback" not in done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def corpus():
    root = Path(tempfile.mkdtemp(prefix="fo-hostile-"))
    faces = sorted((FACES_DIR / "lfw_dev").glob("*/*_0001.jpg"))[:8]
    cases = build(root / "corpus", faces)
    library = root / "library.sqlite3"
    first = _scan(root / "corpus", library)
    yield root / "corpus", library, cases, first
    restore_access(root / "corpus")
    shutil.rmtree(root, ignore_errors=True)


def test_corpus_has_at_least_40_kinds_besides_good_photos(corpus) -> None:
    _, _, cases, _ = corpus
    kinds = {c.kind for c in cases if not c.kind.startswith("good photo")}
    assert len(kinds) >= 40, sorted(kinds)


def test_every_file_gives_exactly_its_row(corpus) -> None:
    """Good photos read, bad files listed, and nothing stored twice (links, loops, exports)."""
    _, library, cases, summary = corpus
    expected = expected_rows(cases)
    with Library.open(library, read_only=True) as lib:
        rows = {
            r[0]: (r[1], r[2], r[3])
            for r in lib.db.execute(
                "SELECT p.path, p.status, p.error, count(f.id) FROM photos p "
                "LEFT JOIN faces f ON f.photo_id = p.id GROUP BY p.id"
            )
        }
    assert set(rows) == set(expected), set(rows) ^ set(expected)
    for path, case in expected.items():
        status, error, n_faces = rows[path]
        if case.expect == "faces":
            assert (status, n_faces >= 1) == ("ok", True), (case.kind, error, n_faces)
        elif case.expect == "ok":
            assert (status, error) == ("ok", None), (case.kind, error)
        else:
            assert status == "error" and error, case.kind
            assert len(error) < 100 and not MACHINE_TALK.search(error), (case.kind, error)
    folders = [c for c in expected.values() if c.kind == "unreadable folder"]
    listed = sum(c.expect == "listed" for c in expected.values()) - len(folders)
    assert summary["failed"] == listed == len(summary["errors"])  # a folder is no photo: ...
    assert summary["new"] == len(expected) - len(folders) and not summary["cancelled"]
    said = [(path, reason) for path, reason in summary["folders"]]  # ... it is said once here
    assert said == [(str(c.path), "folder cannot be read: permission denied") for c in folders]


def test_reasons_say_what_is_wrong(corpus) -> None:
    _, library, cases, _ = corpus
    with Library.open(library, read_only=True) as lib:
        reasons = {os.path.basename(p.path): p.error for p in lib.photo_errors()}
    assert reasons["crc.png"] == "damaged PNG"
    assert reasons["pipe.jpg"].startswith("a pipe (FIFO)")
    assert reasons["zero.jpg"].startswith("a device")
    assert reasons["dangling.jpg"].startswith("broken link")
    assert reasons["loop_a.jpg"].startswith("link loop")
    assert reasons["photo.jxl"] in ("damaged JPEG XL", "not an image")
    assert reasons["bomb.png"].startswith("too large")
    assert reasons["empty.jpg"] == "empty file"
    assert reasons["half.jpg"] == "truncated JPEG"
    assert reasons["cut.webp"] == "damaged WebP"
    if "closed" in reasons:
        assert reasons["closed"] == "folder cannot be read: permission denied"
        assert reasons["secret.jpg"] == "permission denied"


def test_rescan_retries_nothing(corpus) -> None:
    folder, library, cases, _ = corpus
    again = _scan(folder, library)
    assert (again["new"], again["changed"], again["removed"], again["failed"]) == (0, 0, 0, 0)
    folders = [c for c in cases if c.kind == "unreadable folder"]
    assert again["unchanged"] == len(expected_rows(cases)) - len(folders)
    assert len(again["folders"]) == len(folders)  # said again: its photos are still not read
    assert again["faces_added"] == 0


# Issue 19: every other file the app reads (sidecars) or writes (exports, backups, crops,
# sidecars, recovered libraries) is bounded and safe. Each refusal names the file and the reason.


def _cli(library: Path, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """A FaceOrganizer command; a hang fails the test (``timeout``) instead of hanging CI."""
    cmd = [sys.executable, "-m", "faceorganizer", *argv, "--library", str(library)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [*cmd, "--device", "cpu"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def _copy_library(src: Path, dest: Path) -> Path:
    """A consistent copy of a library (SQLite's backup API)."""
    a, b = sqlite3.connect(src), sqlite3.connect(dest)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()
    return dest


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_hostile_sidecars_are_refused_by_name_and_reason(corpus) -> None:
    """Cases 1-3 and 6: pipes, devices, thousands of regions, NaN/inf/tiny/outside numbers. The
    scan finished (the fixture), each photo was read with its faces, and each sidecar is listed
    with its own name and what is wrong with it."""
    _, _, cases, summary = corpus
    errors = [reason for _path, reason in summary["xmp"]["errors"]]
    hostile = [c for c in cases if c.sidecar is not None]
    assert len(hostile) >= 12
    for case in hostile:
        said = [e for e in errors if str(case.sidecar) in e]
        assert said and case.says in said[0], (case.kind, said)
        assert not MACHINE_TALK.search(said[0]), said[0]


def test_names_from_other_apps_arrive_as_one_clean_line(corpus) -> None:
    """Case 7 (import side): a name with a line break arrives as one line; a formula as text."""
    _, library, _, _ = corpus
    with Library.open(library, read_only=True) as lib:
        names = {p.name for p in lib.people(include_hidden=True) if p.name}
    assert "Line1 Line2" in names and FORMULA_NAME in names, names
    assert not any(re.search(r"[\x00-\x1f\x7f]", n) for n in names)
    typed = _cli(library, "name", "Line1 Line2", "Ann\nBob")  # typed: refused, nothing changed
    assert typed.returncode == 1 and "control characters" in typed.stderr, typed.stderr


@pytest.mark.parametrize("folder_too", [True, False], ids=["read-only folder", "file only"])
def test_xmp_write_to_a_read_only_library_writes_no_sidecar(
    corpus, tmp_path: Path, folder_too: bool
) -> None:
    """Messages: a library that cannot record the write refuses before the first sidecar (a
    read-only file in a writable folder too: SQLite then opens it read-only by itself)."""
    if not can_deny_access():
        pytest.skip("permissions cannot be made to bite here")
    folder, library, _, _ = corpus
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    lib = _copy_library(library, shelf / "lib.sqlite3")
    before = sorted(str(p) for p in folder.rglob("*.xmp"))
    for p in (lib, shelf):
        if os.geteuid() == 0:
            os.chown(p, FOREIGN_UID, FOREIGN_UID)
    os.chmod(lib, 0o444)
    os.chmod(shelf, 0o555 if folder_too else 0o777)
    try:
        argv = [sys.executable, "-m", "faceorganizer", "xmp", "write", "--all", "--library"]
        done = subprocess.run(
            scan_command([*argv, str(lib)]), cwd=REPO, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300,
        )  # fmt: skip
    finally:
        os.chmod(shelf, 0o755)
    assert done.returncode == 1 and str(lib) in done.stderr, done.stderr
    assert sorted(str(p) for p in folder.rglob("*.xmp")) == before


def test_escape_sequences_never_reach_the_terminal(corpus) -> None:
    """Case 22: a photo name that would set the title and clear the screen is shown escaped by
    `scan`, `faces` and `photos --errors`."""
    folder, library, _, _ = corpus
    for argv in (["photos", "--errors"], ["faces"], ["scan", str(folder), "--no-cluster", "-q"]):
        done = _cli(library, *argv)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "\x1b" not in done.stdout + done.stderr and "\x07" not in done.stdout, argv
        if argv[0] != "scan":
            assert "\\x1b]0;pwned\\x07" in done.stdout, argv


def test_csv_export_neutralises_formulas(corpus, tmp_path: Path) -> None:
    """Case 21: a name that is a formula is text in a spreadsheet (OWASP: a leading quote)."""
    _, library, _, _ = corpus
    done = _cli(library, "export", str(tmp_path / "faces.csv"), "--format", "csv")
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "faces.csv", newline="", encoding="utf-8") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    assert "'" + FORMULA_NAME in cells
    assert not any(c[:1] in ("=", "+", "@", "\t", "\r") for c in cells)


def test_exports_and_backups_never_overwrite_the_library_or_a_photo(corpus, tmp_path) -> None:
    """Cases 8 and 9, with --force: refused, named, and nothing changed."""
    folder, library, cases, _ = corpus
    lib = _copy_library(library, tmp_path / "lib.sqlite3")
    photo = next(c.path for c in cases if c.expect == "faces" and c.path and "good" in str(c.path))
    before = (_sha(lib), _sha(photo))
    done = _cli(lib, "export", "--format", "csv", "--force", str(lib))
    assert done.returncode == 1 and f"cannot write {lib}" in done.stderr, done.stderr
    done = _cli(lib, "export", "--format", "json", "--force", str(lib) + "-wal")
    assert done.returncode == 1 and "a file of the library" in done.stderr, done.stderr
    done = _cli(lib, "library", "backup", "--force", str(photo))
    assert done.returncode == 1 and "photo of the library" in done.stderr, done.stderr
    assert str(photo) in done.stderr and "Traceback" not in done.stderr
    assert (_sha(lib), _sha(photo)) == before
    assert _cli(lib, "library", "backup", str(tmp_path / "copy.sqlite3")).returncode == 0


def test_person_folders_never_written_through_links_or_into_a_users_folder(
    corpus, tmp_path: Path
) -> None:
    """Cases 10, 14, 15: a marker named link, a person folder that is a link and a user's own
    folder named like a person stay untouched; copying again adds nothing."""
    _, library, _, _ = corpus
    from faceorganizer.services.export.export import folder_name

    dest = tmp_path / "people"
    dest.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("mine\n")
    (dest / folder_name("Line1 Line2")).symlink_to(outside)
    users = dest / folder_name(FORMULA_NAME)
    users.mkdir()
    (users / EXPORT_MARK).symlink_to(victim)
    (users / "holiday.txt").write_text("the user's own file\n")
    done = _cli(library, "export", str(dest), "--copy")
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "mine\n" and sorted(os.listdir(outside)) == ["victim.txt"]
    assert sorted(os.listdir(users)) == [EXPORT_MARK, "holiday.txt"]
    first = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert any(" (2)/" in p for p in first), first  # the persons went to folders of their own
    again = _cli(library, "export", str(dest), "--copy", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["copied"] == 0, again.stdout
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == first


def test_export_goes_on_past_a_device_a_line_break_and_a_long_name(corpus, tmp_path) -> None:
    """Cases 5 and 7 and the long-name message: a photo whose path now leads to /dev/zero is
    reported by name (no .part left, the disk not filled), a name holding a line break from an
    older library and a 300-character name get their folders and contact sheets."""
    _, library, _, _ = corpus
    lib = _copy_library(library, tmp_path / "lib.sqlite3")
    zero = tmp_path / "now-a-device.jpg"
    zero.symlink_to("/dev/zero")
    con = sqlite3.connect(lib)
    with con:
        named = [r[0] for r in con.execute("SELECT id FROM persons WHERE name IS NOT NULL")]
        assert len(named) >= 2
        photo_id = con.execute(
            "SELECT photo_id FROM faces WHERE person_id = ? LIMIT 1", [named[0]]
        ).fetchone()[0]
        con.execute("UPDATE photos SET path = ? WHERE id = ?", [str(zero), photo_id])
        con.execute("UPDATE persons SET name = 'Two\nLines' WHERE id = ?", [named[0]])
        con.execute("UPDATE persons SET name = ? WHERE id = ?", ["L" * 300, named[1]])
    con.close()
    dest = tmp_path / "out"
    done = _cli(lib, "export", str(dest), "--copy", "--contact-sheet")
    assert done.returncode == 0, done.stderr
    assert f"not exported: {zero}: a device" in done.stdout, done.stdout
    assert not [p for p in dest.rglob("*") if ".fo-tmp" in p.name or p.name.endswith(".part")]
    folders = {p.name for p in dest.iterdir()}
    assert "Two_Lines" in folders and any(n.startswith("L" * 100) for n in folders), folders
    assert len(list(dest.rglob("*contact sheet*.jpg"))) >= 2


def test_a_file_that_is_not_a_library_is_refused_untouched(tmp_path: Path) -> None:
    """Case 19: text, an empty file, another program's SQLite file and a pipe given as
    --library: refused with the file named, not a byte changed, nothing created beside it."""
    text = tmp_path / "notes.txt"
    text.write_text("not a library\n")
    empty = tmp_path / "empty.db"
    empty.touch()
    other = tmp_path / "other.sqlite3"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE mine (x)")
    con.commit()
    con.close()
    pipe = tmp_path / "pipe.db"
    os.mkfifo(pipe)
    before = {p: _sha(p) for p in (text, empty, other)}
    scan = ["scan", str(tmp_path / "none")]
    for lib, argv in ((text, ["people"]), (empty, ["people"]), (empty, scan), (other, scan),
                      (pipe, ["people"])):  # fmt: skip
        done = _cli(lib, *argv, timeout=60)
        assert done.returncode != 0 and str(lib) in done.stderr, (lib, argv, done.stderr)
        assert "Traceback" not in done.stderr
    assert {p: _sha(p) for p in before} == before
    assert sorted(os.listdir(tmp_path)) == ["empty.db", "notes.txt", "other.sqlite3", "pipe.db"]


def test_the_scan_lock_holds_whatever_name_reaches_the_library(tmp_path: Path) -> None:
    """Case 23: a link to the library (or another spelling of its path) is the same lock."""
    from faceorganizer.storage.errors import ScanRunningError
    from faceorganizer.storage.locks import scan_lock

    real = tmp_path / "lib.sqlite3"
    real.touch()
    (tmp_path / "link.sqlite3").symlink_to(real)
    with scan_lock(real):
        for other in (tmp_path / "link.sqlite3", tmp_path / "." / "lib.sqlite3"):
            with pytest.raises(ScanRunningError), scan_lock(other):
                pass


@pytest.mark.parametrize("kind", ["folder", "pipe", "link"])
def test_a_scan_lock_that_is_not_a_file_refuses_the_scan(tmp_path: Path, kind: str) -> None:
    """Case 23, varied: a folder in the lock file's place made the scan go on without a lock,
    so a second scan of the same library ran alongside the first."""
    from faceorganizer.storage.errors import LibraryError
    from faceorganizer.storage.locks import scan_lock

    real = tmp_path / "lib.sqlite3"
    real.touch()
    lock = tmp_path / "lib.sqlite3.scan.lock"
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 a photo")
    {"folder": lock.mkdir, "pipe": lambda: os.mkfifo(lock), "link": lambda: lock.symlink_to(photo)}[
        kind
    ]()
    with (
        pytest.raises(LibraryError, match=f"{lock}, the file that keeps two scans"),
        scan_lock(real),
    ):
        pass
    assert photo.read_bytes() == b"\xff\xd8 a photo"


def test_recover_keeps_every_table_and_detects_lost_faces_again(corpus, tmp_path) -> None:
    """Cases 11 and 12: "not the same" answers and the XMP sync state survive a recovery; the
    photos that lost their faces are detected again by the next scan."""
    folder, library, _, _ = corpus
    lib = _copy_library(library, tmp_path / "damaged.sqlite3")
    con = sqlite3.connect(lib)
    with con:
        con.execute("INSERT INTO not_same_persons VALUES (1, 2)")
        con.execute("INSERT INTO not_same_faces VALUES (1, 2)")
        synced = con.execute("SELECT count(*) FROM xmp_sync").fetchone()[0]
        photo_id = con.execute("SELECT photo_id FROM faces ORDER BY id LIMIT 1").fetchone()[0]
        con.execute("UPDATE faces SET embedding = x'00' WHERE photo_id = ?", [photo_id])
    con.close()
    assert synced > 0
    recovered = tmp_path / "recovered.sqlite3"
    done = _cli(lib, "library", "recover", str(recovered), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    for table in ("not_same_persons", "not_same_faces", "xmp_sync", "rejections", "edits"):
        assert table in report["tables"], report["tables"].keys()
    assert report["tables"]["not_same_persons"]["copied"] == 1
    assert report["tables"]["xmp_sync"]["copied"] == synced
    assert report["redetect"] >= 1
    human = _cli(lib, "library", "recover", str(tmp_path / "again.sqlite3"))
    assert "detected again" in human.stdout, human.stdout
    scan = _cli(recovered, "scan", str(folder), "--no-cluster", "--quiet", "--json")
    assert scan.returncode == 0, scan.stderr[-2000:]
    con = sqlite3.connect(recovered)
    try:
        again = con.execute("SELECT count(*) FROM faces WHERE photo_id = ?", [photo_id]).fetchone()
    finally:
        con.close()
    assert again[0] >= 1 and json.loads(scan.stdout)["faces_added"] >= 1


def test_a_photo_denied_then_allowed_is_read(tmp_path: Path) -> None:
    """Case 13: "permission denied" is tried again once the photo opens (a chmod changes
    neither its size nor its time)."""
    if not can_deny_access():
        pytest.skip("permissions cannot be made to bite here")
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = folder / "locked.jpg"
    shutil.copyfile(sorted((FACES_DIR / "lfw_dev").glob("*/*_0001.jpg"))[0], photo)
    if os.geteuid() == 0:
        os.chown(photo, FOREIGN_UID, FOREIGN_UID)
    os.chmod(photo, 0)
    library = tmp_path / "lib.sqlite3"
    first = _scan(folder, library)
    assert first["errors"] == [[str(photo), "permission denied"]], first["errors"]
    os.chmod(photo, 0o644)
    again = _scan(folder, library)
    assert (again["changed"], again["failed"]) == (1, 0) and again["faces_added"] >= 1, again


def test_saved_crops_never_overwrite_a_file(tmp_path: Path) -> None:
    """Case 16: an existing file keeps its bytes, two photos of one name keep their own crops,
    and a second run adds nothing."""
    src = sorted((FACES_DIR / "lfw_dev").glob("*/*_0001.jpg"))[:2]
    for i, p in enumerate(src):
        (tmp_path / f"d{i}").mkdir()
        shutil.copyfile(p, tmp_path / f"d{i}" / "same.jpg")
    crops = tmp_path / "crops"
    crops.mkdir()
    (crops / "same_face0.jpg").write_bytes(b"the user's own file")
    photos = [str(tmp_path / f"d{i}" / "same.jpg") for i in range(2)]
    argv = [sys.executable, "-m", "faceorganizer", "detect", *photos, "--save-crops", str(crops)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(2):
        done = subprocess.run(
            [*argv, "--device", "cpu"], cwd=REPO, env=env, capture_output=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
    assert (crops / "same_face0.jpg").read_bytes() == b"the user's own file"
    made = sorted(p.name for p in crops.iterdir())
    assert made == ["same_face0 (2).jpg", "same_face0 (3).jpg", "same_face0.jpg"], made
    assert _sha(crops / "same_face0 (2).jpg") != _sha(crops / "same_face0 (3).jpg")


def test_xmp_write_names_the_right_files_and_never_hangs(corpus) -> None:
    """Case 18 and the write side of case 1 (last: it writes sidecars into the corpus): a photo
    whose name is not UTF-8 gets its sidecar under its own name; a pipe where a sidecar should
    be is refused by name, no temporary file is left, and the run ends."""
    folder, library, cases, _ = corpus
    raw = next(c.path for c in cases if c.kind == "non-UTF-8 name")
    assert raw is not None
    with Library.open(library) as lib:
        rows = lib.db.execute("SELECT id, path FROM photos").fetchall()
        photo = next(p for p in rows if "\uefff" in p[1])  # bad\xff\xfe, as stored
        face = lib.db.execute("SELECT id FROM faces WHERE photo_id = ?", [photo[0]]).fetchone()
        lib.move_faces([face[0]], None, new_name="Not UTF-8")
    done = _cli(library, "xmp", "write", "--all", timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    assert os.path.exists(os.fsencode(raw) + b".xmp")
    fifo = next(c.sidecar for c in cases if c.kind == "sidecar: FIFO named photo.jpg.xmp")
    assert f"{fifo}: a pipe (FIFO)" in done.stdout, done.stdout
    assert not [p for p in folder.rglob("*") if p.name.endswith(".fo-tmp")]
