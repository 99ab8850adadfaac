"""How long does quitting take, and is the library left closed cleanly? (issue 20, defect 4)

A window opens on a copy of a library, waits until its engine is warm and its first refresh
and review queue are in, makes an edit and a search (so the WAL holds pages), then closes:

- ours: ``MainWindow.close`` as shipped (hide at once; readers and the engine together, then
  the editor alone, so that the last connection to close is a writer with no other beside it);
- baseline, same run, on a second copy: the order before the fix: each worker stopped and
  waited for in turn (engine, editor, lister, reviewer), the GUI's reader closed last.

For each: seconds until the window was hidden, seconds until close returned (every thread
ended), the WAL's size after, and whether the next open logs "not closed cleanly".

Then the whole process: ``faceorganizer gui --quit-after`` as shipped (it leaves as soon as
the window has closed) against the same ``run_gui`` ended by the interpreter's normal exit
(baseline): seconds from the log's "window closed" to the process's end.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/quit_time.py LIBRARY [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QThreadPool, QTimer  # noqa: E402

from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.ui.app import make_app  # noqa: E402
from faceorganizer.ui.mainwindow import MainWindow  # noqa: E402


def wait_for(signal, timeout_ms: int) -> None:  # type: ignore[no-untyped-def]
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)


def spin_until(done, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout_s
    loop = QEventLoop()
    while not done() and time.monotonic() < end:
        QTimer.singleShot(50, loop.quit)
        loop.exec()


def ready_window(library: Path, tmp: Path) -> MainWindow:
    settings = QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch_folders", False)
    window = MainWindow(library, device="cpu", qsettings=settings)
    window.resize(1280, 820)
    window.show()
    spin_until(lambda: window.engine_ready and window.review.loaded, 600)
    person = window.people_model.person_at(0)
    assert person is not None and window.reader is not None
    window.edits.rename_person(person.person_id, "Quit Test")
    wait_for(window.edits_applied, 60_000)
    window.search.show_similar(window.reader.faces(person_id=person.person_id)[0].face_id)
    wait_for(window.search_finished, 60_000)
    return window


def old_close(window: MainWindow) -> None:
    """The closing order before the fix (window.py at a932ce9)."""
    window._closing = True
    window.save_layout()
    window.refresher.stop()
    window.review.timer.stop()
    window.watching.stop()
    for handle in (window.engine, window.editor, window.lister, window.reviewer):
        if handle is not None:
            handle.stop()
            handle.deleteLater()
    window.engine = window.editor = window.lister = window.reviewer = None
    QThreadPool.globalInstance().waitForDone(5000)
    window.people_model.set_library(None, load=False)
    window.faces_model.set_library(None)
    if window.reader is not None:
        window.reader.close()
        window.reader = None
    window.selection.close()
    window.hide()


def measure(source: Path, tmp: Path, shipped: bool) -> dict[str, float]:
    library = tmp / "library.sqlite3"
    shutil.copyfile(source, library)
    window = ready_window(library, tmp)
    hidden: list[float] = []
    hide = window.hide

    def timed_hide() -> None:
        hidden.append(time.perf_counter() - start)
        hide()

    window.hide = timed_hide  # type: ignore[method-assign]
    start = time.perf_counter()
    if shipped:
        window.ask_before_quit = False
        window.close()
    else:
        old_close(window)
    closed = time.perf_counter() - start
    wal = Path(str(library) + "-wal")
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda r: records.append(r.getMessage())  # type: ignore[method-assign]
    logging.getLogger("faceorganizer").addHandler(handler)
    logging.getLogger("faceorganizer").setLevel(logging.INFO)
    Library.open(library).close()
    logging.getLogger("faceorganizer").removeHandler(handler)
    unclean = any("not closed cleanly" in r for r in records)
    window.deleteLater()
    return {
        "hidden_s": hidden[0] if hidden else closed,
        "closed_s": closed,
        "wal_bytes": wal_bytes,
        "unclean": float(unclean),
    }


NORMAL_EXIT = (
    "import sys; from faceorganizer import logs; from faceorganizer.ui.app import run_gui; "
    "logs.setup_logging(); "
    "sys.exit(run_gui(None, sys.argv[1], device='cpu', quit_after_ms=int(sys.argv[2])))"
)


def process_exit(source: Path, tmp: Path, shipped: bool, quit_after_ms: int) -> float:
    """Seconds from "window closed" in the log to the end of the process."""
    library = tmp / "library.sqlite3"
    shutil.copyfile(source, library)
    env = dict(os.environ, FACEORGANIZER_LOG_DIR=str(tmp / "log"), HOME=str(tmp))
    if shipped:
        argv = [sys.executable, "-m", "faceorganizer", "gui", "--library", str(library)]
        argv += ["--device", "cpu", "--quit-after", str(quit_after_ms)]
    else:
        argv = [sys.executable, "-c", NORMAL_EXIT, str(library), str(quit_after_ms)]
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=900)
    ended = time.time()
    line = next(
        x
        for x in (tmp / "log" / "faceorganizer.log").read_text().splitlines()
        if "window closed" in x
    )
    closed = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return ended - closed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quit-after", type=int, default=20000, help="ms the window stays open")
    args = parser.parse_args()
    make_app()
    with contextlib.closing(sqlite3.connect(args.library)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "baseline": []}
    for i in range(args.repeat):
        for name in ("ours", "baseline"):
            with tempfile.TemporaryDirectory(prefix="fo-quit-") as tmp:
                runs[name].append(measure(args.library, Path(tmp), name == "ours"))
                print(f"run {i + 1} {name}: {runs[name][-1]}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}; median of {args.repeat}:")
    medians = {}
    for name, found in runs.items():
        medians[name] = {k: statistics.median(r[k] for r in found) for k in found[0]}
        m = medians[name]
        print(
            f"  {name:8}: window gone after {m['hidden_s']:.2f} s, "
            f"close returned after {m['closed_s']:.2f} s, WAL left {m['wal_bytes']:.0f} bytes, "
            f"next open checks it as after a crash: {sum(r['unclean'] for r in found):.0f} of "
            f"{len(found)}"
        )
    ratio = medians["ours"]["closed_s"] / max(medians["baseline"]["closed_s"], 1e-9)
    print(f"  close time ours / baseline: {ratio:.2f}")
    tails: dict[str, list[float]] = {"ours": [], "baseline": []}
    for _ in range(args.repeat):
        for name in tails:
            with tempfile.TemporaryDirectory(prefix="fo-quit-") as tmp:
                tails[name].append(
                    process_exit(args.library, Path(tmp), name == "ours", args.quit_after)
                )
    ours, base = (statistics.median(tails[n]) for n in ("ours", "baseline"))
    print(
        f"process end after the window closed: ours {ours:.2f} s, normal interpreter exit "
        f"{base:.2f} s (ratio {ours / max(base, 1e-9):.2f}); load {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
