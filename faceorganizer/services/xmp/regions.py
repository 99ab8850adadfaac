"""Face regions in XMP: read from a photo and its sidecars, written to the sidecar only.

The XMP toolkit (python-exiv2, its lock, and how sidecars are named) is ``xmp.toolkit``.
Photos are only ever opened for reading (through ``core.reader``: regular files only); a sidecar
is read within a size cap and written through ``core.writer`` (a temporary file renamed over it,
never through a link). A packet with more than ``MAX_REGIONS`` regions, or a region whose numbers
are not finite or lie outside the photo, is reported (file and reason) and not taken.
"""

from __future__ import annotations

import errno
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from faceorganizer.core import regions as geo
from faceorganizer.core.reader import ReadRefused, open_file, read_file, reopenable
from faceorganizer.core.regions import FaceRegion, NormBox
from faceorganizer.core.writer import WriteRefused, reason_of, write_file
from faceorganizer.services.xmp.packet import (
    MWG_ITEM,
    REGION_LIST,
    REGIONS,
    applied_dims,
    clean_text,
    mwg_box,
    mwg_regions,
    parse_regions,
)
from faceorganizer.services.xmp.toolkit import (
    FO_PREFIX,
    SidecarError,
    parse_failed,
    sidecar_candidates,
    sidecar_target,
)
from faceorganizer.services.xmp.toolkit import exiv2_lock as _exiv2_lock

log = logging.getLogger(__name__)


def photo_orientation(photo_path: str) -> int:
    """The photo's EXIF orientation as our decoder applies it (PIL, header only); 1 when the
    file has none or cannot be read."""
    from PIL import Image

    try:
        with open_file(photo_path, "photo") as f, Image.open(f) as im:
            return geo.valid_orientation(im.getexif().get(0x0112, 1))
    except Exception:
        return 1


# reading


def _flat(xmp: Any) -> dict[str, str]:
    """Every XMP property as flat exiv2 key -> text (copied out while the lock is held)."""
    return {d.key(): d.toString() for d in xmp}


def _read_packet(source: str, data: bytes | str) -> dict[str, str]:
    with _exiv2_lock() as exiv2:
        try:
            image = exiv2.ImageFactory.open(data)
            image.readMetadata()
            if parse_failed():
                raise SidecarError(f"cannot read {source}: {_toolkit_reason(None)}", damaged=True)
            return _flat(image.xmpData())
        except exiv2.Exiv2Error as exc:
            log.info("XMP of %s: %s", source, exc)
            raise SidecarError(f"cannot read {source}: {_toolkit_reason(exc)}") from None


def _toolkit_reason(exc: Exception | None) -> str:
    """The XMP toolkit's error as a reason a user can read (its own words go to the log)."""
    return "not valid XMP (damaged, or not an XMP file)"


def _photo_packet(photo_path: str) -> dict[str, str]:
    """The XMP embedded in the photo, read by exiv2 from the very file ``core.reader`` checked
    (a regular file: a pipe or a device in the photo's place is never handed to exiv2)."""
    try:
        with open_file(photo_path, "photo") as f:
            return _read_packet(photo_path, reopenable(f, photo_path))
    except SidecarError as exc:
        if exc.damaged:
            message = f"cannot read the XMP inside {photo_path}: damaged, not valid XMP"
            raise SidecarError(message, damaged=True) from None
        raise
    except ReadRefused as exc:
        raise SidecarError(f"cannot read {photo_path}: {exc.reason}", refused=True) from None
    except OSError as exc:
        raise SidecarError(f"cannot read {photo_path}: {exc}") from None


