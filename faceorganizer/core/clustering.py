"""Grouping faces into people while keeping every decision the user made.

``recluster`` works in three steps:

1. Keep: pinned faces stay with their person; unpinned faces of locked persons (named or touched
   by the user) stay too, unless a rejection or a second face of the same photo forbids it.
2. Join: a free face joins a locked person only when its nearest face there is above
   ``join_cosine`` and beats every other person's nearest face by ``join_margin``.
3. Group: the remaining free faces are clustered by average linkage (UPGMA) cut at
   ``cluster_cosine``. Average linkage is exact and far less prone to chaining than single
   linkage or DBSCAN; it is made to scale by running it inside the connected components of a
   k-nearest-neighbour graph at the same threshold (average-linkage clusters never cross those
   components), so 100k faces cost a k-nearest-neighbour search plus many small linkages. Groups
   with two faces of one photo or a rejected pair are split; a group of just two faces needs the
   stricter ``pair_cosine``. A face left alone then joins the group whose centroid it is
   clearly closest to (``attach_cosine``, with a margin over the next group): a group's centroid
   is a steadier likeness than any one face. Measured against HDBSCAN in
   ``benchmarks/cluster_quality.py``.

A new group needs at least one clear face (detection score >= ``CLEAR_FACE_SCORE``): groups of
only doubtful detections were hands, clothes or one blurred object seen in every copy of a photo,
never a person (every person of the shared photos has a face scored >= 0.995). Their faces stay
unassigned, still listed and searchable.

New groups that mostly hold an unlocked old group's faces keep its id; others get ids -2, -3, ...
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform

from faceorganizer.core.knn import CHUNK_ROWS, as_tensor, knn
from faceorganizer.core.models.base import Calibration

UNASSIGNED = -1
JOIN_PERCENT = 97.0
CLUSTER_PERCENT = 97.0
PAIR_PERCENT = 99.4
ATTACH_PERCENT = 99.75
CLEAR_FACE_SCORE = 0.99
ATTACH_MARGIN = 0.01
KNN_K = 16
JOIN_K = 32
MAX_LINKAGE = 6000
CANNOT_LINK_DISTANCE = 4.0


def cluster_thresholds(calibration: Calibration) -> dict[str, float]:
    """``join_cosine`` and ``cluster_cosine`` for a model, from its calibrated percentages, so
    that clustering is equally strict whichever model made the library."""
    return {
        "join_cosine": calibration.cosine_at(JOIN_PERCENT),
        "cluster_cosine": calibration.cosine_at(CLUSTER_PERCENT),
        "pair_cosine": calibration.cosine_at(PAIR_PERCENT),
        "attach_cosine": calibration.cosine_at(ATTACH_PERCENT),
    }


@dataclass
class ClusterInput:
    """Everything clustering may look at, as parallel arrays with one row per face.

    ``person``: the face's current person id or -1. ``pinned``: the user put it there.
    ``rejected``: (row, person id) pairs the user said "not this person" to.
    ``locked_persons``: persons never dissolved, merged or renamed (named or user-touched);
    persons holding a pinned face are treated as locked too. ``cannot_link``: (row, row) pairs
    of faces the user said are not one person, never put in one group. The cosine defaults are
    those of ``dlib-resnet-v1`` (97 % / 99.4 % / 99.75 % calibrated); ``cluster_thresholds``
    gives any model's.
    """

    embeddings: np.ndarray
    person: np.ndarray
    pinned: np.ndarray
    photo: np.ndarray
    rejected: Sequence[tuple[int, int]] = ()
    cannot_link: Sequence[tuple[int, int]] = ()
    locked_persons: set[int] = field(default_factory=set)
    join_cosine: float = 0.9355
    join_margin: float = 0.02
    cluster_cosine: float = 0.9355
    pair_cosine: float = 0.9448
    attach_cosine: float | None = 0.9498
    min_group_size: int = 2
    score: np.ndarray | None = None  # detection score per face; None: every face counts as clear


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
    for name in ("person", "pinned", "photo") + (("score",) if inp.score is not None else ()):
        if len(getattr(inp, name)) != n:
            raise ValueError(f"{name} has {len(getattr(inp, name))} rows, embeddings {n}")
    if np.any(inp.pinned & (inp.person < 0)):
        raise ValueError("a pinned face must have a person")


def _components(n: int, idx: np.ndarray, sim: np.ndarray, threshold: float) -> np.ndarray:
    rows = np.repeat(np.arange(n), idx.shape[1])
    keep = (sim.ravel() >= threshold) & (idx.ravel() >= 0)
    graph = coo_matrix(
        (np.ones(int(keep.sum()), np.int8), (rows[keep], idx.ravel()[keep])), shape=(n, n)
    )
    _, comp = connected_components(graph, directed=False)
    return comp


def _conflicts(members: np.ndarray, photo: np.ndarray, cannot: set[tuple[int, int]]) -> bool:
    photos = photo[members]
    if len(np.unique(photos)) < len(photos):
        return True
    if cannot:
        ms = set(members.tolist())
        return any(a in ms and b in ms for a, b in cannot)
    return False


def _average_linkage(
    emb: np.ndarray,
    members: np.ndarray,
    photo: np.ndarray,
    cannot: set[tuple[int, int]],
    threshold: float,
) -> np.ndarray:
    """UPGMA on cosine distance inside one component; cannot-links count as very far."""
    sub = emb[members]
    dist = 1.0 - (sub @ sub.T).astype(np.float64)
    np.clip(dist, 0.0, 2.0, out=dist)
    photos = photo[members]
    same_photo = photos[:, None] == photos[None, :]
    dist[same_photo] = CANNOT_LINK_DISTANCE
    if cannot:
        pos = {int(m): i for i, m in enumerate(members.tolist())}
        for a, b in cannot:
            if a in pos and b in pos:
                dist[pos[a], pos[b]] = dist[pos[b], pos[a]] = CANNOT_LINK_DISTANCE
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    return fcluster(tree, t=1.0 - threshold, criterion="distance")


def _split_conflicts(
    emb: np.ndarray, members: np.ndarray, photo: np.ndarray, cannot: set[tuple[int, int]]
) -> list[np.ndarray]:
    """Split a group with a cannot-link: most central faces first, each into the first subgroup
    it does not conflict with."""
    sub = emb[members]
    centre = sub.mean(axis=0)
    order = np.argsort(-(sub @ centre))
    parts: list[list[int]] = []
    for i in order.tolist():
        m = int(members[i])
        for part in parts:
            trial = np.array(part + [m])
            if not _conflicts(trial, photo, cannot):
                part.append(m)
                break
        else:
            parts.append([m])
    return [np.array(p) for p in parts]


def group_faces(
    emb: np.ndarray,
    photo: np.ndarray,
    threshold: float,
    cannot: set[tuple[int, int]] | None = None,
    min_size: int = 2,
    device: torch.device | None = None,
    pair_threshold: float | None = None,
    attach_threshold: float | None = None,
) -> np.ndarray:
    """Cluster unit embeddings: labels 0.. for groups of >= ``min_size``, -1 for the rest.

    Never puts two faces of one photo, or a ``cannot`` pair (row indices), in one group.
    """
    n = len(emb)
    labels = np.full(n, UNASSIGNED, np.int64)
    if n < 2:
        return labels
    cannot = cannot or set()
    idx, sim = knn(emb, KNN_K, device=device)
    comp = _components(n, idx, sim, threshold)
    by_comp: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(comp.tolist()):
        by_comp[c].append(i)
    pending = [np.array(m) for m in by_comp.values() if len(m) >= min_size]
    groups: list[np.ndarray] = []
    while pending:
        members = pending.pop()
        if len(members) == 2 and not _conflicts(members, photo, cannot):
            groups.append(members)
            continue
        if len(members) > MAX_LINKAGE:
            pending.extend(_tighter_components(emb, members, threshold, device))
            continue
        cut = _average_linkage(emb, members, photo, cannot, threshold)
        for c in np.unique(cut):
            part = members[cut == c]
            if len(part) < min_size:
                continue
            if _conflicts(part, photo, cannot):
                groups.extend(p for p in _split_conflicts(emb, part, photo, cannot))
            else:
                groups.append(part)
    groups = [g for g in groups if len(g) >= min_size and _tight(emb, g, pair_threshold)]
    groups.sort(key=lambda g: (-len(g), int(g.min())))
    for label, g in enumerate(groups):
        labels[g] = label
    if attach_threshold is not None and groups:
        _attach(emb, photo, labels, cannot, attach_threshold, device)
    return labels


def _attach(
    emb: np.ndarray,
    photo: np.ndarray,
    labels: np.ndarray,
    cannot: set[tuple[int, int]],
    t: float,
    device: torch.device | None = None,
) -> None:
    """Faces left alone join the group whose centroid is at least ``t`` and beats the next
    group's by ``ATTACH_MARGIN`` (in place; closest first, one face per photo per group)."""
    free = np.flatnonzero(labels == UNASSIGNED)
    n_groups = int(labels.max()) + 1
    if not len(free) or n_groups < 1:
        return
    sums = np.zeros((n_groups, emb.shape[1]), np.float64)
    np.add.at(sums, labels[labels >= 0], emb[labels >= 0])
    cents = as_tensor(sums / np.linalg.norm(sums, axis=1, keepdims=True), device)
    k = min(2, n_groups)
    best = np.empty(len(free), np.float32)
    second = np.full(len(free), -2.0, np.float32)
    nearest = np.empty(len(free), np.int64)
    with torch.inference_mode():
        for start in range(0, len(free), CHUNK_ROWS):
            rows = free[start : start + CHUNK_ROWS]
            top = torch.topk(as_tensor(emb[rows], device) @ cents.T, k, dim=1)
            top_s, top_i = top.values.cpu().numpy(), top.indices.cpu().numpy()
            best[start : start + len(rows)] = top_s[:, 0]
            nearest[start : start + len(rows)] = top_i[:, 0]
            if k == 2:
                second[start : start + len(rows)] = top_s[:, 1]
    ok = (best >= t) & (best - second >= ATTACH_MARGIN)
    photos_of: dict[int, set[int]] = defaultdict(set)
    for r in np.flatnonzero(labels >= 0).tolist():
        photos_of[int(labels[r])].add(int(photo[r]))
    blocked: dict[int, set[int]] = defaultdict(set)
    for a, b in cannot:
        blocked[a].add(b)
        blocked[b].add(a)
    for i in sorted(np.flatnonzero(ok).tolist(), key=lambda i: -float(best[i])):
        r, g = int(free[i]), int(nearest[i])
        if int(photo[r]) in photos_of[g] or any(labels[m] == g for m in blocked.get(r, ())):
            continue
        labels[r] = g
        photos_of[g].add(int(photo[r]))


