"""Does the window stay responsive? Two figures, each with a baseline from the same run.

1. Event-loop stalls while a scan of the shared photos runs in the app: a QTimer ticks every
   10 ms and records how late each tick is. Baseline: the same timer with the window idle.
   Goal: no stall over 100 ms.
2. Opening the people grid of a synthetic 100k-face library (real thumbnail bytes, random
   embeddings, 5,000 people): window created → grid rows and first paint. Baseline: the same
   on a 1k-face library. Goal: under 1 s. Also opening the largest person's face grid.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_responsiveness.py \
        [--photos DIR] [--max-photos 120] [--faces 100000]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "faces"
CACHE = Path(os.environ.get("FO_BENCH_CACHE", Path(tempfile.gettempdir()) / "fo-cache-F"))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.ui.app import make_app  # noqa: E402
from faceorganizer.ui.mainwindow import MainWindow  # noqa: E402


class StallMeter:
    """A 10 ms timer; every tick records how much later than 10 ms it came."""

    def __init__(self, interval_ms: int = 10) -> None:
        self.interval = interval_ms
        self.lates: list[float] = []
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.lates.clear()
        self.clock.start()
        self._last = self.clock.nsecsElapsed()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.lates.append(max(0.0, (now - self._last) / 1e6 - self.interval))
        self._last = now

    def summary(self) -> dict[str, float]:
        a = np.array(self.lates or [0.0])
        return {
            "ticks": float(len(a)),
            "max_ms": float(a.max()),
            "p99_ms": float(np.percentile(a, 99)),
            "over_50ms": float((a > 50).sum()),
            "over_100ms": float((a > 100).sum()),
        }


def spin(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def window_on(library: Path, tmp: Path) -> MainWindow:
    settings = QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch_folders", False)
    w = MainWindow(library, device="auto", qsettings=settings)
    w.resize(1280, 820)
    w.show()
    return w


def pick_photos(root: Path, limit: int) -> list[Path]:
    exts = {".jpg", ".jpeg", ".png", ".webp"}
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in exts)
    return files[:limit]


def measure_scan(photos_root: Path, limit: int, tmp: Path) -> tuple[dict, dict, float]:
    folder = tmp / "photos"
    for p in pick_photos(photos_root, limit):
        dest = folder / p.relative_to(photos_root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(p, dest)
        except OSError:
            shutil.copyfile(p, dest)
    meter = StallMeter()
    meter.start()
    t_open = time.monotonic()
    w = window_on(tmp / "scan.sqlite3", tmp)
    while not w.engine_ready and time.monotonic() - t_open < 300:
        spin(50)
    meter.stop()
    startup = meter.summary()
    startup["seconds"] = time.monotonic() - t_open
    meter.start()
    spin(3000)
    meter.stop()
    idle = meter.summary()

    finished: list[object] = []
    w.scan_done.connect(finished.append)
    t0 = time.monotonic()
    meter.start()
    w.scans.start_scan([str(folder)])
    while not finished and time.monotonic() - t0 < 900:
        spin(100)
    meter.stop()
    seconds = time.monotonic() - t0
    busy = meter.summary()
    w.close()
    return startup, idle, busy, seconds


def thumbnail_bytes() -> bytes:
    """A real face thumbnail (a crop of a shared LFW photo), JPEG like the library stores."""
    from PIL import Image

    src = next(iter(sorted((SHARED / "lfw_dev").rglob("*.jpg"))))
    im = Image.open(src).convert("RGB").crop((70, 60, 180, 190)).resize((112, 112))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def synthetic_library(path: Path, n_faces: int, n_people: int, seed: int = 0) -> Path:
    """A library file with the real schema and ``n_faces`` faces in ``n_people`` people
    (sizes Zipf-like, the largest first), cached between runs."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    Library.open(tmp).close()
    rng = np.random.default_rng(seed)
    thumb = thumbnail_bytes()
    weights = 1.0 / np.arange(1, n_people + 1) ** 0.8
    person_of = rng.choice(n_people, size=n_faces, p=weights / weights.sum()) + 1
    person_of[rng.random(n_faces) < 0.08] = 0  # unassigned
    now = "2026-01-01T00:00:00"
    conn = sqlite3.connect(tmp)
    with conn:
        conn.executemany(
            "INSERT INTO persons(id, name, cover_face_id, hidden, created_at) VALUES (?,?,?,?,?)",
            [
                (i, f"Person {i}" if i % 7 == 0 else None, None, 0, now)
                for i in range(1, n_people + 1)
            ],
        )
        n_photos = n_faces // 2
        conn.executemany(
            "INSERT INTO photos(id, path, size, mtime, width, height, status, model_id, "
            "scanned_at) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    i,
                    f"/photos/{i // 1000:03d}/IMG_{i:06d}.jpg",
                    1000,
                    0.0,
                    4000,
                    3000,
                    "ok",
                    "dlib-resnet-v1",
                    now,
                )
                for i in range(1, n_photos + 1)
            ],
        )
        emb = rng.standard_normal((n_faces, 128)).astype(np.float32)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        conn.executemany(
            "INSERT INTO faces(id, photo_id, x1, y1, x2, y2, score, embedding, model_id, "
            "thumbnail, person_id, assigned_by, hidden) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0)",
            [
                (
                    i + 1,
                    i // 2 + 1,
                    100.0,
                    100.0,
                    300.0,
                    300.0,
                    0.99,
                    emb[i].tobytes(),
                    "dlib-resnet-v1",
                    thumb,
                    int(person_of[i]) or None,
                    "auto" if person_of[i] else None,
                )
                for i in range(n_faces)
            ],
        )
        conn.execute(
            "UPDATE persons SET cover_face_id = (SELECT min(id) FROM faces f "
            "WHERE f.person_id = persons.id)"
        )
        conn.execute("DELETE FROM persons WHERE cover_face_id IS NULL")
    conn.close()
    tmp.rename(path)
    return path


