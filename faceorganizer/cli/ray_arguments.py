"""The scan's Ray options: ``--ray ADDRESS``, ``--ray-path-map SRC=DST``, ``--ray-workers N``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from faceorganizer import config
from faceorganizer.cli.arguments import positive_int

if TYPE_CHECKING:
    from faceorganizer.core.ray_engine import RayOptions


def add_ray_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        default=config.default("ray_address"),
        help="read the photos on the Ray cluster at ADDRESS (HOST:PORT, ray://HOST:PORT or "
        "auto; needs faceorganizer[cluster]); the library is written here",
    )
    p.add_argument(
        "--ray-path-map",
        metavar="SRC=DST",
        action="append",
        default=[],
        help="the folder SRC of this computer is DST on the workers (repeatable); a photo a "
        "worker cannot open is sent as bytes",
    )
    p.add_argument(
        "--ray-workers",
        type=positive_int,
        metavar="N",
        help="actors to start (default: one per GPU of the cluster, else one per CPU)",
    )


def ray_options(args: argparse.Namespace) -> RayOptions | None:
    """The scan's ``RayOptions``, or None to scan on this computer."""
    if not args.ray:
        return None
    from faceorganizer.services.scan import ray as ray_scan

    return ray_scan.options(args.ray, args.ray_path_map, args.ray_workers)
