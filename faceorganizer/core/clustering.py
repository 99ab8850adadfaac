"""Placing faces into people while keeping every person as it is.

Once a face is in a person (named or not), only the user moves it: ``recluster`` places only
faces that are new or unassigned, and never merges, splits or dissolves a person. It works in
three steps:

1. Keep: every face stays with its person, unless the user rejected that pair or a second face
   of the same photo is there (a pinned face wins, then the face most like the person); a face
   freed so stays unassigned in this run.
2. Join: a free face joins the person it is most like as a whole (the mean cosine to all the
   person's faces, ``core.evidence``) when that likeness passes ``join_threshold``: the attach
   cut (99.75 % calibrated) for a person of two faces, falling as 1/sqrt(size) toward 97.5 % for
   large persons, whose mean is a steadier likeness. No margin over the
   next person is asked: measured on faces arriving in several scans
   (``benchmarks/cluster_quality.py``), the runner-up is nearly always another group of the same
   person, and a margin left those faces to start yet another group (pairwise recall 0.92 -> 0.80
   with a 0.02 margin, precision unchanged).
3. Group: the remaining free faces are grouped among themselves (``core.grouping``: average
   linkage inside the components of a kNN graph) into new persons. (A new group never passes
   the join rule where its faces did not: its likeness to a person is the mean of theirs.)

Join and group repeat while they place faces (a new group can draw faces left alone, which can
then group anew), so a run ends at a fixed point: a rescan without new photos places nothing
(measured in ``benchmarks/cluster_quality.py``). Grouping again the very faces the last grouping
left, when no face joined in between, is skipped: it makes (next to) nothing new and is the
costliest step.

A new group needs at least one clear face (detection score >= ``CLEAR_FACE_SCORE``): groups of
only doubtful detections were hands, clothes or one blurred object seen in every copy of a photo,
never a person (every person of the shared photos has a face scored >= 0.995). Their faces stay
unassigned, still listed and searchable. New groups are labelled -2, -3, ...

Two gates (issue 18), each off when its input is None:

- ``poor``: faces under the library's quality bar (``core.quality``) are never placed: they
  join no person, form no group, and do not count in a person's likeness; one the user put in a
  person stays there, one placed automatically (before the bar existed) is set aside in step 1.
- ``group_margin``: a new group must stand out from its neighbourhood, and a face joins a person
  only if it stands out in it (``core.group_gate``), so strangers in crowded parts of the space
  stay apart; what the gate peels off a group in one run does not join it in the next.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from faceorganizer.core.evidence import best_two, group_means
from faceorganizer.core.grouping import (
    UNASSIGNED,
    Graph,
    group_faces,
    knn_graph,
    restricted_graph,
)
from faceorganizer.core.types import Calibration

__all__ = ["ClusterInput", "ClusterOutput", "cluster_thresholds", "group_faces", "recluster"]

JOIN_PERCENT = 97.5
JOIN_PAIR_PERCENT = 99.75
CLUSTER_PERCENT = 97.0
PAIR_PERCENT = 99.4
ATTACH_PERCENT = 99.75
CLEAR_FACE_SCORE = 0.99
MAX_ROUNDS = 4


def cluster_thresholds(calibration: Calibration) -> dict[str, float]:
    """The cosine thresholds for a model, from its calibrated percentages, so that clustering
    is equally strict whichever model made the library."""
    return {
        "join_cosine": calibration.cosine_at(JOIN_PERCENT),
        "join_pair_cosine": calibration.cosine_at(JOIN_PAIR_PERCENT),
        "cluster_cosine": calibration.cosine_at(CLUSTER_PERCENT),
        "pair_cosine": calibration.cosine_at(PAIR_PERCENT),
        "attach_cosine": calibration.cosine_at(ATTACH_PERCENT),
    }


@dataclass
class ClusterInput:
    """Everything clustering may look at, as parallel arrays with one row per face.

    ``person``: the face's current person id or -1. ``pinned``: the user put it there.
    ``rejected``: (row, person id) pairs the user said "not this person" to. ``cannot_link``:
    (row, row) pairs of faces the user said are not one person, never put in one new group nor
    in one person by joining. The
    cosine defaults are those of ``dlib-resnet-v1`` (join 97.5 % for a large person to 99.75 % for
    a pair, cluster 97 %, pair 99.4 %, attach 99.75 % calibrated); ``cluster_thresholds`` gives
    any model's.
    """

    embeddings: np.ndarray
    person: np.ndarray
    pinned: np.ndarray
    photo: np.ndarray
    rejected: Sequence[tuple[int, int]] = ()
    cannot_link: Sequence[tuple[int, int]] = ()
    join_cosine: float = 0.9365
    join_pair_cosine: float = 0.9498
    cluster_cosine: float = 0.9355
    pair_cosine: float = 0.9448
    attach_cosine: float | None = 0.9498
    min_group_size: int = 2
    score: np.ndarray | None = None  # detection score per face; None: every face counts as clear
    poor: np.ndarray | None = None  # under the quality bar: never placed, vouches for no one
    # a new group's margin over its neighbourhood (``core.group_gate``), cosine; None: no test;
    # a pair's (None: the group's)
    group_margin: float | None = None
    pair_margin: float | None = None


@dataclass
class ClusterOutput:
    """``labels``: existing person ids (>= 0), -1 for unassigned, new groups as -2, -3, ..."""

    labels: np.ndarray

    def new_group_labels(self) -> list[int]:
        return sorted({int(x) for x in self.labels if x <= -2}, reverse=True)

    def assignments(self, face_ids: np.ndarray) -> dict[int, int | None]:
        """Face id -> existing person id or None, for every face not in a new group."""
        return {
            int(f): (int(lab) if lab >= 0 else None)
            for f, lab in zip(face_ids.tolist(), self.labels.tolist(), strict=True)
            if lab >= UNASSIGNED
        }

    def new_groups(self, face_ids: np.ndarray) -> list[list[int]]:
        """Face ids of each new group, largest first."""
        groups: dict[int, list[int]] = defaultdict(list)
        for f, lab in zip(face_ids.tolist(), self.labels.tolist(), strict=True):
            if lab <= -2:
                groups[lab].append(int(f))
        return sorted(groups.values(), key=len, reverse=True)

    def changes(self, before: np.ndarray) -> dict[str, object]:
        """Rows joining and leaving each existing person, new groups and emptied persons."""
        joined: dict[int, list[int]] = defaultdict(list)
        left: dict[int, list[int]] = defaultdict(list)
        for row, (old, new) in enumerate(zip(before.tolist(), self.labels.tolist(), strict=True)):
            if old == new:
                continue
            if old >= 0:
                left[old].append(row)
            if new >= 0:
                joined[new].append(row)
        remaining = {int(p) for p in self.labels.tolist() if p >= 0}
        dissolved = sorted({int(p) for p in before.tolist() if p >= 0} - remaining)
        groups: dict[int, list[int]] = defaultdict(list)
        for row, lab in enumerate(self.labels.tolist()):
            if lab <= -2:
                groups[lab].append(row)
        return {
            "joined": dict(joined),
            "left": dict(left),
            "new_groups": list(groups.values()),
            "dissolved": dissolved,
        }


def _validate(inp: ClusterInput) -> None:
    n = len(inp.embeddings)
    optional = tuple(name for name in ("score", "poor") if getattr(inp, name) is not None)
    for name in ("person", "pinned", "photo") + optional:
        if len(getattr(inp, name)) != n:
            raise ValueError(f"{name} has {len(getattr(inp, name))} rows, embeddings {n}")
    if np.any(inp.pinned & (inp.person < 0)):
        raise ValueError("a pinned face must have a person")


def _poor(inp: ClusterInput) -> np.ndarray:
    return inp.poor if inp.poor is not None else np.zeros(len(inp.embeddings), bool)


def _keep(inp: ClusterInput, rejected: set[tuple[int, int]]) -> np.ndarray:
    """Labels after step 1: every face stays, except a rejected pair, a second face of one
    photo in one person (pinned faces first, then the faces most like their person), or a face
    under the quality bar the user did not place there."""
    labels = np.full(len(inp.embeddings), UNASSIGNED, np.int64)
    placed = np.flatnonzero(inp.person >= 0)
    if not len(placed):
        return labels
    means = group_means(inp.embeddings, inp.person)
    row_of = means.row_of()
    likeness = np.einsum(
        "ij,ij->i",
        inp.embeddings[placed],
        means.means[[row_of[int(p)] for p in inp.person[placed].tolist()]],
    )
    order = sorted(range(len(placed)), key=lambda i: (not inp.pinned[placed[i]], -likeness[i]))
    taken: set[tuple[int, int]] = set()
    poor = _poor(inp)
    for i in order:
        r = int(placed[i])
        p, ph = int(inp.person[r]), int(inp.photo[r])
        if not inp.pinned[r] and ((r, p) in rejected or (p, ph) in taken or poor[r]):
            continue
        labels[r] = p
        taken.add((p, ph))
    return labels


def join_threshold(size: np.ndarray, large: float, pair: float) -> np.ndarray:
    """The likeness a face needs to join a person of ``size`` faces: ``pair`` for two faces,
    falling as 1/sqrt(size) toward ``large`` (a mean over many faces is a steadier likeness)."""
    return large + (pair - large) * np.sqrt(2.0 / np.maximum(size, 1))


def _join(
    inp: ClusterInput,
    labels: np.ndarray,
    rows: np.ndarray,
    rejected: set[tuple[int, int]],
    device: torch.device | None,
) -> int:
    """Step 2 (in place): each face of ``rows`` that is clearly one person's joins it; returns
    how many joined."""
    vouching = np.where(_poor(inp), UNASSIGNED, labels)
    if not len(rows) or not np.any(vouching >= 0):
        return 0
    means = group_means(inp.embeddings, vouching)
    nearest, best, _ = best_two(inp.embeddings[rows], means.means, device)
    ok = best >= join_threshold(means.sizes[nearest], inp.join_cosine, inp.join_pair_cosine)
    if inp.group_margin is not None:
        _gate_joins(inp, vouching, rows, means.labels[nearest], ok, device)
    taken = {(int(labels[r]), int(inp.photo[r])) for r in np.flatnonzero(labels >= 0).tolist()}
    apart: dict[int, set[int]] = defaultdict(set)
    for a, b in inp.cannot_link:
        apart[int(a)].add(int(b))
        apart[int(b)].add(int(a))
    joined = 0
    for i in sorted(np.flatnonzero(ok).tolist(), key=lambda i: -float(best[i])):
        r, p = int(rows[i]), int(means.labels[nearest[i]])
        if (r, p) in rejected or (p, int(inp.photo[r])) in taken:
            continue
        if any(labels[o] == p for o in apart.get(r, ())):  # said not to be one of its faces
            continue
        labels[r] = p
        taken.add((p, int(inp.photo[r])))
        joined += 1
    return joined


def _gate_joins(
    inp: ClusterInput,
    vouching: np.ndarray,
    rows: np.ndarray,
    target: np.ndarray,
    ok: np.ndarray,
    device: torch.device | None,
) -> None:
    """Clear ``ok`` (in place) where a face would join a person without standing out in it from
    its neighbourhood (``core.group_gate``): what the gate peels off a new group does not join
    it in the next run, and a stranger does not join a look-alike's person."""
    from faceorganizer.core.group_gate import MAX_SIZE, may_join

    assert inp.group_margin is not None
    sizes = np.bincount(vouching[vouching >= 0]) if np.any(vouching >= 0) else np.zeros(0)
    asked = [i for i in np.flatnonzero(ok).tolist() if sizes[int(target[i])] < MAX_SIZE]
    if not asked:
        return
    needed = np.unique(target[asked])
    placed = np.flatnonzero(np.isin(vouching, needed))
    members: dict[int, list[int]] = defaultdict(list)
    for r in placed.tolist():
        members[int(vouching[r])].append(r)
    groups = [np.array(members[int(target[i])] + [int(rows[i])], np.int64) for i in asked]
    ok[asked] = may_join(inp.embeddings, groups, inp.group_margin, device, inp.pair_margin)


