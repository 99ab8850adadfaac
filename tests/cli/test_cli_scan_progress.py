"""`faceorganizer scan` shows its progress as a bar on a terminal and as plain lines in a log
(its stderr a pipe or a file): the real command, the real engine, photos made here."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.real_model  # the scan it starts loads the real models

PHOTOS = 6
TIMEOUT_S = 600


def _photos(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(PHOTOS):
        pixels = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"photo_{i}.jpg", quality=90)
    return folder


def _scan_args(tmp_path: Path, name: str) -> list[str]:
    return [sys.executable, "-m", "faceorganizer", "scan", str(tmp_path / "photos"),
            "--library", str(tmp_path / f"{name}.sqlite3")]  # fmt: skip


def test_off_a_terminal_progress_is_plain_lines(tmp_path: Path) -> None:
    _photos(tmp_path / "photos")
    done = subprocess.run(
        _scan_args(tmp_path, "piped"), capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("scanning:")]
    assert lines and lines[-1].startswith(f"scanning: 100% {PHOTOS}/{PHOTOS} photos [")
    assert f"new {PHOTOS}" in done.stdout


def test_on_a_terminal_progress_is_a_bar(tmp_path: Path) -> None:
    _photos(tmp_path / "photos")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns
    process = subprocess.Popen(
        _scan_args(tmp_path, "terminal"), stdout=subprocess.PIPE, stderr=slave, text=True
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed with the command
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert process.wait(timeout=TIMEOUT_S) == 0
    assert process.stdout is not None
    with process.stdout:
        assert f"new {PHOTOS}" in process.stdout.read()
    text = seen.decode(errors="replace")
    assert "\r" in text and f"{PHOTOS}/{PHOTOS}" in text and "scanning: 100%|" in text
