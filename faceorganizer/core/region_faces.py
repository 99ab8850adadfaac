"""Faces cut from regions someone drew (an XMP face region the detector did not find).

The embedders align on five landmarks, so each region is first searched for a face: the region
with a margin is cropped and scaled so the region is ``SEARCH_SIDE`` px, and the detector runs
on that crop (a face too small, too blurred or too turned for the whole-photo pass often shows up
there). A face found inside the region gives its landmarks; otherwise the landmarks are placed
where they sit in an average MTCNN box, so the chip is the region, upright and centred.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from faceorganizer.core.detection import Detector
from faceorganizer.core.regions import iou
from faceorganizer.core.types import Detection

SEARCH_SIDE = 160
SEARCH_MARGIN = 0.4
MIN_OVERLAP = 0.2
# Landmarks as fractions of an MTCNN box, averaged over frontal faces: image-left eye,
# image-right eye, nose tip, image-left and image-right mouth corners.
BOX_LANDMARKS = np.array(
    [[0.31, 0.40], [0.69, 0.40], [0.50, 0.60], [0.35, 0.80], [0.65, 0.80]], np.float32
)

Box = tuple[float, float, float, float]


def landmarks_in_box(box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    scale = np.array([x1 - x0, y1 - y0], np.float32)
    return (BOX_LANDMARKS * scale + np.array([x0, y0], np.float32)).astype(np.float32)


def _search_crop(rgb: np.ndarray, box: Box) -> tuple[np.ndarray, float, float, float] | None:
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    if side <= 0:
        return None
    pad = side * SEARCH_MARGIN
    cx0, cy0 = int(max(0, x0 - pad)), int(max(0, y0 - pad))
    cx1, cy1 = int(min(w, x1 + pad + 1)), int(min(h, y1 + pad + 1))
    if cx1 - cx0 < 2 or cy1 - cy0 < 2:
        return None
    ratio = SEARCH_SIDE / side
    size = (max(2, round((cx1 - cx0) * ratio)), max(2, round((cy1 - cy0) * ratio)))
    crop = Image.fromarray(np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1]))
    crop = crop.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(crop), float(cx0), float(cy0), (cx1 - cx0) / size[0]


def detections_for_boxes(
    detector: Detector, rgb: np.ndarray, boxes: Sequence[Box]
) -> list[Detection]:
    """One ``Detection`` per box (coordinates of ``rgb``): the box itself, with the landmarks and
    score of a face the detector finds inside it, else estimated landmarks and score 0."""
    out: list[Detection] = []
    for box in boxes:
        found = None
        prepared = _search_crop(rgb, box)
        if prepared is not None:
            crop, ox, oy, scale = prepared
            faces = detector.detect([crop])[0]
            best = 0.0
            for f in faces:
                fb = (f.box[0] * scale + ox, f.box[1] * scale + oy,
                      f.box[2] * scale + ox, f.box[3] * scale + oy)  # fmt: skip
                overlap = iou(fb, box)
                if overlap >= MIN_OVERLAP and overlap > best:
                    best = overlap
                    marks = f.landmarks * scale + np.array([ox, oy], np.float32)
                    found = Detection(box=box, score=f.score, landmarks=marks.astype(np.float32))
        out.append(found or Detection(box=box, score=0.0, landmarks=landmarks_in_box(box)))
    return out
