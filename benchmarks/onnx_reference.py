"""The original ONNX graph of a model run by onnxruntime: the reference our torch ports are
measured and tested against (onnxruntime is a development dependency, not the app's).

A block-quantized OpenCV Zoo file still lists its former float weights among the graph's inputs,
which onnxruntime would then wait to be fed: every input but the image is dropped first, as
onnxruntime's own ``remove_initializer_from_input`` tool does, and the batch size is left free.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def onnx_session(path: Path | str, threads: int = 1) -> Any:
    """An onnxruntime CPU session of ``path`` taking (N, 3, H, W) float32 as input ``data``."""
    import onnx
    import onnxruntime

    model = onnx.load(str(path))
    image = model.graph.input[0].name
    for item in list(model.graph.input):
        if item.name != image:
            model.graph.input.remove(item)
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
