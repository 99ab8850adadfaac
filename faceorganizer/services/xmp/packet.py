"""XMP face regions from a packet's properties (flat exiv2 keys -> text, as
``services.xmp.regions`` reads them): MWG regions, then Microsoft's where no MWG region covers
them, each checked before it is taken.

Values come from files other apps (or anyone) wrote: a number that is not finite (``nan``,
``inf``), a box outside the photo, larger than it or too small to be a face, or more than
``MAX_REGIONS`` regions in one packet are refused with a reason (said to the user with the
file's name), never taken and never allowed to stop a scan.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict

from faceorganizer.core import regions as geo
from faceorganizer.core.regions import FaceRegion, NormBox
from faceorganizer.services.xmp.toolkit import FO_PREFIX

REGIONS = "Xmp.mwg-rs.Regions"
REGION_LIST = f"{REGIONS}/mwg-rs:RegionList"
MWG_ITEM = re.compile(re.escape(REGION_LIST) + r"\[(\d+)\](?:/(.*))?$")
MP_ITEM = re.compile(r"Xmp\.MP\.RegionInfo/MPRI:Regions\[(\d+)\]/(.*)$")
_LANG = re.compile(r'^lang="[^"]*"\s?')

# Face regions one photo's XMP may hold: a team photo has dozens; each region may become a face
# (cut and embedded) and a person, so thousands of them are refused, not worked through.
MAX_REGIONS = 200
MIN_SIDE = 1e-4  # of a region, as a share of the photo's side
MAX_SIDE = 1.01  # the whole side, and some rounding of the app that wrote it


def clean_text(value: str) -> str:
    return _LANG.sub("", value).strip()


def _float(
    fields: dict[str, str], key: str, problems: list[str] | None = None, where: str = ""
) -> float | None:
    """A finite number, or None (missing, or not a finite number: said in ``problems``)."""
    raw = fields.get(key)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if math.isfinite(value):
        return value
    if problems is not None:
        problems.append(f"{where}{key.rsplit('/', 1)[-1]} is {raw[:24]!r}, not a number")
    return None


def mwg_regions(flat: dict[str, str]) -> list[tuple[int, dict[str, str]]]:
    items: dict[int, dict[str, str]] = defaultdict(dict)
    for key, value in flat.items():
        m = MWG_ITEM.match(key)
        if m:
            items[int(m.group(1))][m.group(2) or ""] = value
    return sorted(items.items())


def _unit(fields: dict[str, str]) -> str:
    return fields.get("mwg-rs:Area/stArea:unit", "normalized").strip().lower()


def mwg_box(
    fields: dict[str, str],
    applied: tuple[float, float] | None,
    problems: list[str] | None = None,
    where: str = "",
    dims_why: str = "",
) -> NormBox | None:
    """A region's box in normalised units; a box in pixels needs valid AppliedToDimensions
    (``dims_why``: what is wrong with them, for the message)."""
    x, y, w, h = (_float(fields, f"mwg-rs:Area/stArea:{k}", problems, where) for k in "xywh")
    if x is None or y is None or w is None or h is None:
        return None
    if w <= 0 or h <= 0:
        if problems is not None:
            problems.append(f"{where}its width or height is not above 0")
        return None
    unit = _unit(fields)
    if unit == "pixel":
        if not applied or applied[0] <= 0 or applied[1] <= 0:
            if problems is not None:
                problems.append(
                    f"{where}in pixels, but AppliedToDimensions is not valid ({dims_why}): "
                    "not taken"
                    if dims_why
                    else f"{where}in pixels, without AppliedToDimensions to measure them: not taken"
                )
            return None
        x, w = x / applied[0], w / applied[0]
        y, h = y / applied[1], h / applied[1]
    elif unit not in ("normalized", "normalised", ""):
        return None
    if w > MAX_SIDE or h > MAX_SIDE:
        if problems is not None:
            problems.append(f"{where}it is larger than the photo")
        return None
    return geo.from_centre(x, y, w, h)


def applied_dims(flat: dict[str, str], problems: list[str] | None) -> tuple[float, float] | None:
    """The size the regions were drawn on, if valid; what is wrong with a value present but not
    valid goes to ``problems`` (without the file: the caller says what follows from it)."""
    dims = f"{REGIONS}/mwg-rs:AppliedToDimensions"
    aw = _float(flat, f"{dims}/stDim:w", problems)
    ah = _float(flat, f"{dims}/stDim:h", problems)
    for key, value in (("w", aw), ("h", ah)):
        if value is not None and value <= 0 and problems is not None:
            problems.append(f"stDim:{key} is {value:g}, not above 0")
    return (aw, ah) if aw is not None and ah is not None and aw > 0 and ah > 0 else None


def _in_photo(box: NormBox | None, problems: list[str], where: str) -> NormBox | None:
    """``box`` clipped to the photo; None (said in ``problems``) when it is outside it or too
    small to be a face."""
    if box is None:
        return None
    clipped = geo.clip(box)
    if min(box[2] - box[0], box[3] - box[1]) < MIN_SIDE:
        problems.append(f"{where}it is too small to be a face")
        return None
    if clipped is None:
        problems.append(f"{where}it lies outside the photo")
    elif min(clipped[2] - clipped[0], clipped[3] - clipped[1]) < MIN_SIDE:
        problems.append(f"{where}it is too small to be a face")
        return None
    return clipped


def parse_regions(
    flat: dict[str, str], source: str, orientation: int, problems: list[str]
) -> list[FaceRegion]:
    """Face regions of one packet: MWG's, then Microsoft's; regions that cannot be taken are
    said in ``problems``. Where the packet has MWG regions they win (as in Immich, digiKam and
    Lightroom): a Microsoft region only adds a name MWG lacks, at a place no MWG region covers.
    Apps write the two kinds in different frames of a rotated photo, so a Microsoft copy of an
    MWG region can land elsewhere."""
    found: list[FaceRegion] = []
    mwg = mwg_regions(flat)
    mp: dict[int, dict[str, str]] = defaultdict(dict)
    for key, value in flat.items():
        m = MP_ITEM.match(key)
        if m:
            mp[int(m.group(1))][m.group(2)] = value
    if len(mwg) + len(mp) > MAX_REGIONS:
        problems.append(
            f"{len(mwg) + len(mp)} face regions, more than the {MAX_REGIONS} a photo may hold: "
            "none of them read"
        )
        return []
    bad_dims: list[str] = []
    applied = applied_dims(flat, bad_dims)
    dims_why = "; ".join(bad_dims)
    said_at, own_units = len(problems), False
    for i, fields in mwg:
        kind = clean_text(fields.get("mwg-rs:Type", "")) or "Face"
        where = f"face region {i}: "
        box = _in_photo(mwg_box(fields, applied, problems, where, dims_why), problems, where)
        if box is None:
            continue
        own_units = own_units or _unit(fields) != "pixel"
        name = clean_text(fields.get("mwg-rs:Name", "")) or None
        ours = any(k.startswith(f"mwg-rs:Extensions/{FO_PREFIX}:") for k in fields)
        flag = clean_text(fields.get(f"mwg-rs:Extensions/{FO_PREFIX}:Confirmed", "True"))
        upright = geo.stored_to_upright(box, orientation)
        confirmed = not ours or flag.lower() != "false"
        found.append(FaceRegion(name, upright, source, "mwg", kind, ours, confirmed))
    if dims_why and own_units:  # said once, before what it meant for single regions
        problems.insert(
            said_at,
            f"ignored its AppliedToDimensions ({dims_why}): the regions' own normalised units "
            "are used",
        )
    mwg_found = list(found)
    mwg_names = {r.name.casefold() for r in mwg_found if r.name}
    for i, fields in sorted(mp.items()):
        where = f"face region {i} (Microsoft): "
        try:
            x, y, w, h = (float(v) for v in fields.get("MPReg:Rectangle", "").split(","))
        except ValueError:
            continue
        if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
            problems.append(f"{where}its rectangle is not four finite numbers")
            continue
        if w > MAX_SIDE or h > MAX_SIDE:
            problems.append(f"{where}it is larger than the photo")
            continue
        box = _in_photo(geo.from_corner(x, y, w, h), problems, where)
        if box is None:
            continue
        upright = geo.stored_to_upright(box, orientation)
        name = clean_text(fields.get("MPReg:PersonDisplayName", "")) or None
        if mwg_found and (name is None or name.casefold() in mwg_names):
            continue
        if any(geo.same_face_score(r.box, upright) > 0 for r in mwg_found):
            continue
        found.append(FaceRegion(name, upright, source, "mp"))
    return found
