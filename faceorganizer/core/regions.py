"""Face regions as other photo apps store them, and their geometry against EXIF orientation.

MWG regions (``mwg-rs:Area``) give a normalised centre and size; Microsoft's (``MPReg:Rectangle``)
a normalised top-left corner and size. Both are relative to the image *as stored*, before its
EXIF orientation is applied ("Region metadata is applied to the stored image. When applying a
rotation by applying Exif Orientation, the rotation must be applied to the regions as well",
MWG Guidelines for Handling Image Metadata 2.0, 5.9). The library keeps boxes in pixels of the
upright photo, so every region is turned through the photo's orientation on the way in, and back
on the way out. ``AppliedToDimensions`` only names the image the region was drawn on; normalised
values do not depend on it, so it is written (stored pixel size) but not trusted when read: tools
that rotate regions are known to leave it as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Normalised box: (x0, y0, x1, y1), each in 0..1 of the image's width/height.
NormBox = tuple[float, float, float, float]

# EXIF orientation -> how a normalised point (x, y) of the stored image lands on the upright one.
# 1 as stored, 2 mirrored, 3 turned 180, 4 flipped, 5 transposed, 6 turned 90 clockwise,
# 7 transversed, 8 turned 90 anticlockwise (the rotation a viewer applies to show it upright).
_TO_UPRIGHT = {
    1: lambda x, y: (x, y),
    2: lambda x, y: (1.0 - x, y),
    3: lambda x, y: (1.0 - x, 1.0 - y),
    4: lambda x, y: (x, 1.0 - y),
    5: lambda x, y: (y, x),
    6: lambda x, y: (1.0 - y, x),
    7: lambda x, y: (1.0 - y, 1.0 - x),
    8: lambda x, y: (y, 1.0 - x),
}
# The inverse of each orientation's map: 6 and 8 undo each other, the others undo themselves.
_INVERSE = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def valid_orientation(value: object) -> int:
    """An EXIF orientation 1..8; anything else (missing, garbage) counts as 1."""
    try:
        o = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 1
    return o if 1 <= o <= 8 else 1


def swaps_sides(orientation: int) -> bool:
    """Orientations 5..8 turn the photo a quarter: stored width is upright height."""
    return valid_orientation(orientation) >= 5


def _map_box(box: NormBox, orientation: int) -> NormBox:
    fn = _TO_UPRIGHT[valid_orientation(orientation)]
    ax, ay = fn(box[0], box[1])
    bx, by = fn(box[2], box[3])
    return (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))


def stored_to_upright(box: NormBox, orientation: int) -> NormBox:
    """A normalised box of the stored image as a normalised box of the upright photo."""
    return _map_box(box, orientation)


def upright_to_stored(box: NormBox, orientation: int) -> NormBox:
    """A normalised box of the upright photo as a normalised box of the stored image."""
    return _map_box(box, _INVERSE[valid_orientation(orientation)])


def stored_size(upright_width: int, upright_height: int, orientation: int) -> tuple[int, int]:
    """The stored image's pixel size from the upright photo's size."""
    if swaps_sides(orientation):
        return upright_height, upright_width
    return upright_width, upright_height


def clip(box: NormBox) -> NormBox | None:
    """``box`` clipped to the image; None when nothing of it is left."""
    x0, y0, x1, y1 = (min(max(v, 0.0), 1.0) for v in box)
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1, y1)


def from_centre(x: float, y: float, w: float, h: float) -> NormBox:
    """An MWG ``stArea`` (centre and size) as a normalised box."""
    return (x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0)


def to_centre(box: NormBox) -> tuple[float, float, float, float]:
    """A normalised box as MWG ``stArea`` values: centre x, centre y, width, height."""
    x0, y0, x1, y1 = box
    return ((x0 + x1) / 2.0, (y0 + y1) / 2.0, x1 - x0, y1 - y0)


def from_corner(x: float, y: float, w: float, h: float) -> NormBox:
    """A Microsoft ``MPReg:Rectangle`` (top-left corner and size) as a normalised box."""
    return (x, y, x + w, y + h)


def to_pixels(box: NormBox, width: int, height: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return (x0 * width, y0 * height, x1 * width, y1 * height)


def to_normalised(box: tuple[float, float, float, float], width: int, height: int) -> NormBox:
    x0, y0, x1, y1 = box
    return (x0 / width, y0 / height, x1 / width, y1 / height)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes in the same units."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _centre_inside(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    cx, cy = (a[0] + a[2]) / 2.0, (a[1] + a[3]) / 2.0
    return b[0] <= cx <= b[2] and b[1] <= cy <= b[3]


# A region and a detected face are the same face when they overlap this much (IoU), or when each
# one's centre lies inside the other: people draw regions around the head and hair, the detector
# boxes the face alone, so a good hand-drawn region can overlap a detection by IoU 0.3 or less.
SAME_FACE_IOU = 0.3


def same_face_score(region: tuple[float, ...], face: tuple[float, ...]) -> float:
    """How well a region covers a detected face (0: not the same face); higher is better."""
    overlap = iou(region, face)
    if overlap >= SAME_FACE_IOU:
        return overlap
    if overlap > 0 and _centre_inside(region, face) and _centre_inside(face, region):
        return overlap
    return 0.0


def match(
    regions: Sequence[tuple[float, ...]], faces: Sequence[tuple[float, ...]]
) -> dict[int, int]:
    """One-to-one pairs {region index: face index}, best overlaps first (boxes in one unit)."""
    pairs = sorted(
        (
            (s, i, j)
            for i, r in enumerate(regions)
            for j, f in enumerate(faces)
            if (s := same_face_score(r, f)) > 0
        ),
        reverse=True,
    )
    used_r: set[int] = set()
    used_f: set[int] = set()
    out: dict[int, int] = {}
    for _s, i, j in pairs:
        if i in used_r or j in used_f:
            continue
        used_r.add(i)
        used_f.add(j)
        out[i] = j
    return out


@dataclass(frozen=True)
class FaceRegion:
    """One named (or unnamed) face region read from a photo or its sidecar.

    ``box`` is normalised to the *upright* photo (orientation already applied); ``source`` says
    where it was found (a sidecar path or the photo itself) and ``scheme`` which standard wrote it
    (``mwg`` or ``mp``); ``ours`` is set on regions FaceOrganizer wrote, and ``confirmed`` is
    False on those it wrote for a face the user never confirmed (grouped automatically).
    """

    name: str | None
    box: NormBox
    source: str
    scheme: str
    kind: str = "Face"
    ours: bool = False
    confirmed: bool = True
