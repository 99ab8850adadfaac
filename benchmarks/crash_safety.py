"""The crash-safety battery: ``kill -9`` of real scans, re-clusterings, edit streams and exports
at random moments, each kill followed by an integrity check, a duplicate check and a check of
every earlier edit (``tests/helpers/crash_battery.py``). Prints the cases tried, the crashes (a
job that failed on its own) and what was lost (a check that failed).

    python benchmarks/crash_safety.py                      # 24 kills: 10 scan, 5 cluster, ...
    python benchmarks/crash_safety.py --scans 20 --seed 3  # more, another random sequence
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers.crash_battery import Battery  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=150, help="photos of the first scan")
    parser.add_argument("--scans", type=int, default=10, help="kills of scans")
    parser.add_argument("--clusters", type=int, default=5, help="kills of re-clusterings")
    parser.add_argument("--edits", type=int, default=5, help="kills of edit streams")
    parser.add_argument("--exports", type=int, default=4, help="kills of exports")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONPATH", str(REPO))
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fo-crash-") as tmp:
        battery = Battery(Path(tmp), args.photos, args.seed)
        phases = []
        for name, step in (
            ("scan", lambda: battery.kill_scans(args.scans)),
            ("cluster", lambda: battery.kill_clusters(args.clusters)),
            ("edits", lambda: (battery.name_everyone(), battery.kill_edits(args.edits, 2.0))),
            ("export", lambda: battery.kill_exports(args.exports)),
        ):
            t0 = time.monotonic()
            step()
            phases.append(f"{name} {time.monotonic() - t0:.0f} s")
        photos = len(list(battery.folder.rglob("*.jpg")))
    f = battery.figures
    with open("/proc/loadavg") as fh:
        load_after = fh.read().split()[:3]
    print(f"photos scanned: {photos}; seed {args.seed}")
    print(f"kills: {f.kills} ({', '.join(f'{k} {v}' for k, v in f.tried.items())})")
    ended = ", ".join(f"{k} {v}" for k, v in f.finished_first.items()) or "none"
    print(f"jobs that ended before their kill (not counted): {ended}")
    print(f"crashes: {len(f.crashes)}")
    for line in f.crashes:
        print(f"  {line}")
    print(f"lost: {len(f.lost)}")
    for line in f.lost:
        print(f"  {line}")
    print(f"time: {time.monotonic() - started:.0f} s ({'; '.join(phases)})")
    print(f"load average before/after: {' '.join(load_before)} / {' '.join(load_after)}")
    return 1 if f.crashes or f.lost else 0


if __name__ == "__main__":
    sys.exit(main())
