"""What decoding an image will cost in memory, known before a pixel is decoded, and a budget that
every decoding thread of the process shares.

A small file can declare a large image: a 380 KB PNG of 14000 x 14000 16-bit pixels needs 392 MB
once decoded, and a palette or 16-bit image needs more again when converted to RGB. The cost is
computed from the header (size, mode, format), so an image that would not fit is refused with a
message instead of decoded; one that fits waits while other threads' decodes use the budget, so
four such files decoded at once cost no more than one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

MB = 1 << 20

# Decoded memory one image may take, and all decoding threads together. A scan of ordinary photos
# peaks near 1.3 GB with its models loaded (benchmarks/hostile_memory.py), so this keeps a scan
# under 2 GB whatever one file holds.
MAX_DECODE_BYTES = 512 * MB

# Bytes per pixel of PIL's image memory for each mode (multi-band modes use 4-byte pixels).
_PIL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
# Decoders that fill a buffer of their own before PIL copies it in (the buffer is the same size
# again); other formats decode straight into PIL's image.
_BUFFERED_FORMATS = frozenset({"HEIF", "AVIF", "JXL", "TIFF", "WEBP"})


def pil_bytes(mode: str, size: tuple[int, int]) -> int:
    """Bytes PIL allocates for an image of ``mode`` and ``size``."""
    return size[0] * size[1] * _PIL_BYTES.get(mode, 4)


def decode_cost(
    fmt: str, mode: str, size: tuple[int, int], stored: tuple[int, int], progressive: bool
) -> int:
    """Peak bytes of decoding one image: PIL's image at ``size`` (after any DCT scaling), the
    decoder's own buffer for formats that have one, and a progressive JPEG's coefficients (kept
    for the whole stored image, ``stored``, whatever the scaling)."""
    cost = pil_bytes(mode, size)
    if fmt in _BUFFERED_FORMATS:
        cost *= 2
    if progressive:
        cost += stored[0] * stored[1] * 2 * 3  # 16-bit coefficients, up to 3 full components
    return cost


class DecodeBudget:
    """Bytes of decoded images held at once by the threads of this process."""

    def __init__(self, total: int = MAX_DECODE_BYTES) -> None:
        self.total = total
        self.used = 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def hold(self, cost: int) -> Iterator[None]:
        """Wait until ``cost`` bytes are free, hold them for the block. ``cost`` must not exceed
        ``total`` (refuse such an image first)."""
        cost = min(cost, self.total)
        with self._cond:
            self._cond.wait_for(lambda: self.used + cost <= self.total)
            self.used += cost
        try:
            yield
        finally:
            with self._cond:
                self.used -= cost
                self._cond.notify_all()


BUDGET = DecodeBudget()
