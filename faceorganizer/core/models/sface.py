"""SFace (OpenCV Zoo ``face_recognition_sface_2021dec``) in torch.

The released model is an ONNX graph of a MobileNet-v1-shaped network: the input (RGB, 0..255,
112x112 on the ArcFace five-point template) shifted by 127.5 and scaled by 1/128, a 3x3 conv, 13
depthwise-separable blocks (3x3 depthwise, 1x1 pointwise; four of them stride 2), each conv
followed by batch norm and PReLU, then batch norm, flatten (1024x7x7), a fully connected layer to
128 and a last batch norm. ``SFaceNet`` is that network; ``SFaceNet.from_onnx`` reads the weights
from the released file (fp32 or OpenCV Zoo's int8 block-quantized build, dequantized on load),
checking every node of the graph against the architecture, then folds every batch norm into the
conv or linear layer next to it. One runtime (torch) for every model: batching, threads and GPUs
as for dlib; measured against onnxruntime in ``benchmarks/sface_runtime.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from faceorganizer.core.alignment import ARCFACE_TEMPLATE_112, similarity_transform, warp_chips
from faceorganizer.core.models.base import Embedder, ModelSpec
from faceorganizer.core.models.onnx_weights import (
    OnnxFormatError,
    OnnxGraph,
    OnnxNode,
    read_graph,
)
from faceorganizer.core.types import Detection

CHIP_SIZE = 112
INPUT_SHIFT = 127.5
INPUT_SCALE = 0.0078125
# (input channels, output channels, stride) of the depthwise-separable blocks, bottom-up.
_BLOCKS = (
    (32, 64, 1),
    (64, 128, 2),
    (128, 128, 1),
    (128, 256, 2),
    (256, 256, 1),
    (256, 512, 2),
    *((512, 512, 1),) * 5,
    (512, 1024, 2),
    (1024, 1024, 1),
)
_FLAT = 1024 * 7 * 7


def _convs() -> list[tuple[int, int, int, int, int]]:
    """(in, out, kernel, stride, groups) of every conv in graph order."""
    out = [(3, 32, 3, 1, 1)]
    for cin, cout, stride in _BLOCKS:
        out += [(cin, cin, 3, stride, cin), (cin, cout, 1, 1, 1)]
    return out


class SFaceNet(nn.Module):
    """Input (N, 3, 112, 112) RGB 0..255; output (N, 128) SFace features (not unit length).

    Built with batch norms folded: each conv carries a bias, the final batch norms are folded
    into ``fc``. Weights come only from ``from_onnx``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        self.prelus = nn.ModuleList()
        for cin, cout, k, stride, groups in _convs():
            self.convs.append(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups))
            self.prelus.append(nn.PReLU(cout))
        self.fc = nn.Linear(_FLAT, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - INPUT_SHIFT) * INPUT_SCALE
        for conv, prelu in zip(self.convs, self.prelus, strict=True):
            x = prelu(conv(x))
        return self.fc(torch.flatten(x, 1))

    @classmethod
    def from_onnx(cls, path: Path | str) -> SFaceNet:
        """The network with the weights of the ONNX file ``path`` (fp32 or int8-quantized).
        Raises OnnxFormatError when the graph is not SFace's."""
        net = cls()
        net.load_graph(read_graph(path), Path(path).name)
        return net.eval()

    @torch.no_grad()
    def load_graph(self, graph: OnnxGraph, name: str) -> None:
        """Copy the weights of a parsed graph, checking each node's kind, shape and settings."""
        if graph.input_shape[1:] != (3, CHIP_SIZE, CHIP_SIZE):
            raise OnnxFormatError(f"{name}: input {graph.input_shape}, expected (N, 3, 112, 112)")
        nodes = _Nodes(graph, name)
        shift, scale = nodes.take("Sub")[0], nodes.take("Mul")[0]
        if not (np.allclose(shift, INPUT_SHIFT) and np.allclose(scale, INPUT_SCALE)):
            raise OnnxFormatError(f"{name}: input scaling {shift} {scale}, not SFace's")
        for i, (conv, prelu) in enumerate(zip(self.convs, self.prelus, strict=True)):
            assert isinstance(conv, nn.Conv2d) and isinstance(prelu, nn.PReLU)
            weight, *bias = nodes.take("Conv")
            settings = (nodes.attr("group", 1), nodes.attr("strides", [1, 1]), nodes.attr("pads"))
            if settings != (conv.groups, list(conv.stride), [conv.padding[0]] * 4):
                raise OnnxFormatError(f"{name}: conv {i} has group, strides, pads {settings}")
            _check(name, f"conv {i}", weight, conv.weight.shape)
            a, b = nodes.batch_norm()
            folded = weight * a.reshape(-1, 1, 1, 1)
            conv.weight.copy_(torch.from_numpy(folded.astype(np.float32)))
            assert conv.bias is not None
            conv.bias.copy_(
                torch.from_numpy((b + (a * bias[0] if bias else 0.0)).astype(np.float32))
            )
            slope = nodes.take("PRelu")[0].reshape(-1)
            _check(name, f"prelu {i}", slope, prelu.weight.shape)
            prelu.weight.copy_(torch.from_numpy(slope.astype(np.float32)))
        a1, b1 = nodes.batch_norm()  # per channel of the 1024x7x7 map, before the fc
        nodes.take("Dropout")  # the identity at inference
        nodes.take("Flatten")
        fc, fc_in_bias = nodes.take("Gemm")
        if nodes.attr("transB", 0) != 1:
            raise OnnxFormatError(f"{name}: fully connected layer not stored transposed")
        _check(name, "fc", fc, self.fc.weight.shape)
        a2, b2 = nodes.batch_norm()  # per output, after the fc
        nodes.end()
        fc_weight = fc * np.repeat(a1, 49)[None, :] * a2[:, None]
        fc_bias = (fc @ np.repeat(b1, 49) + fc_in_bias) * a2 + b2
        self.fc.weight.copy_(torch.from_numpy(fc_weight.astype(np.float32)))
        self.fc.bias.copy_(torch.from_numpy(fc_bias.astype(np.float32)))
        for p in self.parameters():
            if not torch.isfinite(p).all():
                raise OnnxFormatError(f"{name}: weights with NaN or infinite values")


