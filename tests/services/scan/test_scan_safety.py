"""Scans that must neither lose nor invent anything: a replaced photo, folder link loops,
non-UTF-8 names, pipes, a second scan at once, an unplugged folder, images too small for a face
(issue 13, defects 1, 4-7 and 10, on real photos and real processes)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceorganizer.cli import main
from faceorganizer.core.images import ImageLoadError, load_image
from faceorganizer.services.errors import ScanRunningError
from faceorganizer.services.library import Library
from faceorganizer.services.scan.files import walk
from faceorganizer.storage import locks
from tests.helpers.library_support import FACES_DIR, REPO, shared_engine

LFW = FACES_DIR / "lfw_dev"


def _copy(names: list[str], dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(LFW / name.rsplit("_", 1)[0] / name, dest / name)


def _duplicates(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute(
            "SELECT count(*) FROM (SELECT photo_id FROM faces "
            "GROUP BY photo_id, x1, y1, x2, y2 HAVING count(*) > 1)"
        ).fetchone()[0]


def test_replaced_photo_does_not_inherit_the_old_faces_person(tmp_path: Path) -> None:
    """The issue's reproduction: another person's photo copied over a named person's photo."""
    folder = tmp_path / "p"
    al = [f"Al_Sharpton_000{i}.jpg" for i in (1, 2, 3, 4)]
    amelia = [f"Amelia_Vega_000{i}.jpg" for i in (1, 2, 3)]
    _copy(al + amelia, folder)
    with Library.open(tmp_path / "r.db") as lib:
        lib.scan([folder], engine=shared_engine())
        al_face = lib.photo_faces(_photo_id(lib, folder / al[0]))[0]
        lib.name_person(al_face.person_id, "Al Sharpton")
        assert lib.person("Al Sharpton").face_count == 4
        shutil.copyfile(LFW / "Amelia_Vega/Amelia_Vega_0004.jpg", folder / al[1])

        summary = lib.scan(engine=shared_engine())
        assert summary.changed == 1
        (replaced,) = lib.photo_faces(_photo_id(lib, folder / al[1]))
        assert replaced.person_name != "Al Sharpton"
        in_al = {os.path.basename(f.photo_path) for f in lib.faces(person_id="Al Sharpton")}
        assert in_al == {al[0], al[2], al[3]}
        (dropped,) = summary.decisions_dropped
        assert dropped[0] == str(folder / al[1]) and "Al Sharpton" in dropped[1]
        who = {n: n[:5] for n in al + amelia} | {al[1]: "Ameli"}  # whose face each file holds
        for p in lib.people():
            found = {who[os.path.basename(f.photo_path)] for f in lib.faces(person_id=p.person_id)}
            assert len(found) == 1, f"{p} mixes people: {found}"


def _photo_id(lib: Library, path: Path) -> int:
    row = lib.db.execute("SELECT id FROM photos WHERE path = ?", [str(path)]).fetchone()
    assert row is not None, path
    return int(row[0])


