"""Reader for dlib's serialised DNN files (``*.dat`` written by ``dlib::serialize(net)``).

We read dlib's weights without dlib so the default model runs on plain torch. The format is
dlib's own: every integer is a control byte (low nibble = number of magnitude bytes, 0x80 =
negative) and its magnitude little-endian; a float is an integer mantissa and exponent
(value = m * 2**e); a string is its length then bytes; a bool is one ASCII '0'/'1'; a tensor is
version 2, four dims (n, k, nr, nc) and raw little-endian float32 data.

A network is written top-down as a run of wrapper versions (2 for a computational layer, 1 for a
tag or skip layer, 3 for the bottom layer that owns the input), then the input layer, then each
computational layer's details bottom-up followed by bookkeeping (three bools, three empty
tensors). Tag and skip layers carry nothing after their version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class DlibFormatError(ValueError):
    """The file is not a dlib network this reader understands (or is truncated/corrupt)."""


@dataclass
class DatLayer:
    """One computational layer's details, in dlib's own naming (``kind`` without the ``_N``)."""

    kind: str
    config: dict[str, float | int] = field(default_factory=dict)
    params: np.ndarray | None = None
    shapes: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)


@dataclass
class DlibNet:
    """A parsed network: the input layer's facts, the loss, and layers bottom-up."""

    loss: str
    loss_config: dict[str, float]
    input_kind: str
    input_mean_rgb: tuple[float, float, float]
    input_size: tuple[int, int]
    layers: list[DatLayer]
    wrapper_versions: list[int]
    bytes_read: int


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _need(self, n: int) -> None:
        if self.pos + n > len(self.data):
            raise DlibFormatError(f"unexpected end of file at byte {self.pos} (needed {n} more)")

    def read_int(self) -> int:
        self._need(1)
        control = self.data[self.pos]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise DlibFormatError(f"bad integer control byte {control:#x} at byte {self.pos}")
        self._need(1 + size)
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if control & 0x80 else value

    def read_float(self) -> float:
        mantissa = self.read_int()
        exponent = self.read_int()
        return math.ldexp(mantissa, exponent)

    def read_str(self) -> str:
        n = self.read_int()
        self._need(n)
        raw = self.data[self.pos : self.pos + n]
        self.pos += n
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise DlibFormatError(f"expected a layer name at byte {self.pos - n}") from exc

    def read_bool(self) -> bool:
        self._need(1)
        ch = self.data[self.pos : self.pos + 1]
        if ch not in (b"0", b"1"):
            raise DlibFormatError(f"expected a bool at byte {self.pos}, got {ch!r}")
        self.pos += 1
        return ch == b"1"

    def read_tensor(self) -> np.ndarray:
        version = self.read_int()
        if version != 2:
            raise DlibFormatError(f"unsupported tensor version {version} at byte {self.pos}")
        dims = tuple(self.read_int() for _ in range(4))
        count = int(np.prod(dims))
        self._need(4 * count)
        arr = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
        self.pos += 4 * count
        return arr.astype(np.float32).reshape(dims)

    def read_alias_shape(self) -> tuple[int, int, int, int]:
        version = self.read_int()
        if version != 1:
            raise DlibFormatError(f"unsupported alias_tensor version {version} at byte {self.pos}")
        n, k, nr, nc = (self.read_int() for _ in range(4))
        return (n, k, nr, nc)


