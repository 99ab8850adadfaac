"""Reading the weights of an ONNX graph as numpy arrays, quantized or not.

An ONNX file keeps a network's weights as initializers; a block-quantized file (OpenCV Zoo's
``*_int8bq.onnx``) keeps them as int8 with one scale and zero point per block, turned back into
floats by ``DequantizeLinear`` (then ``Reshape``) nodes inside the graph. ``constant_tensors``
evaluates exactly those nodes once, so a port of the network can read every weight by the name
its graph uses, whichever of the two files it is given. The ``onnx`` package only parses the
file (protobuf); nothing here runs the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


class OnnxFormatError(ValueError):
    """The file is not an ONNX graph of the expected network (the message says what differs)."""


@dataclass(frozen=True)
class OnnxNode:
    """One computing node of the graph, its constant inputs resolved to names."""

    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attributes: dict[str, object]


@dataclass(frozen=True)
class OnnxGraph:
    """The network's nodes in order (constant-only nodes folded away) and every constant."""

    nodes: list[OnnxNode]
    constants: dict[str, np.ndarray]
    input_name: str
    input_shape: tuple[int, ...]
    output_name: str


def _dequantize(q: np.ndarray, scale: np.ndarray, zero: np.ndarray | None, axis: int,
                block: int) -> np.ndarray:  # fmt: skip
    """ONNX ``DequantizeLinear``: per tensor, per axis, or per block of ``block`` along ``axis``."""
    q = q.astype(np.float32)
    zp = np.zeros_like(scale, dtype=np.float32) if zero is None else zero.astype(np.float32)
    if scale.size == 1:
        return (q - zp.reshape(())) * scale.reshape(())
    axis = axis % q.ndim
    if block:
        scale = np.repeat(scale, block, axis=axis)
        zp = np.repeat(zp, block, axis=axis)
        index = [slice(None)] * q.ndim
        index[axis] = slice(0, q.shape[axis])
        return (q - zp[tuple(index)]) * scale[tuple(index)]
    shape = [1] * q.ndim
    shape[axis] = -1
    return (q - zp.reshape(shape)) * scale.reshape(shape)


def read_graph(path: Path | str) -> OnnxGraph:
    """Parse ``path`` and fold its constant-only ``DequantizeLinear``/``Reshape``/``Constant``
    nodes into float32 constants. Raises OnnxFormatError on a file that is not ONNX."""
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises its own DecodeError and others
        raise OnnxFormatError(f"{Path(path).name} is not a readable ONNX file: {exc}") from None
    graph = model.graph
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    nodes: list[OnnxNode] = []
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant":
            value = attrs.get("value")
            if value is not None:
                constants[node.output[0]] = numpy_helper.to_array(value)
            continue
        if all(name in constants for name in node.input if name):
            if node.op_type == "DequantizeLinear":
                args = [constants[n] if n else None for n in node.input]
                constants[node.output[0]] = _dequantize(
                    args[0], args[1], args[2] if len(args) > 2 else None,  # type: ignore[arg-type]
                    int(attrs.get("axis", 1)), int(attrs.get("block_size", 0)),  # type: ignore[call-overload]
                )  # fmt: skip
                continue
            if node.op_type == "Reshape":
                data, shape = (constants[n] for n in node.input[:2])
                constants[node.output[0]] = data.reshape(tuple(int(s) for s in shape))
                continue
        nodes.append(OnnxNode(node.op_type, tuple(node.input), tuple(node.output), attrs))
    # a quantized file may still list its former float weights as inputs nothing reads
    used = {name for node in nodes for name in node.inputs}
    feeds = [i for i in graph.input if i.name not in constants and i.name in used]
    if len(feeds) != 1 or len(graph.output) != 1:
        raise OnnxFormatError(
            f"{Path(path).name}: expected one image input and one output, got inputs "
            f"{[i.name for i in feeds]} and {len(graph.output)} outputs"
        )
    dims = tuple(d.dim_value for d in feeds[0].type.tensor_type.shape.dim)
    return OnnxGraph(nodes, constants, feeds[0].name, dims, graph.output[0].name)
