"""Clustering rules, on our engine's embeddings of real photos.

Scenarios are built from lfw_dev faces of known people: which person a face is "currently" in,
what the user pinned or rejected, and which faces share a photo are set up per test.
"""

from __future__ import annotations

import numpy as np
import pytest

from faceorganizer.core import clustering
from faceorganizer.core import knn as knn_module
from faceorganizer.core.clustering import ClusterInput, recluster
from faceorganizer.core.knn import knn
from tests.helpers.engine_faces import engine_faces


@pytest.fixture(scope="module")
def lfw():
    faces = engine_faces("lfw_sample")
    rows = faces.labelled()
    return faces.embeddings[rows], faces.label[rows]


@pytest.fixture(scope="module")
def big_people(lfw):
    """The rows of the four people with the most faces, as (emb, names, rows per name)."""
    emb, label = lfw
    names, counts = np.unique(label, return_counts=True)
    top = names[np.argsort(-counts, kind="stable")[:4]]
    return emb, label, {n: np.flatnonzero(label == n) for n in top.tolist()}


def _fresh(emb: np.ndarray, photo: np.ndarray | None = None) -> ClusterInput:
    n = len(emb)
    return ClusterInput(
        embeddings=emb,
        person=np.full(n, -1, np.int64),
        pinned=np.zeros(n, bool),
        photo=np.arange(n, dtype=np.int64) if photo is None else photo,
    )


def _purity(labels: np.ndarray, truth: np.ndarray) -> tuple[int, int]:
    """(groups mixing two people, groups)."""
    groups = [g for g in np.unique(labels) if g != -1]
    mixed = sum(len(set(truth[labels == g].tolist())) > 1 for g in groups)
    return mixed, len(groups)


