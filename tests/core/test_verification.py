"""Verification with the default model through our engine: every same-person pair of a fixed
lfw_dev sample and as many seeded different-person pairs, judged at the shipped 50 %."""

from __future__ import annotations

import numpy as np
import pytest

from faceorganizer.core.calibration import equal_error, fit_calibration, pair_cosines
from faceorganizer.core.models.registry import calibration_for
from tests.helpers.engine_faces import engine_faces


@pytest.fixture(scope="module")
def pairs():
    faces = engine_faces("lfw_sample")
    rows = faces.labelled()
    assert len(rows) >= 0.99 * len(faces.paths)
    every = pair_cosines(faces.embeddings[rows], faces.label[rows])
    return pair_cosines(faces.embeddings[rows], faces.label[rows], max_diff=len(every.same), seed=0)


def test_accuracy_at_the_calibrated_50_percent(pairs) -> None:
    assert len(pairs.same) >= 1500 and len(pairs.diff) == len(pairs.same)
    cal = calibration_for("dlib-resnet-v1")
    threshold = cal.cosine_at(50.0)
    correct = np.concatenate([pairs.same >= threshold, pairs.diff < threshold])
    assert correct.mean() >= 0.985
    balanced = (np.mean(pairs.same >= threshold) + np.mean(pairs.diff < threshold)) / 2
    assert balanced >= 0.985


def test_shipped_calibration_is_this_engines_equal_error_point(pairs) -> None:
    cal = calibration_for("dlib-resnet-v1")
    midpoint, _ = equal_error(pairs.same, pairs.diff)
    assert cal.midpoint == pytest.approx(midpoint, abs=0.01)
    refit = fit_calibration(pairs.same, pairs.diff)
    assert refit.slope == pytest.approx(cal.slope, rel=0.2)
    assert cal.percent(np.median(pairs.same)) > 90 and cal.percent(np.median(pairs.diff)) < 10
