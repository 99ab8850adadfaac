"""FacenetEmbedder end to end on a real photo, with generated (random, seeded) weights in the
released file's layout: the crop, the standardisation, the strict load and the embeddings are
checked against facenet-pytorch's own ``extract_face`` and ``InceptionResnetV1``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from facenet_pytorch import MTCNN, InceptionResnetV1, extract_face, fixed_image_standardization
from PIL import Image, ImageOps

from faceorganizer.core import weights
from faceorganizer.core.models import registry
from faceorganizer.core.models.facenet import FacenetEmbedder
from faceorganizer.core.models.registry import MODELS, load_embedder
from faceorganizer.core.types import Detection
from faceorganizer.core.weights import WeightsVerifyError

MODEL = "facenet-vggface2"
PHOTO = "photos/face_recognition_examples/_group/two_people.jpg"


@pytest.fixture(scope="module")
def weights_file(generated_vggface2: Path) -> Path:
    return generated_vggface2


@pytest.fixture(scope="module")
def embedder(weights_file: Path) -> FacenetEmbedder:
    return FacenetEmbedder(MODELS[MODEL], torch.device("cpu"), weights_path=weights_file)


@pytest.fixture(scope="module")
def photo(faces_dir: Path) -> tuple[Image.Image, list[Detection]]:
    """The photo and its faces as the detector (MTCNN) reports them."""
    image = ImageOps.exif_transpose(Image.open(faces_dir / PHOTO)).convert("RGB")
    boxes, probs, points = MTCNN(keep_all=True).detect(image, landmarks=True)
    detections = [
        Detection(tuple(float(v) for v in b), float(p), np.asarray(pts, dtype=np.float32))
        for b, p, pts in zip(boxes, probs, points, strict=True)
        if float(p) > 0.95
    ]
    return image, detections


def test_prepare_crops_and_standardises_as_facenet_pytorch(embedder, photo):
    image, detections = photo
    assert len(detections) == 2
    chips = embedder.prepare(np.asarray(image), detections)
    assert chips.shape == (2, 3, 160, 160) and chips.dtype == torch.float32
    assert chips.min() >= -127.5 / 128 and chips.max() <= 127.5 / 128
    for chip, det in zip(chips, detections, strict=True):
        reference = fixed_image_standardization(extract_face(image, det.box, 160, margin=14))
        assert torch.equal(chip, reference)


def test_embed_gives_unit_rows_matching_the_reference_network(embedder, photo, weights_file):
    image, detections = photo
    chips = embedder.prepare(np.asarray(image), detections)
    vectors = embedder.embed(chips)
    assert vectors.shape == (2, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, embedder.embed(chips))
    assert not np.array_equal(vectors[0], vectors[1])

    reference = InceptionResnetV1(classify=True, num_classes=8631).eval()
    reference.load_state_dict(torch.load(weights_file, weights_only=True))
    reference.classify = False
    with torch.inference_mode():
        expected = reference(chips).numpy()
    np.testing.assert_allclose(vectors, expected, atol=1e-5)


def test_no_faces_gives_empty_batches(embedder, photo):
    image, _ = photo
    chips = embedder.prepare(np.asarray(image), [])
    assert chips.shape == (0, 3, 160, 160)
    assert embedder.embed(chips).shape == (0, 512)


def test_load_embedder_uses_imported_weights_only(weights_file, embedder, tmp_path, monkeypatch):
    monkeypatch.setenv(weights.MODELS_DIR_ENV, str(tmp_path / "models"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(weights.WeightsMissingError, match=f"models download {MODEL}"):
        load_embedder(MODEL, "cpu")
    registry.import_weights(MODEL, weights_file)
    loaded = load_embedder(MODEL, "cpu")
    assert isinstance(loaded, FacenetEmbedder)
    assert loaded.spec.dims == 512 and loaded.spec.input_size == 160
    mine, theirs = loaded.network.state_dict(), embedder.network.state_dict()
    assert mine.keys() == theirs.keys()
    assert all(torch.equal(mine[k], theirs[k]) for k in mine)


def test_wrong_weights_are_refused_by_the_constructor(weights_file, tmp_path):
    state = torch.load(weights_file, weights_only=True)
    state["last_linear.weight"] = state["last_linear.weight"][:256]
    bad = tmp_path / "bad.pt"
    torch.save(state, bad)
    with pytest.raises(WeightsVerifyError, match=r"last_linear.weight has shape \(256, 1792\)"):
        FacenetEmbedder(MODELS[MODEL], torch.device("cpu"), weights_path=bad)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu(weights_file, embedder, photo):
    image, detections = photo
    chips = embedder.prepare(np.asarray(image), detections)
    gpu = FacenetEmbedder(MODELS[MODEL], torch.device("cuda"), weights_path=weights_file)
    np.testing.assert_allclose(gpu.embed(chips), embedder.embed(chips), atol=1e-3)