class _Nodes:
    """The graph's nodes read one at a time, each checked to be of the expected kind."""

    def __init__(self, graph: OnnxGraph, name: str) -> None:
        self._nodes = iter(graph.nodes)
        self._consts = graph.constants
        self._name = name
        self.last: OnnxNode | None = None

    def take(self, op: str) -> list[np.ndarray]:
        """The next node, which must be ``op``: its constant inputs, in order."""
        node = next(self._nodes, None)
        if node is None or node.op != op:
            raise OnnxFormatError(f"{self._name}: expected {op}, got {node and node.op}")
        self.last = node
        return [self._consts[i].astype(np.float64) for i in node.inputs if i in self._consts]

    def attr(self, key: str, default: object = None) -> object:
        assert self.last is not None
        return self.last.attributes.get(key, default)

    def batch_norm(self) -> tuple[np.ndarray, np.ndarray]:
        """The next node, a batch norm, as the scale and shift it applies."""
        gamma, beta, mean, var = self.take("BatchNormalization")
        eps = float(self.attr("epsilon", 1e-5))  # type: ignore[arg-type]
        scale = gamma / np.sqrt(var + eps)
        return scale, beta - mean * scale

    def end(self) -> None:
        if next(self._nodes, None) is not None:
            raise OnnxFormatError(f"{self._name}: more nodes than SFace has")


def _check(name: str, what: str, value: np.ndarray, shape: torch.Size) -> None:
    if tuple(value.shape) != tuple(shape):
        raise OnnxFormatError(f"{name}: {what} has shape {value.shape}, expected {tuple(shape)}")


class SFaceEmbedder(Embedder):
    """SFace on 112x112 chips warped onto the ArcFace five-point template (RGB 0..255).

    ``prepare`` runs on the CPU (it may run in several engine workers at once); ``embed`` runs on
    ``device``. ``mirror`` adds each chip's mirror image to it (one more forward pass).
    Safe in several threads at once (no state between calls).
    """

    def __init__(
        self, spec: ModelSpec, device: torch.device, weights_path: Path, mirror: bool = False
    ) -> None:
        super().__init__(spec, device)
        self.weights_path = Path(weights_path)
        self.mirror = mirror
        net = SFaceNet.from_onnx(self.weights_path)
        self.model = net.to(device).to(memory_format=torch.channels_last).eval()

    def prepare(self, image: np.ndarray, detections: list[Detection]) -> torch.Tensor:
        if not detections:
            return torch.empty((0, 3, CHIP_SIZE, CHIP_SIZE), dtype=torch.float32)
        transforms = np.stack(
            [similarity_transform(d.landmarks, ARCFACE_TEMPLATE_112) for d in detections]
        )
        return warp_chips(image, transforms, CHIP_SIZE)

    @torch.inference_mode()
    def embed_raw(self, chips: torch.Tensor) -> np.ndarray:
        """SFace's own features (not unit length), as the ONNX graph gives them."""
        if chips.shape[0] == 0:
            return np.empty((0, 128), dtype=np.float32)
        x = chips.to(self.device, dtype=torch.float32).contiguous(memory_format=torch.channels_last)
        return self.model(x).float().cpu().numpy()

    def embed(self, chips: torch.Tensor) -> np.ndarray:
        raw = self.embed_raw(chips)
        if self.mirror and len(raw):
            flipped = self.embed_raw(torch.flip(chips, dims=[3]))
            raw = _unit(raw) + _unit(flipped)
        return _unit(raw)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)