def test_folder_link_loop_and_links_store_each_photo_once(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    _copy(["Al_Sharpton_0001.jpg"], folder)
    _copy(["Amelia_Vega_0001.jpg"], folder / "sub")
    os.symlink("..", folder / "sub/up_loop")
    os.symlink(folder / "sub", folder / "again")
    os.symlink(folder / "Al_Sharpton_0001.jpg", folder / "sub/linked.jpg")
    with Library.open(tmp_path / "lib.db") as lib:
        summary = lib.scan([folder], engine=shared_engine(), cluster=False)
        paths = sorted(p for (p,) in lib.db.execute("SELECT path FROM photos"))
        assert paths == [
            str(folder / "Al_Sharpton_0001.jpg"),
            str(folder / "sub/Amelia_Vega_0001.jpg"),
        ]
        assert (summary.new, summary.failed, lib.counts()["faces"]) == (2, 0, 2)


def test_non_utf8_name_is_scanned_and_no_photo_of_its_batch_is_lost(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "d"
    names = sorted(p.name for p in LFW.glob("*/*_0001.jpg"))[:40]
    _copy(names, folder)
    odd = os.fsencode(folder) + b"/bad\xff\xfe.jpg"
    shutil.copyfile(LFW / "Bono/Bono_0001.jpg", os.fsdecode(odd))
    db = tmp_path / "lib.db"
    with Library.open(db) as lib:
        summary = lib.scan([folder], engine=shared_engine(), cluster=False)
        assert (summary.new, summary.failed) == (41, 0)
        rows = lib.db.execute("SELECT path, status FROM photos").fetchall()
        assert len(rows) == 41 and {s for _, s in rows} == {"ok"}
        (stored,) = [p for p, _ in rows if "bad" in p]
        assert stored.encode("utf-8")  # printable, storable text
        faces = lib.photo_faces(_photo_id(lib, Path(stored)))
        assert len(faces) == 1
        again = lib.scan(engine=shared_engine(), cluster=False)
        assert (again.new, again.changed, again.removed, again.unchanged) == (0, 0, 0, 41)
    assert main(["faces", "--library", str(db)]) == 0
    assert "bad" in capsys.readouterr().out


def test_fifo_is_listed_never_opened(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    _copy(["Al_Sharpton_0001.jpg"], folder)
    os.mkfifo(folder / "y.jpg")
    entries = {os.path.basename(e.path): e for e in walk([folder])}
    assert entries["y.jpg"].problem == "a pipe (FIFO), not a photo file"
    assert entries["Al_Sharpton_0001.jpg"].problem is None
    with pytest.raises(ImageLoadError, match="not a regular file"):
        load_image(folder / "y.jpg")  # refused before any open(): would block forever
    with Library.open(tmp_path / "lib.db") as lib:
        summary = lib.scan([folder], engine=shared_engine(), cluster=False)
        assert summary.errors == [(str(folder / "y.jpg"), "a pipe (FIFO), not a photo file")]
        assert lib.counts()["faces"] == 1


def _cli_scan(folder: Path, db: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "faceorganizer", "scan", str(folder), "--library", str(db)]
    return subprocess.Popen(
        [*argv, "--no-cluster", "--quiet", "--device", "cpu"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_second_scan_at_once_is_refused_and_the_first_finishes(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    names = sorted(p.name for p in LFW.glob("*/*_000[123].jpg"))[:150]
    _copy(names, folder)
    db = tmp_path / "lib.db"
    first = _cli_scan(folder, db)
    try:
        while first.poll() is None:  # until the first batch is stored: a scan in full flight
            if db.exists() and _photo_count(db):
                break
            time.sleep(0.1)
        with Library.open(db) as lib, pytest.raises(ScanRunningError, match="already running"):
            lib.scan([folder], engine=shared_engine())
        second = _cli_scan(folder, db)
        _, err = second.communicate(timeout=300)
        assert first.poll() is None, "the first scan ended before the second was refused"
        assert second.returncode == 1
        assert err.strip() == f"faceorganizer: error: {locks.SCAN_RUNNING}"
        _, err = first.communicate(timeout=900)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert _photo_count(db) == 150 and _duplicates(db) == 0


def _photo_count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=30) as con:
            return int(con.execute("SELECT count(*) FROM photos").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def test_scan_lock_dies_with_its_process(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    Library.open(db).close()
    code = (
        "import sys, time; from pathlib import Path; from faceorganizer.storage import locks\n"
        "with locks.scan_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ScanRunningError), locks.scan_lock(db):
            pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.communicate()
    with locks.scan_lock(db):  # free again: no stale lock after a kill -9
        pass


def test_unplugged_folder_keeps_its_photos_and_people(tmp_path: Path) -> None:
    folder = tmp_path / "drive/photos"
    _copy(["Al_Sharpton_0001.jpg", "Al_Sharpton_0002.jpg"], folder)
    with Library.open(tmp_path / "lib.db") as lib:
        lib.scan([folder], engine=shared_engine())
        face_ids = [f.face_id for f in lib.faces()]
        lib.move_faces(face_ids, None)
        lib.name_person(lib.face(face_ids[0]).person_id, "Al")
        (tmp_path / "drive").rename(tmp_path / "elsewhere")  # the drive is unplugged

        gone = lib.scan(engine=shared_engine())
        assert (gone.removed, lib.person("Al").face_count) == (0, 2)
        assert gone.folders == [
            (str(folder), "folder not found (is its drive connected?); its photos are kept")
        ]
        assert (gone.errors, gone.new, gone.failed) == ([], 0, 0)  # a folder is no photo

        (tmp_path / "elsewhere").rename(tmp_path / "drive")
        back = lib.scan(engine=shared_engine())
        assert (back.removed, back.new, back.unchanged) == (0, 0, 2)  # a folder was no photo
        assert lib.photo_errors() == [] and lib.person("Al").face_count == 2


def test_images_too_small_for_a_face_find_none(tmp_path: Path) -> None:
    for name, size in (("dot.png", (1, 1)), ("strip.png", (20000, 50)), ("thin.png", (50, 19))):
        Image.new("RGB", size, "gray").save(tmp_path / name)
    paths = [tmp_path / n for n in ("dot.png", "strip.png", "thin.png")]
    results = list(shared_engine().process(paths))
    assert [(r.error, r.faces) for r in results] == [(None, [])] * 3
    strip = np.asarray(Image.open(tmp_path / "strip.png"))
    assert strip.shape == (50, 20000, 3)


def test_known_photo_that_cannot_be_read_now_keeps_its_faces(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    _copy(["Al_Sharpton_0001.jpg", "Al_Sharpton_0002.jpg"], folder)
    photo = folder / "Al_Sharpton_0001.jpg"
    whole = photo.read_bytes()
    with Library.open(tmp_path / "lib.db") as lib:
        lib.scan([folder], engine=shared_engine())
        (face,) = lib.photo_faces(_photo_id(lib, photo))
        lib.move_faces([face.face_id], None)
        lib.name_person(lib.face(face.face_id).person_id, "Al")
        photo.write_bytes(whole[:2000])  # a sync tool half way through rewriting it

        half = lib.scan(engine=shared_engine())
        assert half.errors == [(str(photo), "truncated JPEG; its faces are kept until it reads")]
        assert half.decisions_dropped == []
        assert lib.face(face.face_id).person_name == "Al"
        photo.write_bytes(whole)  # the sync finishes: the same bytes as before
        done = lib.scan(engine=shared_engine())
        assert (done.changed, done.failed, done.unchanged) == (0, 0, 2)
        assert lib.face(face.face_id).person_name == "Al" and lib.photo_errors() == []
