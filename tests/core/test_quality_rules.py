"""Face quality and the rules built on it, on generated numbers: signals from landmarks, the
quality and its reasons, the margin new groups need, crops past the border, and clustering that
never places a face under the bar."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceorganizer.core import group_gate
from faceorganizer.core.alignment import DLIB_TEMPLATE_150
from faceorganizer.core.boxes import area_crops, integral_images
from faceorganizer.core.clustering import ClusterInput, recluster
from faceorganizer.core.quality import (
    BORROWED,
    POOR_CEILING,
    QualityModel,
    Ramp,
    Signals,
    quality_model,
    recipe,
)
from faceorganizer.core.quality_signals import face_square, outside_share, pose

MODEL = QualityModel(
    "test-model",
    {
        "outside": Ramp(0.3, 0.1),
        "size": Ramp(30.0, 10.0),
        "sharpness": Ramp(0.2, 0.1),
        "turn": Ramp(0.6, 0.1),
    },
    None,
    7,
    {},
    group_margin=3.0,
)
GOOD = Signals(outside=0.0, size=120.0, sharpness=0.8, turn=0.05, tilt=0.05, score=0.999)


def _face(centre: tuple[float, float], eye_width: float) -> np.ndarray:
    """Frontal landmarks (dlib's template) scaled to ``eye_width`` about ``centre``."""
    t = DLIB_TEMPLATE_150 - DLIB_TEMPLATE_150.mean(axis=0)
    return t * (eye_width / 53.0) + np.array(centre)


def test_a_face_half_past_the_border_is_half_outside() -> None:
    inside = _face((200, 200), 40)
    assert outside_share(inside, 400, 400) == 0.0
    corners, side = face_square(inside)
    half_out = _face((0, 200), 40)
    assert outside_share(half_out, 400, 400) == pytest.approx(0.5, abs=0.05)
    assert side == pytest.approx(40 * 100 / 53, rel=0.01)
    assert corners.shape == (4, 2)


def test_pose_is_frontal_for_the_template_and_turned_when_the_eyes_close_in() -> None:
    turn, tilt = pose(_face((100, 100), 50))
    assert turn < 0.02 and tilt < 0.02
    profile = _face((100, 100), 50)
    profile[:2, 0] = profile[:2, 0].mean() + np.array([-6.0, 6.0])  # eyes drawn together
    assert pose(profile)[0] > 0.6


def test_quality_is_the_worst_score_and_reasons_are_said_once_worst_first() -> None:
    assert MODEL.quality(GOOD) > 0.95
    cut = Signals(**{**GOOD.as_dict(), "outside": 0.5, "sharpness": 0.18})
    scores = MODEL.scores(cut)
    assert scores["outside"] < 0.3 < scores["sharpness"] < 0.5
    assert MODEL.quality(cut) == scores["outside"]
    assert MODEL.reasons(cut, 0.5) == ["cut by the edge", "too blurred"]
    assert MODEL.reasons(cut, 0.3) == ["cut by the edge"]
    turned = Signals(**{**GOOD.as_dict(), "turn": 0.9, "tilt": 0.9})
    assert MODEL.reasons(turned, 0.5) == ["turned away"]  # turn alone has a ramp
    assert POOR_CEILING < 65.0  # below the default "same person" threshold


def test_quality_file_round_trip_and_refusals() -> None:
    model = QualityModel("m", MODEL.ramps, np.ones(4) / 2, 3, {"fitted_on": "x"}, group_margin=2.5)
    back = QualityModel.from_json(model.to_json(), "test")
    assert back.ramps == model.ramps and back.version == 3 and back.group_margin == 2.5
    assert back.indistinct(np.array([1.0, 1.0, 1.0, 1.0])) == pytest.approx(1.0)
    assert back.indistinct(np.ones(3)) == 0.0  # another model's vector
    with pytest.raises(ValueError, match="invalid quality file"):
        QualityModel.from_json('{"ramps": {"blur": {"threshold": 1, "width": 1}}}', "x")
    assert Signals.from_json(GOOD.to_json()) == GOOD
    assert Signals.from_json("not json") is None


def test_a_model_without_a_quality_file_borrows_ramps_and_margins_but_not_the_direction() -> None:
    """SFace alone ships no quality file: it is judged by the shipped lender's ramps of what the
    photo shows and its margins (pair-calibration units, turned into cosine by its own slope),
    never by the lender's indistinct direction (another space), under a recipe of its own."""
    borrowed = quality_model("sface-2021dec")
    lender = quality_model(str(borrowed.info["borrowed_from"]))
    assert lender.model_id != "sface-2021dec" and lender.direction is not None
    assert borrowed.direction is None and borrowed.indistinct(np.ones(128)) == 0.0
    assert borrowed.ramps == {k: r for k, r in lender.ramps.items() if k != "indistinct"}
    assert "size" in borrowed.ramps and "indistinct" not in borrowed.ramps
    assert (borrowed.group_margin, borrowed.pair_margin) == (
        lender.group_margin,
        lender.pair_margin,
    )
    assert borrowed.version == BORROWED + lender.version
    assert recipe("sface-2021dec") != recipe(lender.model_id)
    assert quality_model("no-such-model").ramps  # a model unknown is judged as well


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_new_groups_must_stand_out_from_their_neighbourhood() -> None:
    rng = np.random.default_rng(0)
    dims = 64
    centre = _unit(rng.normal(size=dims))
    crowd = _unit(centre + 0.25 * rng.normal(size=(60, dims)) / np.sqrt(dims))
    person = _unit(rng.normal(size=dims))
    pair = _unit(person + 0.2 * rng.normal(size=(2, dims)) / np.sqrt(dims))
    emb = np.concatenate([crowd, pair])
    crowd_pair = np.array([0, 1])
    true_pair = np.array([60, 61])
    rider = np.array([60, 61, 2])  # a crowd face stuck to the true pair
    kept = group_gate.standing_out(emb, [crowd_pair, true_pair, rider], margin=0.05)
    assert len(kept[0]) == 0
    assert kept[1].tolist() == [60, 61]
    assert sorted(kept[2].tolist()) == [60, 61]
    joins = group_gate.may_join(emb, [np.array([60, 61, 2]), np.array([60, 61])], margin=0.05)
    assert joins.tolist() == [False, True]


@pytest.mark.parametrize("on_numpy", [True, False], ids=["cpu-tables", "device-tables"])
def test_crops_past_the_border_are_the_black_padded_image_cropped(on_numpy: bool) -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (1, 40, 50, 3), dtype=np.uint8)
    pad = 20
    padded = np.zeros((1, 40 + 2 * pad, 50 + 2 * pad, 3), np.uint8)
    padded[:, pad:-pad, pad:-pad] = image
    regions = np.array([[-10, -5, 30, 35], [30, 20, 65, 52], [5, 5, 25, 25]])
    table = integral_images(torch.from_numpy(image), on_numpy=on_numpy)
    crops = area_crops(table, np.zeros(3, np.int64), regions, 12, np.zeros((1, 3)))
    for crop, (x0, y0, x1, y1) in zip(crops, regions, strict=True):
        part = torch.from_numpy(padded[0, y0 + pad : y1 + pad, x0 + pad : x1 + pad].copy())
        expected = torch.nn.functional.interpolate(
            part.permute(2, 0, 1).float()[None], size=(12, 12), mode="area"
        )[0]
        assert torch.allclose(crop, expected, atol=1e-3)


def test_clustering_never_places_a_poor_face_but_keeps_one_the_user_placed() -> None:
    rng = np.random.default_rng(2)
    dims = 32
    a, b = _unit(rng.normal(size=dims)), _unit(rng.normal(size=dims))
    emb = _unit(np.stack([a, a, a, a, b, b, b]) + 0.02 * rng.normal(size=(7, dims)))
    person = np.array([-1, -1, -1, -1, 5, 5, 5])
    pinned = np.array([False, False, False, False, True, False, False])
    poor = np.array([False, False, False, True, True, True, False])
    inp = ClusterInput(
        embeddings=emb,
        person=person,
        pinned=pinned,
        photo=np.arange(7),
        poor=poor,
        cluster_cosine=0.9,
        pair_cosine=0.9,
        join_cosine=0.9,
        join_pair_cosine=0.9,
    )
    labels = recluster(inp).labels
    assert labels[0] == labels[1] == labels[2] <= -2  # the judgeable ones group
    assert labels[3] == -1  # a poor face is never grouped
    assert labels[4] == 5  # placed by the user: stays
    assert labels[5] == -1  # placed automatically under the bar: set aside
    assert labels[6] == 5
