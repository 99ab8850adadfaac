"""SFace in torch (our port, ``core/models/sface.py``) against onnxruntime on the original graph:
milliseconds per face at several batch sizes, on the CPU, in the same run, and how far apart the
two are on real aligned chips.

The engine's CPU workers run each model call on one thread (``core/threads.py``), so ``--threads``
defaults to 1; both runtimes get the same. Prints ms per face (wall and CPU time of this
process: the CPU figure is steadier on a shared machine) and the ratio onnxruntime / torch.

    .venv/bin/python benchmarks/sface_runtime.py [--batches 1,8,32] [--seconds 3] [--threads 1]
        [--weights FILE.onnx]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from onnx_reference import onnx_session  # noqa: E402

from faceorganizer.core.models.registry import SFACE_ID, checked_weights  # noqa: E402
from faceorganizer.core.models.sface import SFaceNet  # noqa: E402


def ms_per_face(fn: Callable[[], object], batch: int, seconds: float) -> tuple[float, float]:
    fn()
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        n += batch
    return 1000 * elapsed / n, 1000 * (time.process_time() - cpu) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights", type=Path, default=None, help="default: the installed SFace")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = args.weights or checked_weights(SFACE_ID)
    net = SFaceNet.from_onnx(path).to(memory_format=torch.channels_last)
    plain = SFaceNet.from_onnx(path)
    session = onnx_session(path, threads=args.threads)
    rng = np.random.default_rng(0)
    print(f"{path.name}, {args.threads} thread(s); ms per face, wall / CPU")
    print(f"{'batch':>5s} {'torch NHWC':>15s} {'torch NCHW':>15s} {'onnxruntime':>15s} ratio")
    for batch in (int(b) for b in args.batches.split(",")):
        x = rng.uniform(0, 255, (batch, 3, 112, 112)).astype(np.float32)
        t = torch.from_numpy(x)
        tl = t.contiguous(memory_format=torch.channels_last)

        def run_torch(m: torch.nn.Module, inp: torch.Tensor) -> object:
            with torch.inference_mode():
                return m(inp)

        ours = ms_per_face(lambda tl=tl: run_torch(net, tl), batch, args.seconds)
        nchw = ms_per_face(lambda t=t: run_torch(plain, t), batch, args.seconds)
        ort = ms_per_face(lambda x=x: session.run(None, {"data": x}), batch, args.seconds)
        best = min(ours[0], nchw[0])
        print(
            f"{batch:5d} {ours[0]:7.2f} /{ours[1]:6.2f} {nchw[0]:7.2f} /{nchw[1]:6.2f} "
            f"{ort[0]:7.2f} /{ort[1]:6.2f} {ort[0] / best:6.2f}"
        )
        with torch.inference_mode():
            diff = np.abs(net(tl).numpy() - session.run(None, {"data": x})[0]).max()
        print(f"      max abs difference torch vs onnxruntime {diff:.2e}")


if __name__ == "__main__":
    main()
