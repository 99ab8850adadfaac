"""FaceOrganizer: turn a folder of photos into people, offline."""

import os

# OpenMP threads that spin while they wait collapse (10x slower, measured) when decode threads,
# the GUI or other programs share a small CPU; passive waiting costs nothing measurable alone.
# It must be set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
