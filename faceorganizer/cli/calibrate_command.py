"""`faceorganizer models calibrate ID FOLDER`: fit a model's similarity percentage on the user's
own labelled photos (one subfolder per person), so that 65 % means the same for every model.

``models_commands.register`` adds it with ``add_calibrate_parser(actions, opts)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from faceorganizer.cli.output import CliError, emit


def add_calibrate_parser(actions: Any, opts: argparse.ArgumentParser) -> None:
    """Add ``calibrate`` to the ``models`` sub-commands."""
    cal = actions.add_parser(
        "calibrate",
        parents=[opts],
        help="fit a model's similarity percentage on a folder of labelled faces",
        description="Fit the map from a model's cosine similarity to a percentage on a folder "
        "with one subfolder per person (at least two persons, some with several photos). 50 %% "
        "becomes the equal-error point and the percentage estimates the chance that two faces "
        "are the same person. The result overrides the shipped calibration of that model.",
    )
    cal.add_argument("model_id", metavar="ID", help="model id, see `models list`")
    cal.add_argument("folder", type=Path, help="folder of person subfolders")
    cal.add_argument("--dry-run", action="store_true", help="print the fit, write nothing")
    cal.add_argument("--max-diff-pairs", type=int, default=200_000, help="sample size cap")
    cal.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from faceorganizer.core.calibration import fit_from_folder, write_calibration
    from faceorganizer.core.models.registry import get_spec, user_calibration_path

    try:
        get_spec(args.model_id)
    except Exception as exc:
        raise CliError(str(exc)) from None
    if not args.folder.is_dir():
        raise CliError(f"not a folder: {args.folder}")
    quiet = getattr(args, "json", False)

    def progress(done: int, total: int) -> None:
        if not quiet and (done == total or done % 25 == 0):
            print(f"\rembedding {done}/{total} photos", end="", file=sys.stderr, flush=True)

    try:
        fit = fit_from_folder(
            args.folder,
            args.model_id,
            device=getattr(args, "device", "auto"),
            max_diff=args.max_diff_pairs,
            progress=progress,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    finally:
        if not quiet:
            print(file=sys.stderr)
    path = user_calibration_path(args.model_id)
    if not args.dry_run:
        write_calibration(path, fit, fitted_on=str(args.folder.resolve()))
    data = {
        "model_id": args.model_id,
        "midpoint": fit.calibration.midpoint,
        "slope": fit.calibration.slope,
        "eer": fit.eer,
        "accuracy_at_50": fit.accuracy,
        "same_pairs": fit.same_pairs,
        "diff_pairs": fit.diff_pairs,
        "written": None if args.dry_run else str(path),
    }
    human = (
        f"{args.model_id}: 50 % at cosine {fit.calibration.midpoint:.4f}, slope "
        f"{fit.calibration.slope:.1f}; equal-error rate {100 * fit.eer:.2f} %, accuracy at 50 % "
        f"{100 * fit.accuracy:.2f} % on {fit.same_pairs} same / {fit.diff_pairs} different pairs"
        + ("" if args.dry_run else f"\nwritten to {path}")
    )
    emit(args, data, human)
    return 0
