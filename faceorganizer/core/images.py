"""Decoding photos into upright RGB arrays near the size the detector needs.

Every failure becomes an ``ImageLoadError`` with a reason a user can read, so a scan can
record it and move on. Files are opened through ``core.reader`` (regular files only), and what
decoding will cost in memory is known from the header and capped (``core.decode_budget``) before
a pixel is decoded. Safe to call from several threads at once (PIL's global settings are set
once, at import, and never changed after).
"""

from __future__ import annotations

import errno
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, PngImagePlugin

from faceorganizer.core.allocator import release_freed
from faceorganizer.core.decode_budget import BUDGET, MAX_DECODE_BYTES, MB, decode_cost
from faceorganizer.core.raw_images import RAW_EXTENSIONS, load_raw, raw_reason
from faceorganizer.core.reader import ReadRefused, open_file, reopenable

try:
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - pillow-heif is a dependency
    HEIF_AVAILABLE = False

try:
    import pillow_jxl  # noqa: F401  (registers the JPEG XL plugin with Pillow)

    JXL_AVAILABLE = True
except ImportError:  # pragma: no cover - pillow-jxl-plugin is a dependency
    JXL_AVAILABLE = False

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif",
        ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif",
        ".heic", ".heif", ".hif", ".avif", ".jxl",
    }
    | RAW_EXTENSIONS
)  # fmt: skip
# JPEG and its multi-picture variant (Ultra HDR photos with a gain map, MPO) decode with DCT
# scaling; the first picture is the photo.
DCT_SCALED_FORMATS = frozenset({"JPEG", "MPO"})

# A 200 MP phone photo still opens (JPEG decodes it at 1/8 scale); larger is refused as a
# likely decompression bomb. Checked on the declared size, before any pixel is decoded.
MAX_PIXELS = 210_000_000

# PNG text chunks (XMP, Photoshop's metadata, comments): PIL refuses one over 1 MB decompressed,
# which photos edited in Photoshop exceed. Raised, within a total that stays bounded per image.
PngImagePlugin.MAX_TEXT_CHUNK = 32 * MB
PngImagePlugin.MAX_TEXT_MEMORY = 64 * MB
_TEXT_LIMIT = "too much metadata in its PNG text chunks (over 64 MB)"

# After a decode this large, freed memory goes back to the system (``core.allocator``).
RELEASE_ABOVE = 128 * MB

# Pixels converted at a time when an image is made RGB and smaller (see ``_small_rgb``).
STRIP_PIXELS = 4_000_000

_MODE_NAMES = {"I;16": "16-bit gray", "I;16B": "16-bit gray", "I;16L": "16-bit gray",
               "I": "32-bit gray", "F": "float gray", "P": "palette", "L": "gray"}  # fmt: skip


