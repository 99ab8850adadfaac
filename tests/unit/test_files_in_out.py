"""One way in (``core.reader``), one way out (``core.writer``), names as data (``core.text``) and
the decoded-memory budget (``core.decode_budget``), on real files, pipes and devices."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from faceorganizer.core.decode_budget import DecodeBudget, decode_cost
from faceorganizer.core.images import ImageLoadError, load_image
from faceorganizer.core.reader import ReadRefused, open_file, read_file
from faceorganizer.core.text import clean_name, for_terminal, name_problem
from faceorganizer.core.writer import (
    Guard,
    WriteRefused,
    clean_stale,
    copy_unique,
    put_unique,
    temp_path,
    write_file,
)


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


def test_the_writer_never_writes_through_a_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.jpg"
    victim.write_bytes(b"a photo")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    with pytest.raises(WriteRefused, match="link"):
        write_file(link, b"table", replace=True)
    assert victim.read_bytes() == b"a photo"


def test_the_guard_protects_files_photos_and_folders(tmp_path: Path) -> None:
    library = tmp_path / "lib.sqlite3"
    library.write_bytes(b"library")
    hard = tmp_path / "hard.sqlite3"
    os.link(library, hard)
    scanned = tmp_path / "photos"
    scanned.mkdir()
    photo = tmp_path / "elsewhere.jpg"
    guard = Guard(
        files=(str(library),), is_photo=lambda p: p == str(photo), folders=(str(scanned),)
    )
    for target, says in (
        (library, "the library"),
        (hard, "the library"),
        (photo, "a photo of the library"),
        (scanned / "out.csv", "inside the scanned folder"),
    ):
        with pytest.raises(WriteRefused, match=says):
            write_file(target, b"x", guard, replace=True)
    assert library.read_bytes() == b"library"


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    left = tmp_path / f".photo.jpg.xmp.{dead.stdout.strip()}.0123abcd.fo-tmp"
    left.write_bytes(b"half")
    mine = temp_path(tmp_path / "other.xmp")
    mine.write_bytes(b"in flight")  # this process's: alive
    assert clean_stale(tmp_path, force=True) == 1
    assert not left.exists() and mine.exists()


def test_put_and_copy_are_idempotent_and_never_overwrite(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"the user's")
    path, written = put_unique(tmp_path, "a.jpg", b"crop")
    assert (path.name, written) == ("a (2).jpg", True)
    assert put_unique(tmp_path, "a.jpg", b"crop") == (path, False)
    assert (tmp_path / "a.jpg").read_bytes() == b"the user's"
    src = tmp_path / "src.bin"
    src.write_bytes(b"photo bytes")
    out = tmp_path / "out"
    out.mkdir()
    first = copy_unique(str(src), out, "p.jpg")
    assert first == (out / "p.jpg", True)
    assert copy_unique(str(src), out, "p.jpg") == (out / "p.jpg", False)
    zero = tmp_path / "zero.jpg"
    zero.symlink_to("/dev/zero")
    with pytest.raises(ReadRefused, match="a device"):
        copy_unique(str(zero), out, "z.jpg")
    assert sorted(p.name for p in out.iterdir()) == ["p.jpg"]


def test_names_are_data() -> None:
    assert clean_name("Line1\nLine2\t x\x1b[2J") == "Line1 Line2 x [2J"
    assert clean_name(" \x00 ") is None
    assert name_problem("Ann\nBob") is not None and name_problem("Zoë O'Brien") is None
    assert name_problem("x" * 201) is not None
    assert for_terminal("a\x1b]0;t\x07b\nc") == "a\\x1b]0;t\\x07b\\x0ac"
    assert for_terminal("a\x1bb\nc", keep_newlines=True) == "a\\x1bb\nc"


def test_decode_cost_counts_16_bit_palette_and_progressive() -> None:
    assert decode_cost("PNG", "I;16", (14000, 14000), (14000, 14000), False) == 392_000_000
    assert decode_cost("PNG", "P", (100, 100), (100, 100), False) == 10_000
    assert decode_cost("JPEG", "RGB", (500, 500), (4000, 4000), True) > 4000 * 4000 * 6


def test_the_budget_is_shared_by_threads() -> None:
    budget = DecodeBudget(total=100)
    peak, held = [0], [0]
    lock = threading.Lock()

    def decode() -> None:
        with budget.hold(60):
            with lock:
                held[0] += 60
                peak[0] = max(peak[0], held[0])
            time.sleep(0.02)
            with lock:
                held[0] -= 60

    threads = [threading.Thread(target=decode) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 60  # one at a time: two would need 120


def _png_header(path: Path, width: int, height: int) -> None:
    """A PNG that declares ``width`` x ``height`` 8-bit RGB (the header is all a refusal reads)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(1 + width * 3))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))  # fmt: skip


def test_an_image_too_large_to_decode_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "rgb.png"
    _png_header(path, 16000, 13000)
    assert path.stat().st_size < 2 << 20
    with pytest.raises(ImageLoadError, match="too large to decode: 16000x13000 RGB needs"):
        load_image(path, max_side=2048)


def test_a_16_bit_image_is_scaled_as_a_whole_strip_by_strip(tmp_path: Path) -> None:
    import numpy as np

    ramp = (np.arange(3000, dtype=np.uint16)[:, None] * 20).repeat(1500, axis=1)  # 0..59980
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, "PNG")
    (tmp_path / "ramp.png").write_bytes(buf.getvalue())
    loaded = load_image(tmp_path / "ramp.png", max_side=1000)
    column = loaded.rgb[:, 0, 0].astype(int)
    assert column[0] == 0 and column[-1] >= 230  # one scale for all strips: no seams
    assert (np.diff(column) >= 0).all()


def test_a_folder_the_user_named_may_be_a_link_one_the_app_picks_may_not(tmp_path: Path) -> None:
    from faceorganizer.core.writer import make_folder

    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "exports"
    link.symlink_to(real)
    make_folder(link, Guard(), chosen=True)
    with pytest.raises(WriteRefused, match="link"):
        make_folder(link, Guard())
