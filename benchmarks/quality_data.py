"""Embeddings of the shared labelled photos for the quality benchmarks, cached between runs.

Every face the engine finds is kept (a library holds them all); the labelled face of a photo is
the one ``core.calibration.labelled_face`` picks. Labels are lower-cased folder names, so the
same person under two sources (``matt_damon`` and LFW's ``Matt_Damon``) is one person.
The cache is one .npz per chunk of photos, keyed by model id and the files' sizes and mtimes;
delete it (or set ``FACEORGANIZER_BENCH_CACHE`` elsewhere) after changing the engine.
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
if str(REPO) not in sys.path:  # an installed faceorganizer (or PYTHONPATH) comes first
    sys.path.append(str(REPO))

from faceorganizer.core.calibration import labelled_face  # noqa: E402
from faceorganizer.core.quality import SIGNALS  # noqa: E402

FACES_DIR = Path(
    os.environ.get("FACEORGANIZER_TEST_FACES", REPO.parent / "shared" / "data" / "faces")
)
CACHE_DIR = Path(
    os.environ.get("FACEORGANIZER_BENCH_CACHE", platformdirs.user_cache_dir("faceorganizer-bench"))
)


@dataclass
class FaceSet:
    """All faces found in a set of labelled photos; one row per face."""

    embeddings: np.ndarray  # (n, d) float32 unit rows
    photo: np.ndarray  # (n,) int64 index into ``paths``
    label: np.ndarray  # (n,) str: the person for a photo's labelled face, "" for other faces
    score: np.ndarray  # (n,) float: detection score
    kind: np.ndarray  # (n,) str: the manifest kind of the face's photo
    paths: list[str]  # relpaths of the photos, in processing order
    missed: list[str]  # photos where no face was found
    signals: np.ndarray  # (n, len(core.quality.SIGNALS)) float: each face's quality signals
    # (``indistinct`` as the quality fit of the scan's time had it: see ``judge``)
    quality: np.ndarray  # (n,) float: each face's quality (likewise)

    def labelled(self) -> np.ndarray:
        return np.flatnonzero(self.label != "")


def judge(fs: FaceSet, model_id: str) -> None:
    """Each face's indistinct signal and quality by the model's shipped quality fit, in place."""
    from faceorganizer.core.quality import SIGNALS, Signals, quality_model

    model = quality_model(model_id)
    fs.signals[:, SIGNALS.index("indistinct")] = model.indistinct_many(fs.embeddings)
    fs.quality = np.array([model.quality(Signals(*row)) for row in fs.signals.tolist()], np.float64)


CFP_KINDS = {"cfp_frontal", "cfp_profile"}


def cfp_rows() -> list[dict[str, str]]:
    """``cfp_dev`` images as manifest rows (it is not in ``manifest.csv``): kinds
    ``cfp_frontal``/``cfp_profile``, persons ``cfp_<id>``."""
    rows = []
    for path in sorted((FACES_DIR / "cfp_dev").glob("*/*.jpg")):
        pose = "frontal" if path.name.startswith("frontal") else "profile"
        rows.append(
            {
                "relpath": str(path.relative_to(FACES_DIR)),
                "person": f"cfp_{path.parent.name}",
                "kind": f"cfp_{pose}",
            }
        )
    return rows


def manifest_rows(kinds: set[str]) -> list[dict[str, str]]:
    with open(FACES_DIR / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] in kinds]
    return rows + [r for r in cfp_rows() if r["kind"] in kinds] if kinds & CFP_KINDS else rows


CHUNK = 100
CACHE_FORMAT = 3  # 2: detection scores; 3: quality signals


def _chunk_key(model_id: str, rows: list[dict[str, str]]) -> str:
    """Model id and recipe, and every file's path, size and mtime."""
    from faceorganizer.core.models.registry import DETECTOR_RECIPE, recipe_of
    from faceorganizer.core.quality import SIGNALS_VERSION

    recipes = f"{recipe_of(model_id)}#{DETECTOR_RECIPE}#{SIGNALS_VERSION}#{CACHE_FORMAT}"
    h = hashlib.sha1(f"{model_id}#{recipes}".encode())
    for r in rows:
        st = (FACES_DIR / r["relpath"]).stat()
        h.update(f"{r['relpath']}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def load_faces(
    kinds: set[str], model_id: str = "dlib-resnet-v1", device: str = "auto", quiet: bool = False
) -> FaceSet:
    """Faces of every photo of the given manifest kinds, embedded by our engine in chunks of
    ``CHUNK`` photos, each chunk cached as soon as it is done (so an interrupted run resumes).

    A fused model (``core.models.fusion``) is its members' cached faces fused: one engine pass
    of the fused model fills the members' caches where they lack chunks (its vectors split
    back exactly into theirs), so changing the fusion's weights costs no new pass."""
    from faceorganizer.core.models.registry import get_spec, members_of

    members = members_of(get_spec(model_id))
    if members:
        return _fused_faces(kinds, model_id, members, device, quiet)
    rows = sorted(manifest_rows(kinds), key=lambda r: (r["kind"], r["relpath"]))
    chunks = [
        same_kind[start : start + CHUNK]
        for kind in sorted(kinds)
        if (same_kind := [r for r in rows if r["kind"] == kind])
        for start in range(0, len(same_kind), CHUNK)
    ]
    engine = None
    parts: list[dict[str, np.ndarray]] = []
    t0 = time.perf_counter()
    done = 0
    for chunk in chunks:
        done += len(chunk)
        cache = CACHE_DIR / model_id / f"{_chunk_key(model_id, chunk)}.npz"
        if not cache.exists():
            if engine is None:
                from faceorganizer.core.pipeline import FaceEngine

                engine = FaceEngine(model_id=model_id, device=device)
            _embed_chunk(engine, chunk, cache)
            if not quiet:
                print(f"  embedded {done}/{len(rows)} photos ({time.perf_counter() - t0:.0f} s)")
        with np.load(cache, allow_pickle=False) as z:
            parts.append({k: z[k] for k in z.files})
    offsets = np.cumsum([0] + [len(p["paths"]) for p in parts])
    return FaceSet(
        np.concatenate([p["embeddings"] for p in parts]).astype(np.float32),
        np.concatenate([p["photo"] + off for p, off in zip(parts, offsets, strict=False)]),
        np.concatenate([p["label"] for p in parts]),
        np.concatenate([p["score"] for p in parts]),
        np.concatenate([p["kind"] for p in parts]),
        [str(x) for p in parts for x in p["paths"]],
        [str(x) for p in parts for x in p["missed"]],
        np.concatenate([p["signals"] for p in parts]),
        np.concatenate([p["quality"] for p in parts]),
    )


