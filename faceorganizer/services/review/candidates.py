"""The review queue's candidates and their evidence, before any is judged likely.

Each kind comes as parallel arrays: who or what it is about and one row of features per
candidate (``scoring.FEATURES``), likeness in the units of the model's pair calibration. One
k-nearest-neighbour search over every visible face feeds them all (the nearest faces between two
persons, a loose face's runner-up); person-level likeness is the mean cosine to a person's faces
or the cosine to its centroid (``scoring``).

Only clear faces are asked about (surely detected, ``CLEAR_FACE_SCORE`` as grouping asks of a
new group, and at or above the library's quality bar: ``services.quality``), and only persons at
least half of whose faces are clear: poor faces embed poorly, so likeness says little about
them (they gather into groups of strangers' blurred faces, hair, the backs of heads), and a user
can hardly tell who they are either. What the user answered is left out: "Not the same" pairs,
rejected (face, person) pairs, pinned faces (placed or confirmed by the user), hidden persons;
so are proposals that cannot be right (two persons with faces in one photo, a face joining a
person that has its photo, persons named differently).
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from faceorganizer.core.types import Calibration
from faceorganizer.services.review import scoring
from faceorganizer.services.review.data import ReviewData
from faceorganizer.storage import not_same

if TYPE_CHECKING:
    import torch


KNN_K = 16  # nearest faces of every face
MERGE_K = 5  # persons compared with each person by centroid
WHO_K = 3  # persons considered for a loose face
SAMPLE = 64  # faces of a person compared face to face, when no nearest-face link is known
CLEAR_FACE_SCORE = 0.99


@dataclass
class Candidates:
    """One kind's candidates: ``a``/``b`` are person ids or row indices (see each builder)."""

    a: np.ndarray  # int64 (m,)
    b: np.ndarray  # int64 (m,)
    features: np.ndarray  # float64 (m, len(FEATURES[kind]))

    @classmethod
    def empty(cls, n_features: int) -> Candidates:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, n_features)))


@dataclass
class Library:
    """The library prepared once for every kind: visible persons, means, nearest faces."""

    data: ReviewData
    person: np.ndarray  # int64 (n,): the face's person, -1 for none or a hidden person
    means: scoring.PersonMeans
    centroids: np.ndarray  # float32 (p, dims): unit means
    at: dict[int, int]  # person id -> row of ``means``
    members: dict[int, np.ndarray]  # person id -> face rows
    photos: dict[int, set[int]]  # person id -> photo ids
    clear: np.ndarray  # bool (n,): a face clear enough to ask about
    clear_persons: set[int]  # persons at least half of whose faces are clear
    knn_index: np.ndarray  # int64 (n, k): nearest face rows, -1 where none
    knn_sim: np.ndarray  # float32 (n, k)
    pair: Calibration

    def units(self, cosine: np.ndarray | float) -> np.ndarray:
        """Likeness in the units of the pair calibration (0 at its equal-error point)."""
        return self.pair.slope * (np.asarray(cosine, np.float64) - self.pair.midpoint)


_knn_lock = threading.Lock()
_knn_last: tuple[bytes, np.ndarray, np.ndarray] | None = None


def _nearest_faces(
    face_ids: np.ndarray, embeddings: np.ndarray, device: torch.device | None
) -> tuple[np.ndarray, np.ndarray]:
    """Every face's ``KNN_K`` nearest faces. Answers change persons, never faces: the last
    result is kept (keyed by the faces and their vectors) for the next queue."""
    global _knn_last
    from faceorganizer.core.knn import knn

    n = len(face_ids)
    if n < 2:
        return np.full((n, 0), -1, np.int64), np.zeros((n, 0), np.float32)
    key = hashlib.blake2b(face_ids.tobytes() + embeddings.tobytes(), digest_size=16).digest()
    with _knn_lock:
        if _knn_last is not None and _knn_last[0] == key:
            return _knn_last[1], _knn_last[2]
    index, sims = knn(embeddings, KNN_K, device=device)
    with _knn_lock:
        _knn_last = (key, index, sims)
    return index, sims


