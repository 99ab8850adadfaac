"""The markers by need (``helpers/needs.py``) in a pytest of their own: a test that names the
shared photos gets ``shared_photos`` at collection, and one that reads them without showing it
fails at teardown, naming the marker it lacks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers.photos import FACES_DIR

REPO = Path(__file__).resolve().parents[1]

TESTS = textwrap.dedent(
    """
    import os

    import pytest

    from tests.helpers.photos import FACES_DIR


    def _read(path):
        try:
            open(path, "rb").close()
        except OSError:
            pass  # asking is enough: the audit hook sees the attempt


    def test_names_the_photos():
        _read(FACES_DIR / "manifest.csv")


    def test_hides_the_photos():
        _read(os.environ["HIDDEN_SHARED_FILE"])


    @pytest.mark.shared_photos
    def test_hides_the_photos_but_says_so():
        _read(os.environ["HIDDEN_SHARED_FILE"])


    def test_reads_its_own_files(tmp_path):
        (tmp_path / "x.jpg").write_bytes(b"x")
        _read(tmp_path / "x.jpg")
    """
)


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HIDDEN_SHARED_FILE": str(FACES_DIR / "a.jpg")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.helpers.needs", "-p", "no:cacheprovider",
         "-q", "-o", "markers=shared_photos\nreal_model\ngui", "--rootdir", str(folder), *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_hidden_need_fails_and_a_named_one_is_marked(tmp_path: Path) -> None:
    (tmp_path / "test_reads.py").write_text(TESTS)
    marked = _pytest(tmp_path, "--collect-only", "-m", "shared_photos")
    assert "test_names_the_photos" in marked.stdout, marked.stdout + marked.stderr
    assert "test_hides_the_photos_but_says_so" in marked.stdout
    assert "test_hides_the_photos\n" not in marked.stdout + "\n"

    run = _pytest(tmp_path, "-rE")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "4 passed, 1 error" in run.stdout, run.stdout  # the error is at teardown
    assert "ERROR test_reads.py::test_hides_the_photos -" in run.stdout
    assert "lacks its marker: shared_photos" in run.stdout
