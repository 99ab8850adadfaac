"""Scanning through a real Ray cluster started on 127.0.0.1 (2 CPUs) for this module: the same
faces, boxes, embeddings and people as a local scan; a worker killed mid-scan loses and
duplicates nothing; the path map and the bytes fallback; a mismatch refused before any work."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from faceorganizer.core.ray_engine import RayOptions
from faceorganizer.services.library import Library
from tests.helpers.library_support import FACES_DIR, shared_engine

# Ray takes 127.0.0.1 for the machine's network address unless told that this is no cluster of
# several machines: then it stays on the loopback and contacts no other address.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
# A loopback cluster of this test alone: no token (Ray's default token file in the home folder is
# shared with any other Ray started there, and a second one rewrites it).
os.environ["RAY_AUTH_MODE"] = "disabled"
pytest.importorskip("ray")

pytestmark = pytest.mark.slow

# A handful of shared photos: two people, a group photo and a photo without a face.
PHOTOS = (
    "photos/face_recognition_examples/obama",
    "photos/face_recognition_examples/biden",
    "photos/face_recognition_examples/_group/two_people.jpg",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[tuple[str, int]]:
    """(address, session id) of a Ray head on 127.0.0.1 with 2 CPUs, stopped afterwards (every
    process of its session, and only those: no other Ray on this machine is touched)."""
    import ray

    port = _free_port()
    temp = Path(tempfile.mkdtemp(prefix="fo-ray-"))  # short: Ray's socket paths must fit
    # The loopback setting above; workers at the tests' own niceness (Ray's default, 15, starves
    # them on a busy machine).
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_worker_niceness": "0"}
    head = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("ray")),
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=2",
            "--num-gpus=0",
            "--include-dashboard=false",
            "--disable-usage-stats",
            "--object-store-memory=100000000",
            f"--temp-dir={temp}",
        ],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while not list(temp.glob("session_latest/logs/raylet.out")):
            assert head.poll() is None, "ray start failed"
            assert time.monotonic() < deadline, "the Ray head did not start in 3 minutes"
            time.sleep(0.5)
        yield address, head.pid  # the session's id
    finally:
        ray.shutdown()
        _stop_session(head)
        shutil.rmtree(temp, ignore_errors=True)


def _session(sid: int) -> list[int]:
    """The processes of one session: the head, the services it started and their workers
    (which get process groups of their own, but stay in the head's session)."""
    found = []
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        with contextlib.suppress(OSError):
            if os.getsid(pid) == sid:
                found.append(pid)
    return found


def _stop_session(head: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL what is left, to every process of the head's session (only)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _session(head.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            head.wait(timeout=20)
    head.wait()


def _photos(dest: Path) -> Path:
    """A copy of ``PHOTOS`` under ``dest`` (in a temporary folder, never the repo)."""
    for rel in PHOTOS:
        src = FACES_DIR / rel
        if src.is_dir():
            shutil.copytree(src, dest / src.name)
        else:
            shutil.copyfile(src, dest / src.name)
    return dest


def _faces(db: Path, root: Path) -> dict[tuple[str, int], tuple]:
    """(photo path below ``root``, face order) -> (box, score, embedding, quality, quality
    recipe, person)."""
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT p.path, f.x1, f.y1, f.x2, f.y2, f.score, f.embedding, f.quality, "
        "f.quality_recipe, f.person_id "
        "FROM faces f JOIN photos p ON p.id = f.photo_id ORDER BY p.path, f.id"
    ).fetchall()
    con.close()
    out: dict[tuple[str, int], tuple] = {}
    for path, *box, score, blob, quality, recipe, person in rows:
        rel = os.path.relpath(path, root)
        k = sum(1 for key in out if key[0] == rel)
        vector = np.frombuffer(blob, np.float32)
        out[(rel, k)] = (tuple(box), score, vector, quality, recipe, person)
    return out


def _people(db: Path, root: Path) -> set[frozenset[str]]:
    """Each person as the set of its faces' (photo, face order) keys."""
    groups: dict[int, set[str]] = {}
    for key, (*_, person) in _faces(db, root).items():
        if person is not None:
            groups.setdefault(person, set()).add(f"{key[0]}#{key[1]}")
    return {frozenset(g) for g in groups.values()}


def _assert_same(ray_db: Path, ray_root: Path, local_db: Path, local_root: Path) -> None:
    got, want = _faces(ray_db, ray_root), _faces(local_db, local_root)
    assert sorted(got) == sorted(want)
    for key, (box, score, emb, quality, recipe, _) in want.items():
        g_box, g_score, g_emb, g_quality, g_recipe, _ = got[key]
        assert np.allclose(g_box, box, atol=1e-3), key
        assert g_score == pytest.approx(score, abs=1e-5), key
        assert np.abs(g_emb - emb).max() <= 1e-5, key
        assert g_quality == pytest.approx(quality, abs=1e-4) and g_recipe == recipe > 0, key
    assert _people(ray_db, ray_root) == _people(local_db, local_root)


@pytest.fixture(scope="module")
def local_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = _photos(tmp_path_factory.mktemp("local") / "photos")
    db = root.parent / "local.sqlite3"
    with Library.open(db) as lib:
        lib.scan([root], engine=shared_engine())
    return root, db


def test_ray_scan_equals_local_with_path_map_and_bytes(
    ray_cluster: tuple[str, int], local_scan: tuple[Path, Path], tmp_path: Path, caplog
) -> None:
    """The workers see the photos under another name (the path map), except one folder they
    cannot see at all (its photos go as bytes); the library equals a local scan's."""
    address, _ = ray_cluster
    root = _photos(tmp_path / "photos")
    seen = tmp_path / "mnt"
    seen.symlink_to(root)
    hidden = tmp_path / "nowhere"
    path_map = ((str(root), str(seen)), (str(root / "biden"), str(hidden)))
    caplog.set_level("DEBUG", logger="faceorganizer.core.ray_engine")
    with Library.open(tmp_path / "ray.sqlite3") as lib:
        summary = lib.scan([root], ray=RayOptions(address, path_map=path_map, workers=2))
    assert summary.failed == 0 and not summary.cancelled
    as_bytes = [r.getMessage() for r in caplog.records if "as bytes" in r.getMessage()]
    assert len(as_bytes) == len(list((root / "biden").iterdir())) > 0
    assert all("/biden/" in m for m in as_bytes)
    _assert_same(tmp_path / "ray.sqlite3", root, local_scan[1], local_scan[0])


def _kill_one_worker(sid: int) -> int | None:
    """SIGKILL one face-engine actor of this module's cluster (its session only)."""
    for pid in _session(sid):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::EngineWorker"):
                os.kill(pid, signal.SIGKILL)
                return pid
    return None


def test_worker_killed_mid_scan_loses_and_duplicates_nothing(
    ray_cluster: tuple[str, int], local_scan: tuple[Path, Path], tmp_path: Path
) -> None:
    address, sid = ray_cluster
    root = _photos(tmp_path / "photos")
    killed: list[int | None] = []

    def progress(p) -> None:  # type: ignore[no-untyped-def]
        if p.phase == "scanning" and p.done == 2 and not killed:
            killed.append(_kill_one_worker(sid))

    with Library.open(tmp_path / "ray.sqlite3") as lib:
        ray = RayOptions(address, workers=2, batch_photos=1)
        summary = lib.scan([root], progress=progress, ray=ray)
        photos = lib.counts()["photos"]
    assert killed and killed[0] is not None, "no worker was found to kill"
    assert summary.failed == 0
    assert photos == summary.new == len([p for p in root.rglob("*") if p.is_file()])
    _assert_same(tmp_path / "ray.sqlite3", root, local_scan[1], local_scan[0])


def test_a_worker_that_differs_is_refused_before_any_photo(
    ray_cluster: tuple[str, int], tmp_path: Path, monkeypatch, capsys
) -> None:
    """``faceorganizer scan FOLDER --ray ADDRESS``: the library's side asks for another recipe
    than the workers' engines report, so the scan is refused with what differs, and nothing is
    stored."""
    from faceorganizer.cli import main
    from faceorganizer.core import ray_engine

    address, _ = ray_cluster
    root = _photos(tmp_path / "photos")
    real = ray_engine.engine_identity

    def library_side(model_id: str, min_face_size: int | None) -> dict[str, object]:
        return {**real(model_id, min_face_size), "recipe": -1}

    monkeypatch.setattr(ray_engine, "engine_identity", library_side)
    db = tmp_path / "ray.sqlite3"
    argv = ["scan", str(root), "--ray", address, "--ray-workers", "1", "--library", str(db)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "where the library has -1" in err and "no photo was sent" in err, err
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM photos WHERE status = 'ok'").fetchone()[0] == 0
    con.close()
