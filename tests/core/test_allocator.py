"""glibc's malloc kept from unmapping the engine's big blocks between photos."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHILD = """
import resource, sys
import numpy as np
from faceorganizer.core.allocator import keep_freed_memory
tuned = keep_freed_memory() if sys.argv[1] == "tuned" else False
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):  # a photo's worth of blocks, allocated and freed again and again
    blocks = [np.ones(mb << 20, np.uint8) for mb in (3, 19, 7, 12, 30, 5)]
    del blocks
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
"""

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)


def _faults(mode: str) -> tuple[str, int]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode], env=env, capture_output=True, text=True, check=True
    )
    tuned, faults = out.stdout.split()
    return tuned, int(faults)


def test_freed_blocks_are_reused_without_faulting_pages_in_again() -> None:
    default_tuned, default = _faults("default")
    tuned, kept = _faults("tuned")
    assert (default_tuned, tuned) == ("False", "True")
    assert kept * 5 < default, (kept, default)
