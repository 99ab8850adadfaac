"""How good similar-face search is, as the similar-faces panel runs it, on people it never saw.

The labelled faces of ``lfw_dev``, ``lfw_strangers`` and the single-person photos are split by
identity into two halves (a fixed seed; strangers split too). Each half is a library of its own,
grouped into people by the library's clustering as a scan does. Every face is a query against its
library (its own face left out); so is every grouped person ("faces like this person", its own
faces left out). Results are scored with person-level evidence and the 1:N percentage
(``core.person_search``), fitted on one half and measured on the other: the figures printed are
held-out, person-disjoint. Printed beside them in the same run: the face-to-face scoring of the
same queries (each face's own cosine through the balanced-pair calibration), and dlib's usual
recipe (Euclidean distance < 0.6). Finally the fit of one half is run on the whole set (a library
twice the size it was fitted on, queries of the held-out half) to show how the percentage holds
when a library has more strangers.

``--write`` fits on both halves together and writes
``faceorganizer/core/calibration/<model>.search.json`` (the file shipped with the app).

    .venv/bin/python benchmarks/search_quality.py [--model dlib-resnet-v1] [--write]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
from quality_data import REPO, FaceSet, load_faces
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from faceorganizer.core.clustering import ClusterInput, cluster_thresholds, recluster
from faceorganizer.core.models.registry import calibration_for
from faceorganizer.core.person_search import (
    SearchCalibration,
    evidence,
    feature_matrix,
    write,
)
from faceorganizer.core.types import Calibration

KINDS = {"lfw_crop", "lfw_stranger", "photo"}
THRESHOLDS = (50.0, 65.0, 80.0, 90.0, 99.0)
RAW_DLIB_NORM = 1.434  # mean length of dlib's raw descriptors on lfw_dev


@dataclass
class Candidates:
    """Every (query, candidate) pair of one library: features, truth, face cosine, query id."""

    features: list[np.ndarray] = field(default_factory=list)
    same: list[np.ndarray] = field(default_factory=list)
    cosine: list[np.ndarray] = field(default_factory=list)
    query: list[np.ndarray] = field(default_factory=list)
    person_query: list[np.ndarray] = field(default_factory=list)
    relevant: dict[int, int] = field(default_factory=dict)  # query id -> same-person candidates

    def stacked(self) -> tuple[np.ndarray, ...]:
        return tuple(
            np.concatenate(x)
            for x in (self.features, self.same, self.cosine, self.query, self.person_query)
        )


def library_people(emb: np.ndarray, photo: np.ndarray, score: np.ndarray, model: str) -> np.ndarray:
    """Person id of each face (-1: none) after a scan's clustering of the whole library."""
    n = len(emb)
    labels = recluster(
        ClusterInput(
            embeddings=emb,
            person=np.full(n, -1, np.int64),
            pinned=np.zeros(n, bool),
            photo=photo,
            score=score,
            **cluster_thresholds(calibration_for(model)),
        )
    ).labels
    return np.where(labels <= -2, -labels, -1)


def candidates(
    emb: np.ndarray,
    label: np.ndarray,
    person: np.ndarray,
    pair: Calibration,
    first_id: int,
    faces: np.ndarray | None = None,
) -> Candidates:
    """Face queries (every face, or the rows ``faces``) and person queries (every person of 2+
    faces; none when ``faces`` is given)."""
    out = Candidates()
    qid = first_id
    asked = np.arange(len(emb)) if faces is None else faces
    queries: list[tuple[np.ndarray, str, bool]] = [
        (np.arange(len(emb)) == i, str(label[i]), False) for i in asked.tolist()
    ]
    for p in np.unique(person[person >= 0]).tolist() if faces is None else []:
        mask = person == p
        if mask.sum() >= 2:
            names, counts = np.unique(label[mask], return_counts=True)
            queries.append((mask, str(names[np.argmax(counts)]), True))
    for mask, who, whole in queries:
        cos = emb @ emb[mask].mean(axis=0)
        ev = evidence(cos, person, mask)
        same = label[ev.rows] == who
        out.features.append(feature_matrix(ev, pair))
        out.same.append(same)
        out.cosine.append(ev.face)
        out.query.append(np.full(len(ev.rows), qid))
        out.person_query.append(np.full(len(ev.rows), whole))
        out.relevant[qid] = int(same.sum())
        qid += 1
    return out