def _tight(emb: np.ndarray, group: np.ndarray, pair_threshold: float | None) -> bool:
    """Two faces alone must pass the stricter ``pair_threshold``: a pair is where two strangers
    are most easily taken for one person (measured in ``benchmarks/cluster_quality.py``)."""
    if len(group) != 2 or pair_threshold is None:
        return True
    return float(emb[group[0]] @ emb[group[1]]) >= pair_threshold


def _tighter_components(
    emb: np.ndarray, members: np.ndarray, threshold: float, device: torch.device | None
) -> list[np.ndarray]:
    """Break a component too big for one linkage by raising the edge threshold inside it."""
    idx, sim = knn(emb[members], KNN_K, device=device)
    step = threshold
    while True:
        step = step + (1.0 - step) * 0.25
        comp = _components(len(members), idx, sim, step)
        sizes = np.bincount(comp)
        if sizes.max() <= MAX_LINKAGE or step > 0.999:
            return [members[comp == c] for c in range(len(sizes)) if sizes[c] >= 2]


def _keep_locked(inp: ClusterInput, locked: set[int], rejected: set[tuple[int, int]]) -> np.ndarray:
    """Labels after step 1: pinned faces, then unpinned faces of locked persons that may stay."""
    labels = np.full(len(inp.embeddings), UNASSIGNED, np.int64)
    pinned = np.flatnonzero(inp.pinned)
    labels[pinned] = inp.person[pinned]
    taken: set[tuple[int, int]] = {(int(inp.person[r]), int(inp.photo[r])) for r in pinned}
    auto = [r for r in np.flatnonzero(~inp.pinned & np.isin(inp.person, list(locked)))]
    centroids: dict[int, np.ndarray] = {}
    for p in {int(inp.person[r]) for r in auto}:
        c = inp.embeddings[inp.person == p].mean(axis=0)
        centroids[p] = c / max(float(np.linalg.norm(c)), 1e-12)
    auto.sort(key=lambda r: -float(inp.embeddings[r] @ centroids[int(inp.person[r])]))
    for r in auto:
        p, ph = int(inp.person[r]), int(inp.photo[r])
        if (r, p) in rejected or (p, ph) in taken:
            continue
        labels[r] = p
        taken.add((p, ph))
    return labels


