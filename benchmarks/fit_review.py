"""Fit the review queue's calibration (``services.review.scoring``): per kind of question, a
logistic model from its features to the chance that "yes" is right.

The candidates of every kind, with the truth, are taken from a library-shaped benchmark (the
dataset scanned and grouped as ``review_effort.py`` does, faces under the quality bar left out
as the queue leaves them) at the start and after each answer of a simulated review, itself run
with a first fit on the start alone. Each candidate belongs to the half of the people
(``fit_quality.half_of``) its truth is about. Each half is judged by a fit on the other (two
folds), and the reliability table of those held-out chances (per decile: candidates, mean
chance, observed right rate) shows whether the percentages hold where they were not fitted; the
fit written uses both halves. Prints each kind's candidates and right ones, and writes
``faceorganizer/core/calibration/<model>.review.json`` (``--out`` elsewhere, ``--dry-run`` not
at all).

    .venv/bin/python benchmarks/fit_review.py [DATASET] [--model ID] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from fit_quality import half_of
from review_effort import REPO, SimulatedUser, roots_of, scan_folders, scanned_library
from review_truth import Truth, dataset_photos, labelled_faces
from sklearn.linear_model import LogisticRegression

from faceorganizer.core.models.registry import calibration_for
from faceorganizer.services.library import Library
from faceorganizer.services.review import candidates, queue, scoring
from faceorganizer.services.review.data import load as load_review_data

GATHER_CHANCE = 0.2  # the second pass asks down to this chance, to see beyond the first fit
Key = tuple[str, int, int]
Samples = dict[Key, tuple[np.ndarray, bool, int]]  # features, right, half of the people


def _homes(lib: candidates.Library, truth: Truth) -> dict[int, Counter[str]]:
    labels: dict[int, Counter[str]] = {}
    for r, p in enumerate(lib.person.tolist()):
        lab = truth.label.get(int(lib.data.face_ids[r]))
        if p >= 0 and lab is not None:
            labels.setdefault(p, Counter())[lab] += 1
    return labels


def _home(counts: Counter[str] | None, truth: Truth) -> str | None:
    if not counts:
        return None
    return max(counts, key=lambda lab: (counts[lab], lab not in truth.strangers, lab))


def collect(lib: candidates.Library, truth: Truth, into: Samples) -> None:
    """Every candidate of the library's state with its truth (where the truth knows), first
    sight of each kept."""
    homes = _homes(lib, truth)
    fid = lib.data.face_ids
    label = truth.label.get

    def add(kind: str, a: int, b: int, x: np.ndarray, right: bool | None, about: str) -> None:
        if right is not None and (kind, a, b) not in into:
            into[(kind, a, b)] = (x, right, half_of(about))

    found = candidates.merges(lib)
    for a, b, x in zip(found.a.tolist(), found.b.tolist(), found.features, strict=True):
        ha, hb = _home(homes.get(a), truth), _home(homes.get(b), truth)
        add("merge", a, b, x, None if ha is None or hb is None else ha == hb, ha or "")
    found = candidates.odd(lib)
    for r, p, x in zip(found.a.tolist(), found.b.tolist(), found.features, strict=True):
        lab = label(int(fid[r]))
        rest = Counter(homes.get(p, Counter()))
        if lab is not None:
            rest[lab] -= 1
        home = _home(+rest, truth)
        if home is not None and (lab is not None or truth.is_not(int(fid[r]), home)):
            add("odd", int(fid[r]), p, x, truth.is_not(int(fid[r]), home), home)
    found = candidates.who(lib)
    for r, p, x in zip(found.a.tolist(), found.b.tolist(), found.features, strict=True):
        lab, home = label(int(fid[r])), _home(homes.get(p), truth)
        right = None if lab is None or home is None else lab == home
        add("who", int(fid[r]), p, x, right, lab or "")
    loose = np.flatnonzero((lib.data.person_ids < 0) & lib.clear)
    found = candidates.new_pairs(lib, loose, queue.NEW_K)
    for a, b, x in zip(found.a.tolist(), found.b.tolist(), found.features, strict=True):
        la, lb = label(int(fid[a])), label(int(fid[b]))
        add(
            "new",
            int(fid[a]),
            int(fid[b]),
            x,
            None if la is None or lb is None else la == lb,
            la or "",
        )


def fit(samples: Samples, info: dict, half: int | None = None) -> scoring.ReviewCalibration:
    """Per kind, the logistic model on the samples of ``half`` (None: both)."""
    coef: dict[str, tuple[float, ...]] = {}
    intercept: dict[str, float] = {}
    counts = {}
    for kind in scoring.FEATURES:
        rows = [
            (x, y)
            for (k, _, _), (x, y, h) in samples.items()
            if k == kind and (half is None or h == half)
        ]
        x = np.array([r[0] for r in rows], np.float64).reshape(-1, len(scoring.FEATURES[kind]))
        y = np.array([r[1] for r in rows], bool)
        counts[kind] = {"candidates": len(y), "right": int(y.sum())}
        print(f"  {kind:5s} {len(y):6d} candidates, {int(y.sum()):4d} right")
        if y.sum() < 2 or (~y).sum() < 2:
            # Too little to fit (no case in this data, not proof there are none in a user's
            # library): keep the first fitted model's, whose features are in pair-calibration
            # units and carry across models.
            carried = scoring.review_calibration(scoring.FALLBACK_MODEL)
            coef[kind], intercept[kind] = carried.coef[kind], carried.intercept[kind]
            counts[kind]["carried_from"] = scoring.FALLBACK_MODEL  # type: ignore[assignment]
            print(f"  {kind:5s} too few to fit: {scoring.FALLBACK_MODEL}'s fit carried")
            continue
        model = LogisticRegression(C=1.0, max_iter=5000).fit(x, y)
        coef[kind] = tuple(float(c) for c in model.coef_[0])
        intercept[kind] = float(model.intercept_[0])
    return scoring.ReviewCalibration(coef, intercept, {**info, "samples": counts})


def reliability(samples: Samples, info: dict) -> None:
    """Per decile of chance, each half judged by the fit on the other (two-fold): candidates,
    mean chance and the right rate."""
    chance, right = [], []
    for half in (0, 1):
        other = fit(samples, info, 1 - half)
        for (kind, _, _), (x, y, h) in samples.items():
            if h == half:
                chance.append(float(other.chance(kind, x)[0]))
                right.append(y)
    c, r = np.array(chance), np.array(right, float)
    print(f"  held out (two-fold): {len(c)} candidates, {int(r.sum())} right")
    print(f"  {'decile':>9s} {'candidates':>10s} {'mean %':>7s} {'right %':>8s}")
    for d in range(10):
        inside = (c >= d / 10) & ((c < (d + 1) / 10) | (d == 9))
        if inside.any():
            print(
                f"  {10 * d:3d}-{10 * d + 10:3d} % {int(inside.sum()):10d} "
                f"{100 * c[inside].mean():7.1f} {100 * r[inside].mean():8.1f}"
            )


def gather(
    lib_path: Path,
    person_of: dict[str, str],
    model: str,
    device: str,
    calibration: scoring.ReviewCalibration | None,
) -> Samples:
    """Candidates at the start and, with ``calibration``, after each simulated answer."""
    samples: Samples = {}
    pair = calibration_for(model)
    with tempfile.TemporaryDirectory(prefix="fit-review-") as tmp:
        db = Path(tmp) / "library.sqlite3"
        shutil.copyfile(lib_path, db)
        with Library.open(db, device=device) as lib:
            lib.cluster()
            truth = labelled_faces(lib.db.conn, person_of)
            user = SimulatedUser(truth)
            skipped: list[str] = []
            while True:
                data = load_review_data(lib.db)
                prepared = candidates.prepare(data, pair, lib.torch_device())
                collect(prepared, truth, samples)
                if calibration is None:
                    break
                found = queue.without(queue.build(data, pair, calibration), skipped)
                found = [s for s in found if s.chance >= GATHER_CHANCE]
                if not found or sum(user.clicks.values()) > 2000:
                    break
                if user.answer(lib, found[0]) == "skip":
                    skipped.append(found[0].suggestion_id)
            print(f"  {sum(user.clicks.values())} simulated clicks")
    return samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", type=Path, help="folder of person sub-folders")
    ap.add_argument("--model", default="dlib-resnet-v1")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, help="where to write (default: the shipped file)")
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()

    roots = roots_of(args.dataset)
    person_of = dataset_photos(roots)
    scanned = scanned_library(
        person_of, scan_folders(person_of, roots), args.model, args.device, rescan=False
    )
    info = {
        "fitted_on": f"benchmarks/fit_review.py on {args.dataset or 'the default dataset'}",
        "fitted_at": datetime.date.today().isoformat(),
    }
    print("first fit, on the grouped library")
    first = fit(gather(scanned, person_of, args.model, args.device, None), info)
    print("second fit, on the start and every state of a review answered with the first")
    queue.MIN_CHANCE = GATHER_CHANCE
    samples = gather(scanned, person_of, args.model, args.device, first)
    final = fit(samples, info)
    reliability(samples, info)
    print(final.to_json())
    if not args.dry_run:
        out = args.out or REPO / "faceorganizer/core/calibration" / f"{args.model}.review.json"
        scoring.write(out, final)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
