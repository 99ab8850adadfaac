"""Small JPEG thumbnails of faces, so views never reopen the original photos."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

THUMBNAIL_SIZE = 112
THUMBNAIL_MARGIN = 0.25
THUMBNAIL_QUALITY = 85


def face_thumbnail(
    rgb: np.ndarray,
    box: tuple[float, float, float, float],
    size: int = THUMBNAIL_SIZE,
    margin: float = THUMBNAIL_MARGIN,
) -> bytes:
    """A square ``size`` px JPEG around ``box`` (coordinates of ``rgb``) with a margin.

    The square is centred on the box and clipped to the image, so a face at the border gives
    a thumbnail off-centre rather than padded with black.
    """
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * margin)
    side = min(side, float(w), float(h))
    cx = min(max((x0 + x1) / 2.0, side / 2.0), w - side / 2.0)
    cy = min(max((y0 + y1) / 2.0, side / 2.0), h - side / 2.0)
    left, top = round(cx - side / 2.0), round(cy - side / 2.0)
    s = max(1, round(side))
    crop = Image.fromarray(rgb[max(0, top) : top + s, max(0, left) : left + s])
    crop = crop.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=2.0)
    out = io.BytesIO()
    crop.save(out, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=False)
    return out.getvalue()


def thumbnail_origin(
    box: tuple[float, float, float, float], width: float, height: float
) -> tuple[float, float, float]:
    """(left, top, side) of the square ``face_thumbnail`` cut around ``box`` in a ``width`` x
    ``height`` photo (the same arithmetic, in the photo's own pixels): where the face sits in its
    thumbnail, for the quality signals and for the views."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * THUMBNAIL_MARGIN)
    side = max(min(side, float(width), float(height)), 1.0)
    cx = min(max((x0 + x1) / 2.0, side / 2.0), width - side / 2.0)
    cy = min(max((y0 + y1) / 2.0, side / 2.0), height - side / 2.0)
    return cx - side / 2.0, cy - side / 2.0, side
