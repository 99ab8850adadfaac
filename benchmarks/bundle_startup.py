"""Start-up time and size of the desktop bundle, against the virtualenv in the same run.

Cold: every file of the bundle (or of the virtualenv and the checkout) is first dropped from
the page cache (posix_fadvise DONTNEED, as `vmtouch -e` does; no root needed), so the program
is read from disk as on its first start after a reboot. Warm: run again right after.
"window": from the start of `gui` on an empty library until its window is mapped on an X server
(Xvfb, watched with `xdotool search --sync`); needs Xvfb and xdotool.

Usage: python benchmarks/bundle_startup.py [--bundle dist/FaceOrganizer] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import DEVNULL

REPO = Path(__file__).resolve().parents[1]


def evict(folders: list[Path]) -> None:
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in files:
                path = os.path.join(root, name)
                if os.path.islink(path):
                    continue
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:
                    continue
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)


def folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
    return total


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def timed_window(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds until the app's window is visible; the app is then stopped."""
    start = time.perf_counter()
    app = subprocess.Popen(command, env=env, cwd=cwd, stdout=DEVNULL, stderr=DEVNULL)
    try:
        subprocess.run(
            ["xdotool", "search", "--sync", "--onlyvisible", "--class", "FaceOrganizer"],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        return time.perf_counter() - start
    finally:
        app.terminate()
        app.wait(timeout=60)


@contextmanager
def x_server(display: str) -> Iterator[None]:
    server = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=DEVNULL,
        stderr=DEVNULL,
    )
    time.sleep(2)
    try:
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=REPO / "dist" / "FaceOrganizer")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    program = args.bundle / "faceorganizer"
    if not program.is_file():
        raise SystemExit(f"no bundle at {args.bundle}: build it with `make package`")
    venv_root = Path(sys.prefix)
    venv_files = [venv_root, Path(sysconfig.get_paths()["stdlib"]), REPO / "faceorganizer"]
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")

    display = ":87"
    with tempfile.TemporaryDirectory() as tmp, x_server(display):
        home = Path(tmp)
        base = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        gui = {**base, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        venv_env = {**base, "PYTHONPATH": str(REPO)}
        venv_gui = {**gui, "PYTHONPATH": str(REPO)}
        library = str(home / "library.db")
        cases = {
            "--version": (
                ([str(program), "--version"], base),
                ([sys.executable, "-m", "faceorganizer", "--version"], venv_env),
            ),
            "window": (
                ([str(program), "gui", "--library", library], gui),
                ([sys.executable, "-m", "faceorganizer", "gui", "--library", library], venv_gui),
            ),
        }
        for name, (bundle_case, venv_case) in cases.items():
            measure = timed_window if name == "window" else timed
            for temperature in ("cold", "warm"):
                figures = []
                for (command, env), files in (
                    (bundle_case, [args.bundle]),
                    (venv_case, venv_files),
                ):
                    runs = []
                    for _ in range(args.runs):
                        if temperature == "cold":
                            evict(files)
                        else:
                            measure(command, env, home)
                        runs.append(measure(command, env, home))
                    figures.append(statistics.median(runs))
                bundle_s, venv_s = figures
                print(
                    f"{name:10s} {temperature}: bundle {bundle_s:.2f} s, virtualenv {venv_s:.2f} s "
                    f"(bundle/venv {bundle_s / venv_s:.2f}), median of {args.runs}"
                )
    bundle_gb, venv_gb = folder_bytes(args.bundle) / 1e9, folder_bytes(venv_root) / 1e9
    print(f"size: bundle {bundle_gb:.2f} GB on disk; virtualenv {venv_gb:.2f} GB")
    print(f"load after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
