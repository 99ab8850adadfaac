"""A new group must stand out from the faces around it: strangers stay apart.

Faces of people a model knows less well (children, people under-represented in its training)
sit close to many other faces, so a pair or a triple of strangers there can pass any fixed
likeness cut. A group is therefore judged against its neighbourhood: a face's own margin is its
likeness to the rest of the group (its mean cosine to them) less its likeness to its
``NEIGHBOURS`` nearest faces outside the group (their mean cosine), a correction for crowded
parts of the space as CSLS corrects hubness in nearest-neighbour search. In a group of two or
three (``SMALL``) every face must reach ``margin`` (in cosine; the model's fitted value,
``core.quality``), so a stranger cannot ride on a true pair; in a larger group, where a
person's odd photo is expected, their mean must. A true
person's faces are much more alike to each other than to anyone else; strangers in a crowded
part of the space are barely more alike to each other than to their neighbours.

A group that falls short is peeled, the face with the lowest own margin first, until what is
left passes (a true pair with a stranger stuck to it keeps its pair) or fewer than two faces are
left. A face joins a person only if its own margin in the person passes (in a small one, every
face's), so what a run peeled off does not join in the next. Groups and persons larger than
``MAX_SIZE`` are not tested: many faces alike are someone, and the faces of a person that
arrive in a later scan sit close to each other before they join it, which would otherwise keep
them out (``benchmarks/cluster_quality.py``: with ``MAX_SIZE`` 64 the same faces arriving in 4
scans reached BCubed F 0.884 against 0.973 in one scan; 8: 0.965 against 0.974).
"""

from __future__ import annotations

import numpy as np
import torch

from faceorganizer.core.knn import knn

NEIGHBOURS = 10
MAX_SIZE = 8
SMALL = 3  # up to this many faces, every face must stand out; above, the group on average


Near = dict[int, tuple[np.ndarray, np.ndarray]]


def _neighbours(
    embeddings: np.ndarray, groups: list[np.ndarray], device: torch.device | None
) -> Near:
    """Each member's nearest faces, enough of them to leave its group out."""
    queries = np.unique(np.concatenate(groups))
    k = NEIGHBOURS + max(len(g) for g in groups)
    idx, sim = knn(embeddings, k, embeddings[queries], device=device)
    return {int(r): (idx[i], sim[i]) for i, r in enumerate(queries.tolist())}


def standing_out(
    embeddings: np.ndarray,
    groups: list[np.ndarray],
    margin: float,
    device: torch.device | None = None,
    pair_margin: float | None = None,
) -> list[np.ndarray]:
    """Each group (rows of ``embeddings``, which holds every face of the library, placed or
    not) as it stands the test: whole, peeled, or empty. A group of two must reach
    ``pair_margin`` (default ``margin``): two look-alike strangers are the commonest mistake."""
    small = [g for g in groups if 2 <= len(g) <= MAX_SIZE]
    if not small:
        return list(groups)
    near = _neighbours(embeddings, small, device)
    margins = (margin, margin if pair_margin is None else pair_margin)
    return [_peeled(embeddings, g, near, margins) if len(g) <= MAX_SIZE else g for g in groups]


def may_join(
    embeddings: np.ndarray,
    groups: list[np.ndarray],
    margin: float,
    device: torch.device | None = None,
    pair_margin: float | None = None,
) -> np.ndarray:
    """Whether the last face of each group (a face joining the person the others are) stands
    out with it: its own margin must reach ``margin``, and in a group of up to ``SMALL`` every
    face's must. Persons larger than ``MAX_SIZE`` are not tested."""
    out = np.ones(len(groups), bool)
    small = [i for i, g in enumerate(groups) if 2 <= len(g) <= MAX_SIZE]
    if not small:
        return out
    near = _neighbours(embeddings, [groups[i] for i in small], device)
    for i in small:
        own = _own_margins(embeddings, [int(r) for r in groups[i]], near)
        need = pair_margin if len(own) == 2 and pair_margin is not None else margin
        out[i] = float(own[-1]) >= need and (len(own) > SMALL or float(own.min()) >= need)
    return out


def _peeled(
    embeddings: np.ndarray,
    group: np.ndarray,
    near: dict[int, tuple[np.ndarray, np.ndarray]],
    margins: tuple[float, float],
) -> np.ndarray:
    """``margins``: (for a group, for a pair)."""
    members = [int(r) for r in group]
    while len(members) >= 2:
        own = _own_margins(embeddings, members, near)
        if _passes(own, margins[1] if len(members) == 2 else margins[0]):
            return np.array(members, np.int64)
        members.pop(int(np.argmin(own)))
    return np.zeros(0, np.int64)


def _passes(own: np.ndarray, margin: float) -> bool:
    return float(own.min() if len(own) <= SMALL else own.mean()) >= margin


def _own_margins(
    embeddings: np.ndarray, members: list[int], near: dict[int, tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Per member: its mean cosine to the other members minus its mean cosine to its nearest
    faces outside the group (the group's margin is their mean)."""
    sub = embeddings[members].astype(np.float64)
    link = (sub @ sub.T).sum(axis=1) - np.einsum("ij,ij->i", sub, sub)
    link /= len(members) - 1
    idx = np.stack([near[r][0] for r in members])
    sim = np.stack([near[r][1] for r in members]).astype(np.float64)
    outside = (idx >= 0) & ~np.isin(idx, members)
    # the first NEIGHBOURS outside faces of each row (neighbours come best first)
    first = outside & (np.cumsum(outside, axis=1) <= NEIGHBOURS)
    count = first.sum(axis=1)
    density = np.where(count > 0, (sim * first).sum(axis=1) / np.maximum(count, 1), -1.0)
    return link - density