def test_fresh_clustering_of_lfw_dev_errs_toward_splitting(lfw) -> None:
    emb, label = lfw
    out = recluster(_fresh(emb))
    assert out.labels.shape == (len(emb),)
    assert set(out.labels.tolist()) <= {-1} | set(range(-10_000, -1))
    mixed, groups = _purity(out.labels, label)
    assert groups >= 25 and mixed <= max(1, groups // 100)
    names, counts = np.unique(label, return_counts=True)
    for name in names[counts >= 10].tolist():
        rows = label == name
        biggest = np.bincount(-out.labels[rows][out.labels[rows] < -1]).max(initial=0)
        assert biggest >= 0.8 * rows.sum(), name


def test_pinned_faces_never_move(big_people) -> None:
    """Also where the user pinned two faces of B into A's person: that person's likeness is then
    a blend, so A's free faces may start a group of their own (erring toward a split), but no
    free face joins a person that is not its own."""
    emb, label, people = big_people
    a, b, c, _ = people.values()
    rows = np.concatenate([a, b, c])
    inp = _fresh(emb[rows])
    local = {r: i for i, r in enumerate(rows.tolist())}
    pinned_wrong = [local[r] for r in b[:2].tolist()]
    pinned_right = [local[r] for r in a[:3].tolist()]
    inp.person[pinned_right + pinned_wrong] = 50
    inp.pinned[pinned_right + pinned_wrong] = True
    inp.person[[local[r] for r in c[:3].tolist()]] = 60
    inp.pinned[[local[r] for r in c[:3].tolist()]] = True
    out = recluster(inp)
    assert np.all(out.labels[inp.pinned] == inp.person[inp.pinned])
    a_free = out.labels[[local[r] for r in a[3:].tolist()]]
    assert np.max(np.unique(a_free, return_counts=True)[1]) >= 0.8 * len(a_free)
    assert not np.any(a_free == 60)
    assert np.mean(out.labels[[local[r] for r in c[3:].tolist()]] == 60) >= 0.8
    assert not np.any(out.labels[[local[r] for r in b[2:].tolist()]] == 60)


def test_rejected_pairs_are_never_assigned(big_people) -> None:
    emb, label, people = big_people
    a, b, _, _ = people.values()
    rows = np.concatenate([a, b])
    inp = _fresh(emb[rows])
    inp.person[: len(a)] = 7
    inp.pinned[:3] = True
    rejected_rows = list(range(3, 8))
    inp.person[rejected_rows] = -1
    inp.rejected = [(r, 7) for r in rejected_rows]
    out = recluster(inp)
    assert not np.any(out.labels[rejected_rows] == 7)
    assert np.mean(out.labels[8 : len(a)] == 7) >= 0.9
    again = recluster(
        ClusterInput(
            embeddings=inp.embeddings,
            person=out.labels.clip(min=-1),
            pinned=inp.pinned,
            photo=inp.photo,
            rejected=inp.rejected,
        )
    )
    assert not np.any(again.labels[rejected_rows] == 7)


def test_rejection_from_an_unlocked_group_keeps_the_face_out_of_that_group(big_people) -> None:
    emb, _, people = big_people
    a = next(iter(people.values()))
    inp = _fresh(emb[a])
    inp.person[:] = 11
    inp.rejected = [(0, 11)]
    out = recluster(inp)
    assert np.sum(out.labels[1:] == 11) >= 0.9 * (len(a) - 1)
    assert out.labels[0] != 11
    mates = out.labels[1:][out.labels[1:] != -1]
    assert out.labels[0] == -1 or out.labels[0] not in set(mates.tolist())


def test_two_faces_of_one_photo_never_share_a_person(big_people) -> None:
    emb, _, people = big_people
    a, b, _, _ = people.values()
    rows = np.concatenate([a, b])
    photo = np.arange(len(rows), dtype=np.int64)
    photo[1] = photo[0]
    photo[3] = photo[2]
    photo[len(a) + 1] = photo[len(a)]
    inp = _fresh(emb[rows], photo)
    out = recluster(inp)
    for i, j in ((0, 1), (2, 3), (len(a), len(a) + 1)):
        assert out.labels[i] == -1 or out.labels[i] != out.labels[j]
    inp.person[4 : len(a)] = 20
    inp.pinned[4:6] = True
    inp.person[0] = -1
    out = recluster(inp)
    assert not (out.labels[0] == 20 and out.labels[1] == 20)
    for p in set(out.labels.tolist()) - {-1}:
        members = out.labels == p
        assert len(np.unique(photo[members])) == members.sum()


def test_a_face_joins_the_person_it_is_most_like_as_a_whole(big_people) -> None:
    """Free faces join by their mean likeness to a person: into the right person, also when that
    person is split in two groups (no margin between them), and never into another person."""
    emb, _, people = big_people
    a, b, _, _ = people.values()
    rows = np.concatenate([a, b])
    inp = _fresh(emb[rows])
    inp.person[:3] = 30
    inp.person[3:6] = 31
    inp.person[len(a) : len(a) + 3] = 40
    out = recluster(inp)
    assert not np.any(out.labels[6 : len(a)] == 40)
    assert np.mean(np.isin(out.labels[6 : len(a)], [30, 31])) >= 0.8
    assert np.mean(out.labels[len(a) + 3 :] == 40) >= 0.8
    assert not np.any(np.isin(out.labels[len(a) + 3 :], [30, 31]))


def test_one_look_alike_face_does_not_pull_strangers_in(big_people) -> None:
    """A person holding one face of someone else (a wrong placement) does not draw that someone's
    other faces in: the person's likeness is the mean of all its faces, not its nearest one."""
    emb, _, people = big_people
    a, b, _, _ = people.values()
    rows = np.concatenate([a[:12], b[:1], b[1:]])
    inp = _fresh(emb[rows])
    inp.person[:13] = 50
    out = recluster(inp)
    assert not np.any(out.labels[13:] == 50)
    assert np.all(out.labels[:13] == 50)


def test_unnamed_groups_keep_their_ids(big_people, lfw) -> None:
    emb, label = lfw
    first = recluster(_fresh(emb))
    ids = np.where(first.labels <= -2, 1000 - first.labels, -1)
    rng = np.random.default_rng(0)
    extra = emb[rng.choice(len(emb), 40, replace=False)] + 0.0
    grown = np.concatenate([emb, extra])
    inp = _fresh(grown)
    inp.person[: len(emb)] = ids
    second = recluster(inp)
    kept = second.labels[: len(emb)]
    groups = np.unique(ids[ids >= 0])
    stayed = np.mean([np.mean(kept[ids == g] == g) >= 0.5 for g in groups])
    assert stayed >= 0.95
    assert len(second.new_group_labels()) <= 0.05 * len(groups)


def test_persons_are_never_dissolved_split_or_merged(big_people) -> None:
    """Two unnamed, unpinned groups of one person stay two; a group holding two people's faces
    stays as it is: only the user moves faces between persons."""
    emb, _, people = big_people
    a, b, _, _ = people.values()
    inp = _fresh(emb[a])
    half = len(a) // 2
    inp.person[:half] = 70
    inp.person[half:] = 71
    out = recluster(inp)
    assert np.all(out.labels[:half] == 70) and np.all(out.labels[half:] == 71)
    changes = out.changes(inp.person)
    assert changes["dissolved"] == [] and changes["new_groups"] == []
    mixed = _fresh(emb[np.concatenate([a, b])])
    mixed.person[:] = 72
    mixed.photo = np.arange(len(mixed.person), dtype=np.int64)
    assert np.all(recluster(mixed).labels == 72)


def test_output_helpers_describe_changes() -> None:
    labels = np.array([5, 5, -2, -2, -1, 6, -3], np.int64)
    out = clustering.ClusterOutput(labels)
    face_ids = np.array([10, 11, 12, 13, 14, 15, 16])
    assert out.assignments(face_ids) == {10: 5, 11: 5, 14: None, 15: 6}
    assert out.new_groups(face_ids) == [[12, 13], [16]]
    before = np.array([5, 6, 6, -1, 5, 6, -1])
    ch = out.changes(before)
    assert ch["joined"] == {5: [1]}
    assert ch["left"] == {6: [1, 2], 5: [4]}
    assert ch["dissolved"] == []


def test_inverted_file_neighbours_match_exact(lfw, monkeypatch) -> None:
    emb, _ = lfw
    exact_i, exact_s = knn(emb, 8)
    monkeypatch.setattr(knn_module, "EXACT_KNN_MAX", 100)
    monkeypatch.setattr(knn_module, "IVF_CELL_SIZE", 64)
    ivf_i, ivf_s = knn(emb, 8)
    strong = exact_s >= 0.8
    found = sum(
        len(set(exact_i[r][strong[r]].tolist()) & set(ivf_i[r].tolist())) for r in range(len(emb))
    )
    assert found / strong.sum() >= 0.95
    assert np.all(ivf_i != np.arange(len(emb))[:, None])
    monkeypatch.setattr(knn_module, "EXACT_KNN_MAX", 100)
    out = recluster(_fresh(emb))
    assert len(set(out.labels.tolist())) >= 25


@pytest.mark.xfail(
    strict=True,
    reason="not met yet: no group mixes two people, but elton_john (8 of 22 faces in one group), "
    "madonna (14 of 24) and alex_lacamoire (2 of 3) are split; merging whole groups by centroid "
    "fixes them here but costs pairwise precision on lfw (0.94-0.95, cluster_quality.py)",
)
def test_people_match_the_person_folders() -> None:
    """Each labelled person with >= 3 photos is one group holding >= 90 % of their faces; no
    group mixes two labelled persons."""
    faces = engine_faces("photo")
    out = recluster(_fresh(faces.embeddings, faces.photo))
    rows = faces.labelled()
    label, got = faces.label[rows], out.labels[rows]
    for g in set(got.tolist()) - {-1}:
        assert len(set(label[got == g].tolist())) == 1, (g, sorted(set(label[got == g])))
    names, counts = np.unique(label, return_counts=True)
    checked = 0
    for name in names[counts >= 3].tolist():
        mine = got[label == name]
        groups, sizes = np.unique(mine[mine != -1], return_counts=True)
        assert len(groups) and sizes.max() >= 0.9 * len(mine), (name, mine.tolist())
        checked += 1
    assert checked >= 20


def test_lone_faces_join_only_their_own_persons_group(lfw) -> None:
    """After grouping, a face left alone joins the group whose centroid is clearly nearest: groups
    only grow, each joiner is the group's person, and never beside a face of its own photo."""
    from faceorganizer.core.models.registry import calibration_for

    emb, label = lfw
    t = clustering.cluster_thresholds(calibration_for("dlib-resnet-v1"))
    photo = np.arange(len(emb), dtype=np.int64)

    def grouped(photo: np.ndarray, attach: float | None) -> np.ndarray:
        return clustering.group_faces(
            emb, photo, t["cluster_cosine"], pair_threshold=t["pair_cosine"],
            attach_threshold=attach,
        )  # fmt: skip

    alone = grouped(photo, None)
    joined_labels = grouped(photo, t["attach_cosine"])
    kept = alone != -1
    assert np.array_equal(joined_labels[kept], alone[kept])
    joined = np.flatnonzero(~kept & (joined_labels != -1))
    assert len(joined) >= 1
    for r in joined.tolist():
        assert set(label[alone == joined_labels[r]].tolist()) == {label[r]}

    r = int(joined[0])
    same_photo = photo.copy()
    same_photo[r] = photo[np.flatnonzero(alone == joined_labels[r])[0]]
    assert grouped(same_photo, t["attach_cosine"])[r] == -1


def test_a_group_needs_one_clear_face(big_people) -> None:
    """Faces that group together but are all doubtful detections stay unassigned; one clear face
    among them is enough for a group. Locked persons are never affected."""
    emb, _label, people = big_people
    name, rows = next(iter(people.items()))
    sub = emb[rows]
    inp = _fresh(sub)
    inp.score = np.full(len(rows), 0.9)
    assert (recluster(inp).labels == -1).all()
    inp.score[0] = 0.999
    grouped = recluster(inp).labels
    assert (grouped <= -2).sum() >= 0.8 * len(rows), name
    inp.person = np.where(np.arange(len(rows)) < 3, 7, -1)
    inp.pinned = np.arange(len(rows)) < 3
    inp.score[:] = 0.9
    labels = recluster(inp).labels
    assert (labels[:3] == 7).all()


def test_the_first_graph_restricted_keeps_every_edge_at_the_cut(lfw) -> None:
    """A later grouping round reuses the first round's kNN graph over the faces still free: its
    edges at the cut are those of a graph built over those faces alone, including the faces whose
    every neighbour was above the cut (searched again)."""
    from faceorganizer.core import grouping

    emb, _ = lfw
    graph = grouping.knn_graph(emb)
    cut = float(np.median(graph[1][:, -1]))  # half the faces have all their neighbours above it
    keep = np.flatnonzero(np.random.default_rng(0).random(len(emb)) < 0.6)

    def edges(idx: np.ndarray, sim: np.ndarray) -> set[tuple[int, int]]:
        return {
            (min(a, int(b)), max(a, int(b)))
            for a in range(len(idx))
            for b, s in zip(idx[a].tolist(), sim[a].tolist(), strict=True)
            if b >= 0 and s >= cut
        }

    reused = grouping.restricted_graph(emb[keep], graph, keep, cut)
    alone = grouping.knn_graph(emb[keep])
    assert (graph[1][keep, -1] >= cut).sum() >= 0.3 * len(keep)
    assert len(edges(*alone)) >= len(keep) and edges(*reused) == edges(*alone)
    assert np.all(reused[0] < len(keep))
