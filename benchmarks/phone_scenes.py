"""Phone-sized test photos with faces at known places, made from the shared test photos.

Each photo is a 4032x3024 scene (a shared photograph enlarged to fill the frame, its own faces
blurred away, light sensor noise) with LFW faces pasted at known boxes and sizes (face width
in the photo's pixels). The truth box of a pasted face is the face's detection box in its LFW
crop, scaled and moved with the paste, so "found" compares like with like.

Used by ``benchmarks/phone_photos.py`` and by ``tests/core/test_phone_photos.py``; nothing is ever
written inside the repository.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from faceorganizer.core.regions import iou

REPO = Path(__file__).resolve().parents[1]
FACES_DIR = Path(os.environ.get("FACEORGANIZER_TEST_FACES", REPO.parent / "shared/data/faces"))
PHONE_SIZE = (4032, 3024)
BANDS = ((60, 99), (100, 149), (150, 299), (300, 600))
SCENE_KINDS = ("photo", "group")


@dataclass(frozen=True)
class PastedFace:
    """A face pasted into a generated photo: its truth box in the photo's pixels."""

    source: str
    box: tuple[float, float, float, float]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]


@dataclass(frozen=True)
class PhonePhoto:
    path: str
    faces: tuple[PastedFace, ...]


def band_names() -> list[str]:
    return [f"{lo}-{hi}" for lo, hi in BANDS[:-1]] + [f">={BANDS[-1][0]}"]


def band_of(width: float) -> str:
    """The size band of a face ``width`` px wide ("<60" below the first)."""
    name = "<60"
    for (lo, _), band in zip(BANDS, band_names(), strict=True):
        if width >= lo:
            name = band
    return name


