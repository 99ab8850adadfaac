"""A scan's engine on a Ray cluster (``core.ray_engine``), as the library asks for it: started
only when some photo needs the engine, its refusals (unreachable cluster, a worker that differs
from the library) told as a ``LibraryError``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from faceorganizer.core.types import PhotoEngine
from faceorganizer.services.errors import LibraryError

if TYPE_CHECKING:  # Ray is optional: imported only when a scan asks for it
    from faceorganizer.core.ray_engine import RayOptions


def options(address: str, path_map: Iterable[str] = (), workers: int | None = None) -> RayOptions:
    """``RayOptions`` from the command line's or the settings' strings (``SRC=DST`` each)."""
    from faceorganizer.core.ray_engine import RayOptions, parse_path_map

    try:
        pairs = parse_path_map(p for p in path_map if p.strip())
    except ValueError as exc:
        raise LibraryError(str(exc)) from None
    return RayOptions(address=address, path_map=pairs, workers=workers)


def split_path_map(text: str) -> list[str]:
    """The ``ray_path_map`` setting's ``SRC=DST;SRC=DST`` as a list."""
    return [part.strip() for part in text.split(";") if part.strip()]


def engine_source(
    ray: RayOptions, model_id: str, min_face_size: int | None
) -> Callable[[], PhotoEngine]:
    """What makes the Ray engine when the scan first needs one."""
    from faceorganizer.core.ray_engine import RayEngine, RayEngineError

    def start() -> PhotoEngine:
        try:
            return RayEngine(ray, model_id, min_face_size)
        except RayEngineError as exc:
            raise LibraryError(str(exc)) from None

    return start
