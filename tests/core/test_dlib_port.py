"""The torch port of dlib's face-recognition ResNet against dlib itself, on real photos."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from faceorganizer.core.models.base import ModelSpec
from faceorganizer.core.models.dlib_dat import DlibFormatError, parse_dlib_net, read_dlib_net
from faceorganizer.core.models.dlib_resnet import (
    DlibResNet,
    DlibResnetEmbedder,
    default_weights_path,
    normalize_chips,
)
from faceorganizer.core.types import Calibration, Detection

dlib = pytest.importorskip("dlib", reason="dlib-bin is the reference (dev dependency)")
face_recognition_models = pytest.importorskip("face_recognition_models")

DAT_SIZE = 22_466_066
MAX_SIDE = 640  # photos are shrunk first so dlib's HOG detector stays quick
N_PHOTOS = 24

SPEC = ModelSpec(
    model_id="dlib-resnet-v1",
    display_name="dlib ResNet",
    dims=128,
    input_size=150,
    weights_filename="dlib_face_recognition_resnet_model_v1.dat",
    weights_size=DAT_SIZE,
    sha256=None,
    url=None,
    license="CC0",
    calibration=Calibration(midpoint=0.9, slope=30.0),
)


@dataclass
class RefFace:
    path: Path
    person: str
    image: np.ndarray
    rect: tuple[int, int, int, int]
    chip: np.ndarray
    descriptor: np.ndarray


def _load_small(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        im.thumbnail((MAX_SIDE, MAX_SIDE), Image.BILINEAR)
        return np.asarray(im)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """On a shared 2-core machine, torch's second thread mostly waits for a busy core; one thread
    makes MTCNN here several times faster there and costs at most 2x on an idle machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def reference(manifest) -> list[RefFace]:
    """dlib's own chips and descriptors for the largest face of real single-person photos,
    spread over every source folder."""
    detector = dlib.get_frontal_face_detector()
    five_points = face_recognition_models.pose_predictor_five_point_model_location()
    shapes = dlib.shape_predictor(five_points)
    rec = dlib.face_recognition_model_v1(str(default_weights_path()))
    rows = sorted((r for r in manifest if r.kind == "photo"), key=lambda r: r.relpath)
    step = max(len(rows) // (N_PHOTOS + 8), 1)
    faces: list[RefFace] = []
    for row in rows[::step]:
        image = _load_small(row.path)
        rects = detector(image, 0)
        if not rects:
            continue
        rect = max(rects, key=lambda r: r.area())
        chip = dlib.get_face_chip(image, shapes(image, rect), size=150, padding=0.25)
        desc = np.array(rec.compute_face_descriptor(chip), dtype=np.float32)
        box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        faces.append(RefFace(row.path, row.person, image, box, chip, desc))
        if len(faces) == N_PHOTOS:
            break
    return faces


@pytest.fixture(scope="module")
def embedder() -> DlibResnetEmbedder:
    return DlibResnetEmbedder(SPEC, torch.device("cpu"))


def test_dat_file_parses_to_its_last_byte() -> None:
    path = default_weights_path()
    net = read_dlib_net(path)
    assert path.stat().st_size == DAT_SIZE
    assert net.bytes_read == DAT_SIZE
    assert net.input_size == (150, 150)
    assert net.input_mean_rgb == pytest.approx((122.782, 117.001, 104.298), abs=1e-4)
    assert net.loss_config["distance_threshold"] == pytest.approx(0.6)
    kinds = [layer.kind for layer in net.layers]
    assert kinds.count("con") == 29 and kinds.count("fc") == 1


def test_truncated_or_padded_dat_is_refused() -> None:
    data = default_weights_path().read_bytes()
    with pytest.raises(DlibFormatError):
        parse_dlib_net(data[:-1])
    with pytest.raises(DlibFormatError):
        parse_dlib_net(data + b"\x01")
    with pytest.raises(DlibFormatError):
        parse_dlib_net(data[:5_000_000])


def test_port_matches_dlib_descriptors(reference: list[RefFace], embedder) -> None:
    assert len(reference) >= 20, f"only {len(reference)} reference chips"
    chips = normalize_chips(np.stack([f.chip for f in reference]))
    ours = embedder.embed_raw(chips)
    ref = np.stack([f.descriptor for f in reference])
    assert ours.shape == ref.shape == (len(reference), 128)
    assert np.abs(ours - ref).max() < 1e-4
    one_by_one = np.concatenate([embedder.embed_raw(chips[i : i + 1]) for i in range(3)])
    assert np.abs(one_by_one - ref[:3]).max() < 1e-4


def test_unfused_module_matches_too(reference: list[RefFace]) -> None:
    model = DlibResNet.from_dat()
    with torch.inference_mode():
        out = model(normalize_chips(np.stack([f.chip for f in reference[:4]]))).numpy()
    ref = np.stack([f.descriptor for f in reference[:4]])
    assert np.abs(out - ref).max() < 1e-4


def test_embed_rows_are_unit_length(reference: list[RefFace], embedder) -> None:
    chips = normalize_chips(np.stack([f.chip for f in reference[:5]]))
    emb = embedder.embed(chips)
    assert emb.dtype == np.float32 and emb.shape == (5, 128)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    raw = np.stack([f.descriptor for f in reference[:5]])
    assert np.linalg.norm(raw, axis=1).min() > 0.1
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-3)
    assert embedder.embed(torch.empty((0, 3, 150, 150))).shape == (0, 128)


