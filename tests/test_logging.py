"""A failure that is a bug leaves its traceback in the log file; the user sees a short line."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from faceorganizer import logs
from faceorganizer.cli import main
from faceorganizer.services.library import Library


@pytest.fixture
def log_file(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv(logs.LOG_DIR_ENV, str(tmp_path / "logs"))
    path = logs.setup_logging()
    assert path == tmp_path / "logs" / logs.LOG_NAME
    return path


def _flushed(path: Path) -> str:
    for h in logging.getLogger("faceorganizer").handlers:
        h.flush()
    return path.read_text(encoding="utf-8")


def test_an_exception_in_a_worker_is_logged_with_its_traceback(log_file, qtbot, tmp_path) -> None:
    from faceorganizer.ui.engine_worker import WorkerHandle

    Library.open(tmp_path / "l.sqlite3").close()
    handle = WorkerHandle(str(tmp_path / "l.sqlite3"), "test-worker")
    failures: list[str] = []

    def buggy_job(lib: Library) -> None:
        return {"faces": lib.counts()["faces"]}["persons"]  # a KeyError: a bug

    try:
        with qtbot.waitSignal(handle.job_failed, timeout=10_000):
            handle.submit("count", buggy_job, on_error=failures.append)
    finally:
        handle.stop()
    text = _flushed(log_file)
    assert "count job failed" in text and "Traceback (most recent call last)" in text
    assert "in buggy_job" in text and "KeyError: 'persons'" in text
    assert failures and str(log_file) in failures[0] and "bug" in failures[0]


def test_a_known_failure_is_logged_without_a_traceback(log_file, qtbot, tmp_path) -> None:
    from faceorganizer.ui.engine_worker import WorkerHandle

    Library.open(tmp_path / "l.sqlite3").close()
    handle = WorkerHandle(str(tmp_path / "l.sqlite3"), "test-worker")
    failures: list[str] = []
    try:
        with qtbot.waitSignal(handle.job_failed, timeout=10_000):
            handle.submit("name", lambda lib: lib.name_person(42, "x"), on_error=failures.append)
    finally:
        handle.stop()
    text = _flushed(log_file)
    assert "name job failed: no person with id 42" in text and "Traceback" not in text
    assert failures == ["no person with id 42"]


# The thread's exception is the point of the test: pytest reports it as well, expectedly.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_uncaught_exceptions_of_threads_reach_the_log(log_file) -> None:
    def crash() -> None:
        raise RuntimeError("thread went wrong")

    t = threading.Thread(target=crash, name="doomed")
    t.start()
    t.join()
    text = _flushed(log_file)
    assert (
        "uncaught exception in thread doomed" in text and "RuntimeError: thread went wrong" in text
    )


def test_a_cli_bug_prints_one_line_and_logs_the_traceback(
    log_file, tmp_path, capsys, monkeypatch
) -> None:
    path = tmp_path / "l.sqlite3"
    Library.open(path).close()

    def broken(self: Library, *args: object, **kwargs: object) -> list[object]:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(Library, "people", broken)
    assert main(["people", "--library", str(path)]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a bug in FaceOrganizer" in err and str(log_file) in err
    text = _flushed(log_file)
    assert "the command failed" in text and "ZeroDivisionError" in text and "in broken" in text