class ImageLoadError(Exception):
    """A photo that cannot be decoded; ``reason`` is short and human ("truncated JPEG")."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class LoadedImage:
    """An upright RGB photo, possibly decoded smaller than the original.

    ``scale`` maps decoded pixels to upright original pixels (original = decoded * scale);
    ``width``/``height`` are the upright original's size.
    """

    path: str
    rgb: np.ndarray
    scale: float
    width: int
    height: int
    format: str = ""


def load_image(
    path: str | os.PathLike[str], max_side: int | None = None, min_side: int | None = None
) -> LoadedImage:
    """Decode ``path`` upright as RGB uint8; with ``max_side``, no longer side than that.

    JPEGs are decoded with DCT scaling (``Image.draft``: 1/2, 1/4 or 1/8 of the size) so a
    12 MP photo costs about as much as the size asked for. With ``min_side``, a JPEG whose
    DCT-scaled long side lies between ``min_side`` and ``max_side`` is kept at that size
    rather than resized to ``max_side`` (a 4032 px photo at 1/2 is 2016 px: for a 2048
    ``max_side`` and a 1536 ``min_side`` that skips a resize of the whole photo), and other
    formats are shrunk by an integer factor when that lands in the same range.
    Raises ``ImageLoadError`` for every failure.
    """
    path = str(path)
    try:
        return _load(path, max_side, min_side)
    except ImageLoadError:
        raise
    except Exception as exc:
        raise ImageLoadError(path, _reason(path, exc)) from exc


def _load(path: str, max_side: int | None, min_side: int | None) -> LoadedImage:
    with open_file(path, "photo") as fp:
        if os.fstat(fp.fileno()).st_size == 0:
            raise ImageLoadError(path, "empty file")
        if Path(path).suffix.lower() in RAW_EXTENSIONS:
            return _load_raw(path, reopenable(fp, path), max_side, min_side)
        with _open_unchecked(fp, path) as im:
            return _decode(path, im, max_side, min_side)


def _decode(
    path: str, im: ImageFile.ImageFile, max_side: int | None, min_side: int | None
) -> LoadedImage:
    fmt = im.format or ""
    stored_w, stored_h = im.size
    if stored_w * stored_h > MAX_PIXELS:
        raise ImageLoadError(path, f"too large: {stored_w}x{stored_h}")
    draft_side = min(min_side or max_side or 0, max_side or 0)
    if draft_side and fmt in DCT_SCALED_FORMATS and max(im.size) > draft_side:
        ratio = draft_side / max(im.size)
        im.draft("RGB", (max(1, round(stored_w * ratio)), max(1, round(stored_h * ratio))))
    progressive = fmt in DCT_SCALED_FORMATS and bool(im.info.get("progressive"))
    cost = decode_cost(fmt, im.mode, im.size, (stored_w, stored_h), progressive)
    check_cost(path, cost, f"{stored_w}x{stored_h} {_MODE_NAMES.get(im.mode, im.mode)}")
    with BUDGET.hold(cost):
        im.load()
        decoded_w = im.size[0]
        orientation = _orientation(im)
        small, shrunk = _small_rgb(im, max_side, min_side)
        rgb_img = _upright(small, orientation)
        swap = orientation in (5, 6, 7, 8)
        width, height = (stored_h, stored_w) if swap else (stored_w, stored_h)
        scale = width / rgb_img.width if shrunk else stored_w / decoded_w
        rgb = np.array(rgb_img, dtype=np.uint8)
    if cost > RELEASE_ABOVE:
        im.close()  # the decoded image's blocks, freed before they are handed back
        del small, rgb_img
        release_freed()
    return LoadedImage(path=path, rgb=rgb, scale=scale, width=width, height=height, format=fmt)


def check_cost(path: str, cost: int, what: str) -> None:
    """Refuse an image whose decoding would take more than ``MAX_DECODE_BYTES``."""
    if cost > MAX_DECODE_BYTES:
        raise ImageLoadError(
            path,
            f"too large to decode: {what} needs {cost / MB:.0f} MB "
            f"(at most {MAX_DECODE_BYTES / MB:.0f} MB)",
        )


def _small_rgb(
    im: Image.Image, max_side: int | None, min_side: int | None
) -> tuple[Image.Image, bool]:
    """``im`` as 8-bit RGB no longer than ``max_side``, and whether it was shrunk.

    Converted and reduced a strip of rows at a time, so that a 16-bit or palette image never
    exists as a full-size RGB copy: beside the decoded image, only one strip and the result are
    held. By an integer factor (``Image.reduce``: block averages, a fifth of a bilinear resize's
    time on a 12 MP HEIC) when that lands at ``min_side`` or more, else reduced to about twice
    ``max_side`` and resized (bilinear) to ``max_side``.
    """
    side = max(im.size)
    factor, resize_to = 1, None
    if max_side and side > max_side:
        factor = -(-side // max_side)
        if not (min_side and factor >= 2 and side // factor >= min_side):
            factor, resize_to = max(1, int(side / max_side / 2.0)), max_side
    if im.mode == "RGB" and factor == 1 and resize_to is None:
        return im, False
    top = _top(im)
    w, h = im.size
    rows = max(factor, STRIP_PIXELS // max(1, w) // factor * factor)
    if rows >= h:
        out = _reduced(_to_rgb(im, top), factor)
    else:
        out = Image.new("RGB", (-(-w // factor), -(-h // factor)))
        for y in range(0, h, rows):
            part = _to_rgb(im.crop((0, y, w, min(h, y + rows))), top)
            out.paste(_reduced(part, factor), (0, y // factor))
    if resize_to is not None:
        ratio = resize_to / side
        size = (max(1, round(w * ratio)), max(1, round(h * ratio)))
        out = out.resize(size, Image.Resampling.BILINEAR)
    return out, factor > 1 or resize_to is not None


def _reduced(im: Image.Image, factor: int) -> Image.Image:
    return im.reduce(factor) if factor > 1 else im


def _top(im: Image.Image) -> float:
    """The brightest value of a 16-bit, 32-bit or float image (its scale to 8 bits depends on
    it, the same for every strip); 0 for other modes."""
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        top = im.getextrema()[1]
        return float(top) if isinstance(top, (int, float)) else 0.0
    return 0.0


def _load_raw(path: str, opened: str, max_side: int | None, min_side: int | None) -> LoadedImage:
    """A camera RAW file (``opened``: a name for the very file checked): its full-size JPEG
    preview when there is one, else demosaiced; refused when either would cost more memory
    than ``MAX_DECODE_BYTES``."""
    raw = load_raw(opened, max_side, lambda cost, what: check_cost(path, cost, what))
    rgb_img, _ = _small_rgb(raw.image, max_side, min_side)
    rgb = np.array(rgb_img, dtype=np.uint8)
    fmt = f"{Path(path).suffix.lstrip('.').upper()} ({raw.source})"
    return LoadedImage(
        path=path,
        rgb=rgb,
        scale=raw.width / rgb_img.width,
        width=raw.width,
        height=raw.height,
        format=fmt,
    )


def _open_unchecked(fp: object, path: str) -> ImageFile.ImageFile:
    """``Image.open`` without PIL's global pixel limit (we apply ``MAX_PIXELS`` ourselves,
    per call, instead of mutating ``Image.MAX_IMAGE_PIXELS`` under other threads)."""
    Image.init()
    prefix = fp.read(16)  # type: ignore[attr-defined]
    damaged: str | None = None  # a format whose signature matched but whose header is broken
    for fmt_id in Image.ID:
        factory, accept = Image.OPEN[fmt_id]
        try:
            if accept is not None and not accept(prefix):
                continue
            fp.seek(0)  # type: ignore[attr-defined]
            return factory(fp, path)  # type: ignore[arg-type,return-value]
        except (SyntaxError, IndexError, TypeError, ValueError, EOFError, struct.error) as exc:
            if "text chunk" in str(exc) or "MAX_TEXT_CHUNK" in str(exc):
                raise ImageLoadError(path, _TEXT_LIMIT) from exc
            if accept is not None and damaged is None:
                damaged = fmt_id
            continue
    if damaged is not None:
        raise ImageLoadError(path, f"damaged {_FORMAT_NAMES.get(damaged, damaged)}")
    raise Image.UnidentifiedImageError(f"cannot identify image file {path!r}")


_FORMAT_NAMES = {"MPO": "JPEG", "HEIF": "HEIC", "TIFF": "TIFF"}


def _orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(0x0112, 1))
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


def _upright(im: Image.Image, orientation: int) -> Image.Image:
    """``im`` turned as EXIF ``orientation`` says (after shrinking: the turn then costs little)."""
    op = _ORIENTATION_OPS.get(orientation)
    return im.transpose(op) if op is not None else im


_ORIENTATION_OPS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _to_rgb(im: Image.Image, top: float) -> Image.Image:
    """Any PIL mode to 8-bit RGB: alpha over white, 16-bit and float scaled by the image's
    brightest value ``top``, not clipped."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I", "F") or mode.startswith("I;16"):
        arr = np.asarray(im).astype(np.float32)
        if mode == "F" and top <= 1.0:
            arr = arr * 255.0
        elif top > 255.0:
            arr = arr / 257.0
        gray = np.clip(arr + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    elif mode == "P":
        return im.convert("RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im.convert("RGB")


def _reason(path: str, exc: BaseException) -> str:
    """A short, human reason for a decoding failure."""
    ext = Path(path).suffix.lower()
    kind = _KINDS.get(ext, ext.lstrip(".").upper() or "image")
    if isinstance(exc, ReadRefused):
        return exc.reason
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if ext in RAW_EXTENSIONS and (raw := raw_reason(exc)) is not None:
        return raw
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not an image"
    if isinstance(exc, Image.UnidentifiedImageError):
        if ext in SUPPORTED_EXTENSIONS:
            return "not an image" if kind != "HEIC" or HEIF_AVAILABLE else "unsupported format"
        return f"unsupported format ({ext or 'no extension'})"
    if isinstance(exc, MemoryError):
        return "too large to decode in memory"
    if isinstance(exc, Image.DecompressionBombError):
        return "too large (possible decompression bomb)"
    message = str(exc)
    lowered = message.lower()
    if "text chunk" in lowered or "max_text_chunk" in lowered:
        return _TEXT_LIMIT
    if "truncated" in lowered or isinstance(exc, EOFError) or "premature end" in lowered:
        return f"truncated {kind}"
    if isinstance(exc, OSError) and exc.errno in (errno.EIO, errno.ENXIO):
        return f"read error: {exc.strerror or message}"
    if "broken data stream" in lowered or "decoder error" in lowered or message == "-2":
        return f"damaged {kind} data"
    if "could not create decoder" in lowered or "broken" in lowered or "corrupt" in lowered:
        return f"damaged {kind}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if "error" in lowered or len(message) > 60 or "\n" in message:
        return f"damaged {kind}"  # a decoder's own words ("Generic Error. Please build…")
    return f"cannot decode {kind}: {message or type(exc).__name__}"


_KINDS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG",
    ".webp": "WebP", ".jxl": "JPEG XL", ".heic": "HEIC", ".heif": "HEIF",
}  # fmt: skip
