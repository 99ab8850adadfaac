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
    """Summed-area tables of (B, H, W, 3) images, one plane per channel: (B, 3, H + 1, W + 1)
    with a zero first row and column, so any rectangle's sum is four look-ups.

    ``on_numpy`` (default: for a CPU tensor) makes exact int32 (int64 for huge images) tables
    with numpy: the horizontal sums as a cumsum along contiguous rows, the vertical ones as a
    loop adding each row to the next (numpy's cumsum across rows is three times slower), about
    a sixth of the time of an interleaved-channel table. Otherwise float64 torch tables on the
    images' device (exact too: every sum is an integer below 2**53)."""
    b, h, w, c = images.shape
    if on_numpy is None:
        on_numpy = images.device.type == "cpu"
    if on_numpy:
        dtype = np.int32 if h * w * 255 < 2**31 else np.int64
        out = np.zeros((b, c, h + 1, w + 1), dtype=dtype)
        inner = out[:, :, 1:, 1:]
        inner[...] = images.cpu().numpy().transpose(0, 3, 1, 2)
        np.cumsum(inner, axis=3, out=inner)
        for y in range(2, h + 1):
            np.add(out[:, :, y], out[:, :, y - 1], out=out[:, :, y])
        return torch.from_numpy(out)
    table = torch.zeros((b, c, h + 1, w + 1), dtype=torch.float64, device=images.device)
    table[:, :, 1:, 1:] = images.permute(0, 3, 1, 2).to(torch.float64).cumsum(2).cumsum(3)
    return table


def _corner_indices(
    shape: tuple[int, ...], image_index: np.ndarray, regions: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat indices into channel 0 of a (B, C, H + 1, W + 1) table of the four corners of every
    output cell, (4, K, size, size) in the order (end, end), (start y, end x), (end y, start x),
    (start, start), each cell cut to the image; the pixel count of that part (K, size, size);
    and of the whole cell, inside the image or not."""
    _, c, h1, w1 = shape
    r = np.asarray(regions, dtype=np.int64).reshape(-1, 4)
    x0, y0, x1, y1 = r[:, 0:1], r[:, 1:2], r[:, 2:3], r[:, 3:4]
    cells = np.arange(size, dtype=np.int64)
    w, h = x1 - x0, y1 - y0
    xs = x0 + (cells * w) // size
    xe = x0 - (-(cells + 1) * w) // size
    ys = y0 + (cells * h) // size
    ye = y0 - (-(cells + 1) * h) // size
    whole = (ye - ys)[:, :, None] * (xe - xs)[:, None, :]
    xs, xe = np.clip(xs, 0, w1 - 1), np.clip(xe, 0, w1 - 1)
    ys, ye = np.clip(ys, 0, h1 - 1), np.clip(ye, 0, h1 - 1)
    base = (np.asarray(image_index, dtype=np.int64) * (c * h1 * w1))[:, None, None]
    rs, re = (ys * w1)[:, :, None] + base, (ye * w1)[:, :, None] + base
    xs_, xe_ = xs[:, None, :], xe[:, None, :]
    corners = np.stack([re + xe_, rs + xe_, re + xs_, rs + xs_])
    count = (ye - ys)[:, :, None] * (xe - xs)[:, None, :]
    return corners, count, whole


def area_crops(
    table: torch.Tensor,
    image_index: np.ndarray,
    regions: np.ndarray,
    size: int,
    fill: np.ndarray | None = None,
) -> torch.Tensor:
    """Crops of ``regions`` (K, 4) integer ``x0, y0, x1, y1`` (end exclusive, non-empty) of images
    ``image_index`` resized to ``size`` x ``size`` by area averaging.

    The same arithmetic as ``torch.nn.functional.interpolate(mode="area")`` (adaptive average
    pooling: output cell i covers floor(i*n/size) to ceil((i+1)*n/size)) on every crop at once,
    from the tables of ``integral_images``: integer ones gathered with numpy on the CPU, float64
    ones with torch on their device. Without ``fill`` the regions must lie inside the image;
    with it, a region may reach past the image, whose outside pixels then have the colour
    ``fill[image]`` ((B, C), 0..255): a face cut by the border is cropped as a whole face on a
    plain background, not stretched. Returns (K, 3, size, size) float32 in 0..255.
    """
    device = table.device
    k = len(regions)
    c = table.shape[1]
    if k == 0:
        return torch.empty((0, c, size, size), dtype=torch.float32, device=device)
    corners, count, whole = _corner_indices(tuple(table.shape), image_index, regions, size)
    outside = None
    if fill is not None:
        paint = np.asarray(fill, np.float64)[np.asarray(image_index, np.int64)]  # (K, C)
        outside = (whole - count).astype(np.float64)
        count = whole
    plane = table.shape[2] * table.shape[3]
    if not table.dtype.is_floating_point:
        flat = table.numpy().reshape(-1)
        counts = count.astype(np.float32)
        out = np.empty((k, c, size, size), dtype=np.float32)
        for ch in range(c):
            values = flat[ch * plane :]
            total = values.take(corners[0]) - values.take(corners[1])
            total -= values.take(corners[2])
            total += values.take(corners[3])
            if outside is not None:
                total = total + (paint[:, ch, None, None] * outside).astype(np.float32)
            np.divide(total, counts, out=out[:, ch])
        return torch.from_numpy(out)
    index = torch.from_numpy(corners).to(device)
    counts_t = torch.from_numpy(count).to(device=device, dtype=torch.float64)
    extra = None
    if outside is not None:
        extra = torch.from_numpy(outside).to(device=device, dtype=torch.float64)
        paint_t = torch.from_numpy(paint).to(device=device, dtype=torch.float64)
    flat_t = table.reshape(-1)
    crops = torch.empty((k, c, size, size), dtype=torch.float32, device=device)
    for ch in range(c):
        g = torch.take(flat_t[ch * plane :], index)
        total = g[0] - g[1] - g[2] + g[3]
        if extra is not None:
            total = total + paint_t[:, ch, None, None] * extra
        crops[:, ch] = (total / counts_t).to(torch.float32)
    return crops
