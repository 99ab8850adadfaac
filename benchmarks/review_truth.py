"""The truth of a benchmark library: which person each labelled face is, the errors a perfect
library needs fixed, and the scores of a grouping. Used by ``review_effort.py``.

A dataset is a set of photos with a person each (the photo's person folder, lower-cased, so the
same person under two sources is one). In a photo with several faces the labelled one is the
face nearest the centre among those at least half the size of the largest (as LFW crops are
centred on it, ``core.calibration.labelled_face``); the others are left out of the score. A
person with one labelled face is a stranger.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Truth:
    """The labelled faces of a library: face id -> person label, and who is a stranger; and
    for every other face of a labelled photo, the person it is *not* (two faces of one photo
    are two people)."""

    label: dict[int, str]
    strangers: set[str]
    not_label: dict[int, str] = field(default_factory=dict)

    def known(self, face_id: int) -> bool:
        return face_id in self.label and self.label[face_id] not in self.strangers

    def is_not(self, face_id: int, person: str | None) -> bool:
        """Whether the truth says this face is not ``person``."""
        lab = self.label.get(face_id)
        if lab is not None:
            return lab != person
        return person is not None and self.not_label.get(face_id) == person


def labelled_faces(con: sqlite3.Connection, person_of: dict[str, str]) -> Truth:
    """The labelled face of every photo of the dataset (``person_of``: photo path -> person)."""
    by_photo: dict[int, list[tuple[int, float, float, float, float]]] = defaultdict(list)
    rows = con.execute(
        "SELECT f.id, f.photo_id, f.x1, f.y1, f.x2, f.y2 FROM faces f WHERE f.hidden = 0"
    ).fetchall()
    for fid, pid, x1, y1, x2, y2 in rows:
        by_photo[pid].append((fid, x1, y1, x2, y2))
    label: dict[int, str] = {}
    not_label: dict[int, str] = {}
    for pid, path, width, height in con.execute("SELECT id, path, width, height FROM photos"):
        person = person_of.get(path)
        faces = by_photo.get(pid)
        if not person or not faces:
            continue
        sizes = [max(x2 - x1, y2 - y1) for _, x1, y1, x2, y2 in faces]
        cx, cy = width / 2.0, height / 2.0
        candidates = [
            (((x1 + x2) / 2 - cx) ** 2 + ((y1 + y2) / 2 - cy) ** 2, fid)
            for (fid, x1, y1, x2, y2), size in zip(faces, sizes, strict=True)
            if size >= 0.5 * max(sizes)
        ]
        chosen = min(candidates)[1]
        label[chosen] = person
        for fid, *_box in faces:
            if fid != chosen:
                not_label[fid] = person
    counts = Counter(label.values())
    return Truth(label, {p for p, n in counts.items() if n < 2}, not_label)


@dataclass
class Errors:
    """The fixes a perfect library needs: the clicks of a user who knew where every error is."""

    merges: int = 0  # one per extra group of a person
    moves: int = 0  # one per face in the wrong person
    loose: int = 0  # one per face of a known person (2+ photos) in no person
    strangers: int = 0  # one per stranger inside a group
    home: dict[int, str] = field(default_factory=dict)  # person id -> the label it stands for

    @property
    def total(self) -> int:
        return self.merges + self.moves + self.loose + self.strangers

    def line(self) -> str:
        return (
            f"{self.total} (merges {self.merges}, moves {self.moves}, loose {self.loose}, "
            f"strangers in groups {self.strangers})"
        )


def person_of_faces(con: sqlite3.Connection) -> dict[int, int | None]:
    return dict(con.execute("SELECT id, person_id FROM faces").fetchall())


def count_errors(truth: Truth, person: dict[int, int | None]) -> Errors:
    """Each group stands for the person most of its labelled faces are (known people before
    strangers on a tie); a person's groups beyond its first are merges, its faces elsewhere are
    moves, its faces in no group are loose faces, a stranger in a group is a removal."""
    members: dict[int, Counter[str]] = defaultdict(Counter)
    for fid, lab in truth.label.items():
        pid = person.get(fid)
        if pid is not None:
            members[pid][lab] += 1
    err = Errors()
    for pid, counts in members.items():
        err.home[pid] = max(counts, key=lambda lab: (counts[lab], lab not in truth.strangers, lab))
    groups_of: Counter[str] = Counter(
        lab for lab in err.home.values() if lab not in truth.strangers
    )
    err.merges = sum(n - 1 for n in groups_of.values())
    for fid, lab in truth.label.items():
        pid = person.get(fid)
        if pid is None:
            err.loose += lab not in truth.strangers
        elif lab in truth.strangers:
            err.strangers += err.home[pid] != lab
        elif err.home[pid] != lab:
            err.moves += 1
    return err


def scores(truth: Truth, person: dict[int, int | None]) -> tuple[float, float]:
    """(pairwise precision, BCubed F) of the labelled faces; faces in no person are alone."""
    fids = sorted(truth.label)
    _, t = np.unique([truth.label[f] for f in fids], return_inverse=True)
    pred = np.array([person.get(f) if person.get(f) is not None else -1 for f in fids], np.int64)
    alone = pred < 0
    pred[alone] = pred.max(initial=0) + 1 + np.arange(int(alone.sum()))
    _, p = np.unique(pred, return_inverse=True)
    joint = np.zeros((t.max() + 1, p.max() + 1), np.int64)
    np.add.at(joint, (t, p), 1)

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) // 2).sum())

    pred_pairs = pairs(joint.sum(axis=0))
    precision = pairs(joint) / pred_pairs if pred_pairs else 1.0
    both = joint[t, p].astype(np.float64)
    b3p = float(np.mean(both / joint.sum(axis=0)[p]))
    b3r = float(np.mean(both / joint.sum(axis=1)[t]))
    return precision, 2 * b3p * b3r / (b3p + b3r)


def dataset_photos(roots: list[tuple[Path, int]]) -> dict[str, str]:
    """Photo path -> person for each root (a folder and the depth of its person folders below
    it: 1 for ``lfw_dev/<person>/``); folders starting with ``_`` are not people."""
    from faceorganizer.services.scan.files import normalise, walk

    person_of: dict[str, str] = {}
    for root, depth in roots:
        base = Path(normalise(root))
        for entry in walk([base]):
            parts = Path(entry.path).relative_to(base).parts
            if len(parts) <= depth or any(p.startswith("_") for p in parts[:depth]):
                continue
            person_of[entry.path] = parts[depth - 1].lower()
    return person_of
