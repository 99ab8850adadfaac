"""FaceNet embedders (Inception-ResNet-v1 on facenet-pytorch's released weights), fed as their
weights were trained.

The released files (``20180402-114759-vggface2.pt``, ``20180408-102900-casia-webface.pt``) are state
dicts of the classifying network: the embedding layers plus a ``logits.*`` head over the training
identities (8631 / 10575). The network is our own (``inception_resnet``: facenet-pytorch's
package imports torchvision, which the desktop bundle cannot carry) and has no head; weights load
strictly, the head is accepted only with exactly the declared shape and then dropped, since
embeddings never use it. Weights always come from a local, verified file: nothing is fetched here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from faceorganizer.core.alignment import box_crop
from faceorganizer.core.models.base import Embedder, ModelSpec
from faceorganizer.core.models.inception_resnet import EMBEDDING_DIMS, InceptionResnetV1
from faceorganizer.core.types import Detection
from faceorganizer.core.weights import WeightsVerifyError

LOGITS_KEYS = ("logits.weight", "logits.bias")
# facenet-pytorch's own LFW evaluation crops with margin 14 (pixels of the 160 px output).
DEFAULT_MARGIN = 14.0


def fixed_image_standardization(chips: torch.Tensor) -> torch.Tensor:
    """Pixels 0..255 to about -1..1, as facenet-pytorch's models were trained."""
    return (chips - 127.5) / 128.0


def build_network() -> InceptionResnetV1:
    """The embedding network without weights (on the meta device), never downloading anything;
    ``load_state_dict(..., assign=True)`` then gives it the loaded tensors without copies."""
    with torch.device("meta"):
        return InceptionResnetV1().eval()


def _finite(value: torch.Tensor) -> bool:
    """All values finite; numpy's single-threaded scan is much faster than torch's thread pool
    for the hundreds of small tensors of a state dict on a busy machine."""
    if not value.is_floating_point():
        return True
    try:
        return bool(np.isfinite(value.detach().cpu().numpy()).all())
    except TypeError:  # bfloat16 and other dtypes numpy lacks
        return bool(torch.isfinite(value).all())


def _describe(keys: set[str], limit: int = 5) -> str:
    shown = sorted(keys)[:limit]
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(shown) + more


def strict_state_dict(
    spec: ModelSpec, state: object, network: InceptionResnetV1
) -> dict[str, torch.Tensor]:
    """Check ``state`` against ``network`` key by key and shape by shape, all values finite.

    Returns the state without the ``logits`` head. Raises WeightsVerifyError naming what differs.
    """
    if not isinstance(state, Mapping) or not all(isinstance(k, str) for k in state):
        raise WeightsVerifyError(
            f"not a state dict but a {type(state).__name__}: not {spec.model_id} weights"
        )
    state = dict(state)
    num_classes = int(spec.extra.get("num_classes", 0))
    head = {k: state.pop(k) for k in LOGITS_KEYS if k in state}
    if head:
        expected_head = {
            "logits.weight": (num_classes, EMBEDDING_DIMS),
            "logits.bias": (num_classes,),
        }
        for key, shape in expected_head.items():
            got = head.get(key)
            if got is None or tuple(got.shape) != shape:
                raise WeightsVerifyError(
                    f"{key} has shape {None if got is None else tuple(got.shape)}, expected "
                    f"{shape}: these are not {spec.model_id} weights"
                )
    expected = network.state_dict()
    for key in set(expected) - set(state):
        if key.endswith(".num_batches_tracked"):  # a training counter, not a weight
            state[key] = torch.zeros((), dtype=torch.long)
    missing = set(expected) - set(state)
    unexpected = set(state) - set(expected)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} keys ({_describe(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys ({_describe(unexpected)})")
        raise WeightsVerifyError(f"wrong architecture for {spec.model_id}: " + "; ".join(parts))
    for key, ref in expected.items():
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise WeightsVerifyError(f"{key} is a {type(value).__name__}, not a tensor")
        if value.shape != ref.shape:
            raise WeightsVerifyError(
                f"wrong architecture for {spec.model_id}: {key} has shape {tuple(value.shape)}, "
                f"expected {tuple(ref.shape)}"
            )
        if not _finite(value):
            raise WeightsVerifyError(f"{key} contains NaN or infinite values: corrupt weights")
    for key, value in head.items():
        if not _finite(value):
            raise WeightsVerifyError(f"{key} contains NaN or infinite values: corrupt weights")
    return state


def load_network(spec: ModelSpec, path: Path | str, *, mmap: bool = False) -> InceptionResnetV1:
    """Read ``path`` (tensors only, no pickled code) and strictly load it into the network.

    ``mmap`` maps the file instead of reading it: enough for checking it, cheaper for big files.
    """
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:  # torch raises many types for a damaged archive
        raise WeightsVerifyError(
            f"{Path(path).name} cannot be read as {spec.model_id} weights "
            f"(truncated or corrupt file?): {exc}"
        ) from None
    network = build_network()
    checked = strict_state_dict(spec, state, network)
    try:
        network.load_state_dict(checked, strict=True, assign=True)
    except RuntimeError as exc:
        raise WeightsVerifyError(f"wrong architecture for {spec.model_id}: {exc}") from None
    if any(t.is_meta for t in (*network.parameters(), *network.buffers())):
        raise WeightsVerifyError(f"wrong architecture for {spec.model_id}: tensors left unset")
    return network


class FacenetEmbedder(Embedder):
    """``InceptionResnetV1`` on the MTCNN box plus margin, 160x160, fixed standardisation.

    The network runs with its batch norms folded into the convs and in the channels-last layout
    (``benchmarks/facenet_network.py``: the same embeddings to 1e-7, faster on the CPU).
    ``prepare`` runs on the CPU (safe in decode threads) and returns CPU tensors; ``embed`` moves
    them to ``device``. Not thread-safe; one engine thread owns ``embed``.
    """

    def __init__(self, spec: ModelSpec, device: torch.device, weights_path: Path | str) -> None:
        super().__init__(spec, device)
        self.weights_path = Path(weights_path)
        self.margin = float(spec.extra.get("margin", DEFAULT_MARGIN))
        network = load_network(spec, self.weights_path).fold_batch_norms()
        self.network = network.to(device).to(memory_format=torch.channels_last)

    def prepare(self, image: np.ndarray, detections: list[Detection]) -> torch.Tensor:
        size = self.spec.input_size
        if not detections:
            return torch.empty((0, 3, size, size), dtype=torch.float32)
        crops = np.stack([box_crop(image, d.box, self.margin, size) for d in detections])
        chips = torch.from_numpy(crops).permute(0, 3, 1, 2).float()
        return fixed_image_standardization(chips).contiguous()

    @torch.inference_mode()
    def embed(self, chips: torch.Tensor) -> np.ndarray:
        if chips.shape[0] == 0:
            return np.empty((0, self.spec.dims), dtype=np.float32)
        x = chips.to(self.device, dtype=torch.float32).contiguous(memory_format=torch.channels_last)
        return self.network(x).cpu().numpy()
