"""The review queue: the questions whose answers most improve the people, best first.

Four kinds, each from person-level evidence (``candidates``) judged by the review calibration
(``scoring``):

- ``merge``: two persons that are probably one (Merge / Not the same);
- ``who``: faces without a person that probably are one person's (Yes / No), several faces of
  one person asked at once;
- ``new``: faces without a person that are probably one person nobody has yet (Yes / No);
- ``odd``: the face least like the rest of its person, when it probably is someone else
  (Remove / Keep).

What the user already answered never comes back: "Not the same" pairs, rejected faces, and
faces the user placed or confirmed (pinned). The queue is ordered by expected value, the chance
that accepting is right times the faces it puts right, so the likeliest and biggest fixes come
first. It is computed afresh from the library each time (a few matrix products).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from faceorganizer.core.types import Calibration
from faceorganizer.services.review import candidates, scoring
from faceorganizer.services.review.data import ReviewData
from faceorganizer.services.types import Suggestion
from faceorganizer.storage import not_same

if TYPE_CHECKING:
    import torch

# Questions are asked down to this chance that "yes" is right: the lowest of 0.5 / 0.35 / 0.25
# with which a simulated user fixed more errors in fewer clicks than the errors it started with
# (``benchmarks/review_effort.py`` on one half of its dataset, fitted on that half).
MIN_CHANCE = 0.35
MAX_FACES = 8  # faces asked about at once
NEW_K = 6  # nearest loose faces paired with each loose face
CLEAR_FACE_SCORE = 0.99  # as clustering: a new person needs one clear face


def _name(data: ReviewData, pid: int) -> str | None:
    name = data.names.get(pid)
    return repr(name) if name else None


def _faces(n: int) -> str:
    return f"{n} face{'s' * (n != 1)}"


def build(
    data: ReviewData,
    pair: Calibration,
    calibration: scoring.ReviewCalibration,
    device: torch.device | None = None,
) -> list[Suggestion]:
    """Every question worth asking, best first."""
    if not len(data.face_ids):
        return []
    lib = candidates.prepare(data, pair, device)
    out = _merges(lib, calibration) + _odd(lib, calibration)
    who, unsure = _who(lib, calibration)
    out += who
    out += _new(lib, unsure, calibration)
    out.sort(key=lambda s: (-s.value, -s.chance, s.suggestion_id))
    return out


def _merges(lib: candidates.Library, cal: scoring.ReviewCalibration) -> list[Suggestion]:
    """Pairs of persons that are probably one; the named one (else the larger) stays."""
    found = candidates.merges(lib)
    chances = cal.chance("merge", found.features)
    out = []
    names, sizes = lib.data.names, lib.means.sizes
    for a, b, chance in zip(found.a.tolist(), found.b.tolist(), chances.tolist(), strict=True):
        if chance < MIN_CHANCE:
            continue
        sa, sb = int(sizes[lib.at[a]]), int(sizes[lib.at[b]])
        keep_a = (bool(names.get(a)), sa, -a) >= (bool(names.get(b)), sb, -b)
        target, other = (a, b) if keep_a else (b, a)
        moved = sb if keep_a else sa
        out.append(
            Suggestion(
                f"m{target}-{other}",
                "merge",
                "Are these the same person?",
                target,
                other,
                (),
                chance,
                chance * moved,
            )
        )
    return out


def _odd(lib: candidates.Library, cal: scoring.ReviewCalibration) -> list[Suggestion]:
    """Per person, its least alike face, when it is probably someone else."""
    found = candidates.odd(lib)
    chances = cal.chance("odd", found.features)
    out = []
    for r, p, chance in zip(found.a.tolist(), found.b.tolist(), chances.tolist(), strict=True):
        if chance < MIN_CHANCE:
            continue
        fid = int(lib.data.face_ids[r])
        name = _name(lib.data, p)
        question = (
            f"Is this face someone else, not {name}?" if name else "Is this face someone else?"
        )
        out.append(Suggestion(f"o{p}-{fid}", "odd", question, p, None, (fid,), chance, chance))
    return out


def _who(
    lib: candidates.Library, cal: scoring.ReviewCalibration
) -> tuple[list[Suggestion], np.ndarray]:
    """Loose faces that are probably one person's, asked together per person (best first, one
    face per photo); and the loose face rows no person is likely for."""
    data = lib.data
    found = candidates.who(lib)
    chances = cal.chance("who", found.features)
    likely = chances >= MIN_CHANCE
    by_person: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for r, p, chance in zip(
        found.a[likely].tolist(), found.b[likely].tolist(), chances[likely].tolist(), strict=True
    ):
        by_person[p].append((chance, r))
    taken: set[int] = set()
    out = []
    for p, faces_found in by_person.items():
        picked: list[tuple[float, int]] = []
        photos: set[int] = set()
        for chance, r in sorted(faces_found, reverse=True):
            if int(data.photo_ids[r]) not in photos and len(picked) < MAX_FACES:
                photos.add(int(data.photo_ids[r]))
                picked.append((chance, r))
        taken.update(r for _, r in picked)
        fids = tuple(int(data.face_ids[r]) for _, r in picked)
        chance_each = [c for c, _ in picked]
        who = _name(data, p) or "the same person"
        question = f"{'Are these' if len(fids) > 1 else 'Is this'} {who}?"
        out.append(
            Suggestion(
                f"w{p}-{'-'.join(map(str, fids))}",
                "who",
                question,
                p,
                None,
                fids,
                float(np.mean(chance_each)),
                float(np.sum(chance_each)),
            )
        )
    loose = np.flatnonzero((data.person_ids < 0) & lib.clear)
    return out, np.array([r for r in loose.tolist() if r not in taken], np.int64)


def _new(
    lib: candidates.Library, rows: np.ndarray, cal: scoring.ReviewCalibration
) -> list[Suggestion]:
    """Loose faces that are probably one person nobody has yet: likely pairs grown greedily
    into groups in which every two faces are a likely pair (complete linkage: a chain of
    look-alikes is not one person), one face per photo, no "not the same" pair inside."""
    data = lib.data
    found = candidates.new_pairs(lib, rows, NEW_K)
    chances = cal.chance("new", found.features)
    likely = {
        (int(a), int(b)): float(c)
        for a, b, c in zip(found.a.tolist(), found.b.tolist(), chances.tolist(), strict=True)
        if c >= MIN_CHANCE
    }
    group_of: dict[int, int] = {}
    groups: dict[int, list[int]] = {}
    chance_of: dict[int, list[float]] = {}
    order = np.argsort(-chances, kind="stable")
    for k in order.tolist():
        if chances[k] < MIN_CHANCE:
            break
        i, j = int(found.a[k]), int(found.b[k])
        gi, gj = group_of.get(i, i), group_of.get(j, j)
        if gi == gj:
            continue
        a, b = groups.get(gi, [i]), groups.get(gj, [j])
        merged = a + b
        if len(merged) > MAX_FACES or len(set(data.photo_ids[merged].tolist())) < len(merged):
            continue
        links = [likely.get((min(x, y), max(x, y))) for x in a for y in b]
        if any(c is None for c in links):
            continue
        fids = data.face_ids
        if any(not_same.ordered(fids[x], fids[y]) in data.not_same_faces for x in a for y in b):
            continue
        for x in merged:
            group_of[x] = gi
        groups.pop(gj, None)
        groups[gi] = merged
        chance_of[gi] = chance_of.get(gi, []) + chance_of.pop(gj, []) + [c for c in links if c]
    out = []
    for gid, members in groups.items():
        if max(data.scores[members]) < CLEAR_FACE_SCORE:
            continue
        chance = float(min(chance_of[gid]))  # all of them one person: its weakest pair
        fids_sorted = tuple(sorted(int(data.face_ids[m]) for m in members))
        out.append(
            Suggestion(
                f"n{'-'.join(map(str, fids_sorted))}",
                "new",
                f"Are these {_faces(len(members))} one person?",
                None,
                None,
                fids_sorted,
                chance,
                chance * (len(members) - 1),
            )
        )
    return out


def without(queue: Iterable[Suggestion], skipped: Iterable[str]) -> list[Suggestion]:
    gone = set(skipped)
    return [s for s in queue if s.suggestion_id not in gone]
