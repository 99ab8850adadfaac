"""Face detection: MTCNN (our own port, facenet-pytorch's weights) behind a small interface.

Defaults chosen by measurement (issue 11: every face >= 60 px in 4032x3024 phone photos, and
the shared photos as before).

Phone photos (``benchmarks/detection_levers.py``, generated 4032x3024 photos with pasted LFW
faces 60-600 px, decoded at 1600 px as the engine does): a face is lost when it is under the
pyramid's first size, so the smallest face searched is a share of the long side,
``min_face_ratio`` 1.5 % (60 px of 4032), never under ``min_face_size`` (20 px, which keeps
small images as before); the old default (800 px, 20 px = 101 px of 4032) found 0 of the faces
under 100 px. Levers, one at a time, against facenet-pytorch's ``detect_face`` at the same
settings (12 photos, 37 faces, every configuration 37/37; wall and CPU-time ratios on the shared
machine at load 6-8): batched crops from summed-area tables and numpy NMS x1.98 / x1.82; PIL BOX
pyramid x1.96 / x1.90; channels-last networks x2.17 / x2.01; cascaded pyramid x2.31 / x2.12;
P-Net threshold 0.7 x2.30 / x2.11 (in a one-thread CPU-time run: candidates reaching R-Net
349 -> 257, detection 438 -> 353 ms per photo); detection side 1344 x2.58 / x2.39 (1200: x2.52 /
x2.43 but 20 px of 1200 is 67 px of 4032). P-Net's first level is 800 px long whatever the side;
a smaller side shrinks the pyramid's source and the summed-area tables. So: ``detect_side``
1344 (= 4032 / 3, 1.5 % = 20 px), thresholds 0.7/0.7/0.7, cascaded pyramid.

Since then the summed-area tables cost a sixth (``core/boxes.py``), and the shrink from the
engine's decoded 1600 px to 1344 px cost more than detecting on a larger image: the engine now
decodes a phone JPEG at its 1/2 DCT scale (2016 px) or a HEIC reduced by 2, and detects on that
as it is, ``detect_side`` 2048 (one thread, 8 phone photos, CPU ms per photo, old against new
in the same run: decode 77 -> 53, detect 270 -> 297 (tables 24 -> 50, the rest, mostly the
shrink, 28 -> 10): the same total for a JPEG, a HEIC's resize 99 -> 21 ms, chips and thumbnails
from 1.6 times the pixels, recall 31/31 both; the shared photos below unchanged).

Shared photos (``benchmarks/detection_recall.py``, 199 photos, 6 groups, 9 no-face, 13
EXIF-rotated, 300 LFW crops), earlier defaults (800 px, 20 px, thresholds 0.6/0.7/0.7):

- detect_side 640 or 800 with min_face_size 20, min_score 0.7: photo 199/199, lfw 300/300,
  group 6/6 (faces >= named people), no_face 9/9 empty, exif_rotated 13/13 at the same place.
- min_score 0.8 or 0.9 loses one photo (Madonna, hand over mouth, best score 0.73-0.80),
  198/199; no image without a face gives any detection even at 0.7.
- The labelled faces are at least 6 % of the photo's long side (smallest: a Friends cast
  member, 72 px of 1200).

Now (2048 px, 1.5 % / 20 px, thresholds 0.7/0.7/0.7, cascade; 1344 and 1600 px the same):
photo 199/199, lfw 300/300, group 6/6, no_face 9/9 empty, exif_rotated 13/13.

Faces at the border (issue 18, ``benchmarks/edge_faces.py``: 160 labelled faces of shared
photos of people with 2+ photos, each photo cut through its face on purpose; landmark error in
eye-widths of the uncut photo's, median / 90th percentile). Without a margin the detector lost
most cut faces and moved the landmarks of the rest (cut through the forehead: 22/160 found,
error 0.36 / 0.40, verification AUC 0.505; through one side: 28/160, 0.42 / 0.49; tight to
the face box: 153/160, 0.18 / 0.30). The photo padded by a quarter of its long side put them
back whatever the fill (forehead: black 158/160 0.036 / 0.064, mean colour 160/160 0.033 /
0.055, mirrored 160/160 0.037 / 0.082; AUC 0.989-0.999); a mirrored border doubles a face cut
at its side (side cut: mirror 151/160, 0.085 / 0.312, against black 158/160, 0.069 / 0.142),
so the fill is black, as the original MTCNN's zero padding. The margin kept, ``DEFAULT_EDGE``
pixels of black around each pyramid level with R-/O-Net crops filled past the border, does the
same at no measurable cost (forehead 160/160, 0.038 / 0.068, AUC 0.999; side 156/160, 0.066 /
0.123; tight 160/160, 0.035 / 0.063) and finds a face wholly inside exactly as before, so only
photos with a face near the border are detected again (``storage.migrations`` 0010). On
``cfp_dev``'s own tight crops (cut at the forehead), 2,100 frontal/profile pairs: AUC 0.899
without a margin, 0.943 with it (black padding of the whole photo 0.946, mean colour 0.943,
mirror 0.939).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from faceorganizer.core.mtcnn import StageTimes, detect_batch
from faceorganizer.core.mtcnn_nets import load_nets
from faceorganizer.core.types import Detection

DEFAULT_MIN_FACE_SIZE = 20
DEFAULT_MIN_FACE_RATIO = 0.015
# A face found a little under the size the pyramid starts at is kept (MTCNN still finds some).
KEEP_UNDER_MIN = 0.8
DEFAULT_THRESHOLDS = (0.7, 0.7, 0.7)
DEFAULT_MIN_SCORE = 0.7
DEFAULT_DETECT_SIDE = 2048
DEFAULT_FACTOR = 0.709
DEFAULT_CASCADE = True
# A black margin of this many pixels around every pyramid level (half of P-Net's 12 px window,
# so a face up to half outside the photo is proposed at its own scale), and R-/O-Net crops
# filled with black past the border: faces cut by the photo's edge keep true landmarks
# (``benchmarks/edge_faces.py``). Even, so P-Net's stride-2 grid inside the photo is unchanged.
DEFAULT_EDGE = 6


class Detector:
    """Finds faces (box, score, 5 landmarks) in RGB uint8 arrays.

    Images whose longer side exceeds ``detect_side`` are shrunk for detection; results are
    always in the coordinates of the arrays given. ``min_face_size`` is in pixels of the
    detection image (after that shrink). On a GPU, images run in batches of ``batch_size``:
    MTCNN batches only equal sizes, so each image is zero-padded at the bottom and right to a
    multiple of ``pad_to`` px and images of one padded size go together. On the CPU one image
    at a time is as fast (the work is the same) and avoids the padding.
    ``detect`` may run in several threads at once (the engine's CPU workers): it keeps no state
    between calls but the stage times, which are locked.
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
        min_face_ratio: float = DEFAULT_MIN_FACE_RATIO,
        cascade: bool = DEFAULT_CASCADE,
        edge: int = DEFAULT_EDGE,
    ) -> None:
        self.device = torch.device(device)
        self.min_face_size = int(min_face_size)
        self.min_face_ratio = float(min_face_ratio)
        self.cascade = bool(cascade)
        self.edge = int(edge)
        if self.edge % 2 or not 0 <= self.edge <= 12:
            raise ValueError("edge must be an even number of pixels from 0 to 12")
        self.thresholds = [float(t) for t in thresholds]
        self.detect_side = detect_side
        self.min_score = float(min_score)
        self.factor = float(factor)
        on_cpu = self.device.type == "cpu"
        self.batch_size = max(1, int(batch_size or (1 if on_cpu else 16)))
        self.pad_to = pad_to if pad_to is not None else (None if on_cpu else 256)
        self._nets = load_nets(self.device)
        self.times = StageTimes()

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
                min_face = self.min_face(shape)
                for i, found in zip(chunk, self._run(batch, min_face), strict=True):
                    results[i] = self._finish(found, prepared[i][1], images[i].shape, min_face)
        return results

    def min_face(self, shape: tuple[int, ...]) -> float:
        """The smallest face searched for in a detection image of ``shape``, in its pixels:
        ``min_face_size``, or ``min_face_ratio`` of its long side when that is more."""
        return max(float(self.min_face_size), self.min_face_ratio * max(shape[:2]))

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

    def _run(self, batch: np.ndarray, min_face: float) -> list[tuple[np.ndarray, np.ndarray]]:
        return detect_batch(
            self._nets,
            batch,
            min_face,
            self.thresholds,
            self.factor,
            self.device,
            self.times,
            cascade=self.cascade,
            edge=self.edge,
        )

    def _finish(
        self,
        found: tuple[np.ndarray, np.ndarray],
        ratio: float,
        shape: tuple[int, ...],
        min_face: float,
    ) -> list[Detection]:
        boxes, points = found
        h, w = shape[:2]
        faces = []
        for box, pts in zip(boxes, points, strict=True):
            score = float(box[4])
            if score < self.min_score or not np.all(np.isfinite(box)):
                continue
            x0, y0, x1, y1 = (float(v) * ratio for v in box[:4])
            if min(x1 - x0, y1 - y0) < KEEP_UNDER_MIN * min_face * ratio:
                continue
            x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)
            if x1 <= x0 or y1 <= y0:
                continue
            landmarks = (pts * ratio).astype(np.float32)
            faces.append(Detection(box=(x0, y0, x1, y1), score=score, landmarks=landmarks))
        faces.sort(key=lambda d: d.score, reverse=True)
        return faces
