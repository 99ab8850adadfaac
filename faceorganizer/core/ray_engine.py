"""A scan's engine on a Ray cluster: the photo work (decode, detect, align, embed) runs in Ray
actors, one ``FaceEngine`` each; results stream back to the caller, which stays the library's
only writer.

``RayEngine`` is a ``PhotoEngine`` like ``FaceEngine``: the scanner stores its results, shows its
progress and honours pause and cancel exactly as for a local scan. Photos go out in batches, at
most ``IN_FLIGHT_PER_WORKER`` batches per actor and a bounded reorder window ahead of the photo
the caller waits for (back-pressure: a paused scan stops sending), and come back in the order
asked. Workers read photos at their path, after ``path_map`` (a mount point that differs); a
photo a worker cannot open is sent as bytes. An actor that dies loses only its batch: its photos
go again, one per batch, to a fresh actor, and a photo in flight at two deaths is reported as
failed. Before any photo is sent, every actor's model, weights, recipe, calibrations and engine
settings are compared with the library's (``core.ray_worker.engine_identity``); any difference
stops the scan.

Threading contract: one thread iterates ``process``; Ray is connected once per process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from faceorganizer.core.ray_worker import NEEDS_BYTES, EngineWorker, Item, engine_identity
from faceorganizer.core.types import PhotoFaces

log = logging.getLogger(__name__)

BATCH_PHOTOS = 4
IN_FLIGHT_PER_WORKER = 2
DEATHS_TO_FAIL = 2
START_TIMEOUT_S = 600.0


class RayEngineError(RuntimeError):
    """The cluster cannot do this scan (unreachable, no worker starts, a mismatch); nothing of
    the scan was sent when it is raised before the first result."""


@dataclass(frozen=True)
class RayOptions:
    """Where and how: ``address`` of the cluster (``HOST:PORT``, ``ray://HOST:PORT`` or
    ``auto``), ``path_map`` of (prefix here, prefix on the workers), ``workers`` (default: one
    per GPU of the cluster, else one per CPU)."""

    address: str
    path_map: tuple[tuple[str, str], ...] = ()
    workers: int | None = None
    batch_photos: int = BATCH_PHOTOS


def parse_path_map(specs: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``SRC=DST`` strings as (SRC, DST) pairs; ValueError for one without ``=``."""
    pairs = []
    for spec in specs:
        src, sep, dst = spec.partition("=")
        if not sep or not src or not dst:
            raise ValueError(f"a path map is SRC=DST, not {spec!r}")
        pairs.append((src.rstrip("/") or "/", dst.rstrip("/") or "/"))
    return tuple(pairs)


def map_path(path: str, path_map: Sequence[tuple[str, str]]) -> str:
    """``path`` as the workers see it: the longest matching prefix (whole folder names) swapped."""
    for src, dst in sorted(path_map, key=lambda p: -len(p[0])):
        if path == src or path.startswith(src.rstrip("/") + "/"):
            return dst.rstrip("/") + path[len(src.rstrip("/")) :]
    return path


_connected: list[str] = []
_connect_lock = threading.Lock()


