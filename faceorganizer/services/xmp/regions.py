"""Face regions in XMP: read from a photo and its sidecars, written to the sidecar only.

The XMP toolkit (python-exiv2, its lock, and how sidecars are named) is ``xmp.toolkit``.
Photos are only ever opened for reading; a sidecar is written to a temporary file beside it and
renamed over it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from faceorganizer.core import regions as geo
from faceorganizer.core.regions import FaceRegion, NormBox
from faceorganizer.services.xmp.toolkit import (
    FO_PREFIX,
    SidecarError,
    sidecar_candidates,
    sidecar_target,
)
from faceorganizer.services.xmp.toolkit import exiv2_lock as _exiv2_lock

log = logging.getLogger(__name__)

_REGIONS = "Xmp.mwg-rs.Regions"
_LIST = f"{_REGIONS}/mwg-rs:RegionList"
_MWG_ITEM = re.compile(re.escape(_LIST) + r"\[(\d+)\](?:/(.*))?$")
_MP_ITEM = re.compile(r"Xmp\.MP\.RegionInfo/MPRI:Regions\[(\d+)\]/(.*)$")
_LANG = re.compile(r'^lang="[^"]*"\s?')


def photo_orientation(photo_path: str) -> int:
    """The photo's EXIF orientation as our decoder applies it (PIL, header only); 1 when the
    file has none or cannot be read."""
    from PIL import Image

    try:
        with Image.open(photo_path) as im:
            return geo.valid_orientation(im.getexif().get(0x0112, 1))
    except Exception:
        return 1


# reading


def _text(value: str) -> str:
    return _LANG.sub("", value).strip()


def _float(fields: dict[str, str], key: str) -> float | None:
    try:
        return float(fields[key])
    except (KeyError, ValueError):
        return None


def _flat(xmp: Any) -> dict[str, str]:
    """Every XMP property as flat exiv2 key -> text (copied out while the lock is held)."""
    return {d.key(): d.toString() for d in xmp}


def _mwg_regions(flat: dict[str, str]) -> list[tuple[int, dict[str, str]]]:
    items: dict[int, dict[str, str]] = defaultdict(dict)
    for key, value in flat.items():
        m = _MWG_ITEM.match(key)
        if m:
            items[int(m.group(1))][m.group(2) or ""] = value
    return sorted(items.items())


def _mwg_box(fields: dict[str, str], applied: tuple[float, float] | None) -> NormBox | None:
    x, y, w, h = (_float(fields, f"mwg-rs:Area/stArea:{k}") for k in "xywh")
    if x is None or y is None or w is None or h is None or w <= 0 or h <= 0:
        return None
    unit = fields.get("mwg-rs:Area/stArea:unit", "normalized").strip().lower()
    if unit == "pixel":
        if not applied or applied[0] <= 0 or applied[1] <= 0:
            return None
        x, w = x / applied[0], w / applied[0]
        y, h = y / applied[1], h / applied[1]
    elif unit not in ("normalized", "normalised", ""):
        return None
    return geo.from_centre(x, y, w, h)


def _parse(flat: dict[str, str], source: str, orientation: int) -> list[FaceRegion]:
    """Face regions (MWG, then Microsoft's where no MWG region covers them) of one packet."""
    found: list[FaceRegion] = []
    applied = None
    aw = _float(flat, f"{_REGIONS}/mwg-rs:AppliedToDimensions/stDim:w")
    ah = _float(flat, f"{_REGIONS}/mwg-rs:AppliedToDimensions/stDim:h")
    if aw and ah:
        applied = (aw, ah)
    for _i, fields in _mwg_regions(flat):
        kind = _text(fields.get("mwg-rs:Type", "")) or "Face"
        stored = _mwg_box(fields, applied)
        box = geo.clip(stored) if stored else None
        if box is None:
            continue
        name = _text(fields.get("mwg-rs:Name", "")) or None
        ours = any(k.startswith(f"mwg-rs:Extensions/{FO_PREFIX}:") for k in fields)
        flag = _text(fields.get(f"mwg-rs:Extensions/{FO_PREFIX}:Confirmed", "True"))
        upright = geo.stored_to_upright(box, orientation)
        confirmed = not ours or flag.lower() != "false"
        found.append(FaceRegion(name, upright, source, "mwg", kind, ours, confirmed))
    mp: dict[int, dict[str, str]] = defaultdict(dict)
    for key, value in flat.items():
        m = _MP_ITEM.match(key)
        if m:
            mp[int(m.group(1))][m.group(2)] = value
    for _i, fields in sorted(mp.items()):
        try:
            x, y, w, h = (float(v) for v in fields.get("MPReg:Rectangle", "").split(","))
        except ValueError:
            continue
        box = geo.clip(geo.from_corner(x, y, w, h)) if w > 0 and h > 0 else None
        if box is None:
            continue
        upright = geo.stored_to_upright(box, orientation)
        if any(geo.same_face_score(r.box, upright) > 0 for r in found if r.scheme == "mwg"):
            continue
        name = _text(fields.get("MPReg:PersonDisplayName", "")) or None
        found.append(FaceRegion(name, upright, source, "mp"))
    return found


def _read_packet(source: str, data: bytes | str) -> dict[str, str]:
    with _exiv2_lock() as exiv2:
        try:
            image = exiv2.ImageFactory.open(data)
            image.readMetadata()
            return _flat(image.xmpData())
        except exiv2.Exiv2Error as exc:
            raise SidecarError(f"cannot read XMP of {source}: {exc}") from None


@dataclass
class PhotoRegions:
    """The face regions found for one photo, and the files that could not be read."""

    regions: list[FaceRegion] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def read_regions(photo_path: str, orientation: int | None = None) -> PhotoRegions:
    """Face regions of a photo from its sidecars and the photo itself, upright-normalised.

    A region is taken from the most specific place that has it: ``photo.jpg.xmp``, then
    ``photo.xmp``, then the XMP embedded in the photo; a region overlapping one taken from a more
    specific place is a copy of it and is skipped. Regions of other kinds (pets, focus areas)
    are left out.
    """
    if orientation is None:
        orientation = photo_orientation(photo_path)
    out = PhotoRegions()
    sources: list[tuple[str, bytes | str]] = []
    for path in sidecar_candidates(photo_path):
        try:
            with open(path, "rb") as f:
                sources.append((path, f.read()))
        except FileNotFoundError:
            continue
        except OSError as exc:
            out.errors.append(f"cannot read {path}: {exc.strerror or exc}")
    sources.append((photo_path, photo_path))
    for source, data in sources:
        try:
            flat = _read_packet(source, data)
        except SidecarError as exc:
            if source != photo_path:
                out.errors.append(str(exc))
            else:
                log.debug("%s", exc)
            continue
        taken = list(out.regions)  # from more specific places
        for r in _parse(flat, source, orientation):
            if r.kind.lower() != "face":
                continue
            if any(geo.same_face_score(t.box, r.box) > 0 for t in taken):
                continue
            out.regions.append(r)
    return out


# writing


@dataclass(frozen=True)
class NamedFace:
    """A face to write: its library id, name and box in pixels of the upright photo."""

    face_id: int
    name: str
    box: tuple[float, float, float, float]
    confirmed: bool = False


@dataclass(frozen=True)
class SidecarWrite:
    """What writing one sidecar did: ``written`` faces of ours, regions of other apps ``kept``,
    regions of other apps on our faces ``replaced`` (with their names), ``changed`` False when
    the file already said exactly this."""

    path: str
    written: int
    kept: int
    replaced: tuple[str, ...] = ()
    changed: bool = True


def _format(v: float) -> str:
    return f"{min(max(v, 0.0), 1.0):.6f}"


def _build(
    exiv2: Any,
    old: Any,
    faces: list[NamedFace],
    upright_size: tuple[int, int],
    orientation: int,
) -> tuple[Any, int, tuple[str, ...]]:
    """A new XmpData: everything of ``old`` but its MWG regions, then the regions kept (other
    apps', not on our faces) and ours."""
    flat = _flat(old) if old is not None else {}
    w, h = upright_size
    ours: list[tuple[NamedFace, NormBox]] = []
    for f in faces:
        box = geo.clip(geo.to_normalised(f.box, w, h))
        if box is not None:
            ours.append((f, geo.upright_to_stored(box, orientation)))
    items = _mwg_regions(flat)
    applied = None
    aw = _float(flat, f"{_REGIONS}/mwg-rs:AppliedToDimensions/stDim:w")
    ah = _float(flat, f"{_REGIONS}/mwg-rs:AppliedToDimensions/stDim:h")
    if aw and ah:
        applied = (aw, ah)
    keep: list[int] = []
    replaced: list[str] = []
    for index, fields in items:
        if any(k.startswith(f"mwg-rs:Extensions/{FO_PREFIX}:") for k in fields):
            continue
        kind = (_text(fields.get("mwg-rs:Type", "")) or "Face").lower()
        box = _mwg_box(fields, applied)
        hit = [f for f, b in ours if box is not None and geo.same_face_score(box, b) > 0]
        if kind == "face" and hit:
            name = _text(fields.get("mwg-rs:Name", ""))
            if name and name.casefold() != hit[0].name.casefold():
                replaced.append(name)
            continue
        keep.append(index)
    new = exiv2.XmpData()
    kept_values: dict[int, list[tuple[str, Any]]] = defaultdict(list)
    if old is not None:
        for d in old:
            key = d.key()
            if not key.startswith(_REGIONS):
                new.add(exiv2.XmpKey(key), d.getValue())
                continue
            m = _MWG_ITEM.match(key)
            if m and int(m.group(1)) in keep:
                kept_values[int(m.group(1))].append((m.group(2) or "", d.getValue()))
    if not keep and not ours:
        return new, 0, tuple(replaced)
    struct = exiv2.XmpTextValue()
    struct.setXmpStruct()
    bag = exiv2.XmpTextValue()
    bag.setXmpArrayType(exiv2.XmpValue.XmpArrayType.xaBag)
    sw, sh = geo.stored_size(w, h, orientation)
    new.add(exiv2.XmpKey(_REGIONS), struct)
    dims = f"{_REGIONS}/mwg-rs:AppliedToDimensions"
    new.add(exiv2.XmpKey(dims), struct)
    new[f"{dims}/stDim:w"] = str(sw)
    new[f"{dims}/stDim:h"] = str(sh)
    new[f"{dims}/stDim:unit"] = "pixel"
    new.add(exiv2.XmpKey(_LIST), bag)
    n = 0
    for index in keep:
        n += 1
        for suffix, value in kept_values[index]:
            key = f"{_LIST}[{n}]" + (f"/{suffix}" if suffix else "")
            new.add(exiv2.XmpKey(key), value)
    for face, box in ours:
        n += 1
        item = f"{_LIST}[{n}]"
        new.add(exiv2.XmpKey(item), struct)
        new[f"{item}/mwg-rs:Name"] = face.name
        new[f"{item}/mwg-rs:Type"] = "Face"
        new.add(exiv2.XmpKey(f"{item}/mwg-rs:Area"), struct)
        x, y, bw, bh = geo.to_centre(box)
        for k, v in (("x", x), ("y", y), ("w", bw), ("h", bh)):
            new[f"{item}/mwg-rs:Area/stArea:{k}"] = _format(v)
        new[f"{item}/mwg-rs:Area/stArea:unit"] = "normalized"
        new.add(exiv2.XmpKey(f"{item}/mwg-rs:Extensions"), struct)
        new[f"{item}/mwg-rs:Extensions/{FO_PREFIX}:FaceId"] = str(face.face_id)
        new[f"{item}/mwg-rs:Extensions/{FO_PREFIX}:Confirmed"] = (
            "True" if face.confirmed else "False"
        )
    return new, len(keep), tuple(replaced)


def _atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename, so a
    crash leaves the old sidecar or the new one, never half of one."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_regions(
    photo_path: str,
    faces: list[NamedFace],
    upright_size: tuple[int, int],
    orientation: int | None = None,
) -> SidecarWrite | None:
    """Make the photo's sidecar (``sidecar_target``) hold exactly ``faces`` as our MWG regions.

    Every other property of an existing sidecar stays; regions of other apps stay unless they
    sit on one of our faces (those are replaced, their names reported); regions we wrote before
    are replaced. No sidecar is created for a photo without named faces, and one left with nothing
    is removed (it held only our regions). Raises SidecarError when
    an existing sidecar cannot be read (it is then left alone) or the folder cannot be written.
    """
    if orientation is None:
        orientation = photo_orientation(photo_path)
    path = sidecar_target(photo_path)
    try:
        with open(path, "rb") as f:
            before: bytes | None = f.read()
    except FileNotFoundError:
        before = None
    except OSError as exc:
        raise SidecarError(f"cannot read {path}: {exc.strerror or exc}") from None
    if before is None and not faces:
        return None
    with _exiv2_lock() as exiv2:
        try:
            holder = None
            old = None
            if before is not None:
                holder = exiv2.ImageFactory.open(before)
                holder.readMetadata()
                old = holder.xmpData()
            new, kept, replaced = _build(exiv2, old, faces, upright_size, orientation)
            rc, packet = exiv2.XmpParser.encode(new)
        except exiv2.Exiv2Error as exc:
            raise SidecarError(f"cannot update {path}: {exc}") from None
    if rc != 0:
        raise SidecarError(f"cannot update {path}: the XMP toolkit failed ({rc})")
    data = packet.encode("utf-8")
    if before == data:
        return SidecarWrite(path, len(faces), kept, replaced, changed=False)
    try:
        if data.strip():
            _atomic_write(path, data)
        elif before is not None:
            os.unlink(path)  # it held nothing but our regions, and those are gone
    except OSError as exc:
        raise SidecarError(f"cannot write {path}: {exc.strerror or exc}") from None
    for name in replaced:
        log.info("%s: replaced a region named %r written by another app", path, name)
    return SidecarWrite(path, len(faces), kept, replaced)