def _embed_chunk(engine: object, rows: list[dict[str, str]], cache: Path) -> None:
    by_path = {str(FACES_DIR / r["relpath"]): r for r in rows}
    vecs: list[np.ndarray] = []
    photo: list[int] = []
    label: list[str] = []
    score: list[float] = []
    kind: list[str] = []
    paths: list[str] = []
    missed: list[str] = []
    signals: list[list[float]] = []
    quality: list[float] = []
    for result in engine.process(list(by_path)):  # type: ignore[attr-defined]
        r = by_path[str(result.path)]
        pick = labelled_face(result) if result.error is None else None
        if pick is None:
            missed.append(r["relpath"])
        for k, face in enumerate(result.faces):
            vecs.append(face.embedding)
            photo.append(len(paths))
            label.append(r["person"].lower() if k == pick else "")
            score.append(face.detection.score)
            kind.append(r["kind"])
            signals.append([(face.signals or {}).get(k, np.nan) for k in SIGNALS])
            quality.append(face.quality)
        paths.append(r["relpath"])
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        embeddings=np.asarray(vecs, np.float32).reshape(len(vecs), -1),
        photo=np.asarray(photo, np.int64),
        label=np.asarray(label, dtype=str),
        score=np.asarray(score, np.float64),
        kind=np.asarray(kind, dtype=str),
        paths=np.asarray(paths, dtype=str),
        missed=np.asarray(missed, dtype=str),
        signals=np.asarray(signals, np.float64).reshape(len(vecs), len(SIGNALS)),
        quality=np.asarray(quality, np.float64),
    )
    tmp.replace(cache)


def _chunks(kinds: set[str]) -> list[list[dict[str, str]]]:
    rows = sorted(manifest_rows(kinds), key=lambda r: (r["kind"], r["relpath"]))
    return [
        same_kind[start : start + CHUNK]
        for kind in sorted(kinds)
        if (same_kind := [r for r in rows if r["kind"] == kind])
        for start in range(0, len(same_kind), CHUNK)
    ]


def _fused_faces(
    kinds: set[str], model_id: str, members: list[str], device: str, quiet: bool
) -> FaceSet:
    from faceorganizer.core.models.fusion import fuse, split
    from faceorganizer.core.models.registry import get_spec

    dims = [get_spec(m).dims for m in members]
    missing = [
        m
        for m in members
        if not all((CACHE_DIR / m / f"{_chunk_key(m, c)}.npz").exists() for c in _chunks(kinds))
    ]
    if len(missing) == 1:  # the others are cached: run that model alone, it is cheaper
        load_faces(kinds, missing[0], device, quiet)
    engine = None
    for chunk in _chunks(kinds):
        caches = [CACHE_DIR / m / f"{_chunk_key(m, chunk)}.npz" for m in members]
        if all(c.exists() for c in caches):
            continue
        if engine is None:
            from faceorganizer.core.pipeline import FaceEngine

            engine = FaceEngine(model_id=model_id, device=device)
        tmp = CACHE_DIR / model_id / "pass.npz"
        _embed_chunk(engine, chunk, tmp)
        with np.load(tmp, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        for cache, part in zip(caches, split(data["embeddings"], dims), strict=True):
            if not cache.exists():
                cache.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cache.with_suffix(".tmp.npz"), **{**data, "embeddings": part})
                cache.with_suffix(".tmp.npz").replace(cache)
        if not quiet:
            print(f"  embedded a chunk of {len(chunk)} photos with {model_id}")
    sets = [load_faces(kinds, m, device, quiet=True) for m in members]
    for other in sets[1:]:
        if other.paths != sets[0].paths or not np.array_equal(other.photo, sets[0].photo):
            raise RuntimeError("the members' caches hold different detections; clear the cache")
    weights = [float(w) for w in get_spec(model_id).extra["weights"].split(",")]
    first = sets[0]
    return FaceSet(
        fuse([s.embeddings for s in sets], weights),
        first.photo, first.label, first.score, first.kind, first.paths, first.missed,
        first.signals.copy(), first.quality.copy(),  # geometry is the members'; see ``judge``
    )  # fmt: skip