def fit(features: np.ndarray, same: np.ndarray) -> SearchCalibration:
    """Logistic regression on standardised features (it converges in seconds on a million pairs),
    mapped back to the raw features."""
    scaler = StandardScaler().fit(features)
    model = LogisticRegression(max_iter=1000).fit(scaler.transform(features), same)
    coef = model.coef_[0] / scaler.scale_
    intercept = float(model.intercept_[0] - np.sum(coef * scaler.mean_))
    return SearchCalibration(tuple(float(c) for c in coef), intercept, {})


@dataclass(frozen=True)
class Figures:
    precision: float  # of all results at or above the threshold
    recall: float  # of all same-person faces
    recall_at_1: float  # queries with a same-person face whose first result is one
    precision_at_1: float  # queries with a result at or above the threshold whose first is right
    wrong_queries: float  # share of queries with at least one wrong result above the threshold


def figures(pct: np.ndarray, c: Candidates, mask: np.ndarray, t: float) -> Figures:
    _, same, _, query, _ = c.stacked()
    pct, same, query = pct[mask], same[mask], query[mask]
    asked = np.unique(query)
    above = pct >= t
    found = int((same & above).sum())
    returned = int(above.sum())
    total = sum(c.relevant[int(q)] for q in asked)
    order = np.lexsort((-pct, query))
    first = np.ones(len(order), bool)
    first[1:] = query[order][1:] != query[order][:-1]
    top = order[first]
    has = np.array([c.relevant[int(q)] > 0 for q in query[top]])
    shown = above[top]
    return Figures(
        found / returned if returned else 1.0,
        found / total if total else 1.0,
        float(same[top][has].mean()) if has.any() else 1.0,
        float(same[top][shown].mean()) if shown.any() else 1.0,
        len(np.unique(query[above & ~same])) / len(asked),
    )


HEADER = "  " + " ".join(
    f"{h:>7s}" if i else f"{h:36s}"
    for i, h in enumerate(("scoring", "at", "prec", "recall", "R@1", "P@1", "q.wrong"))
)


def show(name: str, pct: np.ndarray, c: Candidates, mask: np.ndarray, at: Sequence[float]) -> dict:
    out = {}
    for t in at:
        f = figures(pct, c, mask, t)
        out[t] = f
        print(
            f"  {name:36s} {t:4.0f}% {f.precision:7.4f} {f.recall:7.4f} {f.recall_at_1:7.4f} "
            f"{f.precision_at_1:7.4f} {f.wrong_queries:7.4f}"
        )
    return out


def split_identities(fs: FaceSet, rows: np.ndarray, seed: int = 0) -> np.ndarray:
    """Half 0 or 1 for each labelled face, by identity (strangers included)."""
    names = np.unique(fs.label[rows])
    half = np.random.default_rng(seed).permutation(len(names)) % 2
    fold_of = dict(zip(names.tolist(), half.tolist(), strict=True))
    return np.array([fold_of[n] for n in fs.label[rows].tolist()])


def library(fs: FaceSet, mine: np.ndarray, model: str, pair: Calibration, first_id: int,
            queries: np.ndarray | None = None) -> Candidates:  # fmt: skip
    emb, label = fs.embeddings[mine], fs.label[mine]
    person = library_people(emb, fs.photo[mine], fs.score[mine], model)
    grouped = person >= 0
    print(
        f"  {len(mine)} faces of {len(np.unique(label))} people "
        f"({int(np.sum(fs.kind[mine] == 'lfw_stranger'))} strangers), "
        f"{len(np.unique(person[grouped]))} groups holding {int(grouped.sum())} faces"
    )
    return candidates(emb, label, person, pair, first_id, queries)