def _manifest(faces_dir: Path) -> list[dict[str, str]]:
    with open(faces_dir / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


class FaceLocator:
    """Finds the labelled face of an LFW crop (nearest the centre) with our detector at full
    resolution, and the faces of a scene photo (to blur them away)."""

    def __init__(self) -> None:
        from faceorganizer.core.detection import Detector

        self.detector = Detector("cpu", detect_side=None, min_score=0.5)
        self.scene_detector = Detector("cpu", detect_side=1024, min_score=0.5)

    def lfw_face(self, rgb: np.ndarray) -> tuple[float, float, float, float] | None:
        faces = self.detector.detect([rgb])[0]
        c = np.array([rgb.shape[1] / 2, rgb.shape[0] / 2])
        best = None
        for f in faces:
            centre = np.array([(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2])
            d = float(np.linalg.norm(centre - c))
            if f.score >= 0.95 and f.size >= 60 and (best is None or d < best[0]):
                best = (d, f.box)
        return None if best is None or best[0] > 40 else best[1]

    def all_faces(self, rgb: np.ndarray) -> list[tuple[float, float, float, float]]:
        return [f.box for f in self.scene_detector.detect([rgb])[0]]


def _tile(
    path: Path, locator: FaceLocator, size: tuple[int, int], rng: random.Random
) -> Image.Image:
    """A shared photo with its faces blurred away, enlarged and cropped to ``size``."""
    with Image.open(path) as im:
        im = im.convert("RGB")
    if im.height > im.width:
        im = im.rotate(90, expand=True)
    for x0, y0, x1, y1 in locator.all_faces(np.asarray(im)):
        pad = 0.35 * max(x1 - x0, y1 - y0)
        box = (
            max(0, int(x0 - pad)),
            max(0, int(y0 - pad)),
            min(im.width, int(x1 + pad)),
            min(im.height, int(y1 + pad)),
        )
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            continue
        region = im.crop(box)
        small = region.resize((max(1, region.width // 12), max(1, region.height // 12)))
        blurred = small.resize(region.size, Image.Resampling.BILINEAR)
        im.paste(blurred.filter(ImageFilter.GaussianBlur(max(2, region.width // 10))), box)
    w, h = size
    scale = max(w / im.width, h / im.height)
    big = im.resize((round(im.width * scale) + 1, round(im.height * scale) + 1), Image.BICUBIC)
    left = rng.randint(0, big.width - w)
    top = rng.randint(0, big.height - h)
    return big.crop((left, top, left + w, top + h))


def _scene(paths: list[Path], locator: FaceLocator, rng: random.Random) -> Image.Image:
    """A 4032x3024 scene: four shared photos (faces blurred away) in a 2x2 mosaic."""
    w, h = PHONE_SIZE
    scene = Image.new("RGB", PHONE_SIZE)
    for k, path in enumerate(paths[:4]):
        tile = _tile(path, locator, (w // 2, h // 2), rng)
        scene.paste(tile, ((k % 2) * (w // 2), (k // 2) * (h // 2)))
    return scene


def _place(
    size: float, taken: list[tuple[float, float, float, float]], rng: random.Random
) -> tuple[float, float] | None:
    """Top-left of a face of ``size`` px that keeps clear of ``taken`` boxes and the edges."""
    w, h = PHONE_SIZE
    for _ in range(200):
        x = rng.uniform(0.6 * size, w - 1.6 * size)
        y = rng.uniform(0.6 * size, h - 1.6 * size)
        box = (x - 0.5 * size, y - 0.5 * size, x + 1.5 * size, y + 1.5 * size)
        if all(box[2] < t[0] or box[0] > t[2] or box[3] < t[1] or box[1] > t[3] for t in taken):
            taken.append(box)
            return x, y
    return None


def _paste_face(
    scene: Image.Image, crop: Image.Image, face: tuple[float, ...], width: float, at: tuple
) -> tuple[float, float, float, float]:
    """Paste the face region of an LFW crop so that its face box is ``width`` px wide with its
    top-left at ``at``; soft elliptical edges. Returns the pasted face's truth box."""
    x0, y0, x1, y1 = face
    f = width / (x1 - x0)
    margin = 0.45 * (x1 - x0)
    region = (
        max(0.0, x0 - margin),
        max(0.0, y0 - margin),
        min(crop.width, x1 + margin),
        min(crop.height, y1 + margin),
    )
    rw, rh = round((region[2] - region[0]) * f), round((region[3] - region[1]) * f)
    part = crop.resize((rw, rh), Image.Resampling.BICUBIC, box=region)
    mask = Image.new("L", (rw, rh), 0)
    inset = 0.06 * min(rw, rh)
    ImageDraw.Draw(mask).ellipse((inset, inset, rw - inset, rh - inset), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(max(1.0, 0.05 * min(rw, rh))))
    left = at[0] - (x0 - region[0]) * f
    top = at[1] - (y0 - region[1]) * f
    scene.paste(part, (round(left), round(top)), mask)
    dx, dy = round(left) - left, round(top) - top
    return (at[0] + dx, at[1] + dy, at[0] + dx + width, at[1] + dy + (y1 - y0) * f)


def build_photos(
    out_dir: Path,
    count: int,
    *,
    seed: int = 0,
    faces_per_photo: tuple[int, int] = (2, 5),
    widths: Sequence[tuple[float, float]] | None = None,
    heic: bool = True,
    faces_dir: Path = FACES_DIR,
    quality: int = 90,
    heic_quality: int | None = None,
    noise: float = 3.0,
) -> list[PhonePhoto]:
    """Write ``count`` phone photos (``NNN.jpg`` at ``quality`` and, with ``heic``,
    ``heic/NNN.heic`` at ``heic_quality``, default ``HEIC_QUALITY``) under ``out_dir`` and
    ``truth.json`` listing each face; returns the JPEG photos' truth.

    Face widths are drawn band by band from ``widths`` (default: the four size bands from
    60 to 600 px, in turn, each uniformly).
    """
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = _manifest(faces_dir)
    scenes = sorted(
        (r for r in rows if r["kind"] in SCENE_KINDS and int(r["width"]) * int(r["height"]) > 4e5),
        key=lambda r: r["relpath"],
    )
    lfw = sorted(r["relpath"] for r in rows if r["kind"] == "lfw_crop")
    rng.shuffle(scenes)
    rng.shuffle(lfw)
    locator = FaceLocator()
    bands = list(widths or BANDS)
    photos: list[PhonePhoto] = []
    lfw_iter = iter(lfw)
    band_turn = 0
    for n in range(count):
        picks = [scenes[(4 * n + k) % len(scenes)]["relpath"] for k in range(4)]
        scene = _scene([faces_dir / p for p in picks], locator, rng)
        taken: list[tuple[float, float, float, float]] = []
        faces: list[PastedFace] = []
        for _ in range(rng.randint(*faces_per_photo)):
            lo, hi = bands[band_turn % len(bands)]
            band_turn += 1
            width = rng.uniform(lo, hi)
            at = _place(width, taken, rng)
            if at is None:
                continue
            while True:
                rel = next(lfw_iter)
                with Image.open(faces_dir / rel) as im:
                    crop = im.convert("RGB")
                face = locator.lfw_face(np.asarray(crop))
                if face is not None:
                    break
            box = _paste_face(scene, crop, face, width, at)
            faces.append(PastedFace(rel, tuple(round(v, 2) for v in box)))  # type: ignore[arg-type]
        arr = np.asarray(scene, dtype=np.int16)
        if noise:
            arr = arr + nprng.normal(0, noise, arr.shape).round().astype(np.int16)
        image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        path = out_dir / f"{n:03d}.jpg"
        image.save(path, quality=quality)
        if heic:
            save_heic(image, out_dir / "heic" / f"{n:03d}.heic", heic_quality)
        photos.append(PhonePhoto(str(path), tuple(faces)))
    (out_dir / "truth.json").write_text(json.dumps([asdict(p) for p in photos], indent=1))
    return photos


# x265's fastest preset keeps the scenes' added sensor noise: at quality 90 a 12 MP scene is a
# 7.8 MB HEIC, five times the JPEG at quality 90 and four times what a phone writes (1.5-2.5 MB),
# and HEVC decoding time grows with the bits (1.16 s of CPU against 0.61 s at quality 60, where
# it is as large as the JPEG: 1.6 MB).
HEIC_QUALITY = 60


def save_heic(image: Image.Image, path: Path, quality: int | None = None) -> None:
    """A HEIC copy laid out as phones write them: a grid of 512x512 HEVC tiles (which libheif
    decodes in parallel), phone-sized (``HEIC_QUALITY``); x265 at its fastest preset (12 MP
    otherwise takes ~30 s to encode)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(
        path,
        format="HEIF",
        quality=HEIC_QUALITY if quality is None else quality,
        enc_params={"preset": "ultrafast"},
        grid_tile_size=512,
    )


def read_truth(out_dir: Path) -> list[PhonePhoto]:
    data = json.loads((out_dir / "truth.json").read_text())
    return [
        PhonePhoto(p["path"], tuple(PastedFace(f["source"], tuple(f["box"])) for f in p["faces"]))
        for p in data
    ]


FOUND_IOU = 0.4


def matched(truth: Sequence[PastedFace], boxes: Sequence[Sequence[float]]) -> list[bool]:
    """For each truth face, whether a found box overlaps it (IoU >= 0.4, one box per face)."""
    used: set[int] = set()
    out = []
    for face in truth:
        best, best_j = 0.0, -1
        for j, b in enumerate(boxes):
            if j not in used and (o := iou(face.box, b)) > best:
                best, best_j = o, j
        ok = best >= FOUND_IOU
        if ok:
            used.add(best_j)
        out.append(ok)
    return out
