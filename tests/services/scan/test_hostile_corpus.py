"""A real `faceorganizer scan` of the generated hostile corpus (``hostile_corpus.py``: 50+ kinds
of awkward, broken and special files, mixed with good photos): it finishes, every good photo's
faces are there, every bad file is listed once with a short human reason, nothing is stored
twice, and a rescan retries nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from faceorganizer.services.library import Library
from tests.helpers.hostile_corpus import build, expected_rows, restore_access, scan_command
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
    listed = sum(c.expect == "listed" for c in expected.values())
    assert summary["failed"] == listed == len(summary["errors"])
    assert summary["new"] == len(expected) and not summary["cancelled"]


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
    assert again["unchanged"] == len(expected_rows(cases))
    assert again["faces_added"] == 0
