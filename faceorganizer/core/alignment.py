"""Face alignment and cropping as plain numpy/torch functions, one per model family.

dlib-style chips: a least-squares similarity transform (Umeyama) from the detector's 5 landmarks
onto a fixed template, then a bilinear warp. FaceNet-style crops: the detector's box plus a
margin, resized, exactly as facenet-pytorch prepared its training faces.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# dlib's 150x150 chip (padding 0.25) in MTCNN landmark order: image-left eye, image-right eye,
# nose tip, image-left mouth corner, image-right mouth corner (chip pixel coordinates).
DLIB_TEMPLATE_150 = np.array(
    [[47.5, 46.6], [100.5, 46.6], [74.0, 76.6], [50.4, 103.0], [97.6, 103.0]], dtype=np.float64
)
# The ArcFace 112x112 template (insightface; OpenCV's FaceRecognizerSF aligns onto it), same order.
ARCFACE_TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def similarity_transform(src_pts: np.ndarray, dst_pts: np.ndarray) -> np.ndarray:
    """The 2x3 matrix of the rotation + uniform scale + translation that best maps ``src_pts``
    onto ``dst_pts`` in the least-squares sense (Umeyama 1991, no reflection)."""
    src = np.asarray(src_pts, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst_pts, dtype=np.float64).reshape(-1, 2)
    if src.shape != dst.shape or len(src) < 2:
        raise ValueError(f"need matching point sets of >= 2 points, got {src.shape}, {dst.shape}")
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    src_var = (src_c**2).sum() / len(src)
    if src_var <= 0:
        raise ValueError("source points are all identical")
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0
    rot = u @ np.diag(d) @ vt
    scale = (s * d).sum() / src_var
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = dst_mean - scale * rot @ src_mean
    return matrix


def _region_tensor(region: np.ndarray, step: int) -> torch.Tensor:
    """The region as a (1, 3, h, w) float32 tensor, box-averaged over ``step``x``step`` blocks
    (for uint8 in PIL's C code, so a big face costs milliseconds, not a float copy of it)."""
    if step > 1 and region.dtype == np.uint8:
        region = np.asarray(Image.fromarray(np.ascontiguousarray(region)).reduce(step))
    t = torch.from_numpy(np.array(region, dtype=np.float32)).permute(2, 0, 1).unsqueeze(0)
    if step > 1 and region.dtype != np.uint8:
        t = F.avg_pool2d(t, step, step, ceil_mode=True)
    return t


def warp_chips(image: np.ndarray | torch.Tensor, transforms: np.ndarray, size: int) -> torch.Tensor:
    """Warp ``size``x``size`` chips out of an RGB HxWx3 image, one per 2x3 transform mapping image
    pixels to chip pixels. Returns (N, 3, size, size) float32 in 0..255, on the CPU.

    Bilinear sampling only looks at 4 pixels, so when the chip is much smaller than the face
    the source region is first halved (2x2 averages) until it is less than twice the chip's size,
    as dlib's ``extract_image_chips`` does with its pyramid. Outside the image repeats its edge
    pixels (dlib pads black): two tight crops then do not share a black frame, which made
    strangers look alike (lfw_dev cut to 110 px around the face: equal-error rate 1.00 % -> 0.94 %).
    A chip wholly outside the image is black.
    """
    if isinstance(image, torch.Tensor):
        image = image.cpu().numpy()
    mats = np.asarray(transforms, dtype=np.float64).reshape(-1, 2, 3)
    out = torch.empty((len(mats), 3, size, size), dtype=torch.float32)
    if len(mats) == 0:
        return out
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got {tuple(image.shape)}")
    height, width = int(image.shape[0]), int(image.shape[1])
    corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], np.float64)
    ys, xs = np.meshgrid(
        np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64), indexing="ij"
    )
    chip_pts = np.stack([xs.ravel(), ys.ravel()], axis=1)

    for i, m in enumerate(mats):
        inv = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]
        scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
        halvings = 0
        while scale * 2**halvings < 0.5:
            halvings += 1
        step = 2**halvings
        # the chip's footprint in the image plus a border, its origin on the halving grid so the
        # result does not depend on where the footprint starts
        foot = corners @ inv[:, :2].T + inv[:, 2]
        x0 = max((int(np.floor(foot[:, 0].min())) - 2 * step) // step * step, 0)
        y0 = max((int(np.floor(foot[:, 1].min())) - 2 * step) // step * step, 0)
        x1 = min(int(np.ceil(foot[:, 0].max())) + 2 * step + 1, width)
        y1 = min(int(np.ceil(foot[:, 1].max())) + 2 * step + 1, height)
        pts = chip_pts @ inv[:, :2].T + inv[:, 2]
        if x1 <= x0 or y1 <= y0:
            out[i].zero_()
            continue
        region = _region_tensor(image[y0:y1, x0:x1], step)
        pts = (pts - (x0, y0) - (step - 1) / 2.0) / step
        h, w = region.shape[2:]
        grid = np.empty_like(pts)
        grid[:, 0] = pts[:, 0] * (2.0 / max(w - 1, 1)) - 1.0
        grid[:, 1] = pts[:, 1] * (2.0 / max(h - 1, 1)) - 1.0
        g = torch.from_numpy(grid.astype(np.float32)).view(1, size, size, 2)
        out[i] = F.grid_sample(
            region, g, mode="bilinear", padding_mode="border", align_corners=True
        )[0]
    return out


def box_crop(
    image: np.ndarray,
    box: tuple[float, float, float, float] | np.ndarray,
    margin: float,
    size: int,
) -> np.ndarray:
    """FaceNet-style crop as facenet-pytorch's ``extract_face`` makes it: ``margin`` is in pixels
    of the final ``size``x``size`` image; the box with margin is clipped to the image and resized
    bilinearly (PIL). Returns an RGB uint8 (size, size, 3) array."""
    x0, y0, x1, y1 = (float(v) for v in box)
    mx = margin * (x1 - x0) / (size - margin)
    my = margin * (y1 - y0) / (size - margin)
    h, w = image.shape[:2]
    crop = (
        int(max(x0 - mx / 2, 0)),
        int(max(y0 - my / 2, 0)),
        int(min(x1 + mx / 2, w)),
        int(min(y1 + my / 2, h)),
    )
    pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    return np.asarray(pil.crop(crop).resize((size, size), Image.Resampling.BILINEAR))
