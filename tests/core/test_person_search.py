"""Person-level search and its 1:N percentage, on our engine's embeddings of real photos, and
through a real library: a look-alike of another person no longer passes the threshold, and a
face marked "not a face" leaves search, people and grouping until undone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from faceorganizer.config import DEFAULT_MODEL_ID
from faceorganizer.core.clustering import ClusterInput, cluster_thresholds, recluster
from faceorganizer.core.models.registry import calibration_for, search_calibration_for
from faceorganizer.core.person_search import evidence, feature_matrix, score
from faceorganizer.core.search import SearchIndex
from faceorganizer.services.library import Library
from tests.helpers.engine_faces import engine_faces
from tests.helpers.library_support import celebrity_library, copy_library

MODEL = "dlib-resnet-v1"


@pytest.fixture(scope="module")
def lfw():
    faces = engine_faces("lfw_sample")
    rows = faces.labelled()
    emb, label, photo = faces.embeddings[rows], faces.label[rows], faces.photo[rows]
    n = len(emb)
    groups = recluster(
        ClusterInput(
            embeddings=emb,
            person=np.full(n, -1, np.int64),
            pinned=np.zeros(n, bool),
            photo=photo,
            **cluster_thresholds(calibration_for(MODEL)),
        )
    ).labels
    return emb, label, np.where(groups <= -2, -groups, -1)


def test_similarities_are_the_mean_cosine_to_the_query_faces(lfw) -> None:
    emb, _, _ = lfw
    index = SearchIndex(emb.shape[1], "cpu")
    ids = np.arange(len(emb), dtype=np.int64) * 3 + 1
    index.add(ids, emb)
    got_ids, cos = index.similarities(emb[4])
    assert np.array_equal(np.sort(got_ids), ids)
    order = np.argsort(got_ids)
    assert np.allclose(cos[order], emb @ (emb[4] / np.linalg.norm(emb[4])), atol=1e-5)
    mean = emb[[1, 2, 3]].mean(axis=0)
    _, cos = index.similarities(mean, unit=False)
    assert np.allclose(cos[order], (emb @ emb[[1, 2, 3]].T).mean(axis=1), atol=1e-5)


def test_evidence_leaves_the_query_out_of_its_own_person(lfw) -> None:
    emb, _, person = lfw
    q = int(np.flatnonzero(person == np.bincount(person[person >= 0]).argmax())[0])
    query = np.arange(len(emb)) == q
    cos = emb @ emb[q]
    ev = evidence(cos, person, query)
    assert q not in ev.rows and len(ev.rows) == len(emb) - 1
    mates = np.flatnonzero(person == person[q])
    mates = mates[mates != q]
    at = {int(r): i for i, r in enumerate(ev.rows.tolist())}
    for m in mates.tolist():
        assert ev.size[at[m]] == len(mates)
        assert ev.person[at[m]] == pytest.approx(cos[mates].mean())
    alone = int(np.flatnonzero(person < 0)[0])
    assert ev.size[at[alone]] == 1 and ev.person[at[alone]] == pytest.approx(cos[alone])
    assert ev.query_size == 1


def test_person_level_scoring_is_right_where_face_to_face_is_not(lfw) -> None:
    """Every face a query: at 65 % the person-level percentage is right 99 times in 100 and
    finds most same-person faces; the balanced-pair percentage lets through more wrong ones."""
    emb, label, person = lfw
    pair, search = calibration_for(MODEL), search_calibration_for(MODEL)
    right = wrong = relevant = pair_wrong = pair_right = 0
    for q in range(len(emb)):
        query = np.arange(len(emb)) == q
        rows, pct = score(emb @ emb[q], person, query, pair, search)
        same = label[rows] == label[q]
        relevant += int(same.sum())
        right += int((same & (pct >= 65)).sum())
        wrong += int((~same & (pct >= 65)).sum())
        face_pct = np.asarray(pair.percent(emb[rows] @ emb[q]))
        pair_right += int((same & (face_pct >= 65)).sum())
        pair_wrong += int((~same & (face_pct >= 65)).sum())
    assert right / (right + wrong) >= 0.99
    assert right / relevant >= 0.9
    assert pair_wrong / (pair_right + pair_wrong) > wrong / (right + wrong)


def test_features_match_the_shipped_calibration() -> None:
    search = search_calibration_for(MODEL)
    # fitted on today's pipeline: its held-out figures (benchmarks/search_quality.py) are recorded
    # with it; the goal is 0.99 / 0.95 (0.9897 / 0.9528 when last fitted: README)
    held_out = search.info["held_out_at_65"]
    assert len(search.coef) == 5 and held_out["precision"] >= 0.985 and held_out["recall"] >= 0.95
    # a model without its own fit uses the default model's
    default = search_calibration_for(DEFAULT_MODEL_ID)
    assert search_calibration_for("facenet-vggface2").coef == default.coef
    ev = evidence(np.array([0.99, 0.5]), np.array([-1, -1]), np.array([False, False]))
    pct = search.percent(feature_matrix(ev, calibration_for(MODEL)))
    assert pct[0] > 65 > pct[1]


@pytest.fixture
def celebrities(tmp_path: Path) -> Path:
    folder, db, _ = celebrity_library()
    return copy_library(folder, db, tmp_path)[1]


def _folder(lib: Library, face_id: int) -> str:
    return Path(lib.face(face_id).photo_path).parent.name


def test_a_madonna_face_finds_madonna_and_no_look_alike(celebrities: Path) -> None:
    with Library.open(celebrities) as lib:
        madonna = [f for f in lib.faces() if _folder(lib, f.face_id) == "madonna" and f.person_id]
        query = madonna[0]
        hits = lib.search(face_id=query.face_id, threshold=65)
        folders = Counter(_folder(lib, h.face.face_id) for h in hits)
        assert folders["madonna"] >= 10
        assert set(folders) == {"madonna"}, folders
        assert query.face_id not in {h.face.face_id for h in hits}
        assert [h.percent for h in hits] == sorted((h.percent for h in hits), reverse=True)

        # Madonna as two persons (whether a scan splits her depends on the model and the
        # gate): "faces like this person" finds the other one's faces, never its own
        largest = max({f.person_id for f in madonna}, key=lambda p: lib.person(p).face_count)
        later = [f.face_id for f in lib.faces(largest)[-5:]]
        lib.move_faces(later, None, "Madonna, later")
        whole = lib.search(like_person=largest, threshold=65)
        own = {f.face_id for f in lib.faces(largest)}
        assert set(later) <= {h.face.face_id for h in whole}
        assert not own & {h.face.face_id for h in whole}
        assert {_folder(lib, h.face.face_id) for h in whole} == {"madonna"}


def test_not_a_face_leaves_people_search_and_grouping_until_undone(celebrities: Path) -> None:
    with Library.open(celebrities) as lib:
        person = lib.people()[0]
        face, other = (f.face_id for f in lib.faces(person.person_id)[:2])
        counts = lib.counts()
        info = lib.mark_not_face([face])
        assert info.kind == "not-face" and info.description == "Mark 1 face as not a face"
        assert lib.face(face).person_id is None
        assert face not in {f.face_id for f in lib.faces(include_hidden=True)}
        assert face not in {h.face.face_id for h in lib.search(face_id=other, threshold=0)}
        assert lib.counts()["faces"] == counts["faces"] - 1
        assert lib.counts()["unassigned"] == counts["unassigned"]
        if lib.cluster().edit is not None:  # its person's likeness changed: faces may join
            assert lib.undo().kind == "auto"  # type: ignore[union-attr]
        assert lib.face(face).person_id is None
        assert lib.undo().kind == "not-face"  # type: ignore[union-attr]
        assert lib.face(face).person_id == person.person_id
        assert face in {h.face.face_id for h in lib.search(face_id=other, threshold=0)}
        assert lib.counts() == counts
