"""The shared test photos beside the repo (``../shared/data/faces``, never copied into it) and
their manifest."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FACES_DIR = Path(
    os.environ.get("FACEORGANIZER_TEST_FACES", REPO.parent / "shared" / "data" / "faces")
)


@dataclass(frozen=True)
class ManifestRow:
    relpath: str
    person: str
    kind: str
    width: int
    height: int
    exif_orientation: int | None

    @property
    def path(self) -> Path:
        return FACES_DIR / self.relpath


def load_manifest() -> list[ManifestRow]:
    with open(FACES_DIR / "manifest.csv", newline="") as f:
        return [
            ManifestRow(
                r["relpath"],
                r["person"],
                r["kind"],
                int(r["width"]),
                int(r["height"]),
                int(r["exif_orientation"]) if r["exif_orientation"] else None,
            )
            for r in csv.DictReader(f)
        ]
