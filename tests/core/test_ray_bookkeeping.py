"""The Ray engine's bookkeeping with a fake Ray (the fast tier;
``tests/services/scan/test_ray_scan.py`` runs the real cluster): results in order, a dead worker
replaced and its batch sent again, a photo that kills a worker twice listed as failed and the
rest of its batch unharmed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from faceorganizer.core import ray_engine
from faceorganizer.core.models import registry
from faceorganizer.core.ray_engine import RayEngine, RayOptions, map_path, parse_path_map
from faceorganizer.core.ray_worker import engine_identity
from faceorganizer.core.types import PhotoFaces


class ActorDied(Exception):
    pass


class TaskFailed(Exception):
    pass


class Ref:
    def __init__(self, run: Callable[[], Any]) -> None:
        self.run = run


class FakeWorker:
    """Dies (for good) on a photo whose name has 'poison'."""

    def __init__(self, log: list[str]) -> None:
        self.dead = False
        self.log = log

    def describe(self) -> dict[str, object]:
        return {"model_id": "m", "host": "fake"}

    def process(self, batch: list[Any]) -> list[PhotoFaces]:
        if self.dead:
            raise ActorDied()
        for item in batch:
            self.log.append(item.path)
            if "poison" in item.path:
                self.dead = True
                raise ActorDied()
        return [PhotoFaces(path=item.path) for item in batch]


class Method:
    def __init__(self, worker: FakeWorker, name: str) -> None:
        self.worker, self.name = worker, name

    def remote(self, *args: Any) -> Ref:
        return Ref(lambda: getattr(self.worker, self.name)(*args))


class Handle:
    def __init__(self, worker: FakeWorker) -> None:
        self.describe = Method(worker, "describe")
        self.process = Method(worker, "process")


class FakeRay:
    exceptions = SimpleNamespace(
        RayActorError=ActorDied,
        RayTaskError=TaskFailed,
        RayError=ActorDied,
        GetTimeoutError=TimeoutError,
    )

    def __init__(self) -> None:
        self.started = 0
        self.processed: list[str] = []

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": 2.0}

    def remote(self, **_options: Any) -> Callable[[type], Any]:
        ray = self

        class ActorClass:
            @staticmethod
            def remote(*_args: Any) -> Handle:
                ray.started += 1
                return Handle(FakeWorker(ray.processed))

        return lambda _cls: ActorClass

    def get(self, refs: Any, timeout: float | None = None) -> Any:
        return [r.run() for r in refs] if isinstance(refs, list) else refs.run()

    def wait(self, refs: list[Ref], num_returns: int, timeout: float) -> tuple[list, list]:
        return refs[:num_returns], refs[num_returns:]

    def kill(self, _actor: Any) -> None:
        pass


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> FakeRay:
    ray = FakeRay()
    monkeypatch.setattr(ray_engine, "connect", lambda _address: ray)
    monkeypatch.setattr(ray_engine, "engine_identity", lambda *_: {"model_id": "m"})
    return ray


def test_results_in_order_and_a_poison_photo_fails_after_two_deaths(fake_ray: FakeRay) -> None:
    paths = [f"/p/{i}.jpg" for i in range(10)]
    paths[4] = "/p/poison.jpg"
    engine = RayEngine(RayOptions("fake", workers=2, batch_photos=3), "m", None)
    results = list(engine.process(paths))
    assert [r.path for r in results] == paths
    assert results[4].error is not None and results[4].error.startswith("failed twice")
    assert all(r.error is None for k, r in enumerate(results) if k != 4)
    assert engine.deaths == 2 and fake_ray.started == 4  # two actors, two replacements
    # Photo 3 (before the poison in its batch) was read, lost and read again; photo 5 (after
    # it) went again before it was read; nothing else went twice.
    counts = {p: fake_ray.processed.count(p) for p in paths if "poison" not in p}
    assert counts.pop("/p/3.jpg") == 2 and set(counts.values()) == {1}


def test_a_mismatched_worker_is_refused(fake_ray: FakeRay, monkeypatch) -> None:
    monkeypatch.setattr(ray_engine, "engine_identity", lambda *_: {"model_id": "other"})
    with pytest.raises(ray_engine.RayEngineError, match="no photo was sent"):
        RayEngine(RayOptions("fake", workers=1), "other", None)
    assert fake_ray.processed == []


def test_a_fused_models_identity_holds_its_members_weights(monkeypatch) -> None:
    """The fused default has no weights of its own: a worker whose SFace weights differ from the
    library's must not pass as the same engine."""
    ours = engine_identity("dlib-sface-fusion", None)
    digests = ours["weights_sha256"]
    assert isinstance(digests, dict) and set(digests) == {"dlib-resnet-v1", "sface-2021dec"}
    assert all(digests.values())
    real = registry.model_status

    def other_sface(model_id: str) -> registry.ModelStatus:
        status = real(model_id)
        return replace(status, sha256="0" * 64) if model_id == "sface-2021dec" else status

    monkeypatch.setattr(registry, "model_status", other_sface)
    theirs = engine_identity("dlib-sface-fusion", None)
    assert theirs["weights_sha256"] != digests
    assert {k: v for k, v in theirs.items() if k != "weights_sha256"} == {
        k: v for k, v in ours.items() if k != "weights_sha256"
    }


def test_path_map_swaps_the_longest_whole_folder_prefix() -> None:
    pairs = parse_path_map(["/home/me/Pictures=/mnt/pictures", "/home/me/Pictures/raw=/raw/"])
    assert map_path("/home/me/Pictures/a.jpg", pairs) == "/mnt/pictures/a.jpg"
    assert map_path("/home/me/Pictures/raw/b.nef", pairs) == "/raw/b.nef"
    assert map_path("/home/me/Pictures2/c.jpg", pairs) == "/home/me/Pictures2/c.jpg"
    with pytest.raises(ValueError):
        parse_path_map(["/no/equals/sign"])