def connect(address: str) -> Any:
    """The ``ray`` module, connected to ``address`` (once per process and address)."""
    try:
        import ray
    except ImportError:
        raise RayEngineError("Ray is not installed: pip install 'faceorganizer[cluster]'") from None
    with _connect_lock:
        if ray.is_initialized() and _connected != [address]:
            ray.shutdown()
        if not ray.is_initialized():
            try:
                ray.init(
                    address=address,
                    logging_level=logging.WARNING,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except Exception as exc:  # ConnectionError, or Ray's own for a bad address
                raise RayEngineError(f"cannot reach the Ray cluster at {address}: {exc}") from exc
            _connected[:] = [address]
    return ray


class RayEngine:
    """``PhotoEngine`` over Ray actors; see the module docstring. Starting it starts the actors
    and checks them; ``process`` may be called once (its end stops the actors)."""

    def __init__(self, options: RayOptions, model_id: str, min_face_size: int | None) -> None:
        self.options = options
        self.model_id, self.min_face_size = model_id, min_face_size
        self.ray = connect(options.address)
        errors = self.ray.exceptions
        self._died: tuple[type[BaseException], ...] = (errors.RayActorError,)
        self._task_failed: tuple[type[BaseException], ...] = (errors.RayTaskError,)
        self._ray_errors: tuple[type[BaseException], ...] = (
            errors.RayError,
            errors.GetTimeoutError,
        )
        resources = self.ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        self.device = "cuda" if gpus else "cpu"
        count = options.workers or (gpus or max(1, int(resources.get("CPU", 1))))
        actor_options: dict[str, Any] = {"num_cpus": 1, "max_restarts": 0}
        if gpus:
            actor_options["num_gpus"] = 1
        self._actor_class = self.ray.remote(**actor_options)(EngineWorker)
        self.expected = engine_identity(model_id, min_face_size)
        self.workers: dict[int, Any] = {}
        self.worker_info: dict[int, dict[str, object]] = {}
        self._next_id = 0
        self.deaths = 0
        self.bytes_sent = 0
        self._start([self._spawn() for _ in range(count)])
        log.info(
            "Ray scan on %s: %d %s workers (%s)",
            options.address,
            len(self.workers),
            self.device,
            ", ".join(sorted({str(i["host"]) for i in self.worker_info.values()})),
        )

    def _spawn(self) -> int:
        wid, self._next_id = self._next_id, self._next_id + 1
        self.workers[wid] = self._actor_class.remote(self.model_id, self.min_face_size, self.device)
        return wid

    def _start(self, ids: list[int]) -> None:
        """Wait for new actors to load their engines; refuse any that differs from the library."""
        try:
            infos = self.ray.get(
                [self.workers[w].describe.remote() for w in ids], timeout=START_TIMEOUT_S
            )
        except self._ray_errors as exc:
            self.close()
            raise RayEngineError(f"a Ray worker could not start its face engine: {exc}") from exc
        for wid, info in zip(ids, infos, strict=True):
            different = {k: v for k, v in self.expected.items() if info.get(k) != v}
            if different:
                self.close()
                what = "; ".join(
                    f"{k} {info.get(k)!r} where the library has {v!r}" for k, v in different.items()
                )
                raise RayEngineError(
                    f"the Ray worker on {info.get('host')} differs from this library ({what}): "
                    "no photo was sent"
                )
            self.worker_info[wid] = info

    def close(self) -> None:
        """Stop every actor (their engines' memory is freed on the workers)."""
        for actor in self.workers.values():
            try:
                self.ray.kill(actor)
            except Exception:  # already gone
                log.debug("actor already gone", exc_info=True)
        self.workers.clear()

    def process(
        self, paths: Iterable[str | os.PathLike[str]], cancel: threading.Event | None = None
    ) -> Iterator[PhotoFaces]:
        """One ``PhotoFaces`` per path, in order (as ``FaceEngine.process``)."""
        run = _Run(self, [os.fspath(p) for p in paths])
        try:
            yield from run.results(cancel)
        finally:
            self.close()


class _Run:
    """The bookkeeping of one ``process`` call: batches waiting, in flight and done."""

    def __init__(self, engine: RayEngine, paths: list[str]) -> None:
        self.engine, self.paths = engine, paths
        step = max(1, engine.options.batch_photos)
        self.waiting: deque[list[Item]] = deque(
            [
                [Item(i, map_path(paths[i], engine.options.path_map)) for i in range(s, s + step)]
                for s in range(0, len(paths) - step + 1, step)
            ]
        )
        tail = len(paths) - len(paths) % step
        if tail < len(paths):
            self.waiting.append(
                [
                    Item(i, map_path(paths[i], engine.options.path_map))
                    for i in range(tail, len(paths))
                ]
            )
        self.in_flight: dict[Any, tuple[int, int, list[Item]]] = {}  # ref: worker, seq, batch
        self.sent = 0
        self.done: dict[int, PhotoFaces] = {}
        self.deaths: Counter[int] = Counter()
        self.window = 2 * IN_FLIGHT_PER_WORKER * step

    def results(self, cancel: threading.Event | None) -> Iterator[PhotoFaces]:
        ray = self.engine.ray
        next_out = 0
        while next_out < len(self.paths):
            if cancel is not None and cancel.is_set():
                return
            self._send(next_out)
            if self.in_flight:
                ready, _ = ray.wait(list(self.in_flight), num_returns=1, timeout=0.2)
                for ref in ready:
                    self._receive(ref)
            elif not self.waiting and next_out not in self.done:
                raise RayEngineError("no photo is in flight and none is waiting (a bug)")
            while next_out in self.done:
                yield self.done.pop(next_out)
                next_out += 1

    def _send(self, next_out: int) -> None:
        """Batches to the least busy actors, within each actor's share and the reorder window."""
        engine = self.engine
        limit = next_out + self.window * max(1, len(engine.workers))
        while self.waiting and self.waiting[0][0].index < limit:
            busy = Counter(wid for wid, _, _ in self.in_flight.values())
            free = [w for w in engine.workers if busy[w] < IN_FLIGHT_PER_WORKER]
            if not free:
                return
            wid = min(free, key=lambda w: busy[w])
            batch = self.waiting.popleft()
            self.sent += 1
            self.in_flight[engine.workers[wid].process.remote(batch)] = (wid, self.sent, batch)

    def _receive(self, ref: Any) -> None:
        engine = self.engine
        if ref not in self.in_flight:
            return  # a batch of a dead worker, already sent again
        wid, seq, batch = self.in_flight.pop(ref)
        try:
            out: list[PhotoFaces] = engine.ray.get(ref)
        except engine._died as exc:
            self._worker_died(wid, seq, batch, f"its Ray worker died ({type(exc).__name__})")
            return
        except engine._task_failed as exc:
            self._lost(batch, f"its Ray worker failed: {getattr(exc, 'cause', exc)!r}")
            return
        for item, result in zip(batch, out, strict=True):
            if result.error == NEEDS_BYTES and item.data is None:
                self._send_bytes(item)
            else:
                result.path = self.paths[item.index]
                self.done[item.index] = result

    def _send_bytes(self, item: Item) -> None:
        path = self.paths[item.index]
        try:
            with open(path, "rb") as fp:
                data = fp.read()
        except OSError as exc:
            self.done[item.index] = PhotoFaces(path=path, error=f"cannot read: {exc.strerror}")
            return
        self.engine.bytes_sent += 1
        log.debug("sending %s as bytes: the worker cannot open %s", path, item.path)
        self.waiting.appendleft([Item(item.index, item.path, data)])

    def _worker_died(self, wid: int, seq: int, batch: list[Item], reason: str) -> None:
        """Replace the worker; of its batches, the one it was running (the first sent: an actor
        runs its calls in order) counts a loss for its photos, the others simply go again."""
        engine = self.engine
        mine = sorted(
            [(s, ref, b) for ref, (w, s, b) in self.in_flight.items() if w == wid]
            + [(seq, None, batch)],
            key=lambda t: t[0],
        )
        for _, ref, _ in mine:
            self.in_flight.pop(ref, None)
        for _, _, queued in reversed(mine[1:]):
            self.waiting.extendleft([item] for item in reversed(queued))
        self._lost(mine[0][2], reason)
        if wid in engine.workers:
            engine.deaths += 1
            del engine.workers[wid]
            log.warning("Ray worker %d died (%s); its photos go again", wid, reason)
            engine._start([engine._spawn()])

    def _lost(self, batch: list[Item], reason: str) -> None:
        """A batch lost to a worker's death or error: each photo goes again alone, unless this
        is its second loss."""
        for item in reversed(batch):
            self.deaths[item.index] += 1
            if self.deaths[item.index] >= DEATHS_TO_FAIL:
                self.done[item.index] = PhotoFaces(
                    path=self.paths[item.index], error=f"failed twice on the cluster: {reason}"
                )
            else:
                self.waiting.appendleft([item])
