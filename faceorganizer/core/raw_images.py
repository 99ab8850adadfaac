"""Camera RAW files (DNG, CR2/CR3, NEF, ARW, RAF, RW2, ORF) through LibRaw (``rawpy``).

Most cameras embed a full-size JPEG rendering of the shot; decoding it is what the camera showed
and costs what a JPEG costs (with DCT scaling), so it is used whenever it is large enough for
the size asked for. Otherwise the mosaic is demosaiced by LibRaw (half size when that is still
large enough: four times less work). LibRaw is not documented as thread-safe across objects
sharing state, but each call here opens its own ``RawPy`` object, which it is.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageOps

RAW_EXTENSIONS: frozenset[str] = frozenset(
    {".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".raf", ".rw2", ".orf", ".pef", ".srw"}
)
# A preview at least this share of the sensor's long side counts as full size.
FULL_SIZE_PREVIEW = 0.5

# LibRaw's ``flip`` code -> the PIL transpose that makes the image upright
_FLIPS = {
    3: Image.Transpose.ROTATE_180,
    5: Image.Transpose.ROTATE_90,
    6: Image.Transpose.ROTATE_270,
}


@dataclass(frozen=True)
class RawImage:
    """An upright 8-bit RGB rendering of a RAW file; ``width``/``height`` are the upright
    full size that face coordinates refer to; ``source`` says how it was made."""

    image: Image.Image
    width: int
    height: int
    source: str  # "preview" or "demosaic"


def raw_available() -> bool:
    try:
        import rawpy  # noqa: F401
    except ImportError:  # pragma: no cover - rawpy is a dependency
        return False
    return True


CostCheck = Callable[[int, str], None]


def load_raw(path: str, max_side: int | None = None, check: CostCheck | None = None) -> RawImage:
    """Decode ``path`` upright, the embedded JPEG when it is big enough, else demosaiced.

    ``check(bytes, what)`` is called with the memory a decode will take before it starts (and
    raises to refuse it). Raises ``rawpy`` errors (``LibRawError`` and subclasses) for files
    LibRaw cannot read.
    """
    import rawpy

    check = check or (lambda _cost, _what: None)
    with rawpy.imread(path) as raw:
        sizes = raw.sizes
        flip = int(sizes.flip)
        swap = flip in (5, 6)
        full_w, full_h = int(sizes.width), int(sizes.height)
        upright = (full_h, full_w) if swap else (full_w, full_h)
        found = _preview(raw, max(full_w, full_h), max_side, check)
        if found is not None:
            preview, (w, h) = found
            orientation = preview.getexif().get(0x0112, 1)
            if orientation != 1:  # the JPEG says how to turn itself
                preview = ImageOps.exif_transpose(preview) or preview
                swap = orientation in (5, 6, 7, 8)
            else:
                preview = _transpose(preview, flip)
            w, h = (h, w) if swap else (w, h)
            return RawImage(preview, w, h, "preview")
        half = bool(max_side) and max(full_w, full_h) / 2 >= (max_side or 0)
        out = full_w * full_h // (4 if half else 1)
        # the mosaic (16-bit), LibRaw's 4-channel 16-bit image, and the 8-bit RGB result
        check(int(sizes.raw_width) * int(sizes.raw_height) * 2 + out * 11, f"{full_w}x{full_h} RAW")
        # sRGB primaries with the sRGB tone curve (LibRaw defaults to BT.709's 2.222/4.5)
        rgb = raw.postprocess(use_camera_wb=True, half_size=half, output_bps=8, gamma=(2.4, 12.92))
    image = Image.fromarray(rgb)
    return RawImage(image, upright[0], upright[1], "demosaic")


def _preview(
    raw: object, sensor_side: int, max_side: int | None, check: CostCheck
) -> tuple[Image.Image, tuple[int, int]] | None:
    """The embedded JPEG, decoded (with DCT scaling towards ``max_side``) when it is full size
    or at least ``max_side`` long, with its stored size; None otherwise."""
    import rawpy

    try:
        thumb = raw.extract_thumb()  # type: ignore[attr-defined]
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format != rawpy.ThumbFormat.JPEG:
        return None
    im = Image.open(io.BytesIO(thumb.data))
    stored = im.size
    side = max(stored)
    if side < FULL_SIZE_PREVIEW * sensor_side and (not max_side or side < max_side):
        return None
    if max_side and side > max_side:
        ratio = max_side / side
        im.draft("RGB", (max(1, round(im.width * ratio)), max(1, round(im.height * ratio))))
    check(im.width * im.height * 4, f"{stored[0]}x{stored[1]} RAW preview")
    im.load()
    return im, stored


def raw_reason(exc: BaseException) -> str | None:
    """A short reason for a LibRaw failure, or None when ``exc`` is not one."""
    try:
        import rawpy
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, rawpy.LibRawFileUnsupportedError):
        return "not a RAW file this version can read (unsupported camera or damaged header)"
    if isinstance(exc, (rawpy.LibRawIOError, rawpy.LibRawDataError)):
        return "damaged RAW data"
    if isinstance(exc, rawpy.LibRawError):
        return f"cannot decode RAW: {exc}"
    return None


def _transpose(image: Image.Image, flip: int) -> Image.Image:
    op = _FLIPS.get(flip)
    return image.transpose(op) if op is not None else image
