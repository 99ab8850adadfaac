"""Our MTCNN (own networks, batched crops, own NMS) against facenet-pytorch's ``detect_face``,
the dev-time reference, on the shared photos; and the run-time path without torchvision."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from faceorganizer.core.boxes import area_crops, integral_images, nms
from faceorganizer.core.images import load_image
from faceorganizer.core.mtcnn import detect_batch
from faceorganizer.core.mtcnn_nets import load_nets, weights_dir

REPO = Path(__file__).resolve().parents[2]
PHOTOS = [
    "photos/face_recognition_examples/_group/two_people.jpg",
    "photos/facenet_pytorch/_group/multiface.jpg",
    "photos/deepface_testset/_group/couple.jpg",
    "photos/face_recognition_examples/_group/obama_and_biden.jpg",
    "photos/face_recognition_examples/obama/obama2.jpg",
    "lfw_dev/Aaron_Peirsol/Aaron_Peirsol_0001.jpg",
    "robustness/no_face/crop_img67_background_right.jpg",
]
THRESHOLDS = (0.6, 0.7, 0.7)


@pytest.fixture(scope="module")
def reference():
    """facenet-pytorch's detector on the same weights (dev dependency, with torchvision)."""
    from facenet_pytorch import MTCNN
    from facenet_pytorch.models.utils.detect_face import detect_face

    mtcnn = MTCNN(keep_all=True, device="cpu").eval()

    def run(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            boxes, points = detect_face(
                image[None].copy(), 20, mtcnn.pnet, mtcnn.rnet, mtcnn.onet, THRESHOLDS, 0.709, "cpu"
            )
        b = np.asarray(boxes[0], dtype=np.float64).reshape(-1, 5)
        p = np.asarray(points[0], dtype=np.float64).reshape(-1, 5, 2)
        return b, p

    return run


@pytest.fixture(scope="module")
def nets():
    return load_nets("cpu")


def _by_x(boxes: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(boxes[:, 0])
    return boxes[order], points[order]


@pytest.mark.parametrize("pil_pyramid", [False, True], ids=["area-pyramid", "pil-pyramid"])
def test_faces_match_facenet_pytorch(faces_dir: Path, reference, nets, pil_pyramid: bool) -> None:
    """With the same pyramid arithmetic the results are facenet-pytorch's to float rounding;
    with PIL's BOX pyramid (the CPU default) they are the same faces within a few percent."""
    faces_seen = 0
    for name in PHOTOS:
        image = load_image(faces_dir / name, max_side=800).rgb
        ref_boxes, ref_points = _by_x(*reference(image))
        ours = detect_batch(
            nets, image[None], 20, THRESHOLDS, 0.709, torch.device("cpu"), pil_pyramid=pil_pyramid
        )[0]
        boxes, points = _by_x(ours[0].astype(np.float64), ours[1].astype(np.float64))
        assert len(boxes) == len(ref_boxes), name
        faces_seen += len(boxes)
        if not len(boxes):
            continue
        size = (ref_boxes[:, 2] - ref_boxes[:, 0])[:, None]
        if pil_pyramid:
            assert np.all(np.abs(boxes[:, :4] - ref_boxes[:, :4]) <= 0.06 * size), name
            assert np.all(np.abs(points - ref_points).max(axis=2) <= 0.05 * size), name
            assert np.allclose(boxes[:, 4], ref_boxes[:, 4], atol=0.02), name
        else:
            assert np.allclose(boxes, ref_boxes, atol=1e-2), name
            assert np.allclose(points, ref_points, atol=1e-2), name
    assert faces_seen >= 15


def test_nms_matches_torchvision() -> None:
    from torchvision.ops import batched_nms

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 200, (400, 2))
    wh = rng.uniform(5, 60, (400, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    scores = rng.uniform(0, 1, 400).astype(np.float32)
    groups = rng.integers(0, 3, 400)
    for threshold in (0.3, 0.5, 0.7):
        ours = nms(boxes, scores, threshold, groups)
        theirs = batched_nms(
            torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(groups), threshold
        ).numpy()
        assert ours.tolist() == theirs.tolist()


def test_min_overlap_nms_drops_a_box_inside_a_better_one() -> None:
    boxes = np.array([[0, 0, 100, 100], [10, 10, 40, 40], [200, 200, 260, 260]], np.float32)
    scores = np.array([0.9, 0.95, 0.5], np.float32)
    assert nms(boxes, scores, 0.7, method="union").tolist() == [1, 0, 2]
    assert nms(boxes, scores, 0.7, method="min", plus_one=True).tolist() == [1, 2]


def test_area_crops_match_interpolate_area(faces_dir: Path) -> None:
    """Crops from the summed-area tables of a batch (the image and its mirror) are those of
    ``interpolate(mode="area")`` on each image, whichever image of the batch they come from."""
    image = load_image(faces_dir / PHOTOS[0], max_side=400).rgb
    batch = np.stack([image, image[:, ::-1]])
    regions = np.array([[0, 0, 50, 50], [10, 20, 200, 90], [100, 50, 111, 58], [3, 3, 4, 4]])
    index = np.array([0, 1, 1, 0])
    for on_numpy in (True, False):
        table = integral_images(torch.from_numpy(batch), on_numpy=on_numpy)
        for size in (24, 48):
            crops = area_crops(table, index, regions, size)
            assert crops.shape == (len(regions), 3, size, size)
            for crop, i, (x0, y0, x1, y1) in zip(crops, index, regions, strict=True):
                tensor = torch.from_numpy(batch[i].copy()).permute(2, 0, 1).float()[None]
                expected = torch.nn.functional.interpolate(
                    tensor[:, :, y0:y1, x0:x1], size=(size, size), mode="area"
                )[0]
                assert torch.allclose(crop, expected, atol=1e-3)


def test_device_summed_area_tables_match_the_cpu_ones(faces_dir: Path) -> None:
    """The GPU path's float64 torch tables crop exactly what the CPU's integer numpy ones do."""
    image = torch.from_numpy(load_image(faces_dir / PHOTOS[1], max_side=500).rgb[None])
    cpu, device_like = integral_images(image), integral_images(image, on_numpy=False)
    assert cpu.dtype == torch.int32 and device_like.dtype == torch.float64
    assert torch.equal(cpu.to(torch.float64), device_like)
    regions = np.array([[0, 0, 120, 120], [37, 11, 301, 250], [5, 5, 9, 30]])
    index = np.zeros(len(regions), np.int64)
    assert torch.equal(
        area_crops(cpu, index, regions, 48), area_crops(device_like, index, regions, 48)
    )


def test_weights_are_facenet_pytorch_package_data() -> None:
    folder = weights_dir()
    assert folder.name == "data" and folder.parent.name == "facenet_pytorch"
    assert {p.name for p in folder.glob("*.pt")} >= {"pnet.pt", "rnet.pt", "onet.pt"}


def test_runtime_path_imports_neither_torchvision_nor_facenet_pytorch(
    faces_dir: Path, generated_vggface2: Path, tmp_path: Path
) -> None:
    """The desktop bundle's CPU-only torch cannot load torchvision: detection, the default
    model's embedding, and a FaceNet model's import (its architecture check), load and
    embedding must work without it (checked in a fresh interpreter, with its own model
    folder)."""
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from faceorganizer.core.models.registry import import_weights\n"
        "from faceorganizer.core.pipeline import FaceEngine\n"
        f"photo = {str(faces_dir / PHOTOS[0])!r}\n"
        "default = FaceEngine(device='cpu')\n"
        "r = default.embed_image(photo)\n"
        "assert len(r.faces) == 2, r\n"
        f"import_weights('facenet-vggface2', {str(generated_vggface2)!r})\n"
        "facenet = FaceEngine('facenet-vggface2', 'cpu', detector=default.detector)\n"
        "f = facenet.embed_image(photo)\n"
        "vectors = np.stack([face.embedding for face in f.faces])\n"
        "assert vectors.shape == (2, 512) and np.isfinite(vectors).all(), vectors.shape\n"
        "assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)\n"
        "assert not np.allclose(vectors[0], vectors[1])\n"
        "roots = ('torchvision', 'facenet_pytorch')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in roots)\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    env = dict(
        os.environ,
        FACEORGANIZER_MODELS_DIR=str(tmp_path / "models"),
        TORCH_HOME=str(tmp_path / "torch"),
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