def prepare(data: ReviewData, pair: Calibration, device: torch.device | None = None) -> Library:
    visible = (data.person_ids >= 0) & ~np.isin(data.person_ids, list(data.hidden))
    photos: dict[int, set[int]] = defaultdict(set)
    for r in np.flatnonzero(visible).tolist():
        photos[int(data.person_ids[r])].add(int(data.photo_ids[r]))
    # a poor face the user put in a person stays there, but says nothing of what it is like
    person = np.where(visible & ~data.poor, data.person_ids, -1)
    means = scoring.person_means(data.embeddings, person)
    norms = np.linalg.norm(means.means, axis=1, keepdims=True)
    centroids = (means.means / np.maximum(norms, 1e-12)).astype(np.float32)
    members: dict[int, list[int]] = defaultdict(list)
    for r, p in enumerate(person.tolist()):
        if p >= 0:
            members[p].append(r)
    clear = ~data.poor & (data.scores >= CLEAR_FACE_SCORE)
    clear_persons = {p for p, rows in members.items() if 2 * int(clear[rows].sum()) >= len(rows)}
    index, sims = _nearest_faces(data.face_ids, data.embeddings, device)
    return Library(
        data, person, means, centroids, means.row_of(),
        {p: np.array(m, np.int64) for p, m in members.items()}, photos, clear, clear_persons,
        index, sims, pair,
    )  # fmt: skip


def _nearest_between(lib: Library, a: int, b: int) -> float:
    """The highest cosine between a face of person ``a`` and one of ``b`` (each sampled to its
    ``SAMPLE`` faces nearest the other's centroid)."""
    emb = lib.data.embeddings

    def sample(p: int, towards: int) -> np.ndarray:
        rows = lib.members[p]
        if len(rows) <= SAMPLE:
            return rows
        sims = emb[rows] @ lib.centroids[lib.at[towards]]
        return rows[np.argsort(-sims)[:SAMPLE]]

    return float((emb[sample(a, b)] @ emb[sample(b, a)].T).max())


def merges(lib: Library) -> Candidates:
    """Pairs of persons (``a`` < ``b``), features ``centroid, nearest, log_min_size``."""
    if len(lib.means.ids) < 2:
        return Candidates.empty(3)
    nearest: dict[tuple[int, int], float] = {}
    rows = np.repeat(np.arange(len(lib.person)), lib.knn_index.shape[1])
    cols = lib.knn_index.ravel()
    ok = cols >= 0
    pa, pb = lib.person[rows[ok]], lib.person[cols[ok]]
    sims = lib.knn_sim.ravel()[ok]
    link = (pa >= 0) & (pb >= 0) & (pa != pb)
    for x, y, s in zip(pa[link].tolist(), pb[link].tolist(), sims[link].tolist(), strict=True):
        key = not_same.ordered(x, y)
        if s > nearest.get(key, -2.0):
            nearest[key] = s
    index, _ = scoring.top_rows(lib.centroids, lib.centroids, MERGE_K + 1)
    pairs = set(nearest)
    for i, row in enumerate(index.tolist()):
        for j in row:
            if j >= 0 and j != i:
                pairs.add(not_same.ordered(int(lib.means.ids[i]), int(lib.means.ids[j])))
    names = lib.data.names
    out_a, out_b, feats = [], [], []
    for a, b in sorted(pairs):
        if (a, b) in lib.data.not_same_persons or lib.photos[a] & lib.photos[b]:
            continue
        if a not in lib.clear_persons or b not in lib.clear_persons:
            continue
        na, nb = names.get(a), names.get(b)
        if na and nb and na.casefold() != nb.casefold():
            continue
        near = nearest.get((a, b))
        if near is None:
            near = _nearest_between(lib, a, b)
        out_a.append(a)
        out_b.append(b)
        feats.append(near)
    if not feats:
        return Candidates.empty(3)
    ra = np.array([lib.at[a] for a in out_a])
    rb = np.array([lib.at[b] for b in out_b])
    centroid = np.einsum("ij,ij->i", lib.centroids[ra], lib.centroids[rb])
    size = np.minimum(lib.means.sizes[ra], lib.means.sizes[rb])
    features = np.column_stack([lib.units(centroid), lib.units(np.array(feats)), np.log(size)])
    return Candidates(np.array(out_a), np.array(out_b), features)