def _mtcnn_detection(mtcnn, face: RefFace) -> Detection:
    """MTCNN's face that overlaps dlib's face the most, in image coordinates. MTCNN runs on a
    generous region around dlib's face only, to keep the test quick."""
    x0, y0, x1, y1 = face.rect
    pad = max(x1 - x0, y1 - y0)
    cx0, cy0 = max(x0 - pad, 0), max(y0 - pad, 0)
    region = face.image[cy0 : y1 + pad, cx0 : x1 + pad]
    boxes, probs, points = mtcnn.detect(Image.fromarray(region), landmarks=True)
    assert boxes is not None, f"MTCNN found no face in {face.path}"
    offset = np.array([cx0, cy0], dtype=np.float64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) + np.tile(offset, 2)
    points = np.asarray(points, dtype=np.float64).reshape(-1, 5, 2) + offset
    inter = np.clip(np.minimum(boxes[:, 2], x1) - np.maximum(boxes[:, 0], x0), 0, None) * np.clip(
        np.minimum(boxes[:, 3], y1) - np.maximum(boxes[:, 1], y0), 0, None
    )
    i = int(np.argmax(inter))
    assert inter[i] > 0, f"MTCNN and dlib disagree on the face in {face.path}"
    return Detection(
        tuple(boxes[i]),
        float(np.asarray(probs, dtype=np.float64).ravel()[i]),
        points[i].astype(np.float32),
    )


@pytest.fixture(scope="module")
def our_aligned(reference: list[RefFace], embedder) -> np.ndarray:
    """Embeddings of our own chips: MTCNN landmarks -> similarity transform -> warp."""
    from facenet_pytorch import MTCNN

    mtcnn = MTCNN(keep_all=True, min_face_size=40, device="cpu")
    chips = torch.cat([embedder.prepare(f.image, [_mtcnn_detection(mtcnn, f)]) for f in reference])
    assert chips.shape == (len(reference), 3, 150, 150) and chips.dtype == torch.float32
    return embedder.embed(chips)


def test_our_alignment_agrees_with_dlibs(reference: list[RefFace], embedder, our_aligned) -> None:
    theirs = embedder.embed(normalize_chips(np.stack([f.chip for f in reference])))
    cosines = (our_aligned * theirs).sum(axis=1)
    assert np.median(cosines) >= 0.98, cosines
    assert cosines.min() >= 0.95, cosines


def test_same_person_closer_than_different(reference: list[RefFace], our_aligned) -> None:
    persons = [f.person for f in reference]
    sims = our_aligned @ our_aligned.T
    same = [sims[i, j] for i in range(len(persons)) for j in range(i) if persons[i] == persons[j]]
    diff = [sims[i, j] for i in range(len(persons)) for j in range(i) if persons[i] != persons[j]]
    assert len(same) >= 5 and len(diff) >= 50
    assert np.median(same) > np.percentile(diff, 95)


def test_prepare_without_faces_is_empty(embedder) -> None:
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    assert embedder.prepare(image, []).shape == (0, 3, 150, 150)


def test_a_mirrored_face_embeds_the_same(reference: list[RefFace], embedder) -> None:
    """The embedding averages each chip with its mirror image, so a face and its mirror match."""
    chips = normalize_chips(np.stack([f.chip for f in reference[:4]]))
    plain = embedder.embed(chips)
    mirrored = embedder.embed(torch.flip(chips, dims=[3]))
    np.testing.assert_allclose(plain, mirrored, atol=1e-5)
    single = embedder.embed_raw(chips)
    single /= np.linalg.norm(single, axis=1, keepdims=True)
    assert (single * plain).sum(axis=1).min() < 0.9999
