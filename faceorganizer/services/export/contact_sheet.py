"""Contact sheets: a person's faces as a printable JPEG grid with their name (PIL).

A sheet is an A4 page at 150 dpi (1240 x 1754 px): the name and face count on top, then faces
in a grid, oldest photo first, each with the photo's date (or file name) under it. A person with
more faces than a page holds gets numbered pages. Faces are cut from the original photos (decoded
just large enough for the tile), so they print sharper than the library's small thumbnails,
which stand in when a photo cannot be read any more.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from faceorganizer.core.images import ImageLoadError, load_image
from faceorganizer.core.thumbnails import face_thumbnail

log = logging.getLogger(__name__)

PAGE = (1240, 1754)
MARGIN = 48
HEADER = 130
COLUMNS = 6
TILE = 180
CAPTION = 30
ROWS = (PAGE[1] - 2 * MARGIN - HEADER) // (TILE + CAPTION + 14)
PER_PAGE = COLUMNS * ROWS
QUALITY = 90
# Fonts with wide Latin, Greek and Cyrillic coverage, looked up by PIL in the system's font
# folders (Linux, macOS, Windows); PIL's own font (ASCII only) when none is there.
FONT_FILES = (
    "DejaVuSans.ttf",
    "NotoSans-Regular.ttf",
    "LiberationSans-Regular.ttf",
    "Arial Unicode.ttf",
    "segoeui.ttf",
    "arial.ttf",
    "Arial.ttf",
)


@dataclass(frozen=True)
class SheetFace:
    """One face for a sheet: box in pixels of the upright photo, the photo's upright size."""

    face_id: int
    photo_path: str
    box: tuple[float, float, float, float]
    width: int
    height: int
    caption: str


@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in FONT_FILES:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _decode_side(face: SheetFace) -> int | None:
    """The longest side to decode the photo at so the face still fills a tile."""
    side = max(face.box[2] - face.box[0], face.box[3] - face.box[1], 1.0)
    long_side = max(face.width, face.height)
    if long_side <= 0:
        return None
    return int(min(long_side, max(512, math.ceil(long_side * TILE * 1.6 / side))))


def face_tiles(
    faces: list[SheetFace], thumbnail: Callable[[int], bytes | None]
) -> dict[int, Image.Image]:
    """A TILE x TILE image per face: cut from its photo (each photo decoded once), or the
    library's thumbnail when the photo cannot be read."""
    tiles: dict[int, Image.Image] = {}
    by_photo: dict[str, list[SheetFace]] = {}
    for f in faces:
        by_photo.setdefault(f.photo_path, []).append(f)
    for path, group in by_photo.items():
        side = max((_decode_side(f) or 0) for f in group) or None
        try:
            image = load_image(path, max_side=side)
        except ImageLoadError as exc:
            log.info("contact sheet: %s", exc)
            image = None
        for f in group:
            data: bytes | None
            if image is not None:
                box = tuple(v / image.scale for v in f.box)
                data = face_thumbnail(image.rgb, box, size=TILE)  # type: ignore[arg-type]
            else:
                data = thumbnail(f.face_id)
            if data:
                with Image.open(io.BytesIO(data)) as im:
                    tiles[f.face_id] = im.convert("RGB").resize((TILE, TILE))
    return tiles


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> str:
    """``text`` cut with an ellipsis to fit ``width`` pixels."""
    f = font(size)
    if draw.textlength(text, font=f) <= width:
        return text
    while text and draw.textlength(text + "…", font=f) > width:
        text = text[:-1]
    return text + "…"


def render_page(
    name: str, total: int, page: int, pages: int, faces: list[SheetFace], tiles: dict
) -> Image.Image:
    sheet = Image.new("RGB", PAGE, "white")
    draw = ImageDraw.Draw(sheet)
    width = PAGE[0] - 2 * MARGIN
    draw.text((MARGIN, MARGIN), _fit(draw, name, 56, width), font=font(56), fill="black")
    sub = f"{total} face{'s' * (total != 1)}" + (f" · page {page} of {pages}" if pages > 1 else "")
    draw.text((MARGIN, MARGIN + 72), sub, font=font(26), fill=(90, 90, 90))
    cell_w = width // COLUMNS
    cell_h = TILE + CAPTION + 14
    for i, f in enumerate(faces):
        row, col = divmod(i, COLUMNS)
        x = MARGIN + col * cell_w + (cell_w - TILE) // 2
        y = MARGIN + HEADER + row * cell_h
        tile = tiles.get(f.face_id)
        if tile is not None:
            sheet.paste(tile, (x, y))
        draw.rectangle((x - 1, y - 1, x + TILE, y + TILE), outline=(200, 200, 200))
        caption = _fit(draw, f.caption, 18, TILE)
        tw = draw.textlength(caption, font=font(18))
        draw.text((x + (TILE - tw) / 2, y + TILE + 6), caption, font=font(18), fill=(60, 60, 60))
    return sheet


def sheet_paths(folder: Path, stem: str, pages: int) -> list[Path]:
    """``<stem> - contact sheet.jpg`` (numbered when there are several pages), skipping names a
    photo link already uses."""
    out: list[Path] = []
    n = 0
    while len(out) < pages:
        n += 1
        label = "" if pages == 1 and n == 1 else f" {n}"
        path = folder / f"{stem} - contact sheet{label}.jpg"
        if os.path.islink(path):
            continue
        out.append(path)
    return out


def write_sheets(
    folder: Path,
    stem: str,
    name: str,
    faces: list[SheetFace],
    thumbnail: Callable[[int], bytes | None],
) -> list[Path]:
    """Write the contact sheet page(s) of one person into ``folder``; returns their paths."""
    if not faces:
        return []
    pages = math.ceil(len(faces) / PER_PAGE)
    written = []
    for page, path in enumerate(sheet_paths(folder, stem, pages), start=1):
        chunk = faces[(page - 1) * PER_PAGE : page * PER_PAGE]
        tiles = face_tiles(chunk, thumbnail)
        image = render_page(name, len(faces), page, pages, chunk, tiles)
        fd, tmp = tempfile.mkstemp(prefix=".sheet.", suffix=".jpg", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                image.save(out, format="JPEG", quality=QUALITY, dpi=(150, 150))
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        written.append(path)
    return written
