"""Grouping free faces into new groups: average linkage (UPGMA) cut at a cosine, inside the
connected components of a k-nearest-neighbour graph at the same threshold.

Average linkage is exact and far less prone to chaining than single linkage or DBSCAN; average-
linkage clusters never cross those components, so 100k faces cost a k-nearest-neighbour search
plus many small linkages. Groups with two faces of one photo or a cannot-link pair are split; a
group of just two faces needs the stricter ``pair_threshold``. A face left alone then joins the
group whose centroid it is clearly closest to (``attach_threshold``, with a margin over the next
group): a group's centroid is a steadier likeness than any one face. Measured against HDBSCAN in
``benchmarks/cluster_quality.py``.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from scipy.cluster.hierarchy import linkage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform

from faceorganizer.core.evidence import group_means
from faceorganizer.core.knn import CHUNK_ROWS, as_tensor, exact_knn, knn

UNASSIGNED = -1
ATTACH_MARGIN = 0.01
KNN_K = 16
MAX_LINKAGE = 6000
LINKAGE_BATCH = 1024  # faces per packed linkage call (a dense matrix of 8 MB)
CANNOT_LINK_DISTANCE = 4.0

Graph = tuple[np.ndarray, np.ndarray]  # (neighbour rows, cosines) per face, best first


def knn_graph(emb: np.ndarray, device: torch.device | None = None) -> Graph:
    """The k-nearest-neighbour graph ``group_faces`` cuts into components."""
    return knn(emb, KNN_K, device=device)


def restricted_graph(
    emb: np.ndarray,
    graph: Graph,
    keep: np.ndarray,
    threshold: float,
    device: torch.device | None = None,
) -> Graph:
    """The graph of the faces ``keep`` (rows of ``graph``; ``emb``: their embeddings) with the
    same edges at or above ``threshold`` as a graph built over them alone, without a second
    index: a row whose last neighbour is below the threshold already holds every neighbour above
    it; only the rows whose neighbours are all above it (more may lie beyond them) are searched
    again, exactly, among the faces kept."""
    idx, sim = graph
    pos = np.full(len(idx), -1, np.int64)
    pos[keep] = np.arange(len(keep))
    sub_i = np.where(idx[keep] >= 0, pos[np.maximum(idx[keep], 0)], -1)
    sub_s = np.where(sub_i >= 0, sim[keep], np.float32(-2.0)).astype(np.float32)
    width = idx.shape[1]
    full = np.flatnonzero((idx[keep] >= 0).all(axis=1) & (sim[keep, -1] >= threshold))
    k = min(width, len(keep) - 1)
    if len(full) and k > 0:
        b = as_tensor(emb, device)
        again_i, again_s = exact_knn(b[torch.from_numpy(full).to(b.device)], b, k, True, full)
        sub_i[full], sub_s[full] = -1, -2.0
        sub_i[full, :k], sub_s[full, :k] = again_i, again_s
    return sub_i, sub_s


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
    block: np.ndarray | None = None,
) -> np.ndarray:
    """UPGMA on cosine distance inside one component, or inside each of several components
    packed into one call (``block``: the component of each member); cannot-links and pairs of
    two components count as very far, so no cluster crosses a component. One call for many
    small components: scipy's per-call checks cost more than a small linkage itself."""
    sub = emb[members]
    dist = 1.0 - (sub @ sub.T).astype(np.float64)
    np.clip(dist, 0.0, 2.0, out=dist)
    photos = photo[members]
    far = photos[:, None] == photos[None, :]
    if block is not None:
        far |= block[:, None] != block[None, :]
    dist[far] = CANNOT_LINK_DISTANCE
    if cannot:
        pos = {int(m): i for i, m in enumerate(members.tolist())}
        for a, b in cannot:
            if a in pos and b in pos:
                dist[pos[a], pos[b]] = dist[pos[b], pos[a]] = CANNOT_LINK_DISTANCE
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    return _cut(tree, len(members), 1.0 - threshold)


def _cut(tree: np.ndarray, n: int, height: float) -> np.ndarray:
    """Flat clusters of a linkage cut at ``height`` (as ``fcluster(criterion="distance")``, for
    a monotone linkage such as average's): the leaves joined by merges at or below it."""
    parent = np.arange(2 * n - 1)
    for step in np.flatnonzero(tree[:, 2] <= height).tolist():
        parent[int(tree[step, 0])] = parent[int(tree[step, 1])] = n + step
    for node in range(2 * n - 2, -1, -1):  # parents come after children: top down, one pass
        parent[node] = parent[parent[node]]
    return parent[:n]


def _packed(components: list[np.ndarray], limit: int) -> list[list[np.ndarray]]:
    """Components in batches of at most ``limit`` faces (a larger one alone)."""
    batches: list[list[np.ndarray]] = []
    size = limit
    for members in sorted(components, key=len):
        if size + len(members) > limit:
            batches.append([])
            size = 0
        batches[-1].append(members)
        size += len(members)
    return batches


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
    graph: Graph | None = None,
) -> np.ndarray:
    """Cluster unit embeddings: labels 0.. for groups of >= ``min_size``, -1 for the rest.

    Never puts two faces of one photo, or a ``cannot`` pair (row indices), in one group.
    ``graph``: these faces' ``knn_graph`` when the caller has it (e.g. ``restricted_graph``).
    """
    n = len(emb)
    labels = np.full(n, UNASSIGNED, np.int64)
    if n < 2:
        return labels
    cannot = cannot or set()
    idx, sim = knn_graph(emb, device) if graph is None else graph
    comp = _components(n, idx, sim, threshold)
    by_comp: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(comp.tolist()):
        by_comp[c].append(i)
    pending = [np.array(m) for m in by_comp.values() if len(m) >= min_size]
    groups: list[np.ndarray] = []
    to_link: list[np.ndarray] = []
    while pending:
        members = pending.pop()
        if len(members) == 2 and not _conflicts(members, photo, cannot):
            groups.append(members)
        elif len(members) > MAX_LINKAGE:
            pending.extend(_tighter_components(emb, members, threshold, device))
        else:
            to_link.append(members)
    for batch in _packed(to_link, LINKAGE_BATCH):
        members = np.concatenate(batch)
        block = np.repeat(np.arange(len(batch)), [len(m) for m in batch])
        cut = _average_linkage(emb, members, photo, cannot, threshold, block)
        _, cluster = np.unique(cut, return_inverse=True)
        order = np.argsort(cluster, kind="stable")
        for part in np.split(members[order], np.flatnonzero(np.diff(cluster[order])) + 1):
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
    means = group_means(emb, labels).means  # groups are 0..n_groups-1, each with faces
    cents = as_tensor(means / np.linalg.norm(means, axis=1, keepdims=True), device)
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
