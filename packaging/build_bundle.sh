#!/usr/bin/env bash
# Build the one-folder desktop bundle dist/FaceOrganizer/ (`make package`).
#
# A separate build environment, outside the clone, holds a CPU-only torch and no torchvision,
# nvidia or triton packages: pyproject.toml's other dependencies at the versions of
# packaging/constraints-cpu.txt (packaging/bundle_requirements.py says which and why). This
# script creates it on first use and again whenever those change. Then: the app installed into
# it as a wheel would install it, PyInstaller (packaging/faceorganizer.spec), the desktop files,
# and a check that every shared library in the bundle resolves.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
BUNDLE_VENV=${BUNDLE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/faceorganizer/bundle-venv-cpu}
DIST=${DIST:-dist}
WORK=build/pyinstaller
VPY=$BUNDLE_VENV/bin/python
started=$(date +%s)
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
  echo "error: the bundle is built with Python 3.11 (the CPU torch wheel is cp311); set PYTHON" >&2
  exit 2
}
# The sources this bundle is made of, recorded in it for tests/packaging/test_bundle.py.
stamp=$("$PYTHON" packaging/source_stamp.py)
mkdir -p build
"$PYTHON" packaging/bundle_requirements.py > build/bundle-requirements.txt

want=$(cat build/bundle-requirements.txt packaging/constraints-cpu.txt \
  packaging/requirements-nodeps.txt | sha256sum | cut -d' ' -f1)
if [ ! -x "$VPY" ] || [ "$(cat "$BUNDLE_VENV/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  echo "== build environment: $BUNDLE_VENV"
  rm -rf "$BUNDLE_VENV"
  "$PYTHON" -m venv "$BUNDLE_VENV"
  "$VPY" -m pip install -q --upgrade pip
  "$VPY" -m pip install -q -r build/bundle-requirements.txt -c packaging/constraints-cpu.txt
  "$VPY" -m pip install -q --no-deps -r packaging/requirements-nodeps.txt
  echo "$want" > "$BUNDLE_VENV/.requirements.sha256"
fi
env_ready=$(date +%s)

echo "== the app, installed as a wheel installs it"
"$VPY" -m pip install -q --no-deps --force-reinstall .

# PyInstaller copies the system libraries Qt's xcb plugin links to into the bundle, so that a
# desktop without them still opens the window: they must be on the build machine.
if ! missing=$("$VPY" -c '
import sys
from faceorganizer.ui.qt_libraries import check_platforms, describe_missing
message = describe_missing(check_platforms({"QT_QPA_PLATFORM": "xcb"}))
sys.exit(message)' 2>&1); then
  echo "error: this build machine lacks libraries the bundle must carry:" >&2
  echo "$missing" >&2
  exit 2
fi

echo "== PyInstaller"
"$VPY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" packaging/faceorganizer.spec
bundled=$(date +%s)

echo "== desktop files"
"$VPY" packaging/stage_desktop_files.py "$DIST/FaceOrganizer"
cp packaging/install-desktop.sh "$DIST/FaceOrganizer/install-desktop.sh"
echo "$stamp" > "$DIST/FaceOrganizer/SOURCE_STAMP"

echo "== check"
"$VPY" packaging/check_bundle.py "$DIST/FaceOrganizer"
finished=$(date +%s)
echo "build environment $((env_ready - started)) s, PyInstaller $((bundled - env_ready)) s," \
  "total $((finished - started)) s"
