"""Worker threads that run torch on one intra-op thread each."""

from __future__ import annotations

import os
import threading

import torch

from faceorganizer.core.threads import torch_worker_pool, usable_cpus


def test_workers_run_torch_on_one_thread_and_the_default_is_kept() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    pool = torch_worker_pool(3, "test-worker")
    try:
        counts = list(pool.map(lambda _: torch.get_num_threads(), range(9)))
        assert counts == [1] * 9
        assert torch.get_num_threads() == 2
        later: list[int] = []
        thread = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        assert later == [2]
    finally:
        pool.shutdown()
        torch.set_num_threads(before)


def test_usable_cpus_are_those_this_process_may_run_on() -> None:
    assert 1 <= usable_cpus() <= (os.cpu_count() or 1)
