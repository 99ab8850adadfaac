"""Similar-face search over our engine's embeddings of lfw_dev."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from faceorganizer.core import search
from faceorganizer.core.search import SearchIndex
from tests.helpers.engine_faces import engine_faces


@pytest.fixture(scope="module")
def lfw():
    faces = engine_faces("lfw_sample")
    rows = faces.labelled()
    return faces.embeddings[rows], faces.label[rows]


def _brute(emb: np.ndarray, ids: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cos = emb @ (q / np.linalg.norm(q))
    order = np.argsort(-cos, kind="stable")
    return ids[order], cos[order]


def test_same_person_comes_first(lfw) -> None:
    emb, label = lfw
    index = SearchIndex(emb.shape[1], "cpu")
    index.add(np.arange(len(emb)), emb)
    names, counts = np.unique(label, return_counts=True)
    first_right = r_precision = queries = 0
    for q in np.flatnonzero(np.isin(label, names[counts >= 5])).tolist():
        ids, cos = index.query(emb[q])
        ids = ids[ids != q]
        mates = int((label == label[q]).sum()) - 1
        first_right += label[ids[0]] == label[q]
        r_precision += float(np.mean(label[ids[:mates]] == label[q]))
        queries += 1
    assert queries > 300
    assert first_right / queries >= 0.99
    assert r_precision / queries >= 0.95


def test_query_matches_brute_force_with_threshold_and_limit(lfw) -> None:
    emb, _ = lfw
    ids = np.arange(len(emb), dtype=np.int64) * 7 + 3
    index = SearchIndex(emb.shape[1], "cpu")
    index.add(ids, emb)
    for q in (0, 17, 300):
        want_ids, want_cos = _brute(emb, ids, emb[q])
        got_ids, got_cos = index.query(emb[q])
        assert np.allclose(got_cos, want_cos, atol=1e-5)
        row_of = {int(i): r for r, i in enumerate(ids.tolist())}
        unit = emb[q] / np.linalg.norm(emb[q])
        own = np.array([emb[row_of[int(i)]] @ unit for i in got_ids[:50]])
        assert np.allclose(own, got_cos[:50], atol=1e-5)
        got_ids, got_cos = index.query(emb[q], min_cosine=0.8, limit=10)
        above = want_cos >= 0.8
        assert len(got_ids) == min(10, int(above.sum()))
        assert np.all(got_cos >= 0.8) and np.all(np.diff(got_cos) <= 0)
        assert set(got_ids.tolist()) <= set(want_ids[above].tolist())


def test_chunked_query_equals_single_pass(lfw, monkeypatch) -> None:
    emb, _ = lfw
    index = SearchIndex(emb.shape[1], "cpu")
    index.add(np.arange(len(emb)), emb)
    whole = index.query(emb[5], limit=40)
    monkeypatch.setattr(search, "QUERY_CHUNK_ROWS", 97)
    chunked = index.query(emb[5], limit=40)
    assert np.array_equal(whole[0], chunked[0])
    thresholded = index.query(emb[5], min_cosine=0.7)
    assert np.all(thresholded[1] >= 0.7) and thresholded[0][0] == 5


def test_remove_and_replace(lfw) -> None:
    emb, _ = lfw
    index = SearchIndex(emb.shape[1], "cpu")
    index.add(np.arange(len(emb)), emb)
    gone = np.arange(0, len(emb), 3)
    index.remove(gone)
    index.remove([10**9])
    kept = np.setdiff1d(np.arange(len(emb)), gone)
    assert len(index) == len(kept) and set(index.ids.tolist()) == set(kept.tolist())
    ids, cos = index.query(emb[0])
    assert not set(ids.tolist()) & set(gone.tolist())
    want_ids, want_cos = _brute(emb[kept], kept, emb[0])
    assert np.array_equal(ids[:30], want_ids[:30]) and np.allclose(cos, want_cos, atol=1e-5)
    index.add([1], emb[2:3])
    assert np.allclose(index.vector(1), emb[2] / np.linalg.norm(emb[2]), atol=1e-6)
    assert len(index) == len(kept)
    with pytest.raises(ValueError):
        index.add([5, 5], emb[:2])


def test_readers_see_a_consistent_index_while_a_writer_adds(lfw) -> None:
    emb, _ = lfw
    index = SearchIndex(emb.shape[1], "cpu")
    index.add(np.arange(100), emb[:100])
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        for start in range(100, len(emb), 50):
            index.add(np.arange(start, min(len(emb), start + 50)), emb[start : start + 50])
            index.remove(np.arange(start - 100, start - 90))
        done.set()

    def reader() -> None:
        try:
            while not done.is_set():
                ids, cos = index.query(emb[3], limit=25)
                assert len(np.unique(ids)) == len(ids)
                assert np.all(np.diff(cos) <= 1e-7)
                want = emb[ids] @ (emb[3] / np.linalg.norm(emb[3]))
                assert np.allclose(cos, want / np.linalg.norm(emb[ids], axis=1), atol=1e-5)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert len(index) == len(emb) - 10 * len(range(100, len(emb), 50))