def _drop_unclear(local: np.ndarray, score: np.ndarray) -> None:
    """Unassign (in place) the groups without a face scored at least ``CLEAR_FACE_SCORE``."""
    grouped = local >= 0
    if not grouped.any():
        return
    best = np.full(int(local.max()) + 1, -np.inf)
    np.maximum.at(best, local[grouped], score[grouped])
    local[grouped & (best[np.maximum(local, 0)] < CLEAR_FACE_SCORE)] = UNASSIGNED


def _gate(
    inp: ClusterInput, local: np.ndarray, rows: np.ndarray, device: torch.device | None
) -> None:
    """Keep (in place) only what of each new group stands out from its neighbourhood among
    all the library's faces (``core.group_gate``)."""
    from faceorganizer.core.group_gate import standing_out

    labels = sorted(set(local.tolist()) - {UNASSIGNED})
    if not labels or inp.group_margin is None:
        return
    groups = [rows[local == g] for g in labels]
    kept = standing_out(inp.embeddings, groups, inp.group_margin, device, inp.pair_margin)
    at = {int(r): i for i, r in enumerate(rows.tolist())}
    for g, before, after in zip(labels, groups, kept, strict=True):
        if len(after) == len(before):
            continue
        local[[at[int(r)] for r in before]] = UNASSIGNED
        if len(after) >= 2:
            local[[at[int(r)] for r in after]] = g


