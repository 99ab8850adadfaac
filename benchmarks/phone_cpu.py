"""Phone photos in CPU time: what load on a shared machine cannot distort.

Wall-clock photos/s on a machine that other work keeps busy say little; this prints, for the
generated 4032x3024 phone photos of ``phone_scenes.py`` (JPEG, or the HEIC copies):

1. One thread (``torch.set_num_threads(1)``): CPU ms per photo of each engine stage (decode,
   detect with its own stages, align, thumbnail, embed), measured with ``time.thread_time``
   (decode with ``time.process_time``: libheif decodes HEIC tiles on threads of its own) on
   the engine's own decoder, detector and embedder, one photo after another, and the recall
   of the pasted faces; with ``--rounds R``, R passes and each figure's median and minimum
   (other work slows a pass down, never speeds it up).
2. The engine as a scan runs it (``FaceEngine.process`` with its decode threads and its
   default torch threads): wall photos/s, CPU ms per photo (``getrusage``, all threads), cores
   busy (CPU / wall), parallel efficiency (CPU / (wall x CPUs)), the CPU seconds of each kind
   of thread (read from ``/proc/self/task``) and the photos/s those allow on an idle machine
   with this many CPUs: photos / max(busiest thread's CPU, all CPU / CPUs). That bound ignores
   waits between threads, so it is an upper bound; on a quiet machine wall photos/s should
   come near it. On a loaded machine CPU / wall only says how much CPU the others left us, so
   the run also samples how many of its threads are runnable (state R: running, or ready and
   waiting for a CPU) every 10 ms: the mean of min(runnable, CPUs) / CPUs is the parallel
   efficiency the engine's structure allows, whatever the load (an OpenMP thread spinning
   while it waits for work counts as runnable too).

Each part runs in a child process of its own: the first with ``OMP_NUM_THREADS=1``, the second
with the environment as given (as a scan would run).

Run: ``.venv/bin/python benchmarks/phone_cpu.py [--photos N] [--keep DIR] [--heic]
[--rounds R] [--skip-single] [--skip-engine]`` (``--keep`` reuses photos built by
``phone_photos.py --keep DIR``; without it they are built in a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import phone_scenes as ps  # noqa: E402


def load_text() -> str:
    try:
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load unknown"


def photo_paths(photos: list[ps.PhonePhoto], work: Path, heic: bool) -> list[str]:
    if not heic:
        return [p.path for p in photos]
    return [str(work / "heic" / f"{Path(p.path).stem}.heic") for p in photos]


def recall(photos: list[ps.PhonePhoto], boxes: dict[str, list]) -> tuple[int, int]:
    hits = sum(sum(ps.matched(p.faces, boxes.get(p.path, []))) for p in photos)
    return hits, sum(len(p.faces) for p in photos)


def single_thread(photos: list[ps.PhonePhoto], paths: list[str], rounds: int) -> None:
    """Each stage of each photo on this thread alone, in CPU time; ``rounds`` passes over the
    photos, each stage's median and minimum over the passes (other work on a shared machine
    slows a pass down, never speeds it up: the minimum is the steadiest figure)."""
    import torch

    from faceorganizer.core.mtcnn import StageTimes
    from faceorganizer.core.pipeline import FaceEngine, _to_original
    from faceorganizer.core.thumbnails import face_thumbnail

    torch.set_num_threads(1)
    engine = FaceEngine(device="cpu", decode_threads=1)
    detector, embedder = engine.detector, engine.embedder
    decode = getattr(engine, "load_photo", None)  # older engines: load_image at decode_side
    if decode is None:
        from faceorganizer.core.images import load_image

        def decode(path: str):  # type: ignore[misc]
            return load_image(path, max_side=engine.decode_side)

    clock = time.thread_time
    passes: list[dict[str, float]] = []
    inner_clock = "CPU"
    for _ in range(rounds):
        try:
            detector.times = StageTimes(clock=clock)
        except TypeError:  # an older tree: its detector's stages in wall time
            detector.times = StageTimes()
            inner_clock = "wall"
        cpu: dict[str, float] = defaultdict(float)
        boxes: dict[str, list] = {}
        n_faces = 0
        for photo, path in zip(photos, paths, strict=True):
            start = time.process_time()
            image = decode(path)
            cpu["decode"] += time.process_time() - start
            t1 = clock()
            faces = detector.detect([image.rgb])[0]
            t2 = clock()
            chips = embedder.prepare(image.rgb, faces)
            t3 = clock()
            for f in faces:
                face_thumbnail(image.rgb, f.box)
            t4 = clock()
            embedder.embed(chips)
            t5 = clock()
            for stage, a, b in (
                ("detect", t1, t2),
                ("align", t2, t3),
                ("thumbnail", t3, t4),
                ("embed", t4, t5),
            ):
                cpu[stage] += b - a
            n_faces += len(faces)
            boxes[photo.path] = [_to_original(f, image.scale).box for f in faces]
        cpu["total"] = sum(cpu.values())
        inner = dict(detector.times.seconds)
        cpu.update({f"detect.{k}": v for k, v in inner.items()})
        passes.append(cpu)
    n = len(photos)
    hits, total = recall(photos, boxes)

    def figures(keys: list[str]) -> str:
        out = []
        for k in keys:
            values = sorted(1000 * p[k] / n for p in passes)
            median = values[len(values) // 2]
            out.append(
                f"{k.removeprefix('detect.')} {median:.0f}"
                + (f" (min {values[0]:.0f})" if len(values) > 1 else "")
            )
        return ", ".join(out)

    stages = [k for k in passes[0] if not k.startswith("detect.") and k != "total"]
    inner_keys = [k for k in passes[0] if k.startswith("detect.")]
    print(
        f"one thread, CPU ms per photo ({n} photos, {n_faces / n:.1f} faces per photo found, "
        f"median of {rounds} passes):"
    )
    print("  " + figures(stages))
    print("  " + figures(["total"]))
    print(f"  detect ({inner_clock}): " + figures(inner_keys))
    counts = ", ".join(f"{k} {v / n:.0f}" for k, v in detector.times.counts.items())
    print(f"  candidates per photo: {counts}")
    print(
        f"  recall {hits}/{total}; decode side {engine.decode_side}, detect side "
        f"{detector.detect_side}"
    )


class ThreadCPU:
    """CPU seconds of each thread of this process, sampled from /proc while they run (a thread
    that ends keeps its last reading), named by its Python thread ("native" for threads Python
    did not start: torch's and libheif's workers)."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.last: dict[int, tuple[str, float]] = {}
        self.runnable: list[int] = []
        self.ticks = os.sysconf("SC_CLK_TCK")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def __enter__(self) -> ThreadCPU:
        self.sample()
        self.start = dict(self.last)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        names = {t.native_id: t.name for t in threading.enumerate()}
        me = threading.get_native_id()
        runnable = 0
        for task in Path("/proc/self/task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue
            tid = int(task.name)
            name = names.get(tid) or self.last.get(tid, ("native", 0.0))[0]
            fields = stat[stat.rindex(")") + 2 :].split()
            seconds = (int(fields[11]) + int(fields[12])) / self.ticks
            self.last[tid] = (name, seconds)
            runnable += fields[0] == "R" and tid != me
        self.runnable.append(runnable)

    def structural_efficiency(self, ncpu: int) -> tuple[float, float]:
        """Mean runnable threads, and mean of min(runnable, ncpu) / ncpu over the samples."""
        if not self.runnable:
            return 0.0, 0.0
        n = len(self.runnable)
        return sum(self.runnable) / n, sum(min(r, ncpu) for r in self.runnable) / (n * ncpu)

    def by_name(self) -> dict[str, tuple[float, float]]:
        """Thread name (digits dropped) -> (CPU seconds of all, of the busiest such thread)."""
        out: dict[str, tuple[float, float]] = {}
        for tid, (name, seconds) in self.last.items():
            used = seconds - self.start.get(tid, (name, 0.0))[1]
            key = name.rstrip("0123456789_-") or name
            total, top = out.get(key, (0.0, 0.0))
            out[key] = (total + used, max(top, used))
        return out


def engine_run(photos: list[ps.PhonePhoto], paths: list[str]) -> None:
    """The engine over every photo as a scan drives it, with wall, CPU and per-thread CPU."""
    from faceorganizer.core.pipeline import FaceEngine

    threading.current_thread().name = "engine"
    engine = FaceEngine(device="cpu")
    ncpu = os.cpu_count() or 1
    n = len(paths)
    boxes: dict[str, list] = {}
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    with ThreadCPU() as threads:
        start = time.perf_counter()
        for photo, result in zip(photos, engine.process(paths), strict=True):
            boxes[photo.path] = [f.detection.box for f in result.faces]
        wall = time.perf_counter() - start
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    per_thread = threads.by_name()
    per_thread.pop("cpu-sampler", None)
    busiest = max(top for _, top in per_thread.values())
    bound = n / max(busiest, cpu / ncpu)
    hits, total = recall(photos, boxes)
    print(f"engine as a scan runs it ({n} photos, {ncpu} CPUs, {load_text()}):")
    print(f"  wall {wall:.1f} s: {n / wall:.2f} photos/s; CPU {1000 * cpu / n:.0f} ms per photo")
    runnable, structural = threads.structural_efficiency(ncpu)
    print(f"  cores busy {cpu / wall:.2f}, parallel efficiency {cpu / (wall * ncpu):.2f}")
    print(
        f"  runnable threads {runnable:.2f} on average: parallel efficiency the structure "
        f"allows {structural:.2f}"
    )
    print(
        "  CPU s by thread (all, busiest): "
        + ", ".join(f"{k} {a:.1f}/{b:.1f}" for k, (a, b) in sorted(per_thread.items()))
    )
    print(f"  idle-machine bound {bound:.2f} photos/s; recall {hits}/{total}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=8)
    p.add_argument("--keep", type=Path, help="build into (or reuse) this folder")
    p.add_argument("--heic", action="store_true", help="the HEIC copies instead of the JPEGs")
    p.add_argument("--rounds", type=int, default=1, help="passes of the one-thread part")
    p.add_argument("--skip-single", action="store_true")
    p.add_argument("--skip-engine", action="store_true")
    p.add_argument("--part", choices=("single", "engine"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    work = (args.keep or Path(tempfile.mkdtemp(prefix="phone-cpu-"))).resolve()
    if (work / "truth.json").exists() and len(ps.read_truth(work)) >= args.photos:
        photos = ps.read_truth(work)[: args.photos]
    else:
        photos = ps.build_photos(work, args.photos, heic=args.heic)
    paths = photo_paths(photos, work, args.heic)
    if args.part == "single":
        single_thread(photos, paths, args.rounds)
        return 0
    if args.part == "engine":
        engine_run(photos, paths)
        return 0
    kind = "HEIC" if args.heic else "JPEG"
    print(f"{len(photos)} {kind} photos in {work}; {load_text()} at start")
    child = [sys.executable, __file__, "--photos", str(args.photos), "--keep", str(work)]
    child += ["--heic"] if args.heic else []
    if not args.skip_single:
        env = dict(os.environ, OMP_NUM_THREADS="1")
        single = [*child, "--part", "single", "--rounds", str(args.rounds)]
        subprocess.run(single, env=env, check=True)
    if not args.skip_engine:
        subprocess.run([*child, "--part", "engine"], check=True)
    print(f"{load_text()} at end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
