"""Helpers for the XMP tests: exiftool as the independent reader and writer, and PIL as the
independent oracle for EXIF orientation (never our own geometry)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

# How PIL turns a stored image upright (ImageOps.exif_transpose), and the transposition that
# undoes it (tests/core/test_regions.py checks our geometry against exif_transpose itself).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
UNDO = {**UPRIGHT, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}

Box = tuple[float, float, float, float]


def exiftool() -> str:
    found = shutil.which("exiftool")
    if not found:
        pytest.fail("exiftool is missing: apt-get install libimage-exiftool-perl (.ci/run does)")
    return found


def run_exiftool(*args: str) -> str:
    done = subprocess.run([exiftool(), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"exiftool {args}: {done.stderr}")
    return done.stdout


def read_with_exiftool(path: Path) -> dict:
    return json.loads(
        run_exiftool("-j", "-struct", "-n", "-RegionInfo", "-RegionInfoMP", str(path))
    )[0]


def _mask_box(size: tuple[int, int], box: Box, method: Image.Transpose | None) -> Box:
    """Draw ``box`` (pixels) into a mask of ``size``, transpose it with PIL, return its bbox."""
    mask = Image.new("L", size, 0)
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    mask.paste(255, (x0, y0, x1, y1))
    if method is not None:
        mask = mask.transpose(method)
    found = mask.getbbox()
    assert found is not None
    return tuple(float(v) for v in found)  # type: ignore[return-value]


def stored_box(
    upright_size: tuple[int, int], box: Box, orientation: int
) -> tuple[Box, tuple[int, int]]:
    """(pixel box in the stored image, stored size) of an upright pixel box, by PIL."""
    w, h = upright_size
    method = UNDO.get(orientation)
    stored = (h, w) if orientation >= 5 else (w, h)
    return _mask_box(upright_size, box, method), stored


def mwg_area(box: Box, size: tuple[int, int]) -> dict[str, float]:
    """An MWG area (normalised centre and size) of a pixel box in an image of ``size``."""
    w, h = size
    return {
        "X": (box[0] + box[2]) / 2 / w,
        "Y": (box[1] + box[3]) / 2 / h,
        "W": (box[2] - box[0]) / w,
        "H": (box[3] - box[1]) / h,
    }


def grow(box: Box, factor: float, size: tuple[int, int]) -> Box:
    """``box`` enlarged about its centre (as a person draws a region around a head)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    hw, hh = (box[2] - box[0]) * factor / 2, (box[3] - box[1]) * factor / 2
    return (max(0, cx - hw), max(0, cy - hh), min(size[0], cx + hw), min(size[1], cy + hh))


def region_info(stored_size: tuple[int, int], regions: list[tuple[str, Box, str]]) -> str:
    """An exiftool ``-RegionInfo=`` value: (name, stored pixel box, type) per region."""
    items = []
    for name, box, kind in regions:
        a = mwg_area(box, stored_size)
        items.append(
            f"{{Area={{X={a['X']:.6f},Y={a['Y']:.6f},W={a['W']:.6f},H={a['H']:.6f},"
            f"Unit=normalized}},Name={name},Type={kind}}}"
        )
    w, h = stored_size
    return f"{{AppliedToDimensions={{W={w},H={h},Unit=pixel}},RegionList=[{','.join(items)}]}}"


def region_info_mp(stored_size: tuple[int, int], regions: list[tuple[str, Box]]) -> str:
    """An exiftool ``-RegionInfoMP=`` value (top-left corner and size; commas escaped)."""
    w, h = stored_size
    items = []
    for name, box in regions:
        x, y = box[0] / w, box[1] / h
        rw, rh = (box[2] - box[0]) / w, (box[3] - box[1]) / h
        items.append(
            f"{{PersonDisplayName={name},Rectangle={x:.6f}|, {y:.6f}|, {rw:.6f}|, {rh:.6f}}}"
        )
    return f"{{Regions=[{','.join(items)}]}}"


def close_boxes(a: Box, b: Box, tol: float) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))
