"""glibc's malloc set to keep the engine's big, short-lived blocks for the next photo.

Each photo allocates tens of MB (P-Net's feature maps, summed-area tables, decoded images),
frees them, and the next photo allocates the same again. glibc serves a block above its mmap
threshold (dynamic, from 128 KB) with fresh pages and unmaps it on free, so every photo faults
its whole working set in again: 14,500 page faults per 12 MP photo, and with two worker
threads the faults contend for the process's memory map (``benchmarks/phone_cpu.py``, 16 phone
photos, same run, load 8-9: 538-565 against 455-459 ms of CPU per photo). A fixed threshold at
glibc's maximum (32 MB) and trimming only above 256 MB keep that memory in the heap.

Other platforms and C libraries are left as they are.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed on 64-bit
TRIM_THRESHOLD = 256 << 20

_done = False


def keep_freed_memory() -> bool:
    """Tune glibc's malloc once per process (idempotent); False where it is not glibc."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl and others: no glibc to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    ok = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
    if not ok:
        log.info("glibc's mallopt refused the engine's settings; malloc left as it is")
    _done = ok
    return ok


def release_freed() -> None:
    """Give the memory freed in every malloc arena back to the system (``malloc_trim``): after a
    rare, large decode (hundreds of MB in blocks below the mmap threshold), so that each decoding
    thread's arena does not keep a large image's worth for good. No-op where it is not glibc."""
    if not sys.platform.startswith("linux"):
        return
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)