def joined(parts: Sequence[Candidates]) -> Candidates:
    out = Candidates()
    for c in parts:
        out.features += c.features
        out.same += c.same
        out.cosine += c.cosine
        out.query += c.query
        out.person_query += c.person_query
        out.relevant.update(c.relevant)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="dlib-resnet-v1")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--write", action="store_true", help="write the fit of both halves")
    args = ap.parse_args()

    fs = load_faces(KINDS, args.model, args.device)
    rows = fs.labelled()
    half = split_identities(fs, rows)
    pair = calibration_for(args.model)
    libs = []
    for h in (0, 1):
        print(f"half {h}:")
        libs.append(library(fs, rows[half == h], args.model, pair, h * 1_000_000))
    fits = [fit(*libs[h].stacked()[:2]) for h in (0, 1)]
    held = joined(libs)
    pct = np.concatenate([fits[1 - h].percent(libs[h].stacked()[0]) for h in (0, 1)])
    _, same, cos, query, whole = held.stacked()
    face_pct = np.asarray(pair.percent(cos))
    base_cos = 1 - 0.6**2 / (2 * RAW_DLIB_NORM**2)
    base_pct = np.where(cos >= base_cos, 100.0, 0.0)
    print(f"held-out: each half scored by the fit of the other ({len(held.relevant)} queries)")
    print("face queries (click a face):")
    print(HEADER)
    ours = show("person-level, 1:N percentage", pct, held, ~whole, THRESHOLDS)
    pairs = show("face-to-face, pair percentage", face_pct, held, ~whole, (65.0, 99.0))
    show("baseline dlib euclid < 0.6", base_pct, held, ~whole, (50.0,))
    print("person queries (faces like this person):")
    print(HEADER)
    show("person-level, 1:N percentage", pct, held, whole, THRESHOLDS)
    show("mean face cosine, pair percentage", face_pct, held, whole, (65.0, 99.0))

    print(
        "a library twice the size fitted on: all of both halves, queries of half 1, fit of half 0:"
    )
    both = library(fs, rows, args.model, pair, 2_000_000, queries=np.flatnonzero(half == 1))
    _, _, _, _, bwhole = both.stacked()
    print(HEADER)
    show("person-level, 1:N percentage", fits[0].percent(both.stacked()[0]), both, ~bwhole,
         (65.0,))  # fmt: skip

    f65, p65 = ours[65.0], pairs[65.0]
    print(
        f"at 65 %: precision {f65.precision:.4f} vs face-to-face {p65.precision:.4f} "
        f"(x{f65.precision / p65.precision:.3f}), recall {f65.recall:.4f} vs {p65.recall:.4f}, "
        f"queries with a wrong result {f65.wrong_queries:.3f} vs {p65.wrong_queries:.3f}"
    )
    print(
        f"goals at 65 % (face queries, held out): precision >= 0.99 "
        f"{'met' if f65.precision >= 0.99 else 'NOT met'}, recall >= 0.95 "
        f"{'met' if f65.recall >= 0.95 else 'NOT met'}, Recall@1 >= 0.99 "
        f"{'met' if f65.recall_at_1 >= 0.99 else 'NOT met'}"
    )
    final = fit(*held.stacked()[:2])
    print(f"fit of both halves: coef {[round(c, 4) for c in final.coef]}, "
          f"intercept {final.intercept:.4f}")  # fmt: skip
    if args.write:
        out = REPO / "faceorganizer" / "core" / "calibration" / f"{args.model}.search.json"
        info = {
            "fitted_on": "benchmarks/search_quality.py: two identity-disjoint halves of lfw_dev + "
            "lfw_strangers + photos, each a library grouped by our clustering; every face and "
            "every grouped person a query against its library",
            "queries": len(held.relevant),
            "pairs": int(len(same)),
            "held_out_at_65": {
                "precision": round(f65.precision, 4),
                "recall": round(f65.recall, 4),
            },
            "fitted_at": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        }
        write(out, SearchCalibration(final.coef, final.intercept, info))
        print(f"written {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
