"""Fit a model's similarity calibration on every same/different pair of ``lfw_dev`` and write it
to ``faceorganizer/core/calibration/<model>.json`` (the file shipped with the app).

Prints the equal-error cosine, the slope, the accuracy at 50 % and, with ``--compare-measures``,
how cosine of unit vectors compares with Euclidean distance on the model's raw vectors (dlib's
own measure) at their own equal-error points, in the same run.

    .venv/bin/python benchmarks/fit_calibration.py [--model dlib-resnet-v1] [--dry-run]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from quality_data import FACES_DIR, REPO, load_faces

from faceorganizer.core.calibration import (
    equal_error,
    fit_calibration_report,
    pair_cosines,
    write_calibration,
)


def raw_measure_comparison(model: str) -> None:
    """EER of cosine vs raw Euclidean on the labelled lfw_dev faces, embedding them again with
    an embedder that keeps the raw vectors."""
    from faceorganizer.core.calibration import labelled_face
    from faceorganizer.core.models.registry import load_embedder
    from faceorganizer.core.pipeline import FaceEngine

    inner = load_embedder(model, "cpu")
    if not hasattr(inner, "embed_raw"):
        print(f"{model} has no raw output; skipping the measure comparison")
        return

    class RawEmbedder(type(inner)):  # type: ignore[misc]
        def __init__(self) -> None:
            self.__dict__.update(inner.__dict__)

        def embed(self, chips):  # type: ignore[no-untyped-def]
            return inner.embed_raw(chips)

    engine = FaceEngine(model_id=model, device="cpu", embedder=RawEmbedder())
    paths = sorted((FACES_DIR / "lfw_dev").glob("*/*.jpg"))
    raw, labels = [], []
    for photo in engine.process(paths):
        k = labelled_face(photo)
        if k is not None:
            raw.append(photo.faces[k].embedding)
            labels.append(Path(photo.path).parent.name)
    raw_arr = np.asarray(raw, np.float64)
    lab = np.unique(labels, return_inverse=True)[1]
    i, j = np.triu_indices(len(raw_arr), 1)
    same = lab[i] == lab[j]
    dist = np.linalg.norm(raw_arr[i] - raw_arr[j], axis=1)
    unit = raw_arr / np.linalg.norm(raw_arr, axis=1, keepdims=True)
    cos = np.einsum("ij,ij->i", unit[i], unit[j])
    _, eer_cos = equal_error(cos[same], cos[~same])
    _, eer_euc = equal_error(-dist[same], -dist[~same])
    norms = np.linalg.norm(raw_arr, axis=1)
    print(f"raw vector norms: mean {norms.mean():.4f}, sd {norms.std():.4f}")
    print(f"equal-error rate: cosine {100 * eer_cos:.3f} %, raw Euclidean {100 * eer_euc:.3f} %")
    print(
        f"accuracy at dlib's Euclidean 0.6: "
        f"{100 * np.mean(np.concatenate([dist[same] < 0.6, dist[~same] >= 0.6])):.3f} %"
    )


def fusion_weights(model: str, device: str) -> None:
    """The blend of a fused model's members: each member's cosine standardised by the spread of
    its different-person cosines on lfw_dev (weights proportional to 1 / sd; see
    ``core/models/fusion.py``), next to the weights the registry holds now."""
    from faceorganizer.core.models.registry import get_spec, members_of

    spec = get_spec(model)
    inverse = []
    for member in members_of(spec):
        fs = load_faces({"lfw_crop"}, member, device, quiet=True)
        rows = fs.labelled()
        pairs = pair_cosines(fs.embeddings[rows], fs.label[rows])
        print(
            f"{member}: different-person cosines mean {pairs.diff.mean():.4f}, "
            f"sd {pairs.diff.std():.4f}; same-person mean {pairs.same.mean():.4f}"
        )
        inverse.append(1 / pairs.diff.std())
    weights = ", ".join(f"{w / sum(inverse):.4f}" for w in inverse)
    print(f"standardising weights: {weights} (registry now: {spec.extra['weights']})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="dlib-resnet-v1")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dry-run", action="store_true", help="print the fit, do not write it")
    ap.add_argument("--compare-measures", action="store_true")
    args = ap.parse_args()

    from faceorganizer.core.models.registry import get_spec, members_of

    if members_of(get_spec(args.model)):
        fusion_weights(args.model, args.device)
    fs = load_faces({"lfw_crop"}, args.model, args.device)
    rows = fs.labelled()
    pairs = pair_cosines(fs.embeddings[rows], fs.label[rows])
    fit = fit_calibration_report(pairs.same, pairs.diff)
    cal = fit.calibration
    # dlib's recipe: Euclidean distance < 0.6 between raw descriptors, whose norms average 1.434
    # on lfw_dev (see --compare-measures); on unit vectors that is this cosine.
    base_cos = 1 - 0.6**2 / (2 * 1.434**2)
    base_acc = np.mean(np.concatenate([pairs.same >= base_cos, pairs.diff < base_cos]))
    print(
        f"{len(rows)} faces of {len(np.unique(fs.label[rows]))} people "
        f"({len(fs.missed)} photos without a face); {fit.same_pairs} same, "
        f"{fit.diff_pairs} different pairs"
    )
    print(f"midpoint (equal-error cosine) {cal.midpoint:.4f}, slope {cal.slope:.2f}")
    print(f"equal-error rate {100 * fit.eer:.3f} %, accuracy at 50 % {100 * fit.accuracy:.3f} %")
    print(
        f"baseline: dlib's Euclidean 0.6 (cosine {base_cos:.4f} here) accuracy "
        f"{100 * base_acc:.3f} %; ratio of error rates baseline/ours "
        f"{(1 - base_acc) / max(1 - fit.accuracy, 1e-9):.2f}"
    )
    for pct in (50, 65, 80, 95):
        c = cal.cosine_at(pct)
        print(
            f"  {pct:3d} % at cosine {c:.4f}: same pairs kept {100 * np.mean(pairs.same >= c):6.2f}"
            f" %, different pairs let through {100 * np.mean(pairs.diff >= c):7.4f} %"
        )
    if args.compare_measures:
        raw_measure_comparison(args.model)
    if not args.dry_run:
        out = REPO / "faceorganizer" / "core" / "calibration" / f"{args.model}.json"
        write_calibration(
            out,
            fit,
            fitted_on="lfw_dev (all same/different pairs of the labelled face of each image)",
            note="written by benchmarks/fit_calibration.py",
        )
        print(f"written {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
