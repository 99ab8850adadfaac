"""Embeddings of the shared labelled photos for the quality benchmarks, cached between runs.

Every face the engine finds is kept (a library holds them all); the labelled face of a photo is
the one ``core.calibration.labelled_face`` picks. Labels are lower-cased folder names, so the
same person under two sources (``matt_damon`` and LFW's ``Matt_Damon``) is one person.
The cache is a .npz keyed by model id, the engine's source and the files' sizes and mtimes.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faceorganizer.core.calibration import labelled_face  # noqa: E402

FACES_DIR = Path(
    os.environ.get("FACEORGANIZER_TEST_FACES", REPO.parent / "shared" / "data" / "faces")
)
CACHE_DIR = Path(
    os.environ.get("FACEORGANIZER_BENCH_CACHE", platformdirs.user_cache_dir("faceorganizer-bench"))
)
ALL_KINDS = {"lfw_crop", "lfw_stranger", "photo"}


@dataclass
class FaceSet:
    """All faces found in a set of labelled photos; one row per face."""

    embeddings: np.ndarray  # (n, d) float32 unit rows
    photo: np.ndarray  # (n,) int64 index into ``paths``
    label: np.ndarray  # (n,) str: the person for a photo's labelled face, "" for other faces
    kind: np.ndarray  # (n,) str: the manifest kind of the face's photo
    paths: list[str]  # relpaths of the photos, in processing order
    missed: list[str]  # photos where no face was found

    def labelled(self) -> np.ndarray:
        return np.flatnonzero(self.label != "")


def manifest_rows(kinds: set[str]) -> list[dict[str, str]]:
    with open(FACES_DIR / "manifest.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r["kind"] in kinds]


ENGINE_SOURCES = (
    "pipeline.py",
    "detection.py",
    "alignment.py",
    "images.py",
    "models/dlib_resnet.py",
    "models/facenet.py",
)


def _cache_key(model_id: str, rows: list[dict[str, str]]) -> str:
    """Model id, engine source code and every file's size and mtime."""
    h = hashlib.sha1(model_id.encode())
    for name in ENGINE_SOURCES:
        source = REPO / "faceorganizer" / "core" / name
        if source.exists():
            h.update(source.read_bytes())
    for r in rows:
        st = (FACES_DIR / r["relpath"]).stat()
        h.update(f"{r['relpath']}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def load_faces(
    kinds: set[str], model_id: str = "dlib-resnet-v1", device: str = "auto", quiet: bool = False
) -> FaceSet:
    """Faces of the photos of the given manifest kinds (a subset of ``ALL_KINDS``)."""
    fs = _load_all(model_id, device, quiet)
    keep = np.isin(fs.kind, sorted(kinds))
    return FaceSet(
        fs.embeddings[keep], fs.photo[keep], fs.label[keep], fs.kind[keep], fs.paths, fs.missed
    )


def _load_all(model_id: str, device: str, quiet: bool) -> FaceSet:
    """Embed every photo of ``ALL_KINDS`` with our engine, or read the cache."""
    rows = sorted(manifest_rows(ALL_KINDS), key=lambda r: r["relpath"])
    cache = CACHE_DIR / f"faces-{model_id}-{_cache_key(model_id, rows)}.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        return FaceSet(
            z["embeddings"],
            z["photo"],
            z["label"],
            z["kind"],
            z["paths"].tolist(),
            z["missed"].tolist(),
        )
    from faceorganizer.core.pipeline import FaceEngine

    engine = FaceEngine(model_id=model_id, device=device)
    by_path = {str(FACES_DIR / r["relpath"]): r for r in rows}
    vecs: list[np.ndarray] = []
    photo: list[int] = []
    label: list[str] = []
    kind: list[str] = []
    paths: list[str] = []
    missed: list[str] = []
    t0 = time.perf_counter()
    for done, result in enumerate(engine.process(list(by_path)), start=1):
        r = by_path[str(result.path)]
        pick = labelled_face(result) if result.error is None else None
        if pick is None:
            missed.append(r["relpath"])
        for k, face in enumerate(result.faces):
            vecs.append(face.embedding)
            photo.append(len(paths))
            label.append(r["person"].lower() if k == pick else "")
            kind.append(r["kind"])
        paths.append(r["relpath"])
        if not quiet and done % 200 == 0:
            print(f"  embedded {done}/{len(rows)} photos ({time.perf_counter() - t0:.0f} s)")
    fs = FaceSet(
        np.asarray(vecs, np.float32),
        np.asarray(photo, np.int64),
        np.asarray(label),
        np.asarray(kind),
        paths,
        missed,
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        embeddings=fs.embeddings,
        photo=fs.photo,
        label=fs.label,
        kind=fs.kind,
        paths=np.asarray(paths),
        missed=np.asarray(missed),
    )
    tmp.replace(cache)
    return fs
