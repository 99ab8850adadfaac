"""Detection levers on phone photos, one at a time, in the same run (round-robin per photo).

On N generated 4032x3024 photos (``phone_scenes.py``), decoded as the engine decodes them
(``load_image(max_side=1600)``), runs detection configurations and prints, for each, ms per
photo (with its ratio to the first, facenet-pytorch's ``detect_face`` at the same settings),
recall by face-size band, boxes with no pasted face, and stage times. Each photo goes through
every configuration before the next photo, so load changes on a shared machine hit all alike.

Configurations (each differs from the one before it by one lever):
  reference     facenet-pytorch detect_face (per-candidate crops), torchvision NMS
  ours-area     our MTCNN: crops in one batch from summed-area tables, numpy NMS, the same
                area-interpolated pyramid (exactly the reference's arithmetic)
  ours-nchw     + PIL BOX pyramid from uint8, but networks in plain NCHW memory order
  ours          + channels-last networks
  cascade       + each pyramid level resized from the previous one
  pnet-0.7      + P-Net threshold 0.7 instead of 0.6 (fewer candidates reach R-Net): the
                engine's detector
  side-S        the engine's detector with another detection side (``--sides``)

Times are wall-clock and CPU (process) seconds: on a shared machine the CPU time ranks the
configurations more steadily.

Run: ``.venv/bin/python benchmarks/detection_levers.py [--photos N] [--keep DIR]
[--detect-side S] [--sides 1000,1600]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import phone_scenes as ps  # noqa: E402

from faceorganizer.core import detection as det  # noqa: E402
from faceorganizer.core import mtcnn  # noqa: E402
from faceorganizer.core.images import load_image  # noqa: E402


def reference_detector(detector: det.Detector) -> Callable[[np.ndarray], list]:
    """facenet-pytorch's detect_face with the detector's shrink, min face and thresholds."""
    from facenet_pytorch import MTCNN
    from facenet_pytorch.models.utils.detect_face import detect_face

    nets = MTCNN(keep_all=True, device="cpu").eval()

    def run(rgb: np.ndarray) -> list:
        small, ratio = detector._shrink(rgb)
        min_face = detector.min_face(small.shape)
        with torch.inference_mode():
            boxes, _ = detect_face(
                small[None].copy(),
                min_face,
                nets.pnet,
                nets.rnet,
                nets.onet,
                detector.thresholds,
                detector.factor,
                "cpu",
            )
        b = np.asarray(boxes[0], dtype=np.float64).reshape(-1, 5)
        keep = b[:, 4] >= detector.min_score
        return [tuple(v * ratio for v in box[:4]) for box in b[keep]]

    return run


def ours(detector: det.Detector, channels_last: bool = True, pil: bool | None = None):
    def run(rgb: np.ndarray) -> list:
        mtcnn.CHANNELS_LAST = channels_last
        if pil is not None:
            original = mtcnn.detect_batch

            def forced(*args, **kwargs):
                kwargs["pil_pyramid"] = pil
                return original(*args, **kwargs)

            det.detect_batch = forced  # type: ignore[attr-defined]
        try:
            return [f.box for f in detector.detect([rgb])[0]]
        finally:
            mtcnn.CHANNELS_LAST = True
            det.detect_batch = mtcnn.detect_batch  # type: ignore[attr-defined]

    return run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=12)
    p.add_argument("--keep", type=Path, help="build into (or reuse) this folder")
    p.add_argument("--detect-side", type=int, default=det.DEFAULT_DETECT_SIDE)
    p.add_argument("--sides", default="1000,1600", help="other detection sides to compare")
    p.add_argument("--decode-side", type=int, default=1600)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    work = (args.keep or Path(tempfile.mkdtemp(prefix="phone-levers-"))).resolve()
    if (work / "truth.json").exists() and len(ps.read_truth(work)) >= args.photos:
        photos = ps.read_truth(work)[: args.photos]
    else:
        photos = ps.build_photos(work, args.photos, seed=args.seed, heic=False)
    torch.set_num_threads(os.cpu_count() or 1)

    def make(**kw) -> det.Detector:
        """The engine's detector, or before the levers that ``kw`` leaves out."""
        kw.setdefault("cascade", False)
        kw.setdefault("thresholds", (0.6, 0.7, 0.7))
        return det.Detector("cpu", detect_side=kw.pop("side", args.detect_side), **kw)

    defaults = {"cascade": det.DEFAULT_CASCADE, "thresholds": det.DEFAULT_THRESHOLDS}
    base = make()
    configs: dict[str, Callable[[np.ndarray], list]] = {
        "reference": reference_detector(base),
        "ours-area": ours(make(), pil=False),
        "ours-nchw": ours(make(), channels_last=False),
        "ours": ours(base),
        "cascade": ours(make(cascade=True)),
        "pnet-0.7": ours(make(cascade=True, thresholds=(0.7, 0.7, 0.7))),
    }
    for side in (int(s) for s in args.sides.split(",") if s):
        configs[f"side-{side}"] = ours(make(side=side, **defaults))
    seconds = dict.fromkeys(configs, 0.0)
    cpu = dict.fromkeys(configs, 0.0)
    boxes: dict[str, dict[str, list]] = {name: {} for name in configs}
    load_start = os.getloadavg()[0]
    decode = {args.decode_side: 0.0, 1008: 0.0}
    for photo in photos:
        for side in decode:
            start = time.perf_counter()
            load_image(photo.path, max_side=side)
            decode[side] += time.perf_counter() - start
        image = load_image(photo.path, max_side=args.decode_side)
        for name, run in configs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            found = run(image.rgb)
            seconds[name] += time.perf_counter() - start
            cpu[name] += time.process_time() - start_cpu
            boxes[name][photo.path] = [[v * image.scale for v in b] for b in found]
    n = len(photos)
    n_faces = sum(len(ph.faces) for ph in photos)
    print(
        f"{n} photos, {n_faces} faces, detect side {args.detect_side}, decode side "
        f"{args.decode_side}, min face ratio {base.min_face_ratio}; {os.cpu_count()} CPUs, "
        f"load average {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    )
    ref = seconds["reference"]
    for name in configs:
        bands = {b: [0, 0] for b in ps.band_names()}
        extra = 0
        for photo in photos:
            got = boxes[name][photo.path]
            hits = ps.matched(photo.faces, got)
            for face, ok in zip(photo.faces, hits, strict=True):
                bands[ps.band_of(face.width)][0] += ok
                bands[ps.band_of(face.width)][1] += 1
            extra += len(got) - sum(hits)
        hits_all = sum(h for h, _ in bands.values())
        recall = ", ".join(f"{b} {h}/{t}" for b, (h, t) in bands.items())
        print(
            f"{name:10s} {1000 * seconds[name] / n:6.0f} ms/photo  x{ref / seconds[name]:4.2f}  "
            f"CPU {1000 * cpu[name] / n:5.0f} ms  x{cpu['reference'] / cpu[name]:4.2f}  "
            f"recall {hits_all}/{n_faces} ({recall})  other boxes {extra}"
        )
    print(
        "JPEG decode, ms per photo: "
        + ", ".join(f"to {side} px {1000 * t / n:.0f}" for side, t in decode.items())
    )
    times = base.times
    per = {k: f"{1000 * v / n:.0f}" for k, v in times.seconds.items()}
    counts = {k: v // n for k, v in times.counts.items()}
    print(f"ours, ms per photo by stage: {per}; per photo: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