def _group(
    inp: ClusterInput,
    labels: np.ndarray,
    rows: np.ndarray,
    first_id: int,
    device: torch.device | None,
    graph: Graph | None = None,
) -> int:
    """Step 3 (in place): new groups of ``rows`` get ids from ``first_id``; returns how many."""
    if len(rows) < 2:
        return 0
    pos = {int(r): i for i, r in enumerate(rows.tolist())}
    cannot = {(pos[a], pos[b]) for a, b in inp.cannot_link if a in pos and b in pos}
    local = group_faces(
        inp.embeddings[rows],
        inp.photo[rows],
        inp.cluster_cosine,
        cannot,
        inp.min_group_size,
        device,
        inp.pair_cosine,
        inp.attach_cosine,
        graph,
    )
    if inp.score is not None:
        _drop_unclear(local, inp.score[rows])
    if inp.group_margin is not None:
        _gate(inp, local, rows, device)
    groups = sorted(set(local.tolist()) - {UNASSIGNED})
    for k, g in enumerate(groups):
        labels[rows[local == g]] = first_id + k
    return len(groups)


def _graph_of(
    inp: ClusterInput,
    rows: np.ndarray,
    first: tuple[np.ndarray, Graph] | None,
    device: torch.device | None,
) -> Graph | None:
    """The kNN graph of ``rows``: built once, then the first one restricted to the faces still
    free (a subset of its faces), which has the same edges at the cut without a second index."""
    if len(rows) < 2:
        return None
    if first is None:
        return knn_graph(inp.embeddings[rows], device)
    base, graph = first
    keep = np.searchsorted(base, rows)
    return restricted_graph(inp.embeddings[rows], graph, keep, inp.cluster_cosine, device)


