"""Chips per second of the dlib ResNet port, per batch size and layout, against dlib itself.

Usage: python benchmarks/embed_speed.py [--seconds 3] [--batches 1,8,32] [--threads N]

Prints chips/s for our embedder (as the engine uses it) and for plain NCHW and channels_last
variants of the same module, and, in the same run, dlib's own ``compute_face_descriptor`` on a
batch of chips (when dlib-bin is installed) with the ratio. Random chips time the same as faces.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

from faceorganizer.core.alignment import warp_chips
from faceorganizer.core.models.base import ModelSpec
from faceorganizer.core.models.dlib_resnet import (
    DlibResNet,
    DlibResnetEmbedder,
    default_weights_path,
    normalize_chips,
)
from faceorganizer.core.types import Calibration

SPEC = ModelSpec(
    "dlib-resnet-v1",
    "dlib ResNet",
    128,
    150,
    "dlib.dat",
    None,
    None,
    None,
    "CC0",
    Calibration(0.9, 30.0),
)


def rate(fn: Callable[[], object], batch: int, seconds: float) -> tuple[float, float]:
    """Items per wall second and per CPU second of this process (the second is steadier when
    other programs share the cores)."""
    fn()
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        n += batch
    return n / elapsed, n / max(time.process_time() - cpu, 1e-9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    batches = [int(b) for b in args.batches.split(",")]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {device}")

    t = time.perf_counter()
    embedder = DlibResnetEmbedder(SPEC, device)
    print(f"load (parse .dat + build): {time.perf_counter() - t:.2f} s")

    rng = np.random.default_rng(0)
    chips_u8 = rng.integers(0, 256, size=(max(batches), 150, 150, 3), dtype=np.uint8)
    chips = normalize_chips(chips_u8)

    photo = rng.integers(0, 256, size=(3000, 4000, 3), dtype=np.uint8)
    for face_px in (100, 500, 1500):
        s = 150 / (2 * face_px)  # the chip spans about twice the face
        m = np.array([[[s, 0.0, -1000 * s], [0.0, s, -800 * s]]])
        r, c = rate(lambda m=m: warp_chips(photo, m, 150), 1, args.seconds / 3)
        print(f"warp_chips, face ~{face_px:>4} px: {r:7.1f} chips/s  ({c:7.1f} per CPU-s)")

    plain = DlibResNet.from_dat().fuse_affine().to(device).eval()
    variants: dict[str, Callable[[torch.Tensor], object]] = {
        "embedder": embedder.embed,
        "nchw": lambda x: plain(x.to(device)),
        "channels_last": lambda x: embedder.model(
            x.to(device).contiguous(memory_format=torch.channels_last)
        ),
    }
    ours: dict[int, float] = {}
    with torch.inference_mode():
        for name, fn in variants.items():
            for b in batches:
                r, c = rate(lambda fn=fn, b=b: fn(chips[:b]), b, args.seconds)
                if name == "embedder":
                    ours[b] = r
                print(f"{name:>14} batch {b:>3}: {r:7.1f} chips/s  ({c:7.1f} per CPU-s)")

    try:
        import dlib
    except ImportError:
        print("dlib not installed: no reference figure")
        return
    rec = dlib.face_recognition_model_v1(str(default_weights_path()))
    for b in batches:
        batch = list(chips_u8[:b])
        r, c = rate(lambda batch=batch: rec.compute_face_descriptor(batch), b, args.seconds)
        print(
            f"{'dlib':>14} batch {b:>3}: {r:7.1f} chips/s  ({c:7.1f} per CPU-s)"
            f"   ours/dlib = {ours[b] / r:.2f}x"
        )


if __name__ == "__main__":
    main()