@dataclass
class PhotoRegions:
    """The face regions found for one photo, and the files that could not be read."""

    regions: list[FaceRegion] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def read_regions(photo_path: str, orientation: int | None = None) -> PhotoRegions:
    """Face regions of a photo from its sidecars and the photo itself, upright-normalised.

    A region is taken from the most specific place that has it: ``photo.jpg.xmp``, then
    ``photo.xmp``, then the XMP embedded in the photo; a region overlapping one taken from a more
    specific place is a copy of it and is skipped. A name is taken once: one person has one
    face in a photo, so a later region of a name already taken (elsewhere, or twice in one
    list) is left out. Regions of other kinds (pets, focus areas) are left out.
    """
    if orientation is None:
        orientation = photo_orientation(photo_path)
    out = PhotoRegions()
    sources: list[tuple[str, bytes | None]] = []
    for path in sidecar_candidates(photo_path):
        try:
            data = read_file(path, "sidecar")
        except FileNotFoundError:
            continue
        except ReadRefused as exc:
            out.errors.append(f"cannot read {path}: {exc.reason}")
            continue
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG:  # a name too long for the disk holds no file
                out.errors.append(f"cannot read {path}: {reason_of(exc)}")
            continue
        if data.strip():
            sources.append((path, data))
    sources.append((photo_path, None))
    names: set[str] = set()
    for source, packet in sources:
        try:
            flat = _read_packet(source, packet) if packet is not None else _photo_packet(source)
        except SidecarError as exc:
            if packet is not None or exc.refused or exc.damaged:
                out.errors.append(str(exc))
            else:
                log.debug("%s", exc)
            continue
        taken = list(out.regions)  # from more specific places
        problems: list[str] = []
        parsed = parse_regions(flat, source, orientation, problems)
        out.errors.extend(f"{source}: {p}" for p in problems)
        for r in parsed:
            if r.kind.lower() != "face":
                continue
            if any(geo.same_face_score(t.box, r.box) > 0 for t in taken):
                continue
            if r.name and r.name.casefold() in names:
                log.info("%s: a second region named %r left out", source, r.name)
                continue
            if r.name:
                names.add(r.name.casefold())
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
    items = mwg_regions(flat)
    applied = applied_dims(flat, None)
    keep: list[int] = []
    replaced: list[str] = []
    for index, fields in items:
        if any(k.startswith(f"mwg-rs:Extensions/{FO_PREFIX}:") for k in fields):
            continue
        kind = (clean_text(fields.get("mwg-rs:Type", "")) or "Face").lower()
        box = mwg_box(fields, applied)
        hit = [f for f, b in ours if box is not None and geo.same_face_score(box, b) > 0]
        if kind == "face" and hit:
            name = clean_text(fields.get("mwg-rs:Name", ""))
            if name and name.casefold() != hit[0].name.casefold():
                replaced.append(name)
            continue
        keep.append(index)
    new = exiv2.XmpData()
    kept_values: dict[int, list[tuple[str, Any]]] = defaultdict(list)
    if old is not None:
        for d in old:
            key = d.key()
            if not key.startswith(REGIONS):
                new.add(exiv2.XmpKey(key), d.getValue())
                continue
            m = MWG_ITEM.match(key)
            if m and int(m.group(1)) in keep:
                kept_values[int(m.group(1))].append((m.group(2) or "", d.getValue()))
    if not keep and not ours:
        return new, 0, tuple(replaced)
    struct = exiv2.XmpTextValue()
    struct.setXmpStruct()
    bag = exiv2.XmpTextValue()
    bag.setXmpArrayType(exiv2.XmpValue.XmpArrayType.xaBag)
    sw, sh = geo.stored_size(w, h, orientation)
    new.add(exiv2.XmpKey(REGIONS), struct)
    dims = f"{REGIONS}/mwg-rs:AppliedToDimensions"
    new.add(exiv2.XmpKey(dims), struct)
    new[f"{dims}/stDim:w"] = str(sw)
    new[f"{dims}/stDim:h"] = str(sh)
    new[f"{dims}/stDim:unit"] = "pixel"
    new.add(exiv2.XmpKey(REGION_LIST), bag)
    n = 0
    for index in keep:
        n += 1
        for suffix, value in kept_values[index]:
            key = f"{REGION_LIST}[{n}]" + (f"/{suffix}" if suffix else "")
            new.add(exiv2.XmpKey(key), value)
    for face, box in ours:
        n += 1
        item = f"{REGION_LIST}[{n}]"
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
    before: bytes | None
    try:
        before = read_file(path, "sidecar")
    except FileNotFoundError:
        before = None
    except ReadRefused as exc:
        raise SidecarError(f"cannot update {path}: {exc.reason}") from None
    except OSError as exc:
        raise SidecarError(f"cannot update {path}: {reason_of(exc)}") from None
    if before is None and not faces:
        return None
    with _exiv2_lock() as exiv2:
        try:
            holder = None
            old = None
            if before is not None and before.strip():
                holder = exiv2.ImageFactory.open(before)
                holder.readMetadata()
                if parse_failed():  # left alone: what other apps keep there would be lost
                    raise SidecarError(f"cannot update {path}: {_toolkit_reason(None)}")
                old = holder.xmpData()
            new, kept, replaced = _build(exiv2, old, faces, upright_size, orientation)
            rc, packet = exiv2.XmpParser.encode(new)
        except exiv2.Exiv2Error as exc:
            log.info("XMP of %s: %s", path, exc)
            raise SidecarError(f"cannot update {path}: {_toolkit_reason(exc)}") from None
    if rc != 0:
        raise SidecarError(f"cannot update {path}: the XMP toolkit failed ({rc})")
    data = packet.encode("utf-8")
    if before == data:
        return SidecarWrite(path, len(faces), kept, replaced, changed=False)
    try:
        if data.strip():
            write_file(path, data, replace=True)
        elif before is not None:
            os.unlink(path)  # it held nothing but our regions, and those are gone
    except WriteRefused as exc:
        raise SidecarError(str(exc)) from None
    except OSError as exc:
        raise SidecarError(f"cannot write {path}: {exc.strerror or exc}") from None
    for name in replaced:
        log.info("%s: replaced a region named %r written by another app", path, name)
    return SidecarWrite(path, len(faces), kept, replaced)
