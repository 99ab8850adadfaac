"""The decoded-memory budget (``core.decode_budget``): what decoding will cost, known from the
header (16-bit, palette, progressive), held by all decoding threads together, and a photo that
would cost too much refused by ``core.images`` before any pixel is decoded."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from faceorganizer.core.decode_budget import DecodeBudget, decode_cost
from faceorganizer.core.images import ImageLoadError, load_image


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
