"""One way in (``core.reader``): regular files only, opened without blocking, within a size cap
per kind; on real pipes, devices and files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from faceorganizer.core.reader import ReadRefused, open_file, read_file


def test_a_pipe_or_a_device_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "photo.jpg.xmp"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(ReadRefused, match="a pipe"):
        read_file(fifo, "sidecar")
    assert time.monotonic() - started < 5  # no writer is waited for
    link = tmp_path / "zero.xmp"
    link.symlink_to("/dev/zero")
    with pytest.raises(ReadRefused, match="a device"):
        read_file(link, "sidecar")


def test_a_file_over_its_kinds_cap_is_refused_by_size(tmp_path: Path) -> None:
    big = tmp_path / "big.xmp"
    big.write_bytes(b"x" * (5 << 20))
    with pytest.raises(ReadRefused, match=r"too large for a sidecar \(5 MB; at most 4 MB\)"):
        read_file(big, "sidecar")
    with open_file(big, "photo") as f:
        assert f.read(3) == b"xxx"


def test_a_file_just_over_its_cap_does_not_read_as_the_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.xmp"
    big.write_bytes(b"x" * ((4 << 20) + 1))
    with pytest.raises(ReadRefused, match=r"too large for a sidecar \(4.1 MB; at most 4 MB\)"):
        read_file(big, "sidecar")
