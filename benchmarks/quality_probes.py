"""The probes ``fit_quality.py`` fits face quality on: labelled faces with their quality
signals, each recognised or not against galleries of clean faces.

- ``degraded_probes``: shared labelled photos degraded on purpose (cut by the border, shrunk,
  blurred; generated in a temporary folder, never stored) and embedded by the engine;
- ``cfp_probes``: every ``cfp_dev`` photo (profiles: family ``turn``);
- ``Gallery``: per person, the sum of its clean faces, so a probe's own photo is left out.

Both kinds are cached by model, recipes and parameters (``quality_data.CACHE_DIR``).
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from quality_data import CACHE_DIR, FACES_DIR

from faceorganizer.core.calibration import labelled_face, labelled_images
from faceorganizer.core.models.registry import DETECTOR_RECIPE, recipe_of
from faceorganizer.core.quality import SIGNALS, SIGNALS_VERSION

FAMILIES = ("outside", "size", "sharpness")
LEVELS = 4  # degraded copies per photo and family


def half_of(person: str) -> int:
    """0 (fit) or 1 (held out), fixed by the name."""
    return hashlib.sha1(person.encode()).digest()[0] & 1


@dataclass
class Probes:
    """Faces to judge: embeddings, signals (n, 7), person, family, and the photo they came
    from (left out of their person's gallery)."""

    embeddings: np.ndarray
    signals: np.ndarray
    person: np.ndarray
    family: np.ndarray
    source: np.ndarray  # relpath of the original photo

    @staticmethod
    def cat(parts: list[Probes]) -> Probes:
        return Probes(*(np.concatenate([getattr(p, f) for p in parts]) for f in Probes.FIELDS))

    FIELDS = ("embeddings", "signals", "person", "family", "source")

    def take(self, mask: np.ndarray) -> Probes:
        return Probes(*(getattr(self, f)[mask] for f in self.FIELDS))


def _signal_row(face: object) -> list[float]:
    sig = getattr(face, "signals", None) or {}
    return [float(sig.get(k, np.nan)) for k in SIGNALS]


def degrade(rgb: Image.Image, box: tuple[float, ...], family: str, rng: random.Random) -> tuple:
    """A degraded copy of the photo and the map of its coordinates (scale, dx, dy)."""
    x0, y0, x1, y1 = box
    w, h = rgb.size
    side = max(x1 - x0, y1 - y0)
    if family == "outside":
        share = rng.uniform(0.05, 0.75)
        where = rng.choice(("top", "left", "right", "bottom"))
        left, top, right, bottom = 0, 0, w, h
        if where == "top":
            top = int(y0 + share * (y1 - y0))
        elif where == "bottom":
            bottom = int(y1 - share * (y1 - y0))
        elif where == "left":
            left = int(x0 + share * (x1 - x0))
        else:
            right = int(x1 - share * (x1 - x0))
        return rgb.crop((left, top, right, bottom)), (1.0, -left, -top)
    if family == "size":
        target = rng.uniform(8.0, 64.0)
        k = min(1.0, target / side)
        size = (max(1, round(w * k)), max(1, round(h * k)))
        return rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0), (k, 0.0, 0.0)
    sigma = rng.uniform(0.0, 0.12) * side
    return rgb.filter(ImageFilter.GaussianBlur(sigma)), (1.0, 0.0, 0.0)


def _matched(result: object, centre: np.ndarray, eye: float) -> object | None:
    best, best_d = None, 0.5 * eye
    for face in getattr(result, "faces", []):
        d = float(np.linalg.norm(face.detection.landmarks[:2].mean(axis=0) - centre))
        if d < best_d:
            best, best_d = face, d
    return best


