"""``kill -9`` of real FaceOrganizer processes (scan, cluster, edits, export) at random moments,
each kill followed by the same checks: the file passes SQLite's integrity check, no face is
stored twice and none points nowhere, what was stored before is unchanged, the user's earlier
edits are all there, and the next run of the same job finishes.

Shared by ``tests/services/library/test_kill9.py`` (a few kills) and
``benchmarks/crash_safety.py`` (the battery, with its figures).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.needs import needs
from tests.helpers.photos import FACES_DIR

REPO = Path(__file__).resolve().parents[2]

# Random edits through the Library API, one transaction each, until killed; every edit, undo
# and redo that returned is printed, so the checker knows what must have been kept.
EDITS = textwrap.dedent(
    """
    import random, sys
    from faceorganizer.services.errors import LibraryError
    from faceorganizer.services.library import Library
    rng = random.Random(int(sys.argv[2]))
    with Library.open(sys.argv[1]) as lib:
        print("ready", flush=True)
        while True:
            people = [p.person_id for p in lib.people(include_hidden=True)]
            faces = [f.face_id for f in lib.faces(include_hidden=True, limit=400)]
            if len(faces) < 3 or not people:
                raise SystemExit("too few faces to edit")
            pick = rng.random()
            try:
                if pick < 0.3:
                    info = lib.name_person(rng.choice(people), f"Name {rng.randrange(10**6)}")
                elif pick < 0.55:
                    info = lib.move_faces(rng.sample(faces, 3), rng.choice(people))
                elif pick < 0.7:
                    info = lib.move_faces(rng.sample(faces, 2), None)
                elif pick < 0.8:
                    info = lib.hide_faces(rng.sample(faces, 2), rng.random() < 0.5)
                elif pick < 0.9:
                    info = lib.undo()
                    if info is not None:
                        print("U", info.edit_id, flush=True)
                    continue
                else:
                    info = lib.redo()
                    if info is not None:
                        print("R", info.edit_id, flush=True)
                    continue
                if info.changed:
                    print("E", info.edit_id, flush=True)
            except LibraryError:
                pass
    """
)


def replay(log: dict[int, bool], op: str, edit_id: int) -> dict[int, bool]:
    """The edit log (id -> undone) after one edit (E), undo (U) or redo (R)."""
    out = dict(log)
    if op == "E":
        out = {i: u for i, u in out.items() if not u}
        out[edit_id] = False
    else:
        out[edit_id] = op == "U"
    return out


def in_flight(log: dict[int, bool]) -> list[dict[int, bool]]:
    """Each state one more (unprinted) operation could have left."""
    done = [i for i, u in log.items() if not u]
    undone = [i for i, u in log.items() if u]
    # a new edit first drops the undone ones; SQLite then numbers it after the highest kept id
    found = [replay(log, "E", max(done, default=0) + 1)]
    if done:
        found.append(replay(log, "U", max(done)))
    if undone:
        found.append(replay(log, "R", min(undone)))
    return found


@dataclass
class Figures:
    tried: dict[str, int] = field(default_factory=dict)  # kills per job
    finished_first: dict[str, int] = field(default_factory=dict)  # ended before the kill
    crashes: list[str] = field(default_factory=list)  # a job that failed on its own
    lost: list[str] = field(default_factory=list)  # a check that failed after a kill

    @property
    def kills(self) -> int:
        return sum(self.tried.values())


def faces_per_photo(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    con = sqlite3.connect(db, timeout=30)
    try:
        rows = con.execute(
            "SELECT p.path, count(f.id) FROM photos p LEFT JOIN faces f ON f.photo_id = p.id "
            "GROUP BY p.id"
        ).fetchall()
    except sqlite3.OperationalError:  # killed before the schema was committed
        rows = []
    finally:
        con.close()
    return dict(rows)


def consistency_problems(db: Path) -> list[str]:
    """Integrity, duplicate faces, faces or rejections pointing nowhere."""
    con = sqlite3.connect(db, timeout=30)
    try:
        problems = []
        check = con.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            problems.append(f"integrity: {check}")
        dupes = con.execute(
            "SELECT count(*) FROM (SELECT 1 FROM faces "
            "GROUP BY photo_id, x1, y1, x2, y2 HAVING count(*) > 1)"
        ).fetchone()[0]
        if dupes:
            problems.append(f"{dupes} faces stored twice")
        if con.execute("PRAGMA foreign_key_check").fetchall():
            problems.append("rows pointing nowhere")
        dangling = con.execute(
            "SELECT count(*) FROM faces WHERE person_id IS NOT NULL "
            "AND person_id NOT IN (SELECT id FROM persons)"
        ).fetchone()[0]
        if dangling:
            problems.append(f"{dangling} faces of a person that does not exist")
        return problems
    finally:
        con.close()


def decisions(db: Path) -> dict[str, object]:
    """What the user decided: names, pinned faces, rejections, hidden flags, the edit log."""
    con = sqlite3.connect(db, timeout=30)
    try:
        return {
            "names": con.execute("SELECT id, name FROM persons WHERE name IS NOT NULL").fetchall(),
            "pinned": con.execute(
                "SELECT id, person_id FROM faces WHERE assigned_by = 'user' ORDER BY id"
            ).fetchall(),
            "rejections": con.execute("SELECT * FROM rejections ORDER BY 1, 2").fetchall(),
            "hidden": con.execute("SELECT id FROM faces WHERE hidden = 1 ORDER BY id").fetchall(),
            "edits": con.execute("SELECT id, kind, payload, undone FROM edits").fetchall(),
        }
    finally:
        con.close()


def _kept(earlier: dict[str, object], now: dict[str, object]) -> bool:
    """Every earlier decision and history entry is as it was; new entries are only what a scan or
    a regroup placed (kind ``auto``: a killed run keeps the placements it committed)."""
    old_edits = {row[0]: row for row in earlier["edits"]}  # type: ignore[attr-defined]
    new_edits = {row[0]: row for row in now["edits"]}  # type: ignore[attr-defined]
    if any(new_edits.get(i) != row for i, row in old_edits.items()):
        return False
    if any(row[1] != "auto" for i, row in new_edits.items() if i not in old_edits):
        return False
    return {k: v for k, v in earlier.items() if k != "edits"} == {
        k: v for k, v in now.items() if k != "edits"
    }


def tree_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@needs("real_model", "shared_photos")  # processes that scan shared photos, killed
class Battery:
    """One library and its photo folder under ``root``, killed again and again."""

    def __init__(self, root: Path, photos: int, seed: int) -> None:
        self.root = root
        self.folder = root / "photos"
        self.db = root / "library.sqlite3"
        self.rng = random.Random(seed)
        self.figures = Figures()
        self.transcripts: list[str] = []  # of edit streams whose log did not match
        self._sources = sorted((FACES_DIR / "lfw_dev").rglob("*.jpg"))
        self.rng.shuffle(self._sources)
        self._added = 0
        self.add_photos(photos)

    def add_photos(self, n: int) -> None:
        for src in self._sources[self._added : self._added + n]:
            target = self.folder / src.parent.name / src.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
        self._added += n

    def _cli(self, *argv: str, **kw: object) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "faceorganizer", *argv, "--library", str(self.db)]
        return subprocess.Popen(
            [*cmd, "--device", "cpu"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            **kw,  # type: ignore[arg-type]
        )

    def run(self, *argv: str) -> float:
        """A job run to its end (not killed); returns its wall time."""
        start = time.monotonic()
        proc = self._cli(*argv)
        _, err = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            self.figures.crashes.append(f"{' '.join(argv[:2])}: exit {proc.returncode}: {err}")
        return time.monotonic() - start

    def _kill(
        self, job: str, proc: subprocess.Popen, started: Callable[[], bool], window: float
    ) -> bool:
        """Wait until ``started()``, then a random moment of ``window`` seconds, then kill -9.
        False when the job ended first (a crash if it failed)."""
        while proc.poll() is None and not started():
            time.sleep(0.02)
        time.sleep(self.rng.uniform(0.0, window))
        if proc.poll() is not None:
            _, err = proc.communicate()
            if proc.returncode != 0:
                self.figures.crashes.append(f"{job}: exit {proc.returncode}: {err[-500:]}")
            self.figures.finished_first[job] = self.figures.finished_first.get(job, 0) + 1
            return False
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        self.figures.tried[job] = self.figures.tried.get(job, 0) + 1
        return True

    def _after(self, job: str, earlier: dict[str, object] | None) -> None:
        for problem in consistency_problems(self.db):
            self.figures.lost.append(f"after a kill of {job}: {problem}")
        if earlier is not None and not _kept(earlier, decisions(self.db)):
            self.figures.lost.append(f"after a kill of {job}: earlier edits changed")

    def _edit_once(self) -> None:
        """A user's edit between kills: name a person and pin a face into it."""
        sys.path.insert(0, str(REPO))
        from faceorganizer.services.errors import LibraryError
        from faceorganizer.services.library import Library

        with Library.open(self.db) as lib:
            faces = lib.faces(limit=50)
            if not faces:
                return
            face = self.rng.choice(faces)
            try:
                lib.move_faces([face.face_id], None)
                lib.name_person(lib.face(face.face_id).person_id, f"Kept {face.face_id}")
            except LibraryError as exc:
                self.figures.crashes.append(f"edit between kills: {exc}")

    def kill_scans(self, kills: int) -> None:
        """Scans killed while they store photos; stored photos are never redone, the scan
        resumes; when one finishes, more photos arrive."""
        done = 0
        while done < kills:
            before = faces_per_photo(self.db)
            earlier = decisions(self.db) if before else None
            proc = self._cli("scan", str(self.folder), "--no-cluster", "--quiet")

            def storing(before: dict[str, int] = before) -> bool:
                return len(faces_per_photo(self.db)) > len(before)

            if not self._kill("scan", proc, storing, 1.0):
                self.add_photos(20)
                continue
            done += 1
            self._after("scan", earlier)
            now = faces_per_photo(self.db)
            if {p: now.get(p) for p in before} != before:
                self.figures.lost.append("after a kill of scan: stored photos changed")
            self._edit_once()
        self.run("scan", str(self.folder), "--no-cluster", "--quiet")
        if len(faces_per_photo(self.db)) != self._added:
            self.figures.lost.append("the scan after the kills did not store every photo")

    def kill_clusters(self, kills: int) -> None:
        """Re-clusterings killed at a random moment of a whole run's time (measured first);
        each time a few new photos give it work."""
        self.add_photos(8)
        self.run("scan", str(self.folder), "--no-cluster", "--quiet")
        window = self.run("cluster")
        done = 0
        while done < kills:
            self.add_photos(8)
            self.run("scan", str(self.folder), "--no-cluster", "--quiet")
            earlier = decisions(self.db)
            proc = self._cli("cluster")
            if self._kill("cluster", proc, lambda: True, window):
                done += 1
                self._after("cluster", earlier)
        self.run("cluster")

    def _edit_log(self) -> dict[int, bool]:
        con = sqlite3.connect(self.db, timeout=30)
        try:
            return {int(i): bool(u) for i, u in con.execute("SELECT id, undone FROM edits")}
        finally:
            con.close()

    def kill_edits(self, kills: int, window: float) -> None:
        """A stream of edits killed at random: every edit, undo and redo that returned is in the
        log (and at most the one in flight besides), and the newest is exactly the state."""
        for _ in range(kills):
            log = self._edit_log()
            proc = subprocess.Popen(
                [sys.executable, "-c", EDITS, str(self.db), str(self.rng.randrange(10**9))],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
            assert proc.stdout is not None
            proc.stdout.readline()  # "ready": the library is open
            time.sleep(self.rng.uniform(0.0, window))
            if proc.poll() is not None:
                _, err = proc.communicate()
                self.figures.crashes.append(f"edits: exit {proc.returncode}: {err[-500:]}")
                continue
            os.kill(proc.pid, signal.SIGKILL)
            out = proc.stdout.read()  # through the reader that read "ready": it may hold more
            proc.communicate()
            self.figures.tried["edits"] = self.figures.tried.get("edits", 0) + 1
            for line in out.splitlines():
                op, edit_id = line.split()
                log = replay(log, op, int(edit_id))
            self._after("edits", None)
            now = self._edit_log()
            if now != log and now not in in_flight(log):
                diff = sorted(set(now.items()) ^ set(log.items()))
                self.figures.lost.append(
                    f"after a kill of edits: the edit log differs from what returned: {diff}"
                )
                self.transcripts.append(out)
            self._check_newest_edit()

    def _check_newest_edit(self) -> None:
        """The newest edit's side (after, or before when undone) is the faces' state now."""
        con = sqlite3.connect(self.db)
        try:
            row = con.execute(
                "SELECT payload, undone FROM edits ORDER BY undone, id DESC LIMIT 1"
            ).fetchone()
            states = {
                str(f): (p, b, h)
                for f, p, b, h in con.execute(
                    "SELECT id, person_id, assigned_by, hidden FROM faces"
                )
            }
            undone = con.execute(
                "SELECT payload FROM edits WHERE undone = 1 ORDER BY id LIMIT 1"
            ).fetchone()
        finally:
            con.close()
        sides = []
        if row is not None and not row[1]:
            sides.append(json.loads(row[0])["after"])
        if undone is not None:
            sides.append(json.loads(undone[0])["before"])
        for side in sides:
            for fid, s in side["faces"].items():
                if fid in states and states[fid] != (s["person_id"], s["assigned_by"], s["hidden"]):
                    self.figures.lost.append("after a kill of edits: an edit is half done")
                    return

    def kill_exports(self, kills: int) -> None:
        """Exports by person (copies) killed at a random moment of a whole export's time
        (measured first): originals and the library untouched, no half-copied photo, and the
        next export completes."""
        originals = tree_hashes(self.folder)
        window = self.run("export", str(self.root / "export-measured"), "--copy")
        for i in range(kills):
            dest = self.root / f"export-{i}"
            earlier = decisions(self.db)
            proc = self._cli("export", str(dest), "--copy")
            if not self._kill("export", proc, lambda: True, window):
                continue
            self._after("export", earlier)
            self._check_copies(dest)
            self.run("export", str(dest), "--copy")
            self._check_copies(dest)
        if tree_hashes(self.folder) != originals:
            self.figures.lost.append("an export changed an original photo")

    def _check_copies(self, dest: Path) -> None:
        if not dest.exists():
            return
        sources = {p.name: p for p in self.folder.rglob("*.jpg")}
        for copy in dest.rglob("*.jpg"):
            if copy.name.startswith("."):
                continue  # a part being copied: never taken for a photo
            src = sources.get(copy.name)
            if src is not None and copy.read_bytes() != src.read_bytes():
                self.figures.lost.append(f"a half-copied photo in the export: {copy.name}")
                return

    def name_everyone(self) -> None:
        """Name every person (exports copy only named persons' photos)."""
        sys.path.insert(0, str(REPO))
        from faceorganizer.services.library import Library

        with Library.open(self.db) as lib:
            for p in lib.people():
                if p.name is None:
                    lib.name_person(p.person_id, f"Person {p.person_id}")
