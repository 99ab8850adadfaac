"""Every group a user sees, judged by the truth: pure, mixed or junk; and the review queue's first
questions and its calibration.

Scans DATASET (default: ``lfw_dev`` + ``lfw_strangers`` + the single-person photos; any folder
of person sub-folders, a person with one photo a stranger) into a library, groups it as a scan
does, and judges each person of 2+ faces (``review_truth``: a photo's labelled face is the one
nearest its centre among the large ones; its other faces are cut, background or bystander faces,
known only *not* to be that person):

- **mixed**: labelled faces of two or more people;
- **junk**: most of its faces are debris: other faces of labelled photos that are cut by the
  border (their box touches it) or in the background (less than half the side of the photo's
  labelled face);
- **bystander**: most of its faces are other faces of labelled photos, whole and in front (the
  same person beside a labelled one in several photos: George W. Bush beside Laura Bush);
- **pure**: the rest (labelled faces of one person, or none, with a few other faces).

Also: strangers (people with one photo) placed in any group; labelled faces set aside as too
poor to judge; labelled pairwise precision and BCubed F; the first 20 review questions judged by
the truth (right: what it proposes is true; unknown: the truth cannot say); then a simulated user
answers the queue (``review_effort.SimulatedUser``) and every question asked is kept with its
percentage, for the calibration table (deciles: questions, mean percentage, observed right rate).

Baselines in the same run, on the same scanned faces: today's behaviour (no quality gate and no
stricter rule for new small groups) and Immich's rule (a face with 3+ faces, itself included,
within distance 0.5 of its model is a core face: it joins the person of its nearest placed
neighbour or starts one; other faces only join; 0.5 on ArcFace's scale is mapped to ours by the
share of different-person pairs it lets through, ``IMMICH_FAR``). The last line is
``groups G pure P mixed M junk J strangers_grouped S set_aside A bcubed_F F first20_right R``.

    .venv/bin/python benchmarks/grid_quality.py [DATASET] [--model ID] [--rescan]
        [--no-review] [--no-baselines]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from review_effort import roots_of, scan_folders, scanned_library
from review_questions import calibration_table, review
from review_truth import Truth, dataset_photos, labelled_faces, scores

from faceorganizer.services.library import Library

# Immich's ArcFace at cosine distance 0.5 lets through about this share of different-person
# pairs (buffalo_l on LFW-like pairs); ours is placed at the same share of lfw_dev's pairs.
IMMICH_FAR = 1e-4
IMMICH_MIN_FACES = 3


@dataclass
class Grid:
    """What a user sees in the people grid, judged."""

    groups: int = 0
    pure: int = 0
    mixed: int = 0
    junk: int = 0
    bystander: int = 0
    strangers: int = 0
    strangers_grouped: int = 0
    labelled: int = 0
    set_aside: int = 0
    precision: float = 0.0
    bcubed_f: float = 0.0
    worst: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        g = max(self.groups, 1)
        return (
            f"{name:18s} {self.groups:6d} {self.pure:6d} {self.mixed:4d}"
            f" ({100 * self.mixed / g:4.1f} %)"
            f" {self.junk:4d} {self.bystander:9d} {self.strangers_grouped:5d}/{self.strangers:<5d}"
            f" ({100 * self.strangers_grouped / max(self.strangers, 1):4.1f} %)"
            f" {self.set_aside:5d} ({100 * self.set_aside / max(self.labelled, 1):4.2f} %)"
            f" {self.precision:7.4f} {self.bcubed_f:7.4f}"
        )


HEADER = (
    f"{'method':18s} {'groups':>6s} {'pure':>6s} {'mixed':>11s} {'junk':>4s} {'bystander':>9s} "
    f"{'strangers grouped':>19s} {'set aside':>13s} {'pairP':>7s} {'B3 F':>7s}"
)


def debris_faces(con: sqlite3.Connection, truth: Truth) -> set[int]:
    """Other faces of labelled photos that are cut by the border or in the background."""
    labelled_side: dict[int, float] = {}
    rows = con.execute(
        "SELECT f.id, f.photo_id, f.x1, f.y1, f.x2, f.y2, p.width, p.height FROM faces f "
        "JOIN photos p ON p.id = f.photo_id"
    ).fetchall()
    for fid, photo, x1, y1, x2, y2, _, _ in rows:
        if fid in truth.label:
            labelled_side[photo] = max(x2 - x1, y2 - y1)
    out = set()
    for fid, photo, x1, y1, x2, y2, w, h in rows:
        if fid not in truth.not_label:
            continue
        cut = min(x1, y1, w - x2, h - y2) <= 1.0
        small = max(x2 - x1, y2 - y1) < 0.5 * labelled_side.get(photo, 0.0)
        if cut or small:
            out.add(int(fid))
    return out


def judge_grid(
    truth: Truth, person: dict[int, int | None], poor: set[int], debris: set[int]
) -> Grid:
    """Classify every group of 2+ faces (``person``: face id -> person or None)."""
    members: dict[int, list[int]] = defaultdict(list)
    for fid, pid in person.items():
        if pid is not None:
            members[pid].append(fid)
    grid = Grid()
    for pid, fids in members.items():
        if len(fids) < 2:
            continue
        grid.groups += 1
        labels = Counter(truth.label[f] for f in fids if f in truth.label)
        others = sum(f in truth.not_label for f in fids)
        if len(labels) >= 2:
            grid.mixed += 1
            kind = "mixed"
        elif 2 * sum(f in debris for f in fids) > len(fids):
            grid.junk += 1
            kind = "junk"
        elif 2 * others > len(fids):
            grid.bystander += 1
            continue
        else:
            grid.pure += 1
            continue
        grid.worst.append(f"{kind} person {pid}: {len(fids)} faces, {dict(labels.most_common(4))}")
    strangers = [f for f, lab in truth.label.items() if lab in truth.strangers]
    grid.strangers = len(strangers)
    sizes = Counter(p for p in person.values() if p is not None)
    grid.strangers_grouped = sum(sizes.get(person.get(f), 0) >= 2 for f in strangers)
    grid.labelled = len(truth.label)
    grid.set_aside = sum(f in poor for f in truth.label)
    grid.precision, grid.bcubed_f = scores(truth, person)
    return grid


def library_state(con: sqlite3.Connection, bar: float) -> tuple[dict[int, int | None], set[int]]:
    person = dict(con.execute("SELECT id, person_id FROM faces WHERE not_face = 0").fetchall())
    poor = {
        int(f)
        for (f,) in con.execute(
            "SELECT id FROM faces WHERE quality_recipe > 0 AND quality < ?", [bar]
        )
    }
    return person, poor


def immich(lib: Library, model_id: str, truth: Truth) -> dict[int, int | None]:
    """Immich's grouping of the library's faces (core faces start or join persons, the others
    only join), on our embeddings with the distance mapped by ``IMMICH_FAR``."""
    from faceorganizer.storage import faces as face_rows

    ids, emb = face_rows.embeddings(lib.db, model_id)
    cosine = immich_cosine(lib, model_id, truth)
    sims = emb @ emb.T
    person: dict[int, int | None] = {int(f): None for f in ids}
    label = np.full(len(ids), -1, np.int64)
    deferred = []
    next_id = 0
    for i in range(len(ids)):
        near = np.flatnonzero(sims[i] >= cosine)
        near = near[np.argsort(-sims[i, near])]
        if len(near) < IMMICH_MIN_FACES:
            deferred.append((i, near))
            continue
        placed = [j for j in near if label[j] >= 0 and j != i]
        if label[i] < 0:
            if placed:
                label[i] = label[placed[0]]
            else:
                label[i] = next_id
                next_id += 1
    for i, near in deferred:
        placed = [j for j in near if label[j] >= 0 and j != i]
        if placed and label[i] < 0:
            label[i] = label[placed[0]]
    for i, f in enumerate(ids.tolist()):
        person[int(f)] = int(label[i]) if label[i] >= 0 else None
    return person


def immich_cosine(lib: Library, model_id: str, truth: Truth) -> float:
    """Our cosine that lets through ``IMMICH_FAR`` of different-person pairs of the library's
    labelled faces (their photos' folders)."""
    from faceorganizer.core.calibration import pair_cosines
    from faceorganizer.storage import faces as face_rows

    ids, emb = face_rows.embeddings(lib.db, model_id)
    rows = [i for i, f in enumerate(ids.tolist()) if f in truth.label]
    pairs = pair_cosines(emb[rows], [truth.label[int(ids[i])] for i in rows])
    return float(np.quantile(pairs.diff, 1.0 - IMMICH_FAR))


def run_method(
    scanned: Path, person_of: dict[str, str], args: argparse.Namespace, name: str
) -> tuple[Grid, list, list]:
    with tempfile.TemporaryDirectory(prefix="grid-quality-") as tmp:
        db = Path(tmp) / "library.sqlite3"
        shutil.copyfile(scanned, db)
        with Library.open(db, device=args.device) as lib:
            truth = labelled_faces(lib.db.conn, person_of)
            if name == "today":
                lib.set_setting("quality_bar", 0.0)
            elif args.bar is not None:
                lib.set_setting("quality_bar", args.bar)
            bar = float(lib.settings()["quality_bar"])
            t0 = time.perf_counter()
            if name == "immich":
                person = immich(lib, lib.model_id, truth)
            else:
                with today_rules(name == "today", *our_margins(args, name)):
                    lib.cluster()
                person, _ = library_state(lib.db.conn, bar)
            seconds = time.perf_counter() - t0
            _, poor = library_state(lib.db.conn, bar)
            debris = debris_faces(lib.db.conn, truth)
            grid = judge_grid(truth, person, poor if name != "immich" else set(), debris)
            first, asked = [], []
            if not args.no_review and name != "immich":
                with today_rules(name == "today", *our_margins(args, name)):
                    first, asked = review(lib, truth, args.max_clicks)
    print(f"  {name}: grouped in {seconds:.1f} s")
    return grid, first, asked


def our_margins(args: argparse.Namespace, name: str) -> tuple[float | None, float | None]:
    """The margins asked for on the command line (ours only; None: the shipped ones)."""
    return (args.margin, args.pair_margin) if name == "ours" else (None, None)


class today_rules:  # noqa: N801 - used as a context manager
    """Clustering without the test new groups must pass (``core.group_gate``) while ``on``;
    or, with ``margin`` (and ``pair``), that test at these margins (pair-calibration units)."""

    def __init__(self, on: bool, margin: float | None = None, pair: float | None = None) -> None:
        self.on, self.margin, self.pair = on, margin, pair
        self.saved: object = None

    def __enter__(self) -> None:
        if not self.on and self.margin is None and self.pair is None:
            return
        from faceorganizer.core.models.registry import calibration_for
        from faceorganizer.services.people import clustering as people

        self.saved = original = people.cluster_input
        margin, pair, on = self.margin, self.pair, self.on

        def cluster_input(data: object, model_id: str) -> object:
            inp = original(data, model_id)  # type: ignore[arg-type]
            slope = calibration_for(model_id).slope
            if on:
                inp.group_margin = inp.pair_margin = None
                return inp
            if margin is not None:
                inp.group_margin = margin / slope
            if pair is not None:
                inp.pair_margin = pair / slope
            return inp

        people.cluster_input = cluster_input  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            from faceorganizer.services.people import clustering as people

            people.cluster_input = self.saved  # type: ignore[assignment]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", type=Path, help="folder of person sub-folders")
    ap.add_argument("--model", default="dlib-resnet-v1")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rescan", action="store_true", help="scan afresh, not from the cache")
    ap.add_argument("--no-review", action="store_true", help="leave out the review queue")
    ap.add_argument("--no-baselines", action="store_true", help="only ours")
    ap.add_argument("--max-clicks", type=int, default=400, help="the simulated user's limit")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the wrong groups")
    ap.add_argument("--bar", type=float, help="our quality bar (default: the library's)")
    ap.add_argument("--min-chance", type=float, help="ask down to this chance (for tuning)")
    ap.add_argument(
        "--margin", type=float, help="our new groups' margin, pair-calibration units (tuning)"
    )
    ap.add_argument("--pair-margin", type=float, help="our new pairs' margin (tuning)")
    args = ap.parse_args()
    if args.min_chance is not None:
        from faceorganizer.services.review import queue as review_queue

        review_queue.MIN_CHANCE = args.min_chance

    roots = roots_of(args.dataset)
    person_of = dataset_photos(roots)
    if not person_of:
        sys.exit(f"no photos in person sub-folders of {args.dataset}")
    folders = scan_folders(person_of, roots)
    scanned = scanned_library(person_of, folders, args.model, args.device, args.rescan)
    methods = ["ours"] + ([] if args.no_baselines else ["today", "immich"])
    results = {name: run_method(scanned, person_of, args, name) for name in methods}
    print(HEADER)
    for name, (grid, _, _) in results.items():
        print(grid.line(name))
    if args.verbose:
        for name, (grid, _, _) in results.items():
            for line in grid.worst[:30]:
                print(f"  {name}: {line}")
    for name, (_, first, asked) in results.items():
        if not first and not asked:
            continue
        right = sum(r is True for _, r in first)
        unknown = sum(r is None for _, r in first)
        print(
            f"{name}: first {len(first)} review questions: {right} right, "
            f"{sum(r is False for _, r in first)} wrong, {unknown} the truth cannot judge"
        )
        for s, r in first:
            mark = {True: "right", False: "WRONG", None: "?"}[r]
            print(f"    {s.kind:5s} {100 * s.chance:5.1f} %  {mark:5s}  {s.question}")
        print(f"{name}: calibration of {len(asked)} questions asked")
        for line in calibration_table(asked):
            print(f"    {line}")
    grid, first, _ = results["ours"]
    g = max(grid.groups, 1)
    print(
        f"goals: junk groups 0 {'met' if grid.junk == 0 else 'NOT met'}; mixed <= 2 % "
        f"{'met' if grid.mixed <= 0.02 * g else 'NOT met'}; strangers grouped <= 2 % "
        f"{'met' if grid.strangers_grouped <= 0.02 * max(grid.strangers, 1) else 'NOT met'}; "
        f"set aside <= 3 % {'met' if grid.set_aside <= 0.03 * max(grid.labelled, 1) else 'NOT met'}"
        f"; BCubed F >= 0.98 {'met' if grid.bcubed_f >= 0.98 else 'NOT met'}; first 20 right >= "
        f"16 {'met' if sum(r is True for _, r in first) >= 16 else 'NOT met'}"
    )
    print(
        f"groups {grid.groups} pure {grid.pure} mixed {grid.mixed} junk {grid.junk} "
        f"strangers_grouped {grid.strangers_grouped} set_aside {grid.set_aside} "
        f"bcubed_F {grid.bcubed_f:.4f} first20_right {sum(r is True for _, r in first)}"
    )


if __name__ == "__main__":
    main()