def degraded_probes(model_id: str, n_photos: int, seed: int) -> Probes:
    """Degraded copies of ``n_photos`` labelled photos (people with 2+), embedded by the engine;
    cached by model, recipes and parameters."""
    from faceorganizer.core.pipeline import FaceEngine

    key = f"{model_id}-{recipe_of(model_id)}-{DETECTOR_RECIPE}-s{SIGNALS_VERSION}"
    cache = CACHE_DIR / "quality" / f"degraded-{key}-{n_photos}-{seed}-{LEVELS}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            return Probes(*(z[f] for f in Probes.FIELDS))
    images = [
        (path, person.lower())
        for folder in ("lfw_dev", "photos/deepface_testset", "photos/five_celebrity")
        for path, person in labelled_images(FACES_DIR / folder)
    ]
    rng = random.Random(seed)
    rng.shuffle(images)
    images = images[:n_photos]
    engine = FaceEngine(model_id=model_id, device="cpu")
    references = {r.path: r for r in engine.process([p for p, _ in images])}
    rows: dict[str, list] = {f: [] for f in Probes.FIELDS}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fit-quality-") as tmp:
        jobs = []
        for k, (path, person) in enumerate(images):
            ref = references.get(str(path))
            if ref is None or not ref.faces:
                continue
            face = ref.faces[labelled_face(ref) or 0]
            with Image.open(path) as im:
                rgb = im.convert("RGB")
            for family in FAMILIES:
                for level in range(LEVELS):
                    out, (s, dx, dy) = degrade(rgb, face.detection.box, family, rng)
                    if min(out.size) < 8:
                        continue
                    name = Path(tmp) / f"{k}-{family}-{level}.jpg"
                    out.save(name, quality=90)
                    marks = face.detection.landmarks * s + np.array([dx, dy], np.float32)
                    eye = float(np.linalg.norm(marks[1] - marks[0]))
                    jobs.append((str(name), marks[:2].mean(axis=0), eye, person, family, path))
        by_name = {j[0]: j for j in jobs}
        for result in engine.process(list(by_name)):
            _, centre, eye, person, family, path = by_name[str(result.path)]
            face = _matched(result, centre, max(eye, 1.0))
            if face is None:
                continue  # lost: nothing to judge
            rows["embeddings"].append(face.embedding)
            rows["signals"].append(_signal_row(face))
            rows["person"].append(person)
            rows["family"].append(family)
            rows["source"].append(str(path.relative_to(FACES_DIR)))
    print(
        f"  degraded {len(jobs)} copies of {len(images)} photos in {time.perf_counter() - t0:.0f} s"
    )
    probes = Probes(
        np.asarray(rows["embeddings"], np.float32),
        np.asarray(rows["signals"], np.float64),
        np.asarray(rows["person"], dtype=str),
        np.asarray(rows["family"], dtype=str),
        np.asarray(rows["source"], dtype=str),
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache.with_suffix(".tmp.npz"), **{f: getattr(probes, f) for f in Probes.FIELDS})
    cache.with_suffix(".tmp.npz").replace(cache)
    return probes


def cfp_probes(model_id: str) -> Probes:
    """Every cfp_dev photo's largest face (family ``turn`` for profiles, ``frontal``)."""
    from faceorganizer.core.pipeline import FaceEngine

    key = f"{model_id}-{recipe_of(model_id)}-{DETECTOR_RECIPE}-s{SIGNALS_VERSION}"
    cache = CACHE_DIR / "quality" / f"cfp-{key}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            return Probes(*(z[f] for f in Probes.FIELDS))
    images = labelled_images(FACES_DIR / "cfp_dev")
    person_of = {str(p): f"cfp{name}" for p, name in images}
    engine = FaceEngine(model_id=model_id, device="cpu")
    rows: dict[str, list] = {f: [] for f in Probes.FIELDS}
    for result in engine.process([p for p, _ in images]):
        if not result.faces:
            continue
        face = max(result.faces, key=lambda f: f.detection.width * f.detection.height)
        rel = str(Path(result.path).relative_to(FACES_DIR))
        rows["embeddings"].append(face.embedding)
        rows["signals"].append(_signal_row(face))
        rows["person"].append(person_of[str(result.path)])
        rows["family"].append("turn" if "profile" in Path(rel).name else "frontal")
        rows["source"].append(rel)
    probes = Probes(
        np.asarray(rows["embeddings"], np.float32),
        np.asarray(rows["signals"], np.float64),
        np.asarray(rows["person"], dtype=str),
        np.asarray(rows["family"], dtype=str),
        np.asarray(rows["source"], dtype=str),
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache.with_suffix(".tmp.npz"), **{f: getattr(probes, f) for f in Probes.FIELDS})
    cache.with_suffix(".tmp.npz").replace(cache)
    return probes


class Gallery:
    """Sums of clean faces per person, so a probe's own photo can be left out of its person."""

    def __init__(self, embeddings: np.ndarray, person: np.ndarray, source: np.ndarray) -> None:
        self.names, inverse = np.unique(person, return_inverse=True)
        self.sums = np.zeros((len(self.names), embeddings.shape[1]))
        np.add.at(self.sums, inverse, embeddings.astype(np.float64))
        self.counts = np.bincount(inverse, minlength=len(self.names)).astype(np.float64)
        self.row = {str(n): i for i, n in enumerate(self.names)}
        self.own = {(str(person[i]), str(source[i])): embeddings[i] for i in range(len(person))}

    def recognised(self, probes: Probes, midpoint: float) -> np.ndarray:
        """Whether each probe's own person beats every other one and reaches ``midpoint``."""
        means = self.sums / np.maximum(self.counts, 1)[:, None]
        sims = probes.embeddings.astype(np.float64) @ means.T  # (n, people)
        out = np.zeros(len(probes.person), bool)
        for i, (person, source) in enumerate(zip(probes.person, probes.source, strict=True)):
            r = self.row.get(str(person))
            if r is None:
                continue
            total, count = self.sums[r].copy(), self.counts[r]
            left_out = self.own.get((str(person), str(source)))
            if left_out is not None:
                total -= left_out
                count -= 1
            if count < 1:
                continue
            own = float(probes.embeddings[i] @ total / count)
            others = np.delete(sims[i], r)
            out[i] = own >= midpoint and own > others.max(initial=-2.0)
        return out
