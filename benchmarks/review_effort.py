"""How much work the review queue leaves a user: clicks to a near-perfect library.

Scans DATASET (default: ``lfw_dev`` + ``lfw_strangers`` + the single-person photos) into a fresh
library and counts the *errors* a perfect library needs fixed (``review_truth.count_errors``:
one merge per extra group of a person, one move per face in the wrong person, one assignment per
loose face of a person with 2+ photos, one removal per stranger inside a group) - the clicks of
a user who knew where every error is. Then a simulated user who knows the truth answers the
review queue in the app's order, one click per answer (a question showing several faces that is
accepted whole is one click; each face unticked before accepting is one more), until the queue
is empty. A face the truth does not know (not a photo's labelled face) is one the user cannot
judge, except that it is not the labelled person of its own photo: a question it cannot answer
is skipped (one click), a face it cannot vouch for is unticked.

DATASET is any folder of person sub-folders; a person with one photo is a stranger. The scanned
library is cached (by model, recipe, the files and the engine's code) so a rerun only clusters
and reviews; ``--rescan`` scans afresh. The last line is
``clicks N errors_before E errors_left R photos M final_bcubed_F F``.

    .venv/bin/python benchmarks/review_effort.py [DATASET] [--model ID] [--rescan]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from quality_data import CACHE_DIR, FACES_DIR, REPO
from review_truth import (
    Truth,
    count_errors,
    dataset_photos,
    labelled_faces,
    person_of_faces,
    scores,
)

from faceorganizer.services.library import Library
from faceorganizer.services.review import queue as review_queue
from faceorganizer.services.review import scoring
from faceorganizer.services.scan.files import normalise
from faceorganizer.services.types import Suggestion

DEFAULT_ROOTS = (("lfw_dev", 1), ("lfw_strangers", 1), ("photos", 2))
ENGINE_CODE = (
    "core/models", "core/alignment.py", "core/detection.py", "core/images.py", "core/pipeline.py",
    "core/thumbnails.py", "services/scan/scanner.py", "services/scan/files.py", "core/mtcnn.py",
    "core/boxes.py", "core/quality_signals.py",
)  # fmt: skip


def roots_of(dataset: Path | None) -> list[tuple[Path, int]]:
    if dataset is None:
        return [(FACES_DIR / name, depth) for name, depth in DEFAULT_ROOTS]
    return [(dataset, 1)]


def scan_folders(person_of: dict[str, str], roots: list[tuple[Path, int]]) -> list[str]:
    """The person folders to scan (a root's folders starting with ``_`` are left out)."""
    folders = set()
    for path in person_of:
        for root, depth in roots:
            base = normalise(root)
            if path.startswith(base + "/"):
                parts = Path(path).relative_to(base).parts
                folders.add(str(Path(base, *parts[:depth])))
    return sorted(folders)


def _cache_key(model_id: str, person_of: dict[str, str]) -> str:
    from faceorganizer.core.models.registry import recipe_of

    h = hashlib.sha1(f"{model_id}#{recipe_of(model_id)}".encode())
    for path in sorted(person_of):
        st = Path(path).stat()
        h.update(f"{path}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    code = REPO / "faceorganizer"
    for part in ENGINE_CODE:
        for f in sorted((code / part).rglob("*.py")) if (code / part).is_dir() else [code / part]:
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def scanned_library(
    person_of: dict[str, str], folders: list[str], model_id: str, device: str, rescan: bool
) -> Path:
    """A library with the dataset scanned into it (not yet grouped), from the cache if there."""
    cache = CACHE_DIR / "review" / f"{model_id}-{_cache_key(model_id, person_of)}.sqlite3"
    if cache.exists() and not rescan:
        print(f"scanned library from the cache: {cache}")
        return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    t0 = time.perf_counter()
    with Library.open(tmp, device=device) as lib:
        lib.set_setting("model_id", model_id)
        summary = lib.scan(folders, cluster=False)
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    tmp.replace(cache)
    print(
        f"scanned {summary.new} photos ({summary.faces_added} faces, {summary.failed} failed) "
        f"in {time.perf_counter() - t0:.0f} s"
    )
    return cache


class SimulatedUser:
    """Answers review questions as a user who knows who every labelled face is."""

    def __init__(self, truth: Truth) -> None:
        self.truth = truth
        self.clicks: Counter[str] = Counter()

    def _labels_of_person(self, con: sqlite3.Connection, pid: int, skip: int = -1) -> Counter:
        rows = con.execute("SELECT id FROM faces WHERE person_id = ? AND hidden = 0", [pid])
        return Counter(self.truth.label[f] for (f,) in rows if f in self.truth.label and f != skip)

    def _home(self, con: sqlite3.Connection, pid: int, skip: int = -1) -> str | None:
        labels = self._labels_of_person(con, pid, skip)
        if not labels:
            return None
        return max(labels, key=lambda lab: (labels[lab], lab not in self.truth.strangers, lab))

    def answer(self, lib: Library, s: Suggestion) -> str:
        """Answer ``s`` through the library; the answer's name ("accept", "reject", "skip")."""
        con = lib.db.conn
        label = self.truth.label.get
        if s.kind == "merge":
            a = self._home(con, int(s.person_id or 0))
            b = self._home(con, int(s.other_person_id or 0))
            if a is None or b is None:
                return self._click(s, "skip", 1)
            if a == b:
                lib.review_accept(s.suggestion_id)
                return self._click(s, "accept", 1)
            lib.review_reject(s.suggestion_id)
            return self._click(s, "reject", 1)
        if s.kind == "odd":
            fid = s.face_ids[0]
            rest = self._home(con, int(s.person_id or 0), skip=fid)
            if rest is None or (label(fid) is None and not self.truth.is_not(fid, rest)):
                return self._click(s, "skip", 1)
            if self.truth.is_not(fid, rest):
                lib.review_accept(s.suggestion_id)
                return self._click(s, "accept", 1)
            lib.review_reject(s.suggestion_id)
            return self._click(s, "reject", 1)
        if s.kind == "who":
            home = self._home(con, int(s.person_id or 0))
            right = [f for f in s.face_ids if home is not None and label(f) == home]
        else:
            counts = Counter(label(f) for f in s.face_ids if label(f) is not None)
            best = max(counts, key=lambda lab: (counts[lab], lab), default=None)
            enough = best is not None and counts[best] >= 2
            right = [f for f in s.face_ids if enough and label(f) == best]
        if not right:
            if s.kind == "who" and not all(self.truth.is_not(f, home) for f in s.face_ids):
                return self._click(s, "skip", 1)  # faces it cannot tell about
            lib.review_reject(s.suggestion_id)
            return self._click(s, "reject", 1)
        wrong = [f for f in s.face_ids if f not in right]
        lib.review_accept(s.suggestion_id, excluded=wrong)
        return self._click(s, "accept" if not wrong else "accept-some", 1 + len(wrong))

    def _click(self, s: Suggestion, answer: str, n: int) -> str:
        self.clicks[f"{s.kind} {answer}"] += n
        return answer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", type=Path, help="folder of person sub-folders")
    ap.add_argument("--model", default="dlib-resnet-v1")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--rescan", action="store_true", help="scan afresh, not from the cache")
    ap.add_argument("--max-clicks", type=int, default=5000, help="stop a runaway queue")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every answer")
    ap.add_argument(
        "--calibration", type=Path, help="a review calibration file instead of the shipped one"
    )
    ap.add_argument("--min-chance", type=float, help="ask down to this chance (for tuning)")
    args = ap.parse_args()
    if args.min_chance is not None:
        review_queue.MIN_CHANCE = args.min_chance
    if args.calibration is not None:
        chosen = scoring.ReviewCalibration.from_json(
            args.calibration.read_text("utf-8"), str(args.calibration)
        )
        scoring.review_calibration = lambda _model_id: chosen

    roots = roots_of(args.dataset)
    person_of = dataset_photos(roots)
    if not person_of:
        sys.exit(f"no photos in person sub-folders of {args.dataset}")
    folders = scan_folders(person_of, roots)
    scanned = scanned_library(person_of, folders, args.model, args.device, args.rescan)
    with tempfile.TemporaryDirectory(prefix="review-effort-") as tmp:
        db = Path(tmp) / "library.sqlite3"
        shutil.copyfile(scanned, db)
        with Library.open(db, device=args.device) as lib:
            t0 = time.perf_counter()
            lib.cluster()
            print(f"grouped into people in {time.perf_counter() - t0:.1f} s")
            run(lib, person_of, args)


def run(lib: Library, person_of: dict[str, str], args: argparse.Namespace) -> None:
    con = lib.db.conn
    truth = labelled_faces(con, person_of)
    photos = con.execute("SELECT count(*) FROM photos").fetchone()[0]
    people = len({lab for lab in truth.label.values()})
    print(
        f"{photos} photos, {len(truth.label)} labelled faces of {people} people "
        f"({len(truth.strangers)} strangers)"
    )
    before = count_errors(truth, person_of_faces(con))
    p0, f0 = scores(truth, person_of_faces(con))
    print(f"errors before: {before.line()}; pairwise precision {p0:.4f}, BCubed F {f0:.4f}")
    user = SimulatedUser(truth)
    skipped: list[str] = []
    queue_ms: list[float] = []
    while sum(user.clicks.values()) < args.max_clicks:
        t0 = time.perf_counter()
        queue = lib.review_queue(limit=1, skipped=skipped)
        queue_ms.append(1000 * (time.perf_counter() - t0))
        if not queue:
            break
        s = queue[0]
        answer = user.answer(lib, s)
        if answer == "skip":
            skipped.append(s.suggestion_id)
        if args.verbose:
            print(f"  {s.suggestion_id:24s} {s.kind:5s} {100 * s.chance:5.1f} %  {answer}")
    clicks = sum(user.clicks.values())
    after = count_errors(truth, person_of_faces(con))
    p1, f1 = scores(truth, person_of_faces(con))
    print("clicks by answer: " + ", ".join(f"{k} {v}" for k, v in sorted(user.clicks.items())))
    print(f"questions asked {len(queue_ms) - 1}; queue computed in median "
          f"{np.median(queue_ms):.0f} ms, max {max(queue_ms):.0f} ms")  # fmt: skip
    print(f"errors left: {after.line()}; pairwise precision {p1:.4f}, BCubed F {f1:.4f}")
    print(
        f"goals: BCubed F >= 0.995 {'met' if f1 >= 0.995 else 'NOT met'}; errors left <= 10 % "
        f"of before {'met' if after.total <= 0.1 * before.total else 'NOT met'}; clicks <= "
        f"errors before {'met' if clicks <= before.total else 'NOT met'}"
    )
    print(
        f"clicks {clicks} errors_before {before.total} errors_left {after.total} "
        f"photos {photos} final_bcubed_F {f1:.4f}"
    )


if __name__ == "__main__":
    main()
