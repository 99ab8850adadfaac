"""Fit (and check) the face quality of a model: at which value of each signal faces stop being
recognised, and the model's "no one in particular" direction (``core.quality``).

A probe is *recognised* when its likeness to its own person (the mean cosine to the person's
other clean faces) beats every other person's and reaches the model's calibrated 50 %; the
gallery holds every labelled person of the shared data, the 1,000 one-photo strangers included,
so a probe has to stand out among many people as in a library. Probes:

- the clean labelled faces of ``lfw_dev`` and the single-person photos (leave one out);
- the same photos degraded on purpose (generated in a temporary folder, never stored): cut by
  the border (``outside``), shrunk (``size``), blurred (``sharpness``), each at random strength;
- the ``cfp_dev`` frontal and profile photos (``turn``), against galleries of frontal faces.

People are split in two halves by a hash of their name: the fit uses one half, and the figures
printed are those of the other (held out). Per signal, a logistic regression of "recognised" on
the signal over its own probes (``POOLS``; sizes on a log scale) gives the ramp: 50 % at the
threshold. The indistinct direction is the mean of the probes not recognised; its ramp, like
the detection score's, is fitted on every probe.

Where a degradation never reaches the fitted threshold (no probe of its pool past it: the
model still recognises the worst copies the detector finds, as the fusion does cut faces), the
threshold is an extrapolation and the signal keeps ``REFERENCE``'s ramp instead.

A signal's threshold is moved, where it would, so that it sets aside at most ``CLEAN_SPARED``
of the clean labelled faces of the fit half, and none of the main faces of the shared
single-person photos (portraits a user recognises at a glance, in profile or a hand over the
mouth as they are: the tests hold the bar to that). Prints per signal the threshold, the
held-out recognition rate above and below it, and the share of clean labelled faces it sets
aside; then the combined quality on held-out probes: AUC of "recognised", recognition
above/below the bar, clean faces set aside. ``--write`` stores the fit
in ``faceorganizer/core/calibration/<model>.quality.json`` (the version one higher).

    .venv/bin/python benchmarks/fit_quality.py [--model ID] [--photos N] [--write]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from quality_data import REPO, load_faces
from quality_probes import Gallery, Probes, cfp_probes, degraded_probes, half_of
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from faceorganizer.core.models.registry import calibration_for
from faceorganizer.core.quality import HIGHER_IS_WORSE, SIGNALS, QualityModel, Ramp

KINDS = {"lfw_crop", "photo", "lfw_stranger"}
# The probes each signal is fitted on: its own degradation, which spans bad to good (profiles
# beside frontal faces for the turn; the other signals fit on every probe).
POOLS = {
    "outside": ["outside"],
    "size": ["size"],
    "sharpness": ["sharpness"],
    "turn": ["frontal", "turn"],
}
CALIBRATION_DIR = REPO / "faceorganizer" / "core" / "calibration"
# No signal may set aside more than this share of the clean labelled faces it is fitted beside:
# a face a person recognises at a glance is not hidden for one weak signal.
CLEAN_SPARED = 0.002
# Whose ramp a signal keeps when this model's fit lies past every probe of its degradation.
REFERENCE = "dlib-resnet-v1"
SPARED_SCORE = 0.55


def fit_ramp(
    values: np.ndarray, recognised: np.ndarray, worse_high: bool, log: bool = False
) -> Ramp | None:
    """The logistic ramp of "recognised" on one signal (None when it does not separate)."""
    ok = np.isfinite(values) & ((values > 0) if log else True)
    x, y = values[ok], recognised[ok]
    if log:
        x = np.log(x)
    if len(np.unique(y)) < 2 or len(x) < 20:
        return None
    scale = float(np.std(x)) or 1.0
    model = LogisticRegression(C=1e4, max_iter=2000).fit((x / scale)[:, None], y)
    slope = float(model.coef_[0, 0]) / scale
    if slope == 0 or (slope > 0) == worse_high:
        return None
    threshold = -float(model.intercept_[0]) / slope
    return Ramp(round(threshold, 6), round(1.0 / abs(slope), 6), log)


def past(ramp: Ramp, values: np.ndarray, name: str) -> int:
    """How many of a pool's probes lie on the bad side of the ramp's threshold (none: the
    threshold is an extrapolation, not a fit)."""
    x = np.log(np.maximum(values, 1e-6)) if ramp.log else values
    x = x[np.isfinite(x)]
    return int(np.sum(x > ramp.threshold if name in HIGHER_IS_WORSE else x < ramp.threshold))


def reference_ramp(name: str) -> Ramp | None:
    """The reference model's ramp for a signal whose degradation never reaches where this model
    stops recognising faces (the fusion recognises nearly every cut face the detector finds): a
    bar past every probe would set aside no cut face at all."""
    path = CALIBRATION_DIR / f"{REFERENCE}.quality.json"
    if not path.exists():
        return None
    ramp = QualityModel.from_json(path.read_text("utf-8"), path.name).ramps.get(name)
    print(f"{name}: no probe past the fitted threshold; {REFERENCE}'s ramp kept")
    return ramp


def spare_clean(ramp: Ramp, clean: np.ndarray, worse_high: bool) -> Ramp | None:
    """The ramp moved, when it would set aside more than ``CLEAN_SPARED`` of the clean faces,
    to set aside just that share (None when that puts it past every face a detector keeps)."""
    values = np.log(np.maximum(clean, 1e-6)) if ramp.log else clean
    values = values[np.isfinite(values)]
    bound = float(np.quantile(values, 1.0 - CLEAN_SPARED if worse_high else CLEAN_SPARED))
    if (ramp.threshold < bound) if worse_high else (ramp.threshold > bound):
        return Ramp(round(bound, 6), ramp.width, ramp.log)
    return ramp


def spare_all(ramp: Ramp, faces: np.ndarray, worse_high: bool) -> Ramp:
    """The ramp moved, where it would set aside any of ``faces``, to score the worst of them
    ``SPARED_SCORE``."""
    values = np.log(np.maximum(faces, 1e-6)) if ramp.log else faces
    values = values[np.isfinite(values)]
    if not len(values):
        return ramp
    step = ramp.width * float(np.log(SPARED_SCORE / (1.0 - SPARED_SCORE)))
    if worse_high:
        bound = float(values.max()) + step
        return ramp if ramp.threshold >= bound else Ramp(round(bound, 6), ramp.width, ramp.log)
    bound = float(values.min()) - step
    return ramp if ramp.threshold <= bound else Ramp(round(bound, 6), ramp.width, ramp.log)


def score_of(ramp: Ramp | None, values: np.ndarray, worse_high: bool) -> np.ndarray:
    if ramp is None:
        return np.ones(len(values))
    return np.array([ramp.score(float(v), worse_high) for v in values])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="dlib-resnet-v1")
    ap.add_argument("--photos", type=int, default=400, help="photos degraded (people with 2+)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="store the fit for the model")
    args = ap.parse_args()
    pair = calibration_for(args.model)

    clean = load_faces(KINDS, args.model, "cpu")
    lab = clean.labelled()
    counts: dict[str, int] = {}
    for p in clean.label[lab]:
        counts[str(p)] = counts.get(str(p), 0) + 1
    src = np.array([clean.paths[i] for i in clean.photo[lab]])
    gallery_parts = [(clean.embeddings[lab], clean.label[lab], src)]
    cfp = cfp_probes(args.model)
    frontal = cfp.family == "frontal"
    gallery_parts.append((cfp.embeddings[frontal], cfp.person[frontal], cfp.source[frontal]))
    gallery = Gallery(*(np.concatenate(parts) for parts in zip(*gallery_parts, strict=True)))

    repeat = np.array([counts[str(p)] >= 2 for p in clean.label[lab]])
    clean_probes = Probes(
        clean.embeddings[lab][repeat],
        clean.signals[lab][repeat],
        clean.label[lab][repeat],
        np.full(int(repeat.sum()), "clean"),
        src[repeat],
    )
    probes = Probes.cat([clean_probes, degraded_probes(args.model, args.photos, args.seed), cfp])
    recognised = gallery.recognised(probes, pair.midpoint)
    half = np.array([half_of(str(p)) for p in probes.person])
    fit, held = half == 0, half == 1
    print(
        f"{len(probes.person)} probes ({family_counts(probes)}); recognised "
        f"{recognised.mean():.3f}; fit on {int(fit.sum())}, held out {int(held.sum())}"
    )

    ramps: dict[str, Ramp] = {}
    clean_fit = fit & np.isin(probes.family, ["clean", "frontal"])
    portraits = (probes.family == "clean") & np.char.startswith(probes.source, "photos/")
    for name in SIGNALS:
        if name == "indistinct":
            continue
        column = probes.signals[:, SIGNALS.index(name)]
        pool = fit & np.isin(probes.family, POOLS[name]) if name in POOLS else fit
        ramp = fit_ramp(column[pool], recognised[pool], name in HIGHER_IS_WORSE, name == "size")
        if ramp is not None and name in POOLS and not past(ramp, column[pool], name):
            ramp = reference_ramp(name)
        if ramp is not None:
            ramp = spare_clean(ramp, column[clean_fit], name in HIGHER_IS_WORSE)
            ramps[name] = spare_all(ramp, column[portraits], name in HIGHER_IS_WORSE)

    not_recognised = fit & ~recognised
    direction = probes.embeddings[not_recognised].astype(np.float64).mean(axis=0)
    direction /= np.linalg.norm(direction)
    indistinct = probes.embeddings.astype(np.float64) @ direction
    probes.signals[:, SIGNALS.index("indistinct")] = indistinct
    ramp = fit_ramp(indistinct[fit], recognised[fit], True)
    if ramp is not None:
        ramp = spare_clean(ramp, indistinct[clean_fit], True)
        ramps["indistinct"] = spare_all(ramp, indistinct[portraits], True)

    report(probes, recognised, held, ramps)
    previous = CALIBRATION_DIR / f"{args.model}.quality.json"
    version = 1
    if previous.exists():
        version = int(json.loads(previous.read_text("utf-8")).get("version", 0)) + 1
    model = QualityModel(
        args.model,
        ramps,
        direction,
        version,
        {
            "fitted_on": "benchmarks/fit_quality.py: half of lfw_dev + single-person photos by "
            "person, their degraded copies, cfp_dev; strangers in the gallery",
            "probes": int(fit.sum()),
        },
    )
    if args.write:
        previous.write_text(model.to_json(), encoding="utf-8")
        print(f"wrote {previous} (version {version})")


def family_counts(probes: Probes) -> str:
    return ", ".join(f"{f} {int((probes.family == f).sum())}" for f in np.unique(probes.family))


def report(
    probes: Probes, recognised: np.ndarray, held: np.ndarray, ramps: dict[str, Ramp]
) -> None:
    scores = np.column_stack(
        [
            score_of(ramps.get(n), probes.signals[:, k], n in HIGHER_IS_WORSE)
            for k, n in enumerate(SIGNALS)
        ]
    )
    clean = held & np.isin(probes.family, ["clean", "frontal"])
    print(
        f"{'signal':11s} {'threshold':>10s} {'width':>8s} {'held: rec >=':>12s} {'rec <':>7s} "
        f"{'n <':>5s} {'clean set aside':>15s}"
    )
    for k, name in enumerate(SIGNALS):
        ramp = ramps.get(name)
        above = held & (scores[:, k] >= 0.5)
        below = held & (scores[:, k] < 0.5)
        print(
            f"{name:11s} {ramp.threshold if ramp else float('nan'):10.4f} "
            f"{ramp.width if ramp else float('nan'):8.4f} {recognised[above].mean():12.3f} "
            f"{recognised[below].mean() if below.any() else float('nan'):7.3f} "
            f"{int(below.sum()):5d} "
            f"{(scores[clean, k] < 0.5).mean():15.4f}"
        )
    quality = scores.min(axis=1)
    auc = roc_auc_score(recognised[held], quality[held])
    good = held & (quality >= 0.5)
    print(
        f"combined (held out): AUC {auc:.4f}; recognised above the bar "
        f"{recognised[good].mean():.3f} ({int(good.sum())}), below "
        f"{recognised[held & ~good].mean():.3f} ({int((held & ~good).sum())}); "
        f"clean faces set aside {(quality[clean] < 0.5).mean():.4f}"
    )
    for family in np.unique(probes.family):
        f = held & (probes.family == family)
        print(
            f"  {family:9s} n {int(f.sum()):5d} recognised {recognised[f].mean():.3f} "
            f"below the bar {(quality[f] < 0.5).mean():.3f} "
            f"recognised above {recognised[f & (quality >= 0.5)].mean():.3f}"
        )


if __name__ == "__main__":
    main()
