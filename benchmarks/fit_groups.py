"""Fit the margin a new group must have over its neighbourhood (``core.group_gate``) on the
strangers of the shared data, and check it on held-out people.

The dataset of ``grid_quality.py`` is scanned (cached) and grouped once per margin tried; its
people are split in two halves by a hash of their name (``fit_quality.half_of``), strangers
included. On the fit half, per margin: strangers placed in a group, mixed groups (labelled faces
of two or more people, one of them of this half) and labelled BCubed F, which counts both a
stranger in a group and a person split apart. The margin written is the largest (strangers stay
apart, a split is cheap to fix) whose fit-half BCubed F is within ``F_SLACK`` of the best; the
held-out half's figures at every margin are printed beside, so the choice can be checked where
it was not made. Then a pair (a new group of two) must reach a margin of its own: the smallest,
from the group margin up, at which at most ``TARGET`` of the fit half of ``lfw_strangers``
scanned alone end up in a group (the held-out half printed beside).

    .venv/bin/python benchmarks/fit_groups.py [--model ID] [--margins 2.4,2.8,...] [--write]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from fit_quality import CALIBRATION_DIR, half_of
from grid_quality import today_rules
from quality_data import FACES_DIR
from review_effort import roots_of, scan_folders, scanned_library
from review_truth import Truth, dataset_photos, labelled_faces, scores

from faceorganizer.services.library import Library

F_SLACK = 0.002
TARGET = 0.015  # strangers in a group, on the fit half of lfw_strangers alone
PAIR_STEP = 0.4
PAIR_STEPS = 8
MARGINS = (2.0, 2.4, 2.8, 3.2, 3.6, 4.0)


def half_figures(truth: Truth, person: dict[int, int | None], half: int) -> tuple[float, ...]:
    """(strangers grouped share, mixed groups share, BCubed F) of one half of the people."""
    members: dict[int, list[int]] = defaultdict(list)
    for fid, pid in person.items():
        if pid is not None:
            members[pid].append(fid)
    groups = mixed = 0
    for fids in members.values():
        labels = Counter(truth.label[f] for f in fids if f in truth.label)
        if len(fids) < 2 or not any(half_of(lab) == half for lab in labels):
            continue
        groups += 1
        mixed += len(labels) >= 2
    sizes = Counter(p for p in person.values() if p is not None)
    strangers = [
        f for f, lab in truth.label.items() if lab in truth.strangers and half_of(lab) == half
    ]
    grouped = sum(sizes.get(person.get(f), 0) >= 2 for f in strangers)
    mine = Truth(
        {f: lab for f, lab in truth.label.items() if half_of(lab) == half},
        {lab for lab in truth.strangers if half_of(lab) == half},
    )
    _, f_score = scores(mine, person)
    return grouped / max(len(strangers), 1), mixed / max(groups, 1), f_score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="dlib-resnet-v1")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--margins", default=",".join(map(str, MARGINS)))
    ap.add_argument("--write", action="store_true", help="store the margin in the quality file")
    args = ap.parse_args()

    roots = roots_of(None)
    person_of = dataset_photos(roots)
    scanned = scanned_library(person_of, scan_folders(person_of, roots), args.model, "cpu", False)
    rows = []
    print(f"{'margin':>6s} | fit: {'strangers':>9s} {'mixed':>6s} {'B3 F':>6s} | held out: "
          f"{'strangers':>9s} {'mixed':>6s} {'B3 F':>6s}")  # fmt: skip
    for margin in (float(m) for m in args.margins.split(",")):
        with tempfile.TemporaryDirectory(prefix="fit-groups-") as tmp:
            db = Path(tmp) / "library.sqlite3"
            shutil.copyfile(scanned, db)
            with Library.open(db, device=args.device) as lib:
                truth = labelled_faces(lib.db.conn, person_of)
                with today_rules(False, margin, margin):
                    lib.cluster()
                person = dict(lib.db.execute("SELECT id, person_id FROM faces").fetchall())
        fit, held = half_figures(truth, person, 0), half_figures(truth, person, 1)
        rows.append((margin, fit, held))
        print(
            f"{margin:6.2f} | fit: {100 * fit[0]:8.2f}% {100 * fit[1]:5.1f}% {fit[2]:.4f} | "
            f"held out: {100 * held[0]:8.2f}% {100 * held[1]:5.1f}% {held[2]:.4f}"
        )
    best = max(r[1][2] for r in rows)
    chosen = max((r for r in rows if r[1][2] >= best - F_SLACK), key=lambda r: r[0])
    print(f"chosen margin {chosen[0]:.2f} (pair-calibration units)")
    pair = fit_pair(args, chosen[0])
    if args.write:
        path = CALIBRATION_DIR / f"{args.model}.quality.json"
        data = json.loads(path.read_text("utf-8"))
        data["new_group_margin"] = chosen[0]
        data["new_pair_margin"] = pair
        data["new_group_margin_fitted_on"] = (
            "benchmarks/fit_groups.py: the group margin on the fit half of lfw_dev + "
            "lfw_strangers + photos by person, the pair margin on the fit half of lfw_strangers"
        )
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")


def fit_pair(args: argparse.Namespace, margin: float) -> float:
    """The smallest pair margin (from ``margin`` up) at which at most ``TARGET`` of the fit half
    of a library of one-photo people (``lfw_strangers``) end up in a group."""
    roots = [(FACES_DIR / "lfw_strangers", 1)]
    person_of = dataset_photos(roots)
    scanned = scanned_library(person_of, scan_folders(person_of, roots), args.model, "cpu", False)
    print(f"pairs, on {len(person_of)} strangers alone | fit: grouped | held out: grouped")
    found = None
    for pair in [margin + k * PAIR_STEP for k in range(PAIR_STEPS)]:
        with tempfile.TemporaryDirectory(prefix="fit-pairs-") as tmp:
            db = Path(tmp) / "library.sqlite3"
            shutil.copyfile(scanned, db)
            with Library.open(db, device=args.device) as lib:
                truth = labelled_faces(lib.db.conn, person_of)
                with today_rules(False, margin, pair):
                    lib.cluster()
                person = dict(lib.db.execute("SELECT id, person_id FROM faces").fetchall())
        fit, held = half_figures(truth, person, 0)[0], half_figures(truth, person, 1)[0]
        print(f"{pair:6.2f} | fit: {100 * fit:6.2f}% | held out: {100 * held:6.2f}%")
        if fit <= TARGET:
            found = pair
            break
    chosen = found if found is not None else margin + (PAIR_STEPS - 1) * PAIR_STEP
    print(f"chosen pair margin {chosen:.2f}")
    return round(chosen, 3)


if __name__ == "__main__":
    main()
