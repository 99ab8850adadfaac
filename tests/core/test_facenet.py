"""FacenetEmbedder end to end on a real photo, with generated (random, seeded) weights in the
released file's layout: the crop, the standardisation, the strict load and the embeddings are
checked against facenet-pytorch's own ``extract_face`` and ``InceptionResnetV1`` (the dev-time
reference; our network, ``core/models/inception_resnet.py``, does not import it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from facenet_pytorch import MTCNN, InceptionResnetV1, extract_face, fixed_image_standardization
from PIL import Image, ImageOps

from faceorganizer.core import weights
from faceorganizer.core.models import registry
from faceorganizer.core.models.facenet import FacenetEmbedder, load_network
from faceorganizer.core.models.inception_resnet import InceptionResnetV1 as OurNetwork
from faceorganizer.core.models.registry import MODELS, load_embedder
from faceorganizer.core.types import Detection
from faceorganizer.core.weights import WeightsVerifyError

MODEL = "facenet-vggface2"
PHOTO = "photos/face_recognition_examples/_group/two_people.jpg"
ALIGNED_CHIPS = "photos/facenet_pytorch/_aligned_160"


def reference_network(weights_file: Path) -> InceptionResnetV1:
    """facenet-pytorch's network on a release-shaped file, giving embeddings (unit rows)."""
    reference = InceptionResnetV1(classify=True, num_classes=8631).eval()
    reference.load_state_dict(torch.load(weights_file, weights_only=True))
    reference.classify = False
    return reference


@pytest.fixture(scope="module")
def weights_file(generated_vggface2: Path) -> Path:
    return generated_vggface2


@pytest.fixture(scope="module")
def trained_like_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Release-shaped weights whose batch norms are not the identity a fresh network has
    (drawn statistics and affine parameters), so a wrongly folded or skipped norm shows."""
    torch.manual_seed(1)
    net = InceptionResnetV1(classify=True, num_classes=8631)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    path = tmp_path_factory.mktemp("facenet") / "trained-like-vggface2.pt"
    torch.save(net.state_dict(), path)
    return path


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

    with torch.inference_mode():
        expected = reference_network(weights_file)(chips).numpy()
    np.testing.assert_allclose(vectors, expected, atol=1e-5)


def test_state_dict_has_facenet_pytorchs_keys_and_shapes():
    ours = OurNetwork().state_dict()
    theirs = InceptionResnetV1(classify=False).state_dict()
    assert list(ours) == list(theirs)  # same names, in the same order
    assert all(ours[k].shape == theirs[k].shape for k in ours)


@pytest.mark.parametrize("weights", ["generated", "trained_like"])
def test_network_equals_facenet_pytorchs(
    weights, weights_file, trained_like_weights, embedder, photo, faces_dir
):
    """Our network as loaded, with its batch norms folded, and inside the embedder against
    facenet-pytorch's on the same weights and the same real face chips (the photo's two faces
    and the five aligned 160x160 crops)."""
    path = weights_file if weights == "generated" else trained_like_weights
    image, detections = photo
    crops = [
        np.asarray(Image.open(p).convert("RGB"))
        for p in sorted((faces_dir / ALIGNED_CHIPS).glob("*/*.png"))
    ]
    assert len(crops) == 5
    aligned = fixed_image_standardization(
        torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float()
    )
    chips = torch.cat([embedder.prepare(np.asarray(image), detections), aligned])
    network = load_network(MODELS[MODEL], path)
    folded = load_network(MODELS[MODEL], path).fold_batch_norms()
    with torch.inference_mode():
        expected = reference_network(path)(chips).numpy()
        plain, fused = network(chips).numpy(), folded(chips).numpy()
    embedded = FacenetEmbedder(MODELS[MODEL], torch.device("cpu"), weights_path=path).embed(chips)
    assert np.isfinite(expected).all() and len(np.unique(expected.round(4), axis=0)) == 7
    np.testing.assert_allclose(plain, expected, atol=1e-5)
    np.testing.assert_allclose(fused, expected, atol=1e-5)
    np.testing.assert_allclose(embedded, expected, atol=1e-5)


def test_folding_needs_eval_mode(weights_file):
    network = load_network(MODELS[MODEL], weights_file).train()
    with pytest.raises(RuntimeError, match="eval mode"):
        network.fold_batch_norms()


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
