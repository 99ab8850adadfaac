"""Our Inception-ResNet-v1 (``core/models/inception_resnet.py``) against facenet-pytorch's
``InceptionResnetV1``, on the CPU, in the same run: the largest difference of their embeddings
and chips per second per batch size.

Usage: python benchmarks/facenet_network.py [--rounds 5] [--batches 1,8,32] [--threads N]

Weights: random (seeded) in the released file's layout, with every batch norm's statistics and
affine parameters drawn too (freshly built ones are the identity, which would hide a wrong
fold); they time the same as the released weights. Chips: the shared 160x160 aligned faces
(``photos/facenet_pytorch/_aligned_160``), repeated up to the batch size, standardised as the
embedder does. Variants, timed in turns within each round (the median round is printed, as
chips per wall second and per CPU second of this process, the second steadier on a shared
machine):

- reference       facenet-pytorch ``InceptionResnetV1(classify=False)``, NCHW
- ours            our network as ``load_network`` gives it (batch norms kept), NCHW
- ours folded     batch norms folded into the convs, NCHW
- embedder        ``FacenetEmbedder.embed`` as the engine calls it: folded, channels-last
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# faceorganizer first: it sets OMP_WAIT_POLICY before torch loads its OpenMP runtime (spinning
# threads collapse on a shared machine), as the app does.
importlib.import_module("faceorganizer")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

FACES_DIR = Path(os.environ.get("FACEORGANIZER_TEST_FACES", REPO.parent / "shared/data/faces"))
CHIPS_DIR = FACES_DIR / "photos" / "facenet_pytorch" / "_aligned_160"
MODEL = "facenet-vggface2"


def release_shaped_weights(path: Path, seed: int = 0) -> None:
    """A vggface2-shaped state dict (with its 8631-class head) with non-trivial batch norms."""
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(seed)
    net = InceptionResnetV1(classify=True, num_classes=8631)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    torch.save(net.state_dict(), path)


def face_chips() -> torch.Tensor:
    from faceorganizer.core.models.facenet import fixed_image_standardization

    files = sorted(CHIPS_DIR.glob("*/*.png"))
    if not files:
        sys.exit(f"no aligned chips in {CHIPS_DIR}")
    pixels = np.stack([np.asarray(Image.open(f).convert("RGB").resize((160, 160))) for f in files])
    return fixed_image_standardization(torch.from_numpy(pixels).permute(0, 3, 1, 2).float())


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from facenet_pytorch import InceptionResnetV1 as Reference

    from faceorganizer.core.models.facenet import FacenetEmbedder, load_network
    from faceorganizer.core.models.registry import MODELS

    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; {load}")
    spec = MODELS[MODEL]
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "weights.pt"
        release_shaped_weights(weights)
        state = torch.load(weights, weights_only=True)
        reference = Reference(classify=True, num_classes=8631).eval()
        reference.load_state_dict(state)
        reference.classify = False
        ours = load_network(spec, weights)
        folded = load_network(spec, weights).fold_batch_norms()
        embedder = FacenetEmbedder(spec, torch.device("cpu"), weights)

    chips = face_chips()
    variants: dict[str, Callable[[torch.Tensor], object]] = {
        "reference": reference,
        "ours": ours,
        "ours folded": folded,
        "embedder": embedder.embed,
    }
    with torch.inference_mode():
        expected = reference(chips).numpy()
        for name, fn in list(variants.items())[1:]:
            got = np.asarray(fn(chips))
            print(
                f"{name:>12}: max |diff| to reference on {len(chips)} face chips: "
                f"{np.abs(got - expected).max():.2e}"
            )
        for batch in (int(b) for b in args.batches.split(",")):
            x = chips.repeat((batch + len(chips) - 1) // len(chips), 1, 1, 1)[:batch].contiguous()
            for fn in variants.values():
                fn(x)  # warm-up
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
            for _ in range(args.rounds):
                for name, fn in variants.items():
                    times[name].append(timed(lambda fn=fn, x=x: fn(x)))
            base = None
            for name, rounds in times.items():
                wall = statistics.median(t for t, _ in rounds)
                cpu = statistics.median(c for _, c in rounds)
                base = base or (wall, cpu)
                print(
                    f"{name:>12} batch {batch:>3}: {batch / wall:6.1f} chips/s "
                    f"({batch / cpu:6.1f} per CPU-s)  reference/this time: "
                    f"{base[0] / wall:.2f}x wall, {base[1] / cpu:.2f}x CPU"
                )
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