def recluster(inp: ClusterInput, device: torch.device | None = None) -> ClusterOutput:
    """Place a library's new and unassigned faces; see the module docstring for the rules.

    Join and group repeat until nothing more is placed (at most ``MAX_ROUNDS``), so the result is
    a fixed point: running again on the outcome places nothing, and a rescan without new photos
    changes nobody.
    """
    _validate(inp)
    n = len(inp.embeddings)
    if n == 0:
        return ClusterOutput(np.empty(0, np.int64))
    rejected = {(int(r), int(p)) for r, p in inp.rejected}
    labels = _keep(inp, rejected)
    free = (labels == UNASSIGNED) & (inp.person < 0) & ~_poor(inp)
    first_new = int(max(inp.person.max(initial=-1), 0)) + 1
    next_id = first_new
    first: tuple[np.ndarray, Graph] | None = None  # the first grouping's faces and graph
    for round_ in range(MAX_ROUNDS):
        joined = _join(inp, labels, np.flatnonzero(free & (labels == UNASSIGNED)), rejected, device)
        if round_ and not joined:
            break  # the faces left are the ones the last grouping left: the same again
        rows = np.flatnonzero(free & (labels == UNASSIGNED))
        graph = _graph_of(inp, rows, first, device)
        if first is None and graph is not None:
            first = (rows, graph)
        made = _group(inp, labels, rows, next_id, device, graph)
        next_id += made
        if not made:
            break
    fresh = labels >= first_new
    labels[fresh] = first_new - labels[fresh] - 2
    return ClusterOutput(labels)
