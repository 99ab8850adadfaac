"""The markers by need (``helpers/needs.py``) in a pytest of their own: a test that names the
shared photos gets ``shared_photos`` at collection, and one that reads them without showing it
fails at teardown, naming the marker it lacks; without the photos (a fresh clone) the
``shared_photos`` tests are skipped and counted (``conftest.py``), or fail where CI requires
them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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


def _without_photos(*args: str, required: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FACEORGANIZER_TEST_FACES": str(REPO / "no-shared-photos-here")}
    env.pop("FACEORGANIZER_REQUIRE_SHARED", None)
    if required:
        env["FACEORGANIZER_REQUIRE_SHARED"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.slow  # two pytest runs of their own: left out of the fast tier
def test_without_the_shared_photos_their_tests_are_skipped_and_counted_or_required() -> None:
    """A fresh clone: a ``shared_photos`` test is skipped, the others run, the run passes and
    says how many real-photo tests it skipped; where CI requires the photos, it fails."""
    tests = ["tests/services/xmp/test_xmp_precedence.py", "tests/cli/test_cli_progress.py"]
    clone = _without_photos(*tests, required=False)
    assert clone.returncode == 0, clone.stdout + clone.stderr
    assert "2 passed, 1 skipped" in clone.stdout, clone.stdout
    assert "1 real-photo tests skipped: the shared test photos are not at" in clone.stdout

    ci = _without_photos(*tests, required=True)
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "2 passed, 1 error" in ci.stdout, ci.stdout
    assert "(FACEORGANIZER_REQUIRE_SHARED=1): they must run here" in ci.stdout
    assert "real-photo tests skipped" not in ci.stdout
