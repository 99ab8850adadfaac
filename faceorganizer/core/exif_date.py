"""When a photo was taken, from its EXIF header (cheap: no pixel is decoded)."""

from __future__ import annotations

from faceorganizer.core.reader import open_file


def taken_at(path: str) -> str | None:
    """EXIF DateTimeOriginal (or DateTime) when the header has it, else None; read through
    ``core.reader`` (a regular file only)."""
    try:
        from PIL import Image

        with open_file(path, "photo") as f, Image.open(f) as im:
            exif = im.getexif()
            value = exif.get_ifd(0x8769).get(36867) or exif.get(306)
    except Exception:
        return None
    return str(value).strip() or None if value else None
