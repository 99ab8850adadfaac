"""``kill -9`` of real FaceOrganizer processes at random moments (``crash_battery``): two scans,
a re-clustering, a stream of edits and an export. After each kill the library passes SQLite's
integrity check, holds no face twice, keeps what was stored and every earlier edit, and the next
run finishes. The longer battery, with its figures, is ``benchmarks/crash_safety.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.crash_battery import Battery

PHOTOS = 80


@pytest.mark.slow
def test_kill9_of_scan_cluster_edits_and_export_loses_nothing(tmp_path: Path) -> None:
    battery = Battery(tmp_path, PHOTOS, seed=int(os.environ.get("FO_KILL_SEED", "9")))
    battery.kill_scans(2)
    battery.kill_clusters(1)
    battery.name_everyone()
    battery.kill_edits(1, window=2.0)
    battery.kill_exports(1)
    figures = battery.figures
    assert figures.kills == 5, figures
    assert figures.crashes == [] and figures.lost == [], figures