def measure_open(library: Path, tmp: Path) -> tuple[float, float, int, int]:
    """Seconds to a painted people grid, seconds to a painted largest-person grid."""
    app = QApplication.instance()
    t0 = time.perf_counter()
    w = window_on(library, tmp)
    loop = QEventLoop()
    w.people_model.modelReset.connect(loop.quit)
    w.people_model.rowsInserted.connect(loop.quit)
    QTimer.singleShot(60_000, loop.quit)
    if w.people_model.rowCount() == 0:
        loop.exec()
    w.people_view.viewport().repaint()
    grid_s = time.perf_counter() - t0
    rows = w.people_model.rowCount()
    largest = w.people_model.people()[0]
    t1 = time.perf_counter()
    w.navigation.open_person(largest.person_id)
    app.processEvents()
    w.faces_view.viewport().repaint()
    person_s = time.perf_counter() - t1
    w.close()
    return grid_s, person_s, rows, largest.face_count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--photos", type=Path, default=SHARED / "photos")
    ap.add_argument("--max-photos", type=int, default=120)
    ap.add_argument("--faces", type=int, default=100_000)
    ap.add_argument("--people", type=int, default=5_000)
    ap.add_argument("--skip-scan", action="store_true")
    args = ap.parse_args()
    make_app()
    tmp = Path(tempfile.mkdtemp(prefix="fo-gui-bench-"))
    try:
        if not args.skip_scan:
            startup, idle, busy, seconds = measure_scan(args.photos, args.max_photos, tmp)
            print(
                f"window open + engine warm-up ({startup['seconds']:.1f} s, first imports on "
                f"the engine thread): longest stall {startup['max_ms']:.1f} ms"
            )
            print(f"scan of {args.max_photos} shared photos in the app: {seconds:.1f} s")
            print(
                f"  idle window : longest stall {idle['max_ms']:.1f} ms, "
                f"p99 {idle['p99_ms']:.1f} ms ({idle['ticks']:.0f} ticks)"
            )
            print(
                f"  during scan : longest stall {busy['max_ms']:.1f} ms, "
                f"p99 {busy['p99_ms']:.1f} ms, {busy['over_50ms']:.0f} ticks > 50 ms, "
                f"{busy['over_100ms']:.0f} > 100 ms ({busy['ticks']:.0f} ticks)"
            )
            ratio = busy["max_ms"] / max(idle["max_ms"], 1.0)
            verdict = "ok" if busy["max_ms"] <= 100 else "OVER GOAL"
            print(f"  longest stall scan/idle ratio {ratio:.1f}x; goal <= 100 ms: {verdict}")

        small = synthetic_library(CACHE / "synthetic-1000.sqlite3", 1_000, 50)
        big = synthetic_library(CACHE / f"synthetic-{args.faces}.sqlite3", args.faces, args.people)
        base_grid, base_person, base_rows, _ = measure_open(small, tmp)
        grid_s, person_s, rows, biggest = measure_open(big, tmp)
        print(
            f"people grid, 1k-face library (baseline): {base_grid * 1000:.0f} ms "
            f"({base_rows} cards)"
        )
        print(
            f"people grid, {args.faces // 1000}k-face library: {grid_s * 1000:.0f} ms "
            f"({rows} cards shown of {args.people}); ratio {grid_s / base_grid:.1f}x; "
            f"goal < 1 s: {'ok' if grid_s < 1 else 'OVER GOAL'}"
        )
        print(
            f"largest person's faces ({biggest:,} faces): {person_s * 1000:.0f} ms "
            f"(baseline person {base_person * 1000:.0f} ms)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