def _join(
    inp: ClusterInput,
    labels: np.ndarray,
    rejected: set[tuple[int, int]],
    device: torch.device | None,
) -> None:
    """Step 2: free faces that are clearly one locked person's join it (in place).

    A person's score is its nearest face among the free face's ``JOIN_K`` nearest kept faces;
    when all of those belong to one person no other person is close, and the margin holds.
    """
    anchors = np.flatnonzero(labels >= 0)
    free = np.flatnonzero(labels == UNASSIGNED)
    if not len(anchors) or not len(free):
        return
    idx, sim = knn(inp.embeddings[anchors], JOIN_K, queries=inp.embeddings[free], device=device)
    near_person = np.where(idx >= 0, labels[anchors][np.maximum(idx, 0)], UNASSIGNED)
    first = sim[:, 0]
    best = near_person[:, 0]
    other = np.where((near_person != best[:, None]) & (idx >= 0), sim, -2.0).max(axis=1)
    ok = (first >= inp.join_cosine) & (first - other >= inp.join_margin)
    candidates = sorted(
        zip(first[ok].tolist(), free[ok].tolist(), best[ok].tolist(), strict=True), reverse=True
    )
    taken = {(int(labels[r]), int(inp.photo[r])) for r in anchors}
    for _, r, p in candidates:
        if (r, p) in rejected or (p, int(inp.photo[r])) in taken:
            continue
        labels[r] = p
        taken.add((p, int(inp.photo[r])))