def _read_con(r: _Reader, kind: str) -> DatLayer:
    if kind != "con_4":
        raise DlibFormatError(f"unsupported conv layer version {kind!r}")
    params = r.read_tensor().reshape(-1)
    keys = ("num_filters", "nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
    config: dict[str, float | int] = {k: r.read_int() for k in keys}
    shapes = {"filters": r.read_alias_shape(), "biases": r.read_alias_shape()}
    for k in ("lr_mult", "wd_mult", "bias_lr_mult", "bias_wd_mult"):
        config[k] = r.read_float()
    return DatLayer("con", config, params, shapes)


def _read_affine(r: _Reader, kind: str) -> DatLayer:
    params = r.read_tensor().reshape(-1)
    shapes = {"gamma": r.read_alias_shape(), "beta": r.read_alias_shape()}
    return DatLayer("affine", {"mode": r.read_int()}, params, shapes)


def _read_pool(r: _Reader, kind: str) -> DatLayer:
    keys = ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
    return DatLayer(kind.rstrip("_0123456789"), {k: r.read_int() for k in keys})


def _read_fc(r: _Reader, kind: str) -> DatLayer:
    if kind != "fc_2":
        raise DlibFormatError(f"unsupported fc layer version {kind!r}")
    config: dict[str, float | int] = {"num_outputs": r.read_int(), "num_inputs": r.read_int()}
    params = r.read_tensor().reshape(-1)
    shapes = {"weights": r.read_alias_shape(), "biases": r.read_alias_shape()}
    config["bias_mode"] = r.read_int()
    for k in ("lr_mult", "wd_mult", "bias_lr_mult", "bias_wd_mult"):
        config[k] = r.read_float()
    return DatLayer("fc", config, params, shapes)


def _read_plain(r: _Reader, kind: str) -> DatLayer:
    return DatLayer(kind.rstrip("_0123456789"))


_READERS = {
    "con_4": _read_con,
    "affine_": _read_affine,
    "relu_": _read_plain,
    "add_prev_": _read_plain,
    "max_pool_2": _read_pool,
    "avg_pool_2": _read_pool,
    "fc_2": _read_fc,
}


def _read_layer(r: _Reader) -> DatLayer:
    at = r.pos
    kind = r.read_str()
    reader = _READERS.get(kind)
    if reader is None:
        raise DlibFormatError(f"unsupported layer {kind!r} at byte {at}")
    return reader(r, kind)


def _read_bookkeeping(r: _Reader) -> None:
    """this_layer_setup_called, gradient_input_is_stale, ..._disabled; x_grad, cached_output,
    params_grad (all empty in a saved network)."""
    for _ in range(3):
        r.read_bool()
    for _ in range(3):
        if r.read_tensor().size:
            raise DlibFormatError(f"unexpected non-empty training tensor before byte {r.pos}")


def parse_dlib_net(data: bytes) -> DlibNet:
    """Parse a whole serialised dlib network; raises ``DlibFormatError`` unless every byte is
    consumed exactly."""
    r = _Reader(data)
    if r.read_int() != 1:
        raise DlibFormatError("not a dlib network file: bad loss-layer version")
    loss = r.read_str()
    if loss != "loss_metric_2":
        raise DlibFormatError(f"unsupported loss layer {loss!r}")
    loss_config = {"margin": r.read_float(), "distance_threshold": r.read_float()}

    versions: list[int] = []
    while True:
        v = r.read_int()
        if v not in (1, 2, 3):
            raise DlibFormatError(f"unexpected layer wrapper version {v} at byte {r.pos}")
        versions.append(v)
        if v == 3:
            break

    input_kind = r.read_str()
    if input_kind != "input_rgb_image_sized":
        raise DlibFormatError(f"unsupported input layer {input_kind!r}")
    mean = (r.read_float(), r.read_float(), r.read_float())
    size = (r.read_int(), r.read_int())

    layers = [_read_layer(r)]
    _read_bookkeeping(r)
    r.read_int()  # _sample_expansion_factor of the bottom wrapper
    for _ in range(versions.count(2)):
        layers.append(_read_layer(r))
        _read_bookkeeping(r)

    if r.pos != len(data):
        raise DlibFormatError(f"{len(data) - r.pos} unread bytes after the network")
    return DlibNet(loss, loss_config, input_kind, mean, size, layers, versions, r.pos)


def read_dlib_net(path: Path | str) -> DlibNet:
    """Read and parse a dlib network file."""
    return parse_dlib_net(Path(path).read_bytes())
