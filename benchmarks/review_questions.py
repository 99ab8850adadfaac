"""The review queue judged by the truth of a benchmark library (``grid_quality.py``): whether
each question proposes something true, the first questions a user sees, and the calibration of
every question a simulated user answers (``review_effort.SimulatedUser``)."""

from __future__ import annotations

from collections import Counter

import numpy as np
from review_effort import SimulatedUser
from review_truth import Truth

from faceorganizer.services.library import Library
from faceorganizer.services.types import Suggestion

FIRST = 20
DECILE_MIN = 20


def question_right(lib: Library, truth: Truth, user: SimulatedUser, s: Suggestion) -> bool | None:
    """Whether what the question proposes is true (None: the truth cannot say)."""
    con = lib.db.conn
    kind, faces = s.kind, s.face_ids
    if kind == "merge":
        a = user._home(con, int(s.person_id or 0))
        b = user._home(con, int(s.other_person_id or 0))
        return None if a is None or b is None else a == b
    if kind == "odd":
        rest = user._home(con, int(s.person_id or 0), skip=faces[0])
        if rest is None:
            return None
        if faces[0] not in truth.label and not truth.is_not(faces[0], rest):
            return None
        return truth.is_not(faces[0], rest)
    if kind == "who":
        home = user._home(con, int(s.person_id or 0))
        known = [truth.label[f] for f in faces if f in truth.label]
        if home is None or not known:
            return None if not any(truth.is_not(f, home) for f in faces) else False
        return sum(lab == home for lab in known) * 2 > len(faces)
    known = Counter(truth.label[f] for f in faces if f in truth.label)
    if not known:
        return None
    best, n = known.most_common(1)[0]
    return n * 2 > len(faces) and n >= 2


def review(lib: Library, truth: Truth, max_clicks: int) -> tuple[list, list]:
    """The first ``FIRST`` questions judged, and (chance, right) of every question a simulated
    user answered until the queue was empty (or ``max_clicks``)."""
    user = SimulatedUser(truth)
    first = [(s, question_right(lib, truth, user, s)) for s in lib.review_queue(limit=FIRST)]
    asked: list[tuple[float, bool | None, str]] = []
    skipped: list[str] = []
    while sum(user.clicks.values()) < max_clicks:
        queue = lib.review_queue(limit=1, skipped=skipped)
        if not queue:
            break
        s = queue[0]
        asked.append((s.chance, question_right(lib, truth, user, s), s.kind))
        if user.answer(lib, s) == "skip":
            skipped.append(s.suggestion_id)
    return first, asked


def calibration_table(asked: list[tuple[float, bool | None, str]]) -> list[str]:
    lines = [f"{'decile':>9s} {'questions':>9s} {'mean %':>7s} {'right %':>8s} {'gap':>6s}"]
    judged = [(c, r) for c, r, _ in asked if r is not None]
    worst = 0.0
    for d in range(10):
        lo, hi = d / 10, (d + 1) / 10
        inside = [(c, r) for c, r in judged if lo <= c < hi or (d == 9 and c == 1.0)]
        if not inside:
            continue
        mean = 100 * float(np.mean([c for c, _ in inside]))
        rate = 100 * float(np.mean([r for _, r in inside]))
        if len(inside) >= DECILE_MIN:
            worst = max(worst, abs(mean - rate))
        lines.append(
            f"{int(100 * lo):3d}-{int(100 * hi):3d} % {len(inside):9d} {mean:7.1f} {rate:8.1f} "
            f"{mean - rate:+6.1f}{'' if len(inside) >= DECILE_MIN else '  (under 20)'}"
        )
    unknown = sum(r is None for _, r, _ in asked)
    lines.append(
        f"largest gap in a decile of {DECILE_MIN}+ questions: {worst:.1f} points "
        f"({len(judged)} judged, {unknown} the truth cannot judge)"
    )
    return lines
