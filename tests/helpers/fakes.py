"""Fakes for the fast tier: a detector and an embedder plugged into the real ``FaceEngine``
through its ``detector=``/``embedder=`` seams, and generated "photos" they understand.

A fake photo is a grey PNG with coloured squares; each square is a face and its colour is who it
is. The fake detector finds the squares (box, score, five landmarks inside the box), the fake
embedder gives every colour its own fixed random direction, slightly perturbed per photo, so the
real scanner, storage, clustering, edits, search and CLI run unchanged in a few seconds, with no
shared photos and no model weights.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from faceorganizer.core.models.base import Embedder
from faceorganizer.core.models.registry import MODELS
from faceorganizer.core.pipeline import FaceEngine
from faceorganizer.core.types import Detection

SPEC = replace(MODELS["dlib-resnet-v1"], display_name="fake colour embedder")
BACKGROUND = (128, 128, 128)
TEXTURE = 18  # +- per channel of the squares' checkerboard (keeps every colour in 0..255)
PALETTE: dict[str, tuple[int, int, int]] = {
    "ann": (220, 30, 30),
    "bob": (30, 200, 40),
    "cid": (40, 60, 230),
    "dee": (230, 200, 20),
    "eve": (200, 40, 220),
    "fay": (20, 210, 210),
}
# A look-alike: dee's direction is ann's plus a fixed deviation (cosine about 0.92), so a search
# for ann finds dee at a middling percentage, as strangers who resemble someone do.
LOOKALIKES = {"dee": ("ann", 0.42)}


class FakeDetector:
    """Finds saturated squares in an RGB array; the ``Detector`` interface the engine uses."""

    detect_side: int | None = None
    batch_size = 1

    def detect(self, images: list[np.ndarray]) -> list[list[Detection]]:
        return [self._detect_one(img) for img in images]

    def _detect_one(self, img: np.ndarray) -> list[Detection]:
        spread = img.max(axis=2).astype(int) - img.min(axis=2).astype(int)
        labels, n = ndimage.label(spread > 60)
        found = []
        for sl in ndimage.find_objects(labels):
            if sl is None:
                continue
            y0, y1, x0, x1 = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
            if min(x1 - x0, y1 - y0) < 8:
                continue
            w, h = x1 - x0, y1 - y0
            points = [(0.3, 0.35), (0.7, 0.35), (0.5, 0.55), (0.35, 0.75), (0.65, 0.75)]
            landmarks = np.array([(x0 + a * w, y0 + b * h) for a, b in points], np.float32)
            box = (float(x0), float(y0), float(x1), float(y1))
            found.append(Detection(box=box, score=0.999, landmarks=landmarks))
        return found


def _direction(key: bytes, dims: int) -> np.ndarray:
    v = np.random.default_rng(zlib.crc32(key)).normal(size=dims)
    return v / np.linalg.norm(v)


def _key(rgb: Sequence[float]) -> bytes:
    return bytes(int(round(c / 32.0)) for c in rgb)


def colour_vector(rgb: Sequence[float], dims: int = SPEC.dims) -> np.ndarray:
    """The unit direction of a colour (quantised, so JPEG noise does not change who it is)."""
    key = _key(rgb)
    for name, (twin, spread) in LOOKALIKES.items():
        if key == _key(PALETTE[name]):
            v = _direction(_key(PALETTE[twin]), dims) + spread * _direction(key, dims)
            return (v / np.linalg.norm(v)).astype(np.float32)
    return _direction(key, dims).astype(np.float32)


class FakeEmbedder(Embedder):
    """Chips are the mean colour of each box (and a per-photo jitter seed); vectors are the
    colour's direction plus a little noise, so one person's faces are close, not identical."""

    def __init__(self, noise: float = 0.05) -> None:
        super().__init__(SPEC, torch.device("cpu"))
        self.noise = noise

    def prepare(self, image: np.ndarray, detections: list[Detection]) -> torch.Tensor:
        rows = []
        for d in detections:
            x0, y0, x1, y1 = (int(v) for v in d.box)
            colour = image[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
            seed = float(zlib.crc32(image[::7, ::7].tobytes()) % 10_000)
            rows.append([*colour, seed, x0, y0])
        return torch.tensor(rows, dtype=torch.float32).reshape(-1, 6)

    def embed(self, chips: torch.Tensor) -> np.ndarray:
        out = np.empty((len(chips), self.spec.dims), np.float32)
        for i, row in enumerate(chips.numpy()):
            base = colour_vector(row[:3])
            jitter = np.random.default_rng(int(row[3] * 1000 + row[4] + row[5])).normal(
                size=self.spec.dims
            )
            v = base + self.noise * jitter / np.sqrt(self.spec.dims)
            out[i] = v / np.linalg.norm(v)
        return out


def fake_engine() -> FaceEngine:
    """The real engine (decode threads, batching, thumbnails) with the fake models."""
    return FaceEngine(device="cpu", embedder=FakeEmbedder(), detector=FakeDetector())  # type: ignore[arg-type]


def fake_photo(
    path: Path, people: Sequence[str], size: tuple[int, int] = (160, 120), seed: int = 0
) -> Path:
    """A photo of ``people`` (names from PALETTE) side by side, as JPEG or PNG by suffix."""
    rng = np.random.default_rng(seed)
    img = np.full((size[1], size[0], 3), BACKGROUND, np.uint8)
    img += rng.integers(0, 6, img.shape, dtype=np.uint8)
    side = min(size[1] // 2, size[0] // max(1, len(people)) - 8)
    # a fine checkerboard about the colour: detail as a sharp face has, the same mean colour
    cells = (np.add.outer(np.arange(side) // 3, np.arange(side) // 3) % 2) * 2 - 1
    texture = (TEXTURE * cells)[:, :, None]
    for k, who in enumerate(people):
        x0 = 6 + k * (side + 8)
        y0 = (size[1] - side) // 2 + int(rng.integers(-4, 5))
        face = np.clip(np.array(PALETTE[who], np.int16) + texture, 0, 255)
        img[y0 : y0 + side, x0 : x0 + side] = face.astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, quality=95) if path.suffix.lower() in (
        ".jpg",
        ".jpeg",
    ) else Image.fromarray(img).save(path)
    return path


def fake_album(folder: Path) -> dict[str, list[str]]:
    """A small album: ann in 4 photos, bob in 3, cid in 2 (one with ann), eve alone once, a
    photo with nobody and an unreadable file. Returns {person: [photo paths]}."""
    plan = {
        "ann_1.png": ["ann"],
        "ann_2.png": ["ann"],
        "ann_3.jpg": ["ann"],
        "bob_1.png": ["bob"],
        "bob_2.png": ["bob"],
        "bob_3.jpg": ["bob"],
        "cid_1.png": ["cid"],
        "ann_cid.png": ["ann", "cid"],
        "eve_1.png": ["eve"],
        "nobody.png": [],
    }
    who: dict[str, list[str]] = {}
    for k, (name, people) in enumerate(sorted(plan.items())):
        path = fake_photo(folder / name, people, seed=k)
        for p in people:
            who.setdefault(p, []).append(str(path))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return who
