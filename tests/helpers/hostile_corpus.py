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