def _carry_ids(
    inp: ClusterInput,
    labels: np.ndarray,
    rows: np.ndarray,
    local: np.ndarray,
    locked: set[int],
    rejected: set[tuple[int, int]],
) -> None:
    """Step 3's groups into ``labels``: an old unlocked id where most members stay, else -2..."""
    old_sizes = Counter(int(p) for p in inp.person[rows].tolist() if p >= 0 and p not in locked)
    proposals: list[tuple[int, int, int]] = []
    groups = sorted(set(local.tolist()) - {UNASSIGNED})
    for g in groups:
        members = rows[local == g]
        votes = Counter(int(p) for p in inp.person[members].tolist() if p >= 0 and p not in locked)
        for p, n in votes.items():
            if any((int(r), p) in rejected for r in members.tolist()):
                continue
            if 2 * n > len(members) and 2 * n > old_sizes[p]:
                proposals.append((n, g, p))
    chosen: dict[int, int] = {}
    used: set[int] = set()
    for _, g, p in sorted(proposals, reverse=True):
        if g not in chosen and p not in used:
            chosen[g] = p
            used.add(p)
    next_new = -2
    for g in groups:
        members = rows[local == g]
        if g in chosen:
            labels[members] = chosen[g]
        else:
            labels[members] = next_new
            next_new -= 1


def _drop_unclear(local: np.ndarray, score: np.ndarray) -> None:
    """Unassign (in place) the groups without a face scored at least ``CLEAR_FACE_SCORE``."""
    grouped = local >= 0
    if not grouped.any():
        return
    best = np.full(int(local.max()) + 1, -np.inf)
    np.maximum.at(best, local[grouped], score[grouped])
    local[grouped & (best[np.maximum(local, 0)] < CLEAR_FACE_SCORE)] = UNASSIGNED


def recluster(inp: ClusterInput, device: torch.device | None = None) -> ClusterOutput:
    """Re-cluster a library's faces; see the module docstring for the rules."""
    _validate(inp)
    n = len(inp.embeddings)
    if n == 0:
        return ClusterOutput(np.empty(0, np.int64))
    locked = set(inp.locked_persons) | {int(p) for p in inp.person[inp.pinned].tolist()}
    rejected = {(int(r), int(p)) for r, p in inp.rejected}
    labels = _keep_locked(inp, locked, rejected)
    _join(inp, labels, rejected, device)
    rows = np.flatnonzero(labels == UNASSIGNED)
    if len(rows) >= 2:
        pos = {int(r): i for i, r in enumerate(rows.tolist())}
        cannot: set[tuple[int, int]] = set()
        by_person: dict[int, list[int]] = defaultdict(list)
        for r in rows.tolist():
            if inp.person[r] >= 0:
                by_person[int(inp.person[r])].append(pos[r])
        for r, p in rejected:
            if r in pos:
                cannot.update((pos[r], m) for m in by_person.get(p, ()))
        cannot.update((pos[a], pos[b]) for a, b in inp.cannot_link if a in pos and b in pos)
        local = group_faces(
            inp.embeddings[rows],
            inp.photo[rows],
            inp.cluster_cosine,
            cannot,
            inp.min_group_size,
            device,
            inp.pair_cosine,
            inp.attach_cosine,
        )
        if inp.score is not None:
            _drop_unclear(local, inp.score[rows])
        _carry_ids(inp, labels, rows, local, locked, rejected)
    return ClusterOutput(labels)
