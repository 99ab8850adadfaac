"""Automatic placements in the edit log: what a scan or a regroup placed is one entry that undo
reverts ("Scan: 12 faces joined 3 people, 2 new groups (5 faces)").

One entry per run: a scan groups its new faces now and then while it runs (so people appear) and
once at the end; every part of one run (``run_id``) extends the run's entry while that entry is
the newest in the log. When the user edits in between, the next part starts a new entry above
the user's edit, so undo still goes back exactly in the order things happened.

Undoing an entry leaves its faces without a person and *held* there (``assigned_by='user'`` with
no person): the next scan or regroup does not put them back, which would make the undo pointless;
the user places them by hand. Redo puts them back where the run had placed them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from faceorganizer.services.people import edits
from faceorganizer.services.types import EditInfo
from faceorganizer.storage import edit_log

KIND = "auto"
COUNTS = ("joined", "groups", "grouped", "freed", "set_aside")


def description(source: str, counts: dict[str, Any]) -> str:
    """ "Scan: 12 faces joined 3 people, 2 new groups (5 faces)"."""

    def n(count: int, word: str, plural: str | None = None) -> str:
        return f"{count} {word if count == 1 else (plural or word + 's')}"

    parts = []
    if counts["joined"]:
        people = len(counts["people"])
        parts.append(f"{n(counts['joined'], 'face')} joined {n(people, 'person', 'people')}")
    if counts["groups"]:
        parts.append(f"{n(counts['groups'], 'new group')} ({n(counts['grouped'], 'face')})")
    if counts["freed"]:
        parts.append(f"{n(counts['freed'], 'face')} left a person holding its photo twice")
    if counts.get("set_aside"):
        parts.append(f"{n(counts['set_aside'], 'face')} too poor to judge set aside")
    return f"{source}: {', '.join(parts) or 'nothing placed'}"


def hold(before: dict[str, Any], placed: Iterable[int]) -> None:
    """Undo leaves the placed faces without a person and held (see the module docstring)."""
    for fid in placed:
        state = before["faces"].get(str(fid))
        if state is not None and state["person_id"] is None:
            state["assigned_by"] = "user"


def record(
    db: Database,
    source: str,
    run_id: str | None,
    before: dict[str, Any],
    after: dict[str, Any],
    counts: dict[str, Any],
) -> EditInfo:
    """Log one part of a run (inside the caller's transaction): a new entry, or an extension of
    the run's entry when that is still the newest one."""
    top = edit_log.latest(db)
    if (
        run_id is not None
        and top is not None
        and top.kind == KIND
        and not top.undone
        and top.payload.get("run") == run_id
    ):
        payload = top.payload
        for part in ("faces", "persons"):
            for key, value in before[part].items():
                payload["before"][part].setdefault(key, value)
            payload["after"][part].update(after[part])
        for side, new in (("before", before), ("after", after)):
            rejections = {tuple(r) for r in payload[side]["rejections"]}
            payload[side]["rejections"] = sorted(rejections | {tuple(r) for r in new["rejections"]})
        old = payload["counts"]
        counts = {k: old.get(k, 0) + counts.get(k, 0) for k in COUNTS} | {
            "people": sorted(set(old["people"]) | set(counts["people"]))
        }
        payload["counts"] = counts
        text = description(payload["source"], counts)
        edit_log.update(db, top.id, text, payload)
        row = edit_log.EditRow(top.id, KIND, text, payload, False, top.created_at)
        return edits.info(db, row)
    payload = {"before": before, "after": after, "run": run_id, "source": source, "counts": counts}
    return edits.info(db, edit_log.append(db, KIND, description(source, counts), payload))
