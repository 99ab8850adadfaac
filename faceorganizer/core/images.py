"""Decoding photos into upright RGB arrays near the size the detector needs.

Every failure becomes an ``ImageLoadError`` with a reason a user can read, so a scan can
record it and move on. Safe to call from several threads at once (no global PIL state is
changed).
"""

from __future__ import annotations

import errno
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps

from faceorganizer.core.raw_images import RAW_EXTENSIONS, load_raw, raw_reason

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


def load_image(path: str | os.PathLike[str], max_side: int | None = None) -> LoadedImage:
    """Decode ``path`` upright as RGB uint8; with ``max_side``, no longer side than that.

    JPEGs are decoded with DCT scaling (``Image.draft``) so a 12 MP photo costs about as
    much as the size asked for. Raises ``ImageLoadError`` for every failure.
    """
    path = str(path)
    try:
        return _load(path, max_side)
    except ImageLoadError:
        raise
    except Exception as exc:
        raise ImageLoadError(path, _reason(path, exc)) from exc


def _load(path: str, max_side: int | None) -> LoadedImage:
    if os.path.isdir(path):
        raise ImageLoadError(path, "is a folder, not an image")
    if os.path.getsize(path) == 0:
        raise ImageLoadError(path, "empty file")
    if Path(path).suffix.lower() in RAW_EXTENSIONS:
        return _load_raw(path, max_side)
    with open(path, "rb") as fp, _open_unchecked(fp, path) as im:
        fmt = im.format or ""
        stored_w, stored_h = im.size
        if stored_w * stored_h > MAX_PIXELS:
            raise ImageLoadError(path, f"too large: {stored_w}x{stored_h}")
        if max_side and fmt in DCT_SCALED_FORMATS and max(im.size) > max_side:
            ratio = max_side / max(im.size)
            im.draft("RGB", (max(1, round(stored_w * ratio)), max(1, round(stored_h * ratio))))
        im.load()
        decoded_w = im.size[0]
        orientation = _orientation(im)
        rgb_img = _to_rgb(_transpose(im, orientation))
        swap = orientation in (5, 6, 7, 8)
        width, height = (stored_h, stored_w) if swap else (stored_w, stored_h)
        scale = stored_w / decoded_w
        if max_side and max(rgb_img.size) > max_side:
            ratio = max_side / max(rgb_img.size)
            new_size = (max(1, round(rgb_img.width * ratio)), max(1, round(rgb_img.height * ratio)))
            rgb_img = rgb_img.resize(new_size, Image.Resampling.BILINEAR, reducing_gap=2.0)
            scale = width / rgb_img.width
        rgb = np.array(rgb_img, dtype=np.uint8)
    return LoadedImage(path=path, rgb=rgb, scale=scale, width=width, height=height, format=fmt)


def _load_raw(path: str, max_side: int | None) -> LoadedImage:
    """A camera RAW file: its full-size JPEG preview when there is one, else demosaiced."""
    raw = load_raw(path, max_side)
    rgb_img = _to_rgb(raw.image)
    if max_side and max(rgb_img.size) > max_side:
        ratio = max_side / max(rgb_img.size)
        new_size = (max(1, round(rgb_img.width * ratio)), max(1, round(rgb_img.height * ratio)))
        rgb_img = rgb_img.resize(new_size, Image.Resampling.BILINEAR, reducing_gap=2.0)
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
    for fmt_id in Image.ID:
        factory, accept = Image.OPEN[fmt_id]
        try:
            if accept is not None and not accept(prefix):
                continue
            fp.seek(0)  # type: ignore[attr-defined]
            return factory(fp, path)  # type: ignore[arg-type,return-value]
        except (SyntaxError, IndexError, TypeError, ValueError, EOFError, struct.error):
            continue
    raise Image.UnidentifiedImageError(f"cannot identify image file {path!r}")


def _orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(0x0112, 1))
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


def _transpose(im: Image.Image, orientation: int) -> Image.Image:
    if orientation == 1:
        return im
    try:
        return ImageOps.exif_transpose(im) or im
    except Exception:
        return im


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB: alpha over white, 16-bit and float scaled, not clipped."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I", "F") or mode.startswith("I;16"):
        arr = np.asarray(im).astype(np.float32)
        top = float(arr.max()) if arr.size else 0.0
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
    kind = {".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG"}.get(
        ext, ext.lstrip(".").upper() or "image"
    )
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
    if "truncated" in lowered or isinstance(exc, EOFError) or "premature end" in lowered:
        return f"truncated {kind}"
    if isinstance(exc, OSError) and exc.errno in (errno.EIO, errno.ENXIO):
        return f"read error: {exc.strerror or message}"
    if "broken data stream" in lowered or "decoder error" in lowered or message == "-2":
        return f"damaged {kind} data"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return f"cannot decode {kind}: {message or type(exc).__name__}"
