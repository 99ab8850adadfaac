"""The shared test photos beside the repo (``../shared/data/faces``, or
``FACEORGANIZER_TEST_FACES``; never copied into it) and their manifest.

In a fresh clone without them, the tests marked ``shared_photos`` are skipped and counted at the
end of the run (``tests/conftest.py``); where ``FACEORGANIZER_REQUIRE_SHARED=1`` (CI) they fail
instead."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FACES_DIR = Path(
    os.environ.get("FACEORGANIZER_TEST_FACES", REPO.parent / "shared" / "data" / "faces")
)
REQUIRED = os.environ.get("FACEORGANIZER_REQUIRE_SHARED") == "1"
SKIP_REASON = "needs the shared test photos"


def available() -> bool:
    return (FACES_DIR / "manifest.csv").is_file()


def missing_message() -> str:
    return f"the shared test photos are not at {FACES_DIR}"


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
