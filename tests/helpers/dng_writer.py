"""Real DNG files made in the test run: an RGGB mosaic of an RGB image (16-bit, linear light,
camera space = linear sRGB), optionally with a full-size JPEG preview and an orientation, in a
minimal little-endian TIFF that LibRaw reads like a camera's DNG."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

# XYZ (D65) -> linear sRGB: DNG's ColorMatrix1 maps XYZ to camera space, here linear sRGB.
XYZ_TO_SRGB = (
    (3.2406, -1.5372, -0.4986),
    (-0.9689, 1.8758, 0.0415),
    (0.0557, -0.2040, 1.0570),
)
SHORT, LONG, ASCII, BYTE, RATIONAL, SRATIONAL = 3, 4, 2, 1, 5, 10


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def mosaic(rgb: np.ndarray) -> np.ndarray:
    """RGGB Bayer samples of ``rgb`` (even height and width), 16-bit linear."""
    lin = np.round(srgb_to_linear(rgb) * 65535).astype(np.uint16)
    out = np.empty(rgb.shape[:2], np.uint16)
    out[0::2, 0::2] = lin[0::2, 0::2, 0]
    out[0::2, 1::2] = lin[0::2, 1::2, 1]
    out[1::2, 0::2] = lin[1::2, 0::2, 1]
    out[1::2, 1::2] = lin[1::2, 1::2, 2]
    return out


def _payload(kind: int, values: list) -> bytes:
    if kind == ASCII:
        return values[0] + b"\0"
    if kind == BYTE:
        return bytes(values)
    if kind == SHORT:
        return struct.pack(f"<{len(values)}H", *values)
    if kind == LONG:
        return struct.pack(f"<{len(values)}I", *values)
    fmt = "<ii" if kind == SRATIONAL else "<II"
    return b"".join(struct.pack(fmt, *v) for v in values)


def _ifd(entries: list[tuple[int, int, list]], at: int, next_ifd: int = 0) -> bytes:
    """One IFD placed at offset ``at``, its values longer than 4 bytes right after it."""
    entries = sorted(entries, key=lambda e: e[0])
    extra = bytearray()
    base = at + 2 + 12 * len(entries) + 4
    out = bytearray(struct.pack("<H", len(entries)))
    for tag, kind, values in entries:
        raw = _payload(kind, values)
        n = len(values[0]) + 1 if kind == ASCII else len(values)
        if len(raw) <= 4:
            field = raw.ljust(4, b"\0")
        else:
            field = struct.pack("<I", base + len(extra))
            extra += raw + (b"\0" if len(raw) % 2 else b"")
        out += struct.pack("<HHI", tag, kind, n) + field
    return bytes(out + struct.pack("<I", next_ifd) + extra)


def write_dng(
    path: Path, rgb: np.ndarray, *, preview: Image.Image | None = None, orientation: int = 1
) -> Path:
    """Write ``rgb`` (stored orientation) as a DNG; ``preview`` is embedded as a JPEG in IFD0
    (NewSubFileType 1) with the mosaic in a SubIFD, as cameras and Adobe's converter do."""
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError("mosaic needs an even width and height")
    data = mosaic(rgb).astype("<u2").tobytes()
    dng_tags: list[tuple[int, int, list]] = [
        (271, ASCII, [b"FaceOrganizer"]),
        (272, ASCII, [b"Test DNG"]),
        (274, SHORT, [orientation]),
        (50706, BYTE, [1, 4, 0, 0]),
        (50707, BYTE, [1, 1, 0, 0]),
        (50708, ASCII, [b"FaceOrganizer Test DNG"]),
        (50721, SRATIONAL, [(round(v * 10000), 10000) for row in XYZ_TO_SRGB for v in row]),
        (50728, RATIONAL, [(1, 1), (1, 1), (1, 1)]),
        (50778, SHORT, [21]),
    ]

    def raw_tags(strip: int) -> list[tuple[int, int, list]]:
        return [
            (254, LONG, [0]),
            (256, LONG, [w]),
            (257, LONG, [h]),
            (258, SHORT, [16]),
            (259, SHORT, [1]),
            (262, SHORT, [32803]),
            (273, LONG, [strip]),
            (277, SHORT, [1]),
            (278, LONG, [h]),
            (279, LONG, [len(data)]),
            (284, SHORT, [1]),
            (33421, SHORT, [2, 2]),
            (33422, BYTE, [0, 1, 1, 2]),
            (50717, LONG, [65535]),
        ]

    if preview is None:
        size = len(_ifd(dng_tags + raw_tags(0), 8))
        blob = _ifd(dng_tags + raw_tags(8 + size), 8)
        path.write_bytes(b"II*\0" + struct.pack("<I", 8) + blob + data)
        return path
    buf = io.BytesIO()
    preview.save(buf, format="JPEG", quality=95)
    jpeg = buf.getvalue()

    def preview_tags(strip: int, sub: int) -> list[tuple[int, int, list]]:
        return dng_tags + [
            (254, LONG, [1]),
            (256, LONG, [preview.width]),
            (257, LONG, [preview.height]),
            (258, SHORT, [8, 8, 8]),
            (259, SHORT, [7]),
            (262, SHORT, [6]),
            (273, LONG, [strip]),
            (277, SHORT, [3]),
            (278, LONG, [preview.height]),
            (279, LONG, [len(jpeg)]),
            (330, LONG, [sub]),
        ]

    size0 = len(_ifd(preview_tags(0, 0), 8))
    sub_at = 8 + size0
    size1 = len(_ifd(raw_tags(0), sub_at))
    strip = sub_at + size1
    jpeg_at = strip + len(data)
    blob = _ifd(preview_tags(jpeg_at, sub_at), 8) + _ifd(raw_tags(strip), sub_at)
    path.write_bytes(b"II*\0" + struct.pack("<I", 8) + blob + data + jpeg)
    return path
