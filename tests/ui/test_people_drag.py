"""5. Drag-to-merge reaches cards off screen: near the grid's edge the drag scrolls it, and the
wheel scrolls it during the drag (Qt's drag loop swallowed the wheel, and Qt's own auto-scroll
never moved this grid). Qt's real drag loop runs in a child process on the minimal platform
(helpers/people_drag_probe.py); the offscreen platform of the other tests has no drag loop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from faceorganizer.ui.people_view import CARD

PROBE = Path(__file__).parents[1] / "helpers" / "people_drag_probe.py"


def test_a_drag_scrolls_at_the_edge_and_with_the_wheel_and_drops_off_screen() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="minimal")
    done = subprocess.run(
        [sys.executable, str(PROBE)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["scrolled_at_edge"] > 2 * CARD.height(), result
    assert result["wheel"] >= result["single_step"] > 0, result
    target = result["target"]
    assert target is not None and target >= result["first_hidden"], result  # was off screen
    assert result["merges"] == [[target, [1]]]
