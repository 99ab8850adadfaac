"""Human output by default, JSON with --json; errors as one clear line, never a traceback.

Names and file names come from outside: human output shows their control characters as
escapes (``\x1b``), so a file or person name can never set the terminal's title, clear the
screen or forge a line; JSON escapes them by itself.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from faceorganizer.core.text import for_terminal
from faceorganizer.services.types import FaceInfo


class CliError(Exception):
    """An error the user can act on: printed as a message, exit status ``status``."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "__fspath__"):
        return str(obj)
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def emit(args: Any, data: Any, human: str | None = None) -> None:
    """Print ``data`` as JSON when ``--json`` was given, else the human text."""
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, default=_default, indent=2)
        sys.stdout.write("\n")
    elif human is not None:
        print(for_terminal(human, keep_newlines=True))


def print_error(message: str, json_mode: bool = False) -> None:
    if json_mode:
        json.dump({"error": message}, sys.stdout)
        sys.stdout.write("\n")
    print(f"faceorganizer: error: {for_terminal(message, keep_newlines=True)}", file=sys.stderr)


def face_line(f: FaceInfo) -> str:
    """One face as a line: id, its person, its box, its photo and why it is too poor, if so."""
    who = f.person_name or (f"person {f.person_id}" if f.person_id else "unassigned")
    pin = " (confirmed)" if f.assigned_by == "user" else ""
    box = ",".join(f"{v:.0f}" for v in f.box)
    poor = f"  (too poor to recognise: {f.poor_reason})" if f.poor_reason else ""
    return f"{f.face_id:>7}  {for_terminal(who)}{pin}  [{box}]  {for_terminal(f.photo_path)}{poor}"
