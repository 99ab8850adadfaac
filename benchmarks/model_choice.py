"""Which model should be the default: dlib, SFace and their fusion side by side, on the same
photos through the app's own detector and alignment.

Per model: ``lfw_dev`` + ``lfw_strangers`` (equal-error rate, TAR at FAR 1e-3 and 1e-4 over all
pairs, Recall@1 of every ``lfw_dev`` face against all others), the non-LFW ``photos/`` (ROC AUC
and TAR at FAR 1e-3 over all pairs; AUC of ``five_celebrity`` alone, whose people were
photographed decades apart), ``cfp_dev`` (TAR at FAR 1e-3 of its same-person frontal x profile
pairs against every cross-person frontal x profile pair; AUC of its 2,100 pairs), milliseconds
per face (align + embed, one thread as in the engine's CPU workers), and the clustering
benchmark end to end (``cluster_quality.py``: our clustering with the model's calibrated
thresholds, BCubed F and pairwise precision). The search and review benchmarks run per model
with their own scripts (``search_quality.py --model``, ``review_effort.py --model``). Every
figure of a model is printed beside dlib's of the same run; no child-vs-adult set is in the
shared data, so age across childhood is not measured here.

    .venv/bin/python benchmarks/model_choice.py [--models dlib-resnet-v1,...] [--speed-faces 24]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from cluster_quality import bcubed_prf, ours, pairwise_prf, singletons
from model_metrics import cfp_figures, lfw_figures, photo_figures
from quality_data import CFP_KINDS, FACES_DIR, load_faces, manifest_rows

from faceorganizer.core.models.registry import FUSION_ID, SFACE_ID, load_embedder
from faceorganizer.core.pipeline import FaceEngine

KINDS = {"lfw_crop", "lfw_stranger", "photo", *CFP_KINDS}
CLUSTER_KINDS = {"lfw_crop", "lfw_stranger", "photo"}


def speed(model: str, faces: int, batches: tuple[int, ...]) -> dict[int, float]:
    """Milliseconds of CPU time per face (align + embed) at each batch size, one torch thread,
    on real faces of ``photos/``."""
    embedder = load_embedder(model, "cpu")
    engine = FaceEngine(embedder=embedder, device="cpu", workers=1)
    images, found = [], []
    for row in manifest_rows({"photo"})[::7][:faces]:
        image = engine.load_photo(FACES_DIR / row["relpath"])
        dets = engine.detector.detect([image.rgb])[0]
        if dets:
            images.append(image.rgb)
            found.append(dets[:1])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = {}
    try:
        for batch in batches:
            start = time.process_time()
            n = 0
            for i in range(0, len(images), batch):
                chips = torch.cat(
                    [
                        embedder.prepare(im, d)
                        for im, d in zip(images[i : i + batch], found[i : i + batch], strict=True)
                    ]  # noqa: E501
                )
                embedder.embed(chips)
                n += len(chips)
            out[batch] = 1000 * (time.process_time() - start) / max(n, 1)
    finally:
        torch.set_num_threads(threads)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=f"dlib-resnet-v1,{SFACE_ID},{FUSION_ID}")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--speed-faces", type=int, default=24)
    args = ap.parse_args()
    models = args.models.split(",")
    rows = {}
    for model in models:
        fs = load_faces(KINDS, model, args.device)
        lab = fs.labelled()
        e, person, kind = fs.embeddings[lab], fs.label[lab], fs.kind[lab]
        relpath = np.asarray(fs.paths)[fs.photo[lab]]
        lfw = lfw_figures(e, person, kind)
        ph = photo_figures(e, person, kind, relpath)
        cfp = cfp_figures(e, relpath)
        keep = np.isin(fs.kind, list(CLUSTER_KINDS))
        sub = type(fs)(
            fs.embeddings[keep], fs.photo[keep], fs.label[keep], fs.score[keep], fs.kind[keep],
            fs.paths, fs.missed,
        )  # fmt: skip
        scored = sub.labelled()
        pred = singletons(ours(sub, None, model))[scored]
        pw = pairwise_prf(sub.label[scored], pred)
        b3 = bcubed_prf(sub.label[scored], pred)
        ms = speed(model, args.speed_faces, (1, 8))
        rows[model] = (lfw, ph, cfp, pw, b3, ms)
        print(
            f"{model}: {len(lab)} labelled faces, {cfp.genuine} cfp same pairs "
            f"({cfp.missing_pairs} pairs without a face), {cfp.impostors} cfp impostor pairs, "
            f"{lfw.queries} Recall@1 queries, {ph.pairs} photo pairs"
        )
    header = (
        f"{'model':20s} {'EER%':>6s} {'TAR1e-3':>8s} {'TAR1e-4':>8s} {'R@1':>7s} {'miss':>4s} "
        f"{'phAUC':>7s} {'phTAR3':>7s} {'5cAUC':>7s} {'cfpTAR3':>8s} {'cfpAUC':>7s} "
        f"{'B3 F':>7s} {'pairP':>7s} {'ms b1':>6s} {'ms b8':>6s}"
    )
    print(header)
    for model, (lfw, ph, cfp, pw, b3, ms) in rows.items():
        print(
            f"{model:20s} {100 * lfw.eer:6.3f} {lfw.tar_1e3:8.4f} {lfw.tar_1e4:8.4f} "
            f"{lfw.recall_at_1:7.4f} {lfw.misses:4d} {ph.auc:7.4f} {ph.tar_1e3:7.4f} "
            f"{ph.five_celebrity_auc:7.4f} {cfp.tar_1e3:8.4f} {cfp.auc:7.4f} {b3[2]:7.4f} "
            f"{pw[0]:7.4f} {ms[1]:6.1f} {ms[8]:6.1f}"
        )
    base = rows.get("dlib-resnet-v1")
    if base is not None:
        for model, (lfw, ph, cfp, _, _, ms) in rows.items():
            print(
                f"{model} vs dlib (same run): cfp TAR@1e-3 {cfp.tar_1e3 / max(base[2].tar_1e3, 1e-9):.2f}x, "  # noqa: E501
                f"LFW misses {lfw.misses} vs {base[0].misses}, photos AUC "
                f"{ph.auc - base[1].auc:+.4f}, ms per face {ms[1] / base[5][1]:.2f}x"
            )


if __name__ == "__main__":
    main()
