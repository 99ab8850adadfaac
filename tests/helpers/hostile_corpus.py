"""A generated corpus of hostile files and file-system cases, mixed with good photos (never
stored in the repo: built from the shared test photos on each run).

Every case says what a scan must make of it:

- ``faces``: a good photo in an awkward form (wrong extension, CMYK, 16-bit, a broken EXIF...):
  read, with at least one face;
- ``ok``: readable but holds no face (1x1, a 20000x50 strip): read, no error;
- ``listed``: cannot be read or is not a photo file (truncated, a pipe, a broken link...): one
  row with a short human reason, never opened twice;
- ``none``: no row of its own (a hidden file, a link to a photo already there, a folder link
  loop, our own export).

Sidecars are files too (``SIDECARS``): a good photo with a hostile ``photo.jpg.xmp`` or
``photo.xmp`` beside it (a pipe, a link to a device, thousands of regions, numbers that are not
numbers, names with line breaks or formulas) is read with its faces, and the sidecar is refused
with its file named and the reason (``Case.sidecar``, ``Case.says``).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from faceorganizer.services.scan.files import EXPORT_MARK, stored_path
from tests.helpers.needs import needs

# A uid no user namespace maps: as root, a folder owned by it with mode 000 is unreadable to
# a scan run inside ``unshare --user --map-root-user`` (root's DAC override ends there).
FOREIGN_UID = 54321


class _Fresh:
    """A fresh copy of a source image on every access (PIL keeps encoder settings on an image
    after a save, and they break the next save in another format)."""

    def __init__(self, images: list[Image.Image]) -> None:
        self.images = images

    def __getitem__(self, i: int) -> Image.Image:
        return self.images[i].copy()


@dataclass(frozen=True)
class Case:
    kind: str
    expect: str  # faces | ok | listed | none
    path: Path | None  # the photo row it must give (None: no row of its own)
    sidecar: Path | None = None  # a hostile sidecar of the photo, refused by name ...
    says: str = ""  # ... with this in the reason


# Names other apps may write into sidecars; they arrive as data (one line, never a formula).
NEWLINE_NAME = "Line1&#10;Line2"
FORMULA_NAME = '=HYPERLINK("http://evil.example/?x","click")'
# A file name that would set the terminal's title and clear the screen if printed raw.
ESCAPE_NAME = "\x1b]0;pwned\x07\x1b[2J.jpg"


def sidecar_xmp(
    regions: list[tuple[str, dict[str, str]]], dims: dict[str, str] | None = None
) -> bytes:
    """An XMP sidecar with MWG face regions: (name, stArea attributes) each."""
    items = "".join(
        f'<rdf:li><rdf:Description mwg-rs:Name="{name}" mwg-rs:Type="Face"><mwg-rs:Area '
        + " ".join(f'stArea:{k}="{v}"' for k, v in area.items())
        + "/></rdf:Description></rdf:li>"
        for name, area in regions
    )
    applied = ""
    if dims is not None:
        applied = (
            "<mwg-rs:AppliedToDimensions "
            + " ".join(f'stDim:{k}="{v}"' for k, v in dims.items())
            + "/>"
        )
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
        'xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#" '
        'xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#">'
        f'<mwg-rs:Regions rdf:parseType="Resource">{applied}<mwg-rs:RegionList><rdf:Bag>{items}'
        "</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions></rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def area(x: str = "0.5", y: str = "0.47", w: str = "0.4", h: str = "0.48") -> dict[str, str]:
    return {"x": x, "y": y, "w": w, "h": h, "unit": "normalized"}


def png_streamed(width: int, height: int, depth: int, color: int, path: Path) -> None:
    """A PNG of ``width`` x ``height`` black pixels written row by row (a file of a few hundred
    KB that decodes to hundreds of MB), without holding the image in memory."""
    channels = {0: 1, 2: 3, 3: 1, 6: 4}[color]
    row = b"\x00" + bytes(width * channels * depth // 8)
    z = zlib.compressobj(6)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)))
        if color == 3:
            f.write(_chunk(b"PLTE", bytes(3 * 256)))
        rows = row * 64
        data = b"".join(z.compress(rows) for _ in range(height // 64))
        data += z.compress(row * (height % 64)) + z.flush()
        f.write(_chunk(b"IDAT", data))
        f.write(_chunk(b"IEND", b""))


def unshare_works() -> bool:
    """Whether an unprivileged user namespace can be made here (root's files stay readable)."""
    try:
        done = subprocess.run(
            ["unshare", "--user", "--map-root-user", "true"], capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@needs("real_model")  # a CLI process that scans with the real engine
def scan_command(argv: list[str]) -> list[str]:
    """``argv`` run where permissions bite: as root, inside a user namespace."""
    if os.geteuid() == 0:
        return ["unshare", "--user", "--map-root-user", *argv]
    return argv


def can_deny_access() -> bool:
    return os.geteuid() != 0 or unshare_works()


def _jpeg(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.copy().save(buf, "JPEG", quality=92, **kw)  # a copy: saving leaves settings on the image
    return buf.getvalue()


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` (a decompression bomb's shape)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    sig = b"\x89PNG\r\n\x1a\n"
    return sig + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _with_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """``jpeg`` with one more APPn segment right after SOI."""
    seg = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + seg + jpeg[2:]


def build(dest: Path, faces: list[Path]) -> list[Case]:
    """Write the corpus under ``dest`` from photos with faces (``faces``, at least 8)."""
    rng = np.random.default_rng(13)
    dest.mkdir(parents=True)
    cases: list[Case] = []
    originals = [Image.open(p).convert("RGB") for p in faces[:8]]
    src = _Fresh(originals)
    face = src[0]

    def put(kind: str, expect: str, rel: str, data: bytes | None = None) -> Path:
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is not None:
            path.write_bytes(data)
        cases.append(Case(kind, expect, path))
        return path

    # good photos, as they are
    for i, p in enumerate(faces):
        put(f"good photo {i}", "faces", f"good/{p.parent.name}_{p.name}", p.read_bytes())

    # good photos in awkward forms
    put("PNG named .jpg", "faces", "forms/png_named.jpg", _png(src[1]))
    put("JPEG named .png", "faces", "forms/jpeg_named.png", _jpeg(src[2]))
    put("CMYK JPEG", "faces", "forms/cmyk.jpg", _jpeg(src[3].convert("CMYK")))
    put("grayscale JPEG", "faces", "forms/gray.jpg", _jpeg(src[4].convert("L")))
    gray16 = np.asarray(src[5].convert("L")).astype(np.uint16) * 257
    put("16-bit PNG", "faces", "forms/gray16.png", _png(Image.fromarray(gray16)))
    palette = src[6].convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
    put("palette PNG", "faces", "forms/palette.png", _png(palette))
    rgba = src[7].copy()
    rgba.putalpha(220)
    put("RGBA PNG", "faces", "forms/alpha.png", _png(rgba))
    buf = io.BytesIO()
    face.save(buf, "GIF", save_all=True, append_images=[src[1], src[2]], duration=100, loop=0)
    put("animated GIF", "faces", "forms/animated.gif", buf.getvalue())
    buf = io.BytesIO()
    src[1].save(buf, "TIFF", save_all=True, append_images=[src[2]])
    put("multi-page TIFF", "faces", "forms/pages.tif", buf.getvalue())
    gray = np.asarray(src[2].convert("L")).astype(np.float32) / 255.0
    buf = io.BytesIO()
    Image.fromarray(gray, mode="F").save(buf, "TIFF")
    put("float TIFF", "faces", "forms/float.tif", buf.getvalue())
    exif_junk = b"Exif\x00\x00II*\x00" + struct.pack("<I", 0x7FFFFFF0) + rng.bytes(300)
    put(
        "corrupt EXIF", "faces", "forms/bad_exif.jpg", _with_segment(_jpeg(src[3]), 0xE1, exif_junk)
    )
    exif = Image.Exif()
    exif[0x0112] = 9  # no such orientation
    put("EXIF orientation 9", "faces", "forms/orientation9.jpg", _jpeg(src[4], exif=exif))
    put("huge ICC profile", "faces", "forms/icc.jpg", _jpeg(src[5], icc_profile=rng.bytes(2 << 20)))
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>" + b"<a>" * 21000
    data = _jpeg(src[6])
    for _ in range(8):
        data = _with_segment(data, 0xE1, xmp[:65000])
    put("huge XMP segments", "faces", "forms/xmp.jpg", data)
    put("trailing garbage", "faces", "forms/trailing.jpg", _jpeg(src[7]) + rng.bytes(1 << 20))
    put("progressive JPEG", "faces", "forms/progressive.jpg", _jpeg(src[1], progressive=True))
    buf = io.BytesIO()
    src[2].save(buf, "WEBP", quality=90)
    put("WebP", "faces", "forms/photo.webp", buf.getvalue())
    buf = io.BytesIO()
    src[3].save(buf, "BMP")
    put("BMP", "faces", "forms/photo.bmp", buf.getvalue())
    put("upper-case extension", "faces", "forms/UPPER.JPG", _jpeg(src[4]))
    put("folder named like a photo", "faces", "forms/album.jpg/inside.jpg", _jpeg(src[5]))

    # names
    raw = os.fsencode(dest / "names") + b"/bad\xff\xfe name.jpg"
    (dest / "names").mkdir()
    Path(os.fsdecode(raw)).write_bytes(_jpeg(src[6]))
    cases.append(Case("non-UTF-8 name", "faces", Path(os.fsdecode(raw))))
    put("newline in name", "faces", "names/two\nlines.jpg", _jpeg(src[7]))
    put("250-character name", "faces", "names/" + "n" * 246 + ".jpg", _jpeg(src[1]))
    put("unicode and spaces", "faces", "names/Zoë å 😀 photo.jpg", _jpeg(src[2]))
    deep = "/".join(f"d{i}" for i in range(40))
    put("40-deep folders", "faces", f"{deep}/deep.jpg", _jpeg(src[3]))

    # readable, nothing to find
    put("1x1 image", "ok", "small/one_pixel.png", _png(Image.new("RGB", (1, 1), "white")))
    put("20000x50 strip", "ok", "small/strip.png", _png(Image.new("RGB", (20000, 50), "gray")))
    put("1-bit image", "ok", "small/bits.png", _png(src[4].convert("1")))

    # unreadable files
    good = _jpeg(src[5])
    put("zero bytes", "listed", "bad/empty.jpg", b"")
    put("truncated JPEG", "listed", "bad/half.jpg", good[: len(good) // 2])
    put("JPEG header only", "listed", "bad/header.jpg", good[:700])
    put("text named .jpg", "listed", "bad/text.jpg", b"just some text, not a photo\n")
    put("HTML named .png", "listed", "bad/page.png", b"<!doctype html><html></html>\n")
    put("decompression bomb", "listed", "bad/bomb.png", _png_declaring(50000, 50000))
    png = bytearray(_png(src[6]))
    png[29] ^= 0xFF  # a byte of IHDR's CRC
    put("PNG with a bad CRC", "listed", "bad/crc.png", bytes(png))
    gif = io.BytesIO()
    src[7].save(gif, "GIF")
    put("truncated GIF", "listed", "bad/cut.gif", gif.getvalue()[:30])
    webp = io.BytesIO()
    src[1].save(webp, "WEBP")
    put("truncated WebP", "listed", "bad/cut.webp", webp.getvalue()[:40])
    tiff = b"II*\x00" + struct.pack("<I", 1 << 30) + rng.bytes(64)
    put("TIFF with a bad IFD", "listed", "bad/ifd.tif", tiff)
    put("BMP with a bad header", "listed", "bad/header.bmp", b"BM" + rng.bytes(60))
    put("random bytes named .heic", "listed", "bad/noise.heic", rng.bytes(4096))
    put("broken JPEG XL", "listed", "bad/photo.jxl", b"\xff\x0a" + rng.bytes(2048))

    # not regular files
    fifo = put("FIFO named .jpg", "listed", "special/pipe.jpg")
    os.mkfifo(fifo)
    sock_path = put("socket named .jpg", "listed", "special/sock.jpg")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock_path))
    os.symlink("/dev/zero", put("link to /dev/zero", "listed", "special/zero.jpg"))
    os.symlink("nowhere.jpg", put("dangling link", "listed", "special/dangling.jpg"))
    loop_a = put("file link loop", "listed", "special/loop_a.jpg")
    os.symlink("loop_b.jpg", loop_a)
    os.symlink("loop_a.jpg", put("file link loop (other end)", "listed", "special/loop_b.jpg"))

    # the same photo again, or no photo at all
    target = dest / "good" / f"{faces[0].parent.name}_{faces[0].name}"
    (dest / "links").mkdir()
    os.symlink(target, dest / "links/linked.jpg")
    cases.append(Case("link to a photo", "none", None))
    os.link(target, dest / "links/hardlinked.jpg")
    cases.append(Case("hard link to a photo", "none", None))
    os.symlink("..", dest / "links/up_loop")
    cases.append(Case("folder link loop", "none", None))
    os.symlink(dest / "forms", dest / "links/forms_again")
    cases.append(Case("second link to a folder", "none", None))
    (dest / "links/.hidden.jpg").write_bytes(good)
    cases.append(Case("hidden file", "none", None))
    (dest / "links/notes.txt").write_text("not a photo\n")
    cases.append(Case("not a photo type", "none", None))
    export = dest / "exported/Someone"
    export.mkdir(parents=True)
    (export / EXPORT_MARK).write_text("FaceOrganizer export\n")
    os.symlink(target, export / "photo.jpg")
    shutil.copyfile(target, export / "copy.jpg")
    cases.append(Case("our own export", "none", None))

    _sidecar_cases(dest, src, put, cases)
    _large_images(dest, src, put, rng)

    # an unreadable photo whose name would drive the terminal if printed raw
    put("escape sequence in a name", "faces", "names/" + ESCAPE_NAME, _jpeg(src[3]))
    put("escape sequence in a bad file's name", "listed", "bad/" + ESCAPE_NAME, b"not a photo\n")

    # a folder link to a folder above the scanned one: never walked (the whole disk)
    os.symlink("/", dest / "links/to_root")
    cases.append(Case("folder link to /", "listed", dest / "links/to_root"))

    # permissions (where they can be made to bite)
    if can_deny_access():
        locked = put("unreadable file", "listed", "locked/secret.jpg", _jpeg(src[2]))
        folder = dest / "locked/closed"
        folder.mkdir()
        (folder / "inside.jpg").write_bytes(_jpeg(src[3]))
        cases.append(Case("unreadable folder", "listed", folder))
        for p in (locked, folder):
            if os.geteuid() == 0:
                os.chown(p, FOREIGN_UID, FOREIGN_UID)
            os.chmod(p, 0)
    return cases


def _sidecar_cases(dest: Path, src: _Fresh, put, cases: list[Case]) -> None:  # type: ignore[no-untyped-def]
    """Good photos, each with a hostile sidecar (the photo's case carries the sidecar)."""
    hostile: list[tuple[str, str, str, bytes | None, str]] = [
        # kind, photo, sidecar name, content (None: made below), what the refusal says
        ("FIFO named photo.jpg.xmp", "fifo1.jpg", "fifo1.jpg.xmp", None, "a pipe (FIFO)"),
        ("FIFO named photo.xmp", "fifo2.jpg", "fifo2.xmp", None, "a pipe (FIFO)"),
        ("sidecar link to /dev/zero", "zero.jpg", "zero.jpg.xmp", None, "a device"),
        ("sidecar link to /dev/urandom", "random.jpg", "random.xmp", None, "a device"),
        ("2,000 face regions", "many.jpg", "many.jpg.xmp",
         sidecar_xmp([(f"P{i}", area("0.5", "0.5", "0.01", "0.01")) for i in range(2000)]),
         "2000 face regions"),
        ("100,000 face regions", "lots.jpg", "lots.jpg.xmp",
         sidecar_xmp([(f"P{i}", area("0.5", "0.5", "0.01", "0.01")) for i in range(100_000)]),
         "too large for a sidecar"),
        ("NaN in a region", "nan.jpg", "nan.jpg.xmp",
         sidecar_xmp([("Nan Person", area(x="nan"))]), "'nan', not a number"),
        ("inf in a region", "inf.jpg", "inf.jpg.xmp",
         sidecar_xmp([("Inf Person", area(w="inf"))]), "'inf', not a number"),
        ("NaN in AppliedToDimensions", "nandim.jpg", "nandim.jpg.xmp",
         sidecar_xmp([("Dim Person", {"x": "125", "y": "120", "w": "100", "h": "120",
                                      "unit": "pixel"})], {"w": "nan", "h": "250"}),
         "'nan', not a number"),
        ("a 1e-320 region", "tiny.jpg", "tiny.jpg.xmp",
         sidecar_xmp([("Tiny Person", area(w="1e-320", h="1e-320"))]), "too small to be a face"),
        ("a region outside the photo", "outside.jpg", "outside.jpg.xmp",
         sidecar_xmp([("Far Person", area(x="7", y="9"))]), "outside the photo"),
        ("a region larger than the photo", "wide.jpg", "wide.jpg.xmp",
         sidecar_xmp([("Wide Person", area(w="1e308"))]), "larger than the photo"),
        ("not XML named .xmp", "garbage.jpg", "garbage.jpg.xmp", b"\x00\x01 <<not xml",
         "not valid XMP"),
        ("a character XML forbids", "escape.jpg", "escape.jpg.xmp",
         sidecar_xmp([("Esc&#27;Person", area())]), "not valid XMP"),
        ("name with a line break", "newline.jpg", "newline.jpg.xmp",
         sidecar_xmp([(NEWLINE_NAME, area())]), ""),
        ("name that is a formula", "formula.jpg", "formula.jpg.xmp",
         sidecar_xmp([(FORMULA_NAME.replace('"', "&quot;"), area())]), ""),
    ]  # fmt: skip
    for i, (kind, photo, name, data, says) in enumerate(hostile):
        path = put(f"sidecar: {kind}", "faces", f"xmp/{photo}", _jpeg(src[i % 8]))
        cases.pop()
        sidecar = path.parent / name
        if data is not None:
            sidecar.write_bytes(data)
        elif "FIFO" in kind:
            os.mkfifo(sidecar)
        else:
            os.symlink("/dev/zero" if "zero" in kind else "/dev/urandom", sidecar)
        cases.append(Case(f"sidecar: {kind}", "faces", path, sidecar if says else None, says))


def _large_images(dest: Path, src: _Fresh, put, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    """Small files that decode large, and metadata PIL refuses by default."""
    (dest / "large").mkdir()
    # 380 KB that decode to 392 MB (16-bit): read within the decoded-memory cap
    png_streamed(14000, 14000, 16, 0, put("14000x14000 16-bit gray PNG", "ok", "large/g16.png"))
    # 208 MP of 8-bit RGB (832 MB in memory): refused from its header, never decoded
    png_streamed(16000, 13000, 8, 2, put("16000x13000 RGB PNG", "listed", "large/rgb.png"))
    # a palette image of 196 MP: converted a strip at a time
    png_streamed(14000, 14000, 8, 3, put("14000x14000 palette PNG", "ok", "large/pal.png"))
    # a valid PNG with 2.5 MB of compressed text (Photoshop's metadata does this)
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("XML:com.adobe.xmp", rng.bytes(1_300_000).hex(), zip=True)
    buf = io.BytesIO()
    src[4].save(buf, "PNG", pnginfo=info)
    put("PNG with 2.6 MB of compressed text", "faces", "large/text.png", buf.getvalue())
    # 400 pages: only the first is ever decoded
    buf = io.BytesIO()
    pages = [Image.new("RGB", (16, 16), (i % 256, 0, 0)) for i in range(400)]
    src[5].save(buf, "TIFF", save_all=True, append_images=pages)
    put("TIFF of 401 pages", "faces", "large/pages.tif", buf.getvalue())


def expected_rows(cases: list[Case]) -> dict[str, Case]:
    """The photo rows the corpus must give, by stored path."""
    out = {}
    for c in cases:
        if c.path is not None:
            stored = stored_path(os.path.normpath(str(c.path)))
            assert stored is not None
            out[stored] = c
    return out


def restore_access(dest: Path) -> None:
    """Make every file removable again (after the test)."""
    for folder in (dest / "locked", dest / "locked/closed"):
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o755)
    with contextlib.suppress(OSError):
        os.chmod(dest / "locked/secret.jpg", 0o644)
