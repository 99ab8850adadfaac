"""Face detection: facenet-pytorch's MTCNN behind our own small interface.

Defaults chosen by measurement on ``../shared/data/faces`` (``benchmarks/detection_recall.py``;
every run with MTCNN's stage thresholds 0.6/0.7/0.7, all 199 photos, 6 groups, 9 no-face,
13 EXIF-rotated images and a fixed sample of 300 LFW crops):

- detect_side 640 or 800 with min_face_size 20, min_score 0.7: photo 199/199, lfw 300/300,
  group 6/6 (faces >= named people), no_face 9/9 empty, exif_rotated 13/13 at the same place.
- min_score 0.8 or 0.9 loses one photo (Madonna, hand over mouth, best score 0.73-0.80),
  198/199; no image without a face gives any detection even at 0.7.
- detect_side 1024 with min_face_size 20 and min_score 0.9 (the first guess): photo 198/199,
  lfw 200/200 (sample), no_face 9/9, exif 13/13. Timings on the shared, loaded 2-core
  machine were too noisy to rank 640 against 800 by speed; the pyramid's resizing cost grows
  with the square of the side, so the smaller side that keeps the margin below won.
- The labelled faces are at least 6 % of the photo's long side (smallest: a Friends cast
  member, 72 px of 1200); 20 px of 800 (2.5 %) keeps a margin for bigger groups than ours.

So: detect_side 800, min_face_size 20, min_score 0.7 (MTCNN's own last-stage threshold).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch
from facenet_pytorch import MTCNN
from facenet_pytorch.models.utils.detect_face import detect_face
from PIL import Image

from faceorganizer.core.types import Detection

DEFAULT_MIN_FACE_SIZE = 20
DEFAULT_THRESHOLDS = (0.6, 0.7, 0.7)
DEFAULT_MIN_SCORE = 0.7
DEFAULT_DETECT_SIDE = 800
DEFAULT_FACTOR = 0.709


class Detector:
    """Finds faces (box, score, 5 landmarks) in RGB uint8 arrays.

    Images whose longer side exceeds ``detect_side`` are shrunk for detection; results are
    always in the coordinates of the arrays given. ``min_face_size`` is in pixels of the
    detection image (after that shrink). On a GPU, images run in batches of ``batch_size``:
    MTCNN batches only equal sizes, so each image is zero-padded at the bottom and right to a
    multiple of ``pad_to`` px and images of one padded size go together. On the CPU one image
    at a time is as fast (the work is the same) and avoids the padding.
    Not thread-safe: one engine thread owns a detector.
    """

    def __init__(
        self,
        device: torch.device | str = "cpu",
        min_face_size: int = DEFAULT_MIN_FACE_SIZE,
        thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
        detect_side: int | None = DEFAULT_DETECT_SIDE,
        min_score: float = DEFAULT_MIN_SCORE,
        factor: float = DEFAULT_FACTOR,
        batch_size: int | None = None,
        pad_to: int | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.min_face_size = int(min_face_size)
        self.thresholds = [float(t) for t in thresholds]
        self.detect_side = detect_side
        self.min_score = float(min_score)
        self.factor = float(factor)
        on_cpu = self.device.type == "cpu"
        self.batch_size = max(1, int(batch_size or (1 if on_cpu else 16)))
        self.pad_to = pad_to if pad_to is not None else (None if on_cpu else 256)
        mtcnn = MTCNN(keep_all=True, device=self.device)
        mtcnn.eval()
        self._nets = (mtcnn.pnet, mtcnn.rnet, mtcnn.onet)

    def detect(self, images: list[np.ndarray]) -> list[list[Detection]]:
        """Faces in each image, most confident first, in that image's pixel coordinates."""
        prepared = [self._shrink(img) for img in images]
        results: list[list[Detection]] = [[] for _ in images]
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, (arr, _) in enumerate(prepared):
            if min(arr.shape[:2]) < self.min_face_size:
                continue  # too small to hold a face (and MTCNN's pyramid would be empty)
            groups[self._padded_shape(arr.shape)].append(i)
        for shape, indices in groups.items():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                batch = np.zeros((len(chunk), *shape), dtype=np.uint8)
                for row, i in enumerate(chunk):
                    arr = prepared[i][0]
                    batch[row, : arr.shape[0], : arr.shape[1]] = arr
                for i, found in zip(chunk, self._run(batch), strict=True):
                    results[i] = self._finish(found, prepared[i][1], images[i].shape)
        return results

    def _padded_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if not self.pad_to or self.batch_size == 1:
            return shape
        h, w = shape[:2]
        step = self.pad_to
        return (-(-h // step) * step, -(-w // step) * step, 3)

    def _shrink(self, img: np.ndarray) -> tuple[np.ndarray, float]:
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError("Detector.detect expects HxWx3 uint8 RGB arrays")
        side = max(img.shape[:2])
        if not self.detect_side or side <= self.detect_side:
            return img, 1.0
        ratio = self.detect_side / side
        size = (max(1, round(img.shape[1] * ratio)), max(1, round(img.shape[0] * ratio)))
        small = Image.fromarray(img).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        return np.asarray(small), img.shape[1] / size[0]

    def _run(self, batch: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        pnet, rnet, onet = self._nets
        with torch.inference_mode():
            boxes, points = detect_face(
                batch,
                self.min_face_size,
                pnet,
                rnet,
                onet,
                self.thresholds,
                self.factor,
                self.device,
            )
        out = []
        for b, p in zip(boxes, points, strict=True):
            b = np.asarray(b, dtype=np.float64).reshape(-1, 5)
            p = np.asarray(p, dtype=np.float64).reshape(-1, 5, 2)
            out.append((b, p))
        return out

    def _finish(
        self, found: tuple[np.ndarray, np.ndarray], ratio: float, shape: tuple[int, ...]
    ) -> list[Detection]:
        boxes, points = found
        h, w = shape[:2]
        faces = []
        for box, pts in zip(boxes, points, strict=True):
            score = float(box[4])
            if score < self.min_score or not np.all(np.isfinite(box)):
                continue
            x0, y0, x1, y1 = (float(v) * ratio for v in box[:4])
            if min(x1 - x0, y1 - y0) < self.min_face_size * ratio:
                continue
            x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)
            if x1 <= x0 or y1 <= y0:
                continue
            landmarks = (pts * ratio).astype(np.float32)
            faces.append(Detection(box=(x0, y0, x1, y1), score=score, landmarks=landmarks))
        faces.sort(key=lambda d: d.score, reverse=True)
        return faces
