"""`faceorganizer models list|download|import`: which recognition models are installed, and
getting the FaceNet weights onto a machine (fetched with a progress bar, or copied from a file)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from faceorganizer.cli.output import CliError, emit
from faceorganizer.core import weights
from faceorganizer.core.models.registry import (
    DEFAULT_MODEL_ID,
    MODELS,
    calibration_info,
    download_weights,
    import_weights,
    members_of,
    model_status,
)
from faceorganizer.core.weights import WeightsError


def _options() -> argparse.ArgumentParser:
    """``--json`` that does not reset a ``--json`` given before the sub-command."""
    opts = argparse.ArgumentParser(add_help=False)
    opts.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    return opts


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    opts = _options()
    models = subparsers.add_parser(
        "models",
        parents=[opts],
        help="list, download or import face recognition models",
        description="Face recognition models: which are installed, and installing the FaceNet "
        f"weights. The default model ({DEFAULT_MODEL_ID}) ships with the app.",
    )
    actions = models.add_subparsers(dest="models_action", metavar="ACTION", required=True)

    from faceorganizer.cli.calibrate_command import add_calibrate_parser

    add_calibrate_parser(actions, opts)
    listing = actions.add_parser("list", parents=[opts], help="models, installed or not, where")
    listing.set_defaults(func=cmd_list)

    fetch = actions.add_parser(
        "download",
        parents=[opts],
        help="fetch a model's weights (resumable; verified before use)",
        description="Fetch a model's weights into the models folder "
        f"(${weights.MODELS_DIR_ENV} overrides it). An interrupted download resumes when run "
        "again. The file is checked (size, SHA-256, strict load) before it is put in place.",
    )
    fetch.add_argument("model_id", metavar="ID", help="model id, see `models list`")
    fetch.add_argument("--url", help="fetch from this address instead (e.g. a local mirror)")
    fetch.add_argument("--sha256", help="refuse the file unless it has this SHA-256")
    fetch.add_argument("--force", action="store_true", help="fetch again even if installed")
    fetch.add_argument("--timeout", type=float, default=30, help="network timeout, seconds")
    fetch.set_defaults(func=cmd_download)

    imp = actions.add_parser(
        "import",
        parents=[opts],
        help="install weights from a file you already have",
        description="Copy a weights file into the models folder after checking it "
        "(SHA-256 when known, strict load into the network).",
    )
    imp.add_argument("model_id", metavar="ID", help="model id, see `models list`")
    imp.add_argument("file", type=Path, help="the weights file, e.g. 20180402-114759-vggface2.pt")
    imp.add_argument("--sha256", help="refuse the file unless it has this SHA-256")
    imp.set_defaults(func=cmd_import)


def _human_size(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size / 1e6:.1f} MB"


def _model_row(model_id: str) -> dict[str, Any]:
    spec = MODELS[model_id]
    status = model_status(model_id)
    calibration = calibration_info(model_id)
    return {
        "id": model_id,
        "name": spec.display_name,
        "default": model_id == DEFAULT_MODEL_ID,
        "dims": spec.dims,
        "input_size": spec.input_size,
        "installed": status.installed,
        "size": status.size,
        "path": str(status.path) if status.path else None,
        "source": status.source,
        "sha256": status.sha256,
        "weights_file": spec.weights_filename,
        "url": spec.url,
        "license": spec.license,
        "calibrated": bool(calibration.get("fitted", True)),
    }


def cmd_list(args: argparse.Namespace) -> int:
    rows = [_model_row(model_id) for model_id in MODELS]
    lines = [f"models folder: {weights.models_dir()}"]
    for row in rows:
        mark = "*" if row["default"] else " "
        state = "installed" if row["installed"] else "not installed"
        where = f"  {row['path']} ({row['source']})" if row["installed"] else ""
        if row["installed"] and row["path"] is None:
            where = f"  made of {row['source'].replace('+', ' and ')}"
        uncalibrated = "" if row["calibrated"] else "  [similarity % not yet calibrated]"
        lines.append(
            f"{mark} {row['id']:<24} {row['dims']:>4}-d  {state:<13} "
            f"{_human_size(row['size']):>9}{where}{uncalibrated}"
        )
    missing = [row["id"] for row in rows if not row["installed"]]
    if missing:
        lines.append(f"install with `faceorganizer models download {missing[0]}` (or `import`)")
    emit(args, {"models_dir": str(weights.models_dir()), "models": rows}, "\n".join(lines))
    return 0


def _check_id(model_id: str) -> None:
    if model_id not in MODELS:
        raise CliError(f"unknown model {model_id!r}; known models: {', '.join(MODELS)}")


class _Bar:
    """tqdm over byte counts on stderr, created when the size is first known."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                initial=done,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_download(args: argparse.Namespace) -> int:
    _check_id(args.model_id)
    json_mode = getattr(args, "json", False)
    if members_of(MODELS[args.model_id]):
        members = " and ".join(members_of(MODELS[args.model_id]))
        raise CliError(f"{args.model_id} has no weights of its own: it is made of {members}")
    status = model_status(args.model_id)
    if status.installed and not args.force and weights.is_packaged(MODELS[args.model_id]):
        emit(args, asdict(status), f"{args.model_id} ships with the app: {status.path}")
        return 0
    if status.installed and not args.force:
        emit(
            args,
            {**asdict(status), "downloaded": False},
            f"{args.model_id} is already installed: {status.path} (--force fetches it again)",
        )
        return 0
    if not json_mode:
        source = args.url or MODELS[args.model_id].url
        print(
            f"fetching {source}\n      -> {weights.target_path(MODELS[args.model_id])}",
            file=sys.stderr,
        )
    bar = _Bar(enabled=not json_mode)
    try:
        path = download_weights(
            args.model_id, url=args.url, sha256=args.sha256, progress=bar, timeout=args.timeout
        )
    except WeightsError as exc:
        raise CliError(str(exc)) from None
    finally:
        bar.close()
    status = model_status(args.model_id)
    emit(
        args,
        {**asdict(status), "downloaded": True},
        f"installed {args.model_id}: {path} (SHA-256 {status.sha256})",
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    _check_id(args.model_id)
    try:
        path = import_weights(args.model_id, args.file, sha256=args.sha256)
    except WeightsError as exc:
        raise CliError(str(exc)) from None
    status = model_status(args.model_id)
    emit(args, asdict(status), f"imported {args.model_id}: {path} (SHA-256 {status.sha256})")
    return 0
