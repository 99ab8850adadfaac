"""MTCNN's three stages over a batch of equal-sized images, with batched candidate crops.

The arithmetic is that of facenet-pytorch's ``detect_face`` (scale pyramid, 12 px proposals,
24 px refinement, 48 px output with 5 landmarks, the same NMS thresholds and box updates), so
boxes, scores and landmarks match it; what differs is how the work is done:

- the pyramid levels are resized from uint8 by PIL's BOX filter on the CPU (area averaging
  like ``interpolate(mode="area")`` at about half the cost), or by ``interpolate`` on a GPU;
- every candidate of a stage is cropped and resized at once, from summed-area tables, instead
  of one ``interpolate`` call per candidate;
- NMS is our own (``core/boxes.py``), so nothing here imports torchvision.

Threading: stateless functions; the networks they are given must not be used by another
thread at the same time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from faceorganizer.core.boxes import area_crops, integral_images, nms
from faceorganizer.core.mtcnn_nets import ONet, PNet, RNet

# Channels-last tensors halve P-Net's time on the CPU and more for R-/O-Net
# (``benchmarks/detection_levers.py`` can switch it off to measure that).
CHANNELS_LAST = True
NORM_SHIFT = 127.5
NORM_SCALE = 0.0078125
CELL = 12
STRIDE = 2


@dataclass
class StageTimes:
    """Seconds spent per stage (for profiling and the benchmarks), and candidate counts.

    ``clock`` is wall time by default; ``time.thread_time`` gives the CPU time of the thread
    that detects (what the one-thread CPU benchmark reads). Several threads may add at once."""

    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    clock: Callable[[], float] = time.perf_counter
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def count(self, stage: str, count: int) -> None:
        with self._lock:
            self.counts[stage] = self.counts.get(stage, 0) + count


def _memory_format() -> torch.memory_format:
    return torch.channels_last if CHANNELS_LAST else torch.contiguous_format


def pyramid_scales(
    height: int, width: int, min_size: float, factor: float, edge: int = 0
) -> list[float]:
    """The scales at which a ``min_size`` face and every larger one fill P-Net's 12 px window;
    with an ``edge`` margin (pixels of each level), also faces larger than the image, down to
    levels whose margin holds at least half of the window."""
    scale = CELL / min_size
    side = min(height, width) * scale
    scales = []
    while side >= CELL - min(edge, CELL // 2):
        scales.append(scale)
        scale *= factor
        side *= factor
    return scales


class _Pyramid:
    """Pyramid levels of a batch: PIL BOX resizes of uint8 images on the CPU, each level made
    from the previous one when ``cascade`` (the source shrinks with the levels), or area
    interpolation of the batch on its device."""

    def __init__(
        self, images: np.ndarray, device: torch.device, pil: bool, cascade: bool, edge: int = 0
    ):
        self.cascade = cascade
        self.edge = edge
        self.sources: list[Image.Image] | None = None
        self.batch: torch.Tensor | None = None
        if pil:
            self.sources = [Image.fromarray(im) for im in images]
        else:
            self.batch = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float()

    def level(self, size: tuple[int, int]) -> torch.Tensor:
        """One level, normalised for the networks, (B, 3, h, w) float32 channels-last."""
        h, w = size
        if self.sources is not None:
            resized = [im.resize((w, h), Image.Resampling.BOX) for im in self.sources]
            if self.cascade:
                self.sources = resized
            stacked = np.stack([np.asarray(im) for im in resized])
            level = torch.from_numpy(stacked).permute(0, 3, 1, 2).float()
        else:
            assert self.batch is not None
            level = F.interpolate(self.batch, size=(h, w), mode="area")
        level = (level - NORM_SHIFT) * NORM_SCALE
        if self.edge:
            # black (the original MTCNN's zero padding), so a face cut by the border is seen
            # whole on a plain background
            level = F.pad(level, (self.edge,) * 4, value=-NORM_SHIFT * NORM_SCALE)
        return level.contiguous(memory_format=_memory_format())


def _proposals(
    pnet: PNet,
    images: np.ndarray,
    device: torch.device,
    min_size: float,
    threshold: float,
    factor: float,
    times: StageTimes,
    pyramid: _Pyramid,
) -> tuple[np.ndarray, np.ndarray]:
    """P-Net over the pyramid: candidate boxes (K, 5: x1 y1 x2 y2 score), image indices (K,)."""
    height, width = images.shape[1:3]
    found: list[np.ndarray] = []
    found_idx: list[np.ndarray] = []
    edge = pyramid.edge
    for scale in pyramid_scales(height, width, min_size, factor, edge):
        start = times.clock()
        level = pyramid.level((int(height * scale + 1), int(width * scale + 1)))
        times.add("pyramid", times.clock() - start)
        start = times.clock()
        reg, prob = pnet(level.to(device))
        mask = prob >= threshold
        where = mask.nonzero()
        score = prob[mask].float().cpu().numpy()
        offsets = reg.permute(0, 2, 3, 1)[mask].float().cpu().numpy()
        where = where.cpu().numpy()
        times.add("pnet", times.clock() - start)
        if not len(where):
            continue
        start = times.clock()
        xy = where[:, [2, 1]].astype(np.float32)
        q1 = np.floor((STRIDE * xy + 1 - edge) / np.float32(scale))
        q2 = np.floor((STRIDE * xy + CELL - edge) / np.float32(scale))
        boxes = np.concatenate([q1, q2, score[:, None], offsets], axis=1)
        keep = nms(boxes[:, :4], boxes[:, 4], 0.5, where[:, 0])
        found.append(boxes[keep])
        found_idx.append(where[keep, 0])
        times.add("nms", times.clock() - start)
    if not found:
        return np.empty((0, 5), np.float32), np.empty(0, np.int64)
    start = times.clock()
    boxes = np.concatenate(found)
    index = np.concatenate(found_idx)
    keep = nms(boxes[:, :4], boxes[:, 4], 0.7, index)
    boxes, index = boxes[keep], index[keep]
    wh = np.concatenate([boxes[:, 2:4] - boxes[:, 0:2]] * 2, axis=1)
    moved = boxes[:, :4] + boxes[:, 5:9] * wh
    out = _square(np.concatenate([moved, boxes[:, 4:5]], axis=1))
    times.add("nms", times.clock() - start)
    return out, index


def _square(boxes: np.ndarray) -> np.ndarray:
    """Boxes made square about their centres, on the longer side (MTCNN's ``rerec``)."""
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Boxes moved by the network's offsets, in units of their inclusive size (``bbreg``)."""
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out[:, :4] = boxes[:, :4] + offsets * np.stack([w, h, w, h], axis=1)
    return out


def _regions(
    boxes: np.ndarray, width: int, height: int, whole: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The part of each box inside the image as integer x0, y0, x1, y1 (end exclusive), as
    facenet-pytorch's ``pad`` cuts it (``whole``: the box itself, reaching past the image), and
    which boxes have a non-empty part inside the image."""
    b = np.trunc(boxes[:, :4]).astype(np.int64)
    x = np.maximum(b[:, 0], 1) - 1
    y = np.maximum(b[:, 1], 1) - 1
    ex = np.minimum(b[:, 2], width)
    ey = np.minimum(b[:, 3], height)
    valid = (ex > x) & (ey > y)
    if whole:
        x, y, ex, ey = b[:, 0] - 1, b[:, 1] - 1, b[:, 2], b[:, 3]
        valid &= (ex > x) & (ey > y)
    return np.stack([x, y, ex, ey], axis=1), valid


def _crops(
    table: torch.Tensor,
    boxes: np.ndarray,
    index: np.ndarray,
    size: int,
    shape: tuple[int, int],
    edge: bool = False,
) -> tuple[torch.Tensor, np.ndarray]:
    regions, valid = _regions(boxes, shape[1], shape[0], whole=edge)
    fill = np.zeros((int(table.shape[0]), int(table.shape[1]))) if edge else None
    crops = area_crops(table, index[valid], regions[valid], size, fill)
    crops = (crops - NORM_SHIFT) * NORM_SCALE
    return crops.contiguous(memory_format=_memory_format()), valid


def _chunked(net: torch.nn.Module, x: torch.Tensor, chunk: int = 512) -> tuple[torch.Tensor, ...]:
    outs = [net(x[i : i + chunk]) for i in range(0, len(x), chunk)]
    return tuple(torch.cat(parts).float().cpu() for parts in zip(*outs, strict=True))


def detect_batch(
    nets: tuple[PNet, RNet, ONet],
    images: np.ndarray,
    min_size: float,
    thresholds: Sequence[float],
    factor: float,
    device: torch.device,
    times: StageTimes | None = None,
    pil_pyramid: bool | None = None,
    cascade: bool = False,
    edge: int = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Faces in each of ``images`` ((B, H, W, 3) uint8 RGB, one size): per image, boxes
    (K, 5: x1 y1 x2 y2 score) and landmarks (K, 5, 2), in that image's pixels.

    ``pil_pyramid``: resize the pyramid with PIL on the CPU (default on a CPU device) rather
    than with ``interpolate`` on the device; ``cascade``: make each PIL level from the one
    before rather than from the image. ``edge``: a black margin of that many pixels around each
    pyramid level, and R-/O-Net crops that reach past the image filled with black, so a face
    cut by the border is found with true landmarks (its boxes may then reach past the image);
    a face wholly inside is found exactly as without it."""
    times = times or StageTimes()
    pnet, rnet, onet = nets
    n, height, width = images.shape[:3]
    empty = [(np.empty((0, 5), np.float32), np.empty((0, 5, 2), np.float32)) for _ in range(n)]
    with torch.inference_mode():
        pil = device.type == "cpu" if pil_pyramid is None else pil_pyramid
        pyramid = _Pyramid(images, device, pil, cascade, edge)
        boxes, index = _proposals(
            pnet, images, device, min_size, thresholds[0], factor, times, pyramid
        )
        times.count("proposals", len(boxes))
        if not len(boxes):
            return empty
        start = times.clock()
        table = integral_images(torch.from_numpy(images).to(device))
        crops, valid = _crops(table, boxes, index, 24, (height, width), edge > 0)
        times.add("crops", times.clock() - start)
        boxes, index = boxes[valid], index[valid]
        start = times.clock()
        offsets, prob = _chunked(rnet, crops)
        times.add("rnet", times.clock() - start)
        keep = (prob > thresholds[1]).numpy()
        boxes = np.concatenate([boxes[keep, :4], prob.numpy()[keep, None]], axis=1)
        index, offsets = index[keep], offsets.numpy()[keep]
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7, index)
        boxes = _square(_regress(boxes[pick], offsets[pick]))
        index = index[pick]
        times.count("refined", len(boxes))
        if not len(boxes):
            return empty
        start = times.clock()
        crops, valid = _crops(table, boxes, index, 48, (height, width), edge > 0)
        times.add("crops", times.clock() - start)
        boxes, index = boxes[valid], index[valid]
        start = times.clock()
        offsets, points, prob = _chunked(onet, crops)
        times.add("onet", times.clock() - start)
    keep = (prob > thresholds[2]).numpy()
    boxes = np.concatenate([boxes[keep, :4], prob.numpy()[keep, None]], axis=1)
    index, offsets, points = index[keep], offsets.numpy()[keep], points.numpy()[keep]
    w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
    h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
    xs = w * points[:, :5] + boxes[:, 0:1] - 1
    ys = h * points[:, 5:] + boxes[:, 1:2] - 1
    landmarks = np.stack([xs, ys], axis=2)
    boxes = _regress(boxes, offsets)
    pick = nms(boxes[:, :4], boxes[:, 4], 0.7, index, method="min", plus_one=True)
    boxes, index, landmarks = boxes[pick], index[pick], landmarks[pick]
    return [
        (boxes[index == i].astype(np.float32), landmarks[index == i].astype(np.float32))
        for i in range(n)
    ]
