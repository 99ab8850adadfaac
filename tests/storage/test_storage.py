"""The library file: schema upgrade in place, and known failures as clear LibraryErrors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from faceorganizer.core.types import Detection, EmbeddedFace
from faceorganizer.services.errors import (
    DiskFullError,
    LibraryCorruptError,
    LibraryLockedError,
    NewerLibraryError,
)
from faceorganizer.services.library import Library
from faceorganizer.storage import faces, migrations, persons, photos, settings
from faceorganizer.storage.db import connect, transaction

REPO = Path(__file__).resolve().parents[2]


def _face(seed: int) -> EmbeddedFace:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    det = Detection((10.0, 20.0, 60.0, 80.0), 0.99, np.zeros((5, 2), np.float32))
    return EmbeddedFace(det, v / np.linalg.norm(v), "dlib-resnet-v1", 0.5, b"\xff\xd8")


def _make_v1(path: Path) -> None:
    """A library as the first schema version wrote it: only migration 0001 applied."""
    db = connect(path)
    migrations.upgrade(db, stop_before=migrations.KNOWN[1])
    with transaction(db):
        pid = persons.create(db, "Alice")
        db.execute(
            "INSERT INTO photos(path, size, mtime, hash, width, height, status, error, model_id,"
            " scanned_at) VALUES ('/p/a.jpg', 5, 1.5, 'h', 100, 100, 'ok', NULL, "
            "'dlib-resnet-v1', 'x')"
        )
        vector = _face(1).embedding.tobytes()
        fid = db.execute(
            "INSERT INTO faces(photo_id, x1, y1, x2, y2, landmarks, score, quality, embedding,"
            " model_id, thumbnail) VALUES (1, 10, 20, 60, 80, NULL, 0.99, 0.5, ?,"
            " 'dlib-resnet-v1', NULL)",
            [vector],
        ).lastrowid
        faces.assign(db, [fid], pid, "user")
    db.close()


def test_v1_library_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _make_v1(path)
    raw = sqlite3.connect(path)
    assert "taken_at" not in {r[1] for r in raw.execute("PRAGMA table_info(photos)")}
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    raw.close()

    with Library.open(path) as lib:
        assert migrations.applied_names(lib.db) == migrations.KNOWN
        assert lib.db.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
        assert "taken_at" in {c.name for c in lib.db["photos"].columns}
        (alice,) = lib.people()
        assert (alice.name, alice.face_count) == ("Alice", 1)
        assert lib.faces(person_id="alice")[0].assigned_by == "user"
        assert photos.by_path(lib.db, "/p/a.jpg").taken_at is None  # type: ignore[union-attr]


def test_read_only_open_of_old_library_upgrades_first(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _make_v1(path)
    with Library.open(path, read_only=True) as lib:
        assert lib.people()[0].name == "Alice"
        assert not migrations.needs_upgrade(lib.db)


def test_newer_library_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Library.open(path).close()
    raw = sqlite3.connect(path)
    raw.execute(
        "INSERT INTO _sqlite_migrations(migration_set, name, applied_at) "
        "VALUES ('faceorganizer', '0099_from_the_future', 'x')"
    )
    raw.commit()
    raw.close()
    before = path.read_bytes()
    with pytest.raises(NewerLibraryError, match="newer FaceOrganizer"):
        Library.open(path)
    with pytest.raises(NewerLibraryError):
        Library.open(path, read_only=True)
    assert path.read_bytes() == before


def test_garbage_file_is_reported_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not a database at all " * 200)
    with pytest.raises(LibraryCorruptError, match="damaged or not a FaceOrganizer library"):
        Library.open(path)


def test_foreign_sqlite_file_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE invoices (id INTEGER)")
    raw.commit()
    raw.close()
    with pytest.raises(LibraryCorruptError, match="not a FaceOrganizer library"):
        Library.open(path)


def test_damaged_pages_are_reported_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "damaged.sqlite3"
    with Library.open(path) as lib, transaction(lib.db):
        for i in range(300):
            persons.create(lib.db, f"person {i} " + "x" * 200)
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(page, len(data), page):  # every page after the header page
        data[start : start + 64] = b"\x5a" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(LibraryCorruptError):
        lib = Library.open(path)
        try:
            lib.people()
        finally:
            lib.close()


def test_writer_waiting_on_another_writer_gets_locked_error(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite3"
    with Library.open(path) as lib, transaction(lib.db):
        persons.create(lib.db, "Bob")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Library.open(path, busy_timeout=0.2) as lib:
            assert [p.name for p in lib.people()] == ["Bob"]  # readers are not blocked
            with pytest.raises(LibraryLockedError, match="in use by another"):
                lib.name_person("Bob", "Robert")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_full_database_is_reported_as_disk_full(tmp_path: Path) -> None:
    path = tmp_path / "full.sqlite3"
    with Library.open(path) as lib:
        pages = lib.db.execute("PRAGMA page_count").fetchone()[0]
        lib.db.execute(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(DiskFullError, match="full"):
            lib.set_setting("folders", ["/a/very/long/folder/name" * 50] * 200)


def test_cli_prints_known_errors_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"\x00garbage" * 1000)
    proc = subprocess.run(
        [sys.executable, "-m", "faceorganizer", "people", "--library", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("faceorganizer: error: the library file is damaged")
    assert "Traceback" not in proc.stderr


def test_upgrade_marks_only_photos_with_a_face_at_the_border_for_detection(tmp_path: Path) -> None:
    """Migration 0010: the detector's new margin changes only faces near the border, so only
    photos holding one are detected again by the next scan (the others keep their faces)."""
    from faceorganizer.core.models.registry import recipe_of
    from faceorganizer.services.scan.scanner import plan_scan

    folder = tmp_path / "photos"
    folder.mkdir()
    boxes = {
        "edge.jpg": (2.0, 30.0, 52.0, 80.0),  # 2 px from the left border: less than half its size
        "inside.jpg": (40.0, 30.0, 90.0, 80.0),
        "none.jpg": None,
    }
    db = connect(tmp_path / "old.sqlite3")
    migrations.upgrade(db, stop_before="0010_face_quality")
    with transaction(db):
        settings.put(db, "model_id", "dlib-resnet-v1")  # a library of dlib's faces
        for name, box in boxes.items():
            path = folder / name
            path.write_bytes(b"x" * 10)
            st = path.stat()
            cur = db.execute(
                "INSERT INTO photos(path, size, mtime, hash, width, height, status, model_id,"
                " recipe, scanned_at) VALUES (?, ?, ?, 'h', 200, 150, 'ok', 'dlib-resnet-v1', ?,"
                " 'x')",
                [str(path), st.st_size, st.st_mtime, recipe_of("dlib-resnet-v1")],
            )
            if box is not None:
                db.execute(
                    "INSERT INTO faces(photo_id, x1, y1, x2, y2, score, embedding, model_id)"
                    " VALUES (?, ?, ?, ?, ?, 0.99, ?, 'dlib-resnet-v1')",
                    [cur.lastrowid, *box, _face(2).embedding.tobytes()],
                )
    db.close()
    with Library.open(tmp_path / "old.sqlite3") as lib:
        detector = {Path(p).name: d for p, d in lib.db.execute("SELECT path, detector FROM photos")}
        assert detector == {"edge.jpg": 1, "inside.jpg": 2, "none.jpg": 2}
        plan = plan_scan(lib.db, [str(folder)], "dlib-resnet-v1")
        assert [Path(j.entry.path).name for j in plan.jobs] == ["edge.jpg"]
        assert plan.unchanged == 2
        judged = lib.db.execute("SELECT quality_recipe > 0, quality_signals FROM faces").fetchall()
        assert all(ok and signals for ok, signals in judged)  # judged again on open