def who(lib: Library) -> Candidates:
    """Loose faces (``a``: face row) and the person they are most like that they may join
    (``b``: person id), features ``centroid, margin, nearest``."""
    data = lib.data
    loose = np.flatnonzero((data.person_ids < 0) & lib.clear)
    if not len(loose) or not len(lib.means.ids):
        return Candidates.empty(3)
    index, sims = scoring.top_rows(data.embeddings[loose], lib.centroids, WHO_K)
    out_a, out_b, feats = [], [], []
    for i, r in enumerate(loose.tolist()):
        fid, photo = int(data.face_ids[r]), int(data.photo_ids[r])
        for col in range(WHO_K):
            if index[i, col] < 0:
                break
            p = int(lib.means.ids[index[i, col]])
            if (fid, p) in data.rejections or photo in lib.photos[p]:
                continue
            if p not in lib.clear_persons:
                continue
            others = [s for j, s in enumerate(sims[i].tolist()) if j != col and index[i, j] >= 0]
            runner_up = max(others, default=float(sims[i, col]) - 0.05)
            near = float((data.embeddings[lib.members[p]] @ data.embeddings[r]).max())
            out_a.append(r)
            out_b.append(p)
            feats.append((lib.units(sims[i, col]), lib.units(sims[i, col]) - lib.units(runner_up),
                          lib.units(near)))  # fmt: skip
            break
    if not feats:
        return Candidates.empty(3)
    return Candidates(np.array(out_a), np.array(out_b), np.array(feats, np.float64))


def _runner_up(lib: Library, r: int, other: int) -> float:
    """Face row ``r``'s likeness to its nearest face other than row ``other``."""
    for j, s in zip(lib.knn_index[r].tolist(), lib.knn_sim[r].tolist(), strict=True):
        if j >= 0 and j != other:
            return float(s)
    return -1.0


def new_pairs(lib: Library, rows: np.ndarray, k: int) -> Candidates:
    """Pairs of loose face rows (``a`` < ``b``, among ``rows``) that are each other's near
    neighbours, features ``likeness, margin`` (the margin over each face's next nearest face,
    grouped or not)."""
    from faceorganizer.core.knn import knn

    data = lib.data
    if len(rows) < 2:
        return Candidates.empty(2)
    index, sims = knn(data.embeddings[rows], k)
    seen: set[tuple[int, int]] = set()
    out_a, out_b, feats = [], [], []
    for i in range(len(rows)):
        for j, s in zip(index[i].tolist(), sims[i].tolist(), strict=True):
            if j < 0:
                continue
            a, b = int(rows[i]), int(rows[j])
            key = (min(a, b), max(a, b))
            if key in seen or data.photo_ids[a] == data.photo_ids[b]:
                continue
            seen.add(key)
            if not_same.ordered(data.face_ids[a], data.face_ids[b]) in data.not_same_faces:
                continue
            runner_up = max(_runner_up(lib, a, b), _runner_up(lib, b, a))
            out_a.append(key[0])
            out_b.append(key[1])
            feats.append((lib.units(s), lib.units(s) - lib.units(runner_up)))
    if not feats:
        return Candidates.empty(2)
    return Candidates(np.array(out_a), np.array(out_b), np.array(feats, np.float64))


def odd(lib: Library) -> Candidates:
    """Per person (``b``), its least alike face the user has not placed (``a``: face row),
    features ``likeness, other, nearest, pair``: the mean cosine to the rest of the person,
    the margin of the most alike other person over it, the nearest face of the rest, and
    whether the person is just these two faces."""
    data = lib.data
    loo = scoring.leave_one_out(data.embeddings, lib.person, lib.means)
    free = (lib.person >= 0) & ~data.pinned & ~np.isnan(loo) & lib.clear
    free &= np.isin(lib.person, sorted(lib.clear_persons))
    best: dict[int, int] = {}
    for r in np.flatnonzero(free).tolist():
        p = int(lib.person[r])
        if p not in best or (loo[r], -data.scores[r], r) < (
            loo[best[p]],
            -data.scores[best[p]],
            best[p],
        ):
            best[p] = r
    if not best:
        return Candidates.empty(4)
    persons = sorted(best)
    rows = np.array([best[p] for p in persons], np.int64)
    index, sims = scoring.top_rows(data.embeddings[rows], lib.means.means, 2)
    feats = []
    for i, (p, r) in enumerate(zip(persons, rows.tolist(), strict=True)):
        other = next(
            (float(s) for j, s in zip(index[i], sims[i], strict=True) if j >= 0 and j != lib.at[p]),
            -1.0,
        )
        rest = lib.members[p][lib.members[p] != r]
        near = float((data.embeddings[rest] @ data.embeddings[r]).max())
        feats.append((lib.units(loo[r]), lib.units(other) - lib.units(loo[r]), lib.units(near),
                      float(len(rest) == 1)))  # fmt: skip
    return Candidates(rows, np.array(persons, np.int64), np.array(feats, np.float64))
