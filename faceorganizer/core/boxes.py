"""Box arithmetic for the detector: non-maximum suppression and area-resampled crops.

Plain numpy and torch (no torchvision): the desktop bundle runs a CPU-only torch beside which
the available torchvision builds do not load.
"""

from __future__ import annotations

import numpy as np
import torch


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    groups: np.ndarray | None = None,
    *,
    method: str = "union",
    plus_one: bool = False,
) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first.

    A box is dropped when its overlap with a better kept box of the same group exceeds
    ``threshold``; overlap is intersection over union (``method="union"``, as torchvision's
    ``nms``) or over the smaller area (``"min"``). ``plus_one`` counts pixels inclusively
    (width = x2 - x1 + 1), as the original MTCNN code does in its last stage.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) == 0:
        return np.empty(0, dtype=np.int64)
    if groups is not None and len(boxes):
        # groups never overlap once each is shifted past the previous one's extent
        shift = np.asarray(groups, dtype=np.float64) * (float(boxes.max()) + 1.0)
        boxes = boxes + shift[:, None]
    extra = 1.0 if plus_one else 0.0
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + extra) * (y2 - y1 + extra)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + extra)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + extra)
        inter = w * h
        if method == "min":
            overlap = inter / np.minimum(areas[i], areas[rest])
        else:
            overlap = inter / (areas[i] + areas[rest] - inter)
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.int64)


def integral_images(images: torch.Tensor, on_numpy: bool | None = None) -> torch.Tensor:
    """Summed-area tables of (B, H, W, 3) images: (B, H + 1, W + 1, 3), integers on the CPU,
    float64 on other devices, zero first row and column, so any rectangle's sum is four
    look-ups. ``on_numpy`` (default: on a CPU tensor) picks numpy's cumsum, about twice
    torch's on the CPU."""
    b, h, w, c = images.shape
    if on_numpy is None:
        on_numpy = images.device.type == "cpu"
    if on_numpy:
        # exact integer sums; int32 (half the memory traffic) while they cannot overflow
        dtype = np.int32 if h * w * 255 < 2**31 else np.int64
        out = np.zeros((b, h + 1, w + 1, c), dtype=dtype)
        np.cumsum(images.cpu().numpy(), axis=1, dtype=dtype, out=out[:, 1:, 1:])
        np.cumsum(out[:, 1:, 1:], axis=2, out=out[:, 1:, 1:])
        return torch.from_numpy(out)
    table = torch.zeros((b, h + 1, w + 1, c), dtype=torch.float64, device=images.device)
    table[:, 1:, 1:] = images.to(torch.float64).cumsum(1).cumsum(2)
    return table


def area_crops(
    table: torch.Tensor,
    image_index: np.ndarray,
    regions: np.ndarray,
    size: int,
) -> torch.Tensor:
    """Crops of ``regions`` (K, 4) integer ``x0, y0, x1, y1`` (end exclusive, non-empty, inside
    the image) of images ``image_index`` resized to ``size`` x ``size`` by area averaging.

    The same arithmetic as ``torch.nn.functional.interpolate(mode="area")`` (adaptive average
    pooling: output cell i covers floor(i*n/size) to ceil((i+1)*n/size)) on every crop at once,
    from the integral images ``table``. Returns (K, 3, size, size) float32 in 0..255, in
    channels-last memory order.
    """
    device = table.device
    k = len(regions)
    if k == 0:
        return torch.empty((0, 3, size, size), dtype=torch.float32, device=device)
    r = torch.as_tensor(np.asarray(regions, dtype=np.int64), device=device)
    x0, y0, x1, y1 = r[:, 0:1], r[:, 1:2], r[:, 2:3], r[:, 3:4]
    cells = torch.arange(size, device=device).unsqueeze(0)
    w, h = x1 - x0, y1 - y0
    xs = x0 + torch.div(cells * w, size, rounding_mode="floor")
    xe = x0 - torch.div(-(cells + 1) * w, size, rounding_mode="floor")
    ys = y0 + torch.div(cells * h, size, rounding_mode="floor")
    ye = y0 - torch.div(-(cells + 1) * h, size, rounding_mode="floor")
    b = torch.as_tensor(np.asarray(image_index, dtype=np.int64), device=device).view(k, 1, 1)
    ys_, ye_ = ys.unsqueeze(2), ye.unsqueeze(2)
    xs_, xe_ = xs.unsqueeze(1), xe.unsqueeze(1)
    total = table[b, ye_, xe_] - table[b, ys_, xe_] - table[b, ye_, xs_] + table[b, ys_, xs_]
    count = ((ye_ - ys_) * (xe_ - xs_)).unsqueeze(3)
    mean = total.to(torch.float64) / count.to(torch.float64)
    return mean.to(torch.float32).permute(0, 3, 1, 2)  # a channels-last view
