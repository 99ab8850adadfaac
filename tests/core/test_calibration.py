"""Calibration: 50 % at the equal-error cosine, monotonic, and percentages that mean P(same)."""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np
import pytest

from faceorganizer.core.calibration import (
    balanced_accuracy,
    equal_error,
    fit_calibration,
    fit_calibration_report,
    labelled_images,
    pair_cosines,
)
from faceorganizer.core.types import Calibration


def _pairs(seed: int, n: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Cosines drawn from a known model: same ~ N(0.9, 0.04), different ~ N(0.6, 0.08)."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.9, 0.04, n), rng.normal(0.6, 0.08, n)


def test_midpoint_is_the_equal_error_point() -> None:
    same, diff = _pairs(0)
    cal = fit_calibration(same, diff)
    frr = np.mean(same < cal.midpoint)
    far = np.mean(diff >= cal.midpoint)
    assert abs(frr - far) < 2e-3
    assert cal.percent(cal.midpoint) == pytest.approx(50.0)
    threshold, rate = equal_error(same, diff)
    assert threshold == pytest.approx(cal.midpoint)
    assert rate == pytest.approx((frr + far) / 2, abs=2e-3)


def test_percent_is_monotonic_and_inverts() -> None:
    cal = fit_calibration(*_pairs(1))
    grid = np.linspace(-1, 1, 2001)
    pct = cal.percent(grid)
    assert np.all(np.diff(pct) >= 0) and pct[0] < 1 and pct[-1] > 99
    for p in (5.0, 50.0, 65.0, 95.0):
        assert cal.percent(cal.cosine_at(p)) == pytest.approx(p, abs=1e-6)


def _logistic_pairs(seed: int, n: int = 60_000) -> tuple[np.ndarray, np.ndarray]:
    """Balanced pairs whose true P(same | cosine) is logistic(40 (cosine - 0.8))."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.6, 1.0, n)
    y = rng.random(n) < 1 / (1 + np.exp(-40 * (c - 0.8)))
    return c[y], c[~y]


def test_percent_estimates_probability_of_same() -> None:
    """On held-out pairs, the share of same pairs among those scored near p % is about p %."""
    cal = fit_calibration(*_logistic_pairs(2))
    same, diff = _logistic_pairs(3)
    cos = np.concatenate([same, diff])
    is_same = np.concatenate([np.ones(len(same)), np.zeros(len(diff))])
    pct = cal.percent(cos)
    for lo, hi in ((10, 30), (30, 50), (50, 70), (70, 90)):
        band = (pct >= lo) & (pct < hi)
        assert band.sum() > 500
        assert abs(100 * is_same[band].mean() - pct[band].mean()) < 4


def test_slope_matches_the_generating_logistic() -> None:
    """Labels drawn from P(same | c) = logistic(40 (c - 0.8)): the fit recovers that slope."""
    fit = fit_calibration_report(*_logistic_pairs(4))
    assert fit.calibration.midpoint == pytest.approx(0.8, abs=0.01)
    assert fit.calibration.slope == pytest.approx(40, rel=0.1)


def test_unseparable_pairs_are_refused() -> None:
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError):
        fit_calibration(rng.normal(0.5, 0.1, 500), rng.normal(0.9, 0.1, 500))
    with pytest.raises(ValueError):
        fit_calibration(np.array([]), np.array([0.1, 0.2]))


def test_pair_cosines_builds_every_same_pair() -> None:
    rng = np.random.default_rng(6)
    emb = rng.standard_normal((10, 8)).astype(np.float32)
    labels = ["a"] * 4 + ["b"] * 3 + ["c"] * 2 + ["d"]
    pairs = pair_cosines(emb, labels)
    assert len(pairs.same) == 6 + 3 + 1
    assert len(pairs.diff) == 45 - 10
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    assert np.sort(pairs.same) == pytest.approx(
        np.sort(
            [unit[i] @ unit[j] for i in range(4) for j in range(i + 1, 4)]
            + [unit[i] @ unit[j] for i in range(4, 7) for j in range(i + 1, 7)]
            + [unit[7] @ unit[8]]
        ),
        abs=1e-5,
    )
    assert len(pair_cosines(emb, labels, max_diff=7).diff) == 7
    acc = balanced_accuracy(pairs.same, pairs.diff, 2.0)
    assert acc == pytest.approx(0.5)


def test_shipped_default_calibration_is_fitted() -> None:
    data = json.loads(
        (files("faceorganizer.core") / "calibration" / "dlib-resnet-v1.json").read_text()
    )
    assert data["fitted"] is True and data["pairs"] >= 3000
    cal = Calibration(data["midpoint"], data["slope"])
    assert 0 < cal.midpoint < 1 and cal.slope > 0


def test_labelled_images_reads_person_subfolders(faces_dir) -> None:
    images = labelled_images(faces_dir / "photos" / "five_celebrity")
    persons = {p for _, p in images}
    assert persons == {"ben_afflek", "elton_john", "jerry_seinfeld", "madonna", "mindy_kaling"}
    assert all(path.parent.name == person for path, person in images)
