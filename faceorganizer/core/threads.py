"""Worker threads that each run torch on one intra-op thread, for photo-level parallelism.

MTCNN's layers are small: split across cores inside each operation (torch's default on the
CPU) they keep two cores less than half busy, and the Python, PIL and numpy steps between them
run on one core anyway. One photo per worker, each worker on one torch thread, uses every core.

Torch sets a thread's intra-op thread count from a process-wide default the first time that
thread uses torch, and ``torch.set_num_threads`` changes both that thread's count and the
default. So each worker first lets torch initialise it, then sets itself to one thread; once
every worker has, the creator puts the default back, so threads started later (a clustering
thread, the CLI's main thread) still get torch's usual count.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import torch


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _one_torch_thread() -> None:
    torch.get_num_threads()  # torch's lazy per-thread initialisation, before we override it
    torch.set_num_threads(1)


def torch_worker_pool(workers: int, name: str) -> ThreadPoolExecutor:
    """A pool of ``workers`` started threads, each running torch on one intra-op thread;
    the process-wide default is left as it was."""
    previous = torch.get_num_threads()
    pool = ThreadPoolExecutor(workers, thread_name_prefix=name, initializer=_one_torch_thread)
    started = threading.Barrier(workers)
    try:
        list(pool.map(lambda _: started.wait(timeout=60), range(workers)))
    finally:
        torch.set_num_threads(previous)
    return pool
