"""``kill -9`` of a real ``faceorganizer scan`` at random moments loses at most the photos in
flight: the file stays intact, no face is stored twice, stored photos never change, edits
survive, and the next scan finishes."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from library_support import FACES_DIR, REPO

from faceorganizer.services.library import Library

KILLS = 5
PHOTOS = 200


def _scan(folder: Path, db: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "faceorganizer", "scan", str(folder), "--library", str(db)]
    return subprocess.Popen(
        [*cmd, "--no-cluster", "--quiet", "--device", "cpu"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _faces_per_photo(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    con = sqlite3.connect(db, timeout=30)
    try:
        rows = con.execute(
            "SELECT p.path, count(f.id) FROM photos p LEFT JOIN faces f ON f.photo_id = p.id "
            "GROUP BY p.id"
        ).fetchall()
    except sqlite3.OperationalError:  # killed before the schema was committed
        rows = []
    finally:
        con.close()
    return dict(rows)


def _check_consistent(db: Path) -> None:
    con = sqlite3.connect(db, timeout=30)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        dupes = con.execute(
            "SELECT photo_id, x1, y1, x2, y2 FROM faces "
            "GROUP BY photo_id, x1, y1, x2, y2 HAVING count(*) > 1"
        ).fetchall()
        assert dupes == []
        orphans = con.execute(
            "SELECT count(*) FROM faces WHERE photo_id NOT IN (SELECT id FROM photos)"
        ).fetchone()[0]
        assert orphans == 0
    finally:
        con.close()


@pytest.mark.slow
def test_kill9_during_scan_loses_nothing_but_photos_in_flight(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    for src in sorted((FACES_DIR / "lfw_dev").rglob("*.jpg"))[:PHOTOS]:
        (folder / src.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, folder / src.parent.name / src.name)
    db = tmp_path / "library.sqlite3"
    rng = random.Random(int(os.environ.get("FO_KILL_SEED", "9")))
    seen: dict[str, int] = {}
    kept_face: int | None = None
    kills = 0
    while kills < KILLS:
        proc = _scan(folder, db)
        while proc.poll() is None and len(_faces_per_photo(db)) <= len(seen):
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.0))  # somewhere in the next batch: decode, embed or write
        if proc.poll() is not None:
            proc.communicate()  # reaps it and closes its pipe
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        kills += 1
        _check_consistent(db)
        now = _faces_per_photo(db)
        assert {p: now[p] for p in seen} == seen  # stored photos are never redone
        assert len(seen) < len(now) < PHOTOS
        seen = now
        if seen and kept_face is None:
            with Library.open(db) as lib:
                kept_face = lib.faces(limit=1)[0].face_id
                lib.move_faces([kept_face], None)
                lib.name_person(lib.face(kept_face).person_id, "Kept")
    assert kills == KILLS, f"the scan finished after {kills} kills"

    final = _scan(folder, db)
    _, err = final.communicate(timeout=600)
    assert final.returncode == 0, err.decode()
    _check_consistent(db)
    done = _faces_per_photo(db)
    assert len(done) == PHOTOS
    assert {p: done[p] for p in seen} == seen
    assert kept_face is not None
    with Library.open(db) as lib:
        assert lib.face(kept_face).person_name == "Kept"
        assert lib.face(kept_face).assigned_by == "user"
        assert [e.kind for e in lib.history()] == ["name", "move"]
