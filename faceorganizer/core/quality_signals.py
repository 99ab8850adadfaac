"""Measuring the quality signals of one face (``core.quality`` says what each means and turns
them into a quality) from what the library stores: landmarks, box, detection score, the photo's
size, the face's thumbnail and its embedding. Plain numpy, and torch for the chip's warp."""

from __future__ import annotations

import io
import math

import numpy as np

from faceorganizer.core.alignment import DLIB_TEMPLATE_150, similarity_transform, warp_chips
from faceorganizer.core.quality import QualityModel, Signals
from faceorganizer.core.thumbnails import thumbnail_origin

# The face itself in dlib's 150 px template (padding 0.25 on each side of the face box).
FACE_SQUARE = (25.0, 125.0)
FRONTAL_EYES = float(
    np.linalg.norm(DLIB_TEMPLATE_150[1] - DLIB_TEMPLATE_150[0])
    / (DLIB_TEMPLATE_150[3:].mean(axis=0)[1] - DLIB_TEMPLATE_150[:2].mean(axis=0)[1])
)
FRONTAL_NOSE = float(
    (DLIB_TEMPLATE_150[2, 1] - DLIB_TEMPLATE_150[:2, 1].mean())
    / (DLIB_TEMPLATE_150[3:, 1].mean() - DLIB_TEMPLATE_150[:2, 1].mean())
)
SHARP_CHIP = 56
GRID = 12  # points per side sampled to measure how much of the face square is outside


def _face_transform(landmarks: np.ndarray) -> np.ndarray:
    """The 2x3 map from the photo onto dlib's 150 px template."""
    return similarity_transform(np.asarray(landmarks, np.float64), DLIB_TEMPLATE_150)


def face_square(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """The corners (4, 2) of the square the face fills in the photo, and its side in pixels."""
    m = _face_transform(landmarks)
    inv = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]
    a, b = FACE_SQUARE
    corners = np.array([[a, a], [b, a], [b, b], [a, b]], np.float64) @ inv[:, :2].T + inv[:, 2]
    side = (b - a) / math.sqrt(abs(np.linalg.det(m[:, :2])))
    return corners, float(side)


def outside_share(landmarks: np.ndarray, width: float, height: float) -> float:
    """The share of the face square outside a ``width`` x ``height`` photo (0: all inside)."""
    m = _face_transform(landmarks)
    inv = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]
    a, b = FACE_SQUARE
    steps = a + (np.arange(GRID) + 0.5) * (b - a) / GRID
    gx, gy = np.meshgrid(steps, steps)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1) @ inv[:, :2].T + inv[:, 2]
    inside = (pts[:, 0] >= 0) & (pts[:, 0] <= width) & (pts[:, 1] >= 0) & (pts[:, 1] <= height)
    return float(1.0 - inside.mean())


def pose(landmarks: np.ndarray) -> tuple[float, float]:
    """(turn, tilt) from the five landmarks, roll removed: how far the eyes drew together
    against the eye-to-mouth height (0 frontal), and how far the nose's height between eyes and
    mouth is from a frontal face's (as a share of that height)."""
    pts = np.asarray(landmarks, np.float64).reshape(5, 2)
    eyes = pts[1] - pts[0]
    angle = math.atan2(eyes[1], eyes[0])
    c, s = math.cos(-angle), math.sin(-angle)
    rot = (pts - pts[:2].mean(axis=0)) @ np.array([[c, -s], [s, c]]).T
    eye_width = abs(rot[1, 0] - rot[0, 0])
    height = rot[3:, 1].mean() - rot[:2, 1].mean()
    if height <= 1e-6:
        return 1.0, 1.0
    turn = max(0.0, 1.0 - (eye_width / height) / FRONTAL_EYES)
    nose_x = rot[2, 0] - (rot[:2, 0].mean() + rot[3:, 0].mean()) / 2
    turn = max(turn, min(1.0, abs(nose_x) / height))
    tilt = abs((rot[2, 1] - rot[:2, 1].mean()) / height - FRONTAL_NOSE)
    return float(min(turn, 1.0)), float(min(tilt, 1.0))


def sharpness(
    thumbnail: bytes,
    box: tuple[float, float, float, float],
    landmarks: np.ndarray,
    width: float,
    height: float,
) -> float:
    """High-frequency contrast of the face: the spread of the Laplacian of an aligned grey chip
    (cut from the stored thumbnail) over the spread of its grey levels. A blurred or tiny face
    has little of it, whatever its lighting."""
    from PIL import Image

    if not thumbnail:
        return 0.0
    try:
        with Image.open(io.BytesIO(thumbnail)) as im:
            rgb = np.asarray(im.convert("RGB"))
    except Exception:
        return 0.0
    left, top, side = thumbnail_origin(box, width, height)
    k = rgb.shape[1] / side
    marks = (np.asarray(landmarks, np.float64) - (left, top)) * k
    template = DLIB_TEMPLATE_150 * (SHARP_CHIP / 150.0)
    chip = warp_chips(rgb, similarity_transform(marks, template)[None], SHARP_CHIP)[0]
    grey = chip.mean(dim=0).numpy().astype(np.float64)
    a, b = (round(v * SHARP_CHIP / 150.0) for v in FACE_SQUARE)
    core = grey[a:b, a:b]
    lap = core[1:-1, :-2] + core[1:-1, 2:] + core[:-2, 1:-1] + core[2:, 1:-1] - 4 * core[1:-1, 1:-1]
    return float(lap.std() / (core.std() + 8.0))


def measure(
    box: tuple[float, float, float, float],
    landmarks: np.ndarray | None,
    score: float,
    width: float,
    height: float,
    thumbnail: bytes,
    embedding: np.ndarray | None,
    model: QualityModel | None,
) -> Signals:
    """Every signal of one face (in the photo's own pixels; ``model`` gives the embedding's
    likeness to the indistinct region, 0 without one). Landmarks that are missing or place no
    face (all at one point) are estimated from the box."""
    marks = _usable(landmarks, box)
    _, side = face_square(marks)
    turn, tilt = pose(marks)
    return Signals(
        outside=outside_share(marks, width, height),
        size=side,
        sharpness=sharpness(thumbnail, box, marks, width, height),
        turn=turn,
        tilt=tilt,
        score=float(score),
        indistinct=model.indistinct(embedding)
        if model is not None and embedding is not None
        else 0,
    )


def _usable(landmarks: np.ndarray | None, box: tuple[float, float, float, float]) -> np.ndarray:
    from faceorganizer.core.region_faces import landmarks_in_box

    if landmarks is not None:
        marks = np.asarray(landmarks, np.float64).reshape(-1, 2)
        if len(marks) == 5 and np.all(np.isfinite(marks)) and np.ptp(marks, axis=0).max() > 1e-3:
            return marks
    return landmarks_in_box(box).astype(np.float64)
