"""Re-clustering the library into people while keeping every decision the user made.

``apply_clustering`` loads faces, persons and rejections, asks ``core.clustering.recluster`` to
place the new and unassigned faces, and writes that back through ``write_assignments``, which
enforces the rules itself whatever the algorithm returns: a face in a person never moves to
another, pinned and held faces (``assigned_by='user'``) never move, a rejected (face, person)
pair is never assigned, names are never touched. What it placed is one edit-log entry that undo
reverts (``services.auto_log``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sqlite_utils import Database

from faceorganizer.services import quality
from faceorganizer.services.people import auto_log, edits
from faceorganizer.services.types import ClusterChanges
from faceorganizer.storage import faces, not_same, persons, settings
from faceorganizer.storage.db import transaction

if TYPE_CHECKING:  # clustering pulls in torch and scipy: loaded when first used
    import torch

    from faceorganizer.core.clustering import ClusterInput


@dataclass
class LibraryFaces:
    """What clustering needs from the library, as parallel arrays (one row per face)."""

    face_ids: np.ndarray  # int64 (n,)
    embeddings: np.ndarray  # float32 (n, dims), unit rows
    photo_ids: np.ndarray  # int64 (n,)
    person_ids: np.ndarray  # int64 (n,), -1 where unassigned
    pinned: np.ndarray  # bool (n,): the user put the face where it is
    rejections: set[tuple[int, int]]  # (face id, person id) pairs never to assign
    not_same_persons: set[tuple[int, int]] = field(default_factory=set)  # "Not the same"
    not_same_faces: set[tuple[int, int]] = field(default_factory=set)
    scores: np.ndarray | None = None  # float (n,): detection score
    poor: np.ndarray | None = None  # bool (n,): under the quality bar (``services.quality``)


def load_faces(db: Database, model_id: str) -> LibraryFaces:
    found = faces.for_clustering(db, model_id)
    return LibraryFaces(
        face_ids=found.face_ids,
        embeddings=found.embeddings,
        photo_ids=found.photo_ids,
        person_ids=found.person_ids,
        pinned=found.pinned,
        rejections=faces.all_rejections(db),
        scores=found.scores,
        poor=quality.poor_mask(found.quality, found.judged, quality.bar(db)),
        not_same_persons=not_same.all_persons(db),
        not_same_faces=not_same.all_faces(db),
    )


def write_assignments(
    db: Database,
    assignments: Mapping[int, int | None],
    new_groups: Sequence[Sequence[int]],
    dry_run: bool = False,
    seen: Mapping[int, int | None] | None = None,
    source: str = "Regroup",
    run_id: str | None = None,
    poor: Iterable[int] = (),
) -> ClusterChanges:
    """Place faces (``assignments``: face id -> existing person id or None) and create one person
    per new group, as one edit-log entry (``services.auto_log``).

    Only faces without a person are placed, and a face leaves a person only for None (step 1 of
    ``core.clustering`` freeing a second face of one photo, or a face under the quality bar,
    ``poor``, that the user did not place); pinned and held faces, rejections and names win.
    ``seen``: each face's person when clustering read it; a face changed since (an edit landed
    meanwhile) is left for the next run.
    """
    poor = set(poor)
    changes = ClusterChanges(dry_run=dry_run)
    with transaction(db):
        ids = sorted(set(assignments) | {f for g in new_groups for f in g})
        states = faces.states(db, ids)
        rejected = faces.rejections_of(db, ids)
        existing = {p.id for p in persons.all_rows(db)}

        def as_seen(fid: int) -> bool:
            s = states.get(fid)
            return (
                s is not None
                and not s.not_face
                and s.assigned_by != "user"
                and (seen is None or seen.get(fid, s.person_id) == s.person_id)
            )

        moves: dict[int, int | None] = {}
        for fid, target in assignments.items():
            if not as_seen(fid) or states[fid].person_id == target:
                continue
            old = states[fid].person_id
            if target is None or (
                old is None and target in existing and (fid, target) not in rejected
            ):
                moves[fid] = target
        groups = [
            free
            for group in new_groups
            if len(free := [f for f in group if as_seen(f) and states[f].person_id is None]) >= 2
        ]
        for fid, target in moves.items():
            old = states[fid].person_id
            if old is not None:
                changes.left.setdefault(old, []).append(fid)
            if target is not None:
                changes.joined.setdefault(target, []).append(fid)
        changes.new_groups = groups
        remaining = {p: persons.face_count(db, p) for p in changes.left}
        changes.dissolved = sorted(
            p
            for p, n in remaining.items()
            if n == len(changes.left[p]) and persons.get(db, p).name is None  # type: ignore[union-attr]
        )
        if dry_run or not (moves or groups):
            return changes
        placed = sorted(set(moves) | {f for g in groups for f in g})
        touched = set(changes.left) | set(changes.joined)
        before = edits.capture(db, placed, touched)
        auto_log.hold(before, placed)
        for fid, target in moves.items():
            faces.assign(db, [fid], target, "auto" if target is not None else None)
        created = []
        for group in groups:
            pid = persons.create(db)
            faces.assign(db, group, pid, "auto")
            created.append(pid)
        persons.delete_empty_unnamed(db, sorted(changes.left))
        after = edits.capture(db, placed, touched | set(created))
        for pid in after["persons"]:
            before["persons"].setdefault(pid, None)
        left = [f for v in changes.left.values() for f in v]
        set_aside = sum(f in poor for f in left)
        counts = {
            "joined": sum(len(v) for v in changes.joined.values()),
            "people": sorted(changes.joined),
            "groups": len(groups),
            "grouped": sum(len(g) for g in groups),
            "freed": len(left) - set_aside,
            "set_aside": set_aside,
        }
        changes.edit = auto_log.record(db, source, run_id, before, after, counts)
    return changes


def cluster_input(data: LibraryFaces, model_id: str) -> ClusterInput:
    """The library's faces as ``core.clustering``'s input: "not the same" faces are cannot-links
    (persons are never merged anyway, so persons said apart stay apart), faces under the quality
    bar are never placed, and the thresholds are the model's calibrated ones (the margin a new
    group needs over its neighbourhood its fitted one), so every model clusters equally
    strictly."""
    from faceorganizer.core.clustering import ClusterInput, cluster_thresholds
    from faceorganizer.core.models.registry import calibration_for
    from faceorganizer.core.quality import quality_model

    row_of = {int(f): i for i, f in enumerate(data.face_ids.tolist())}
    pair = calibration_for(model_id)
    t = cluster_thresholds(pair)
    gate = quality_model(model_id)
    return ClusterInput(
        embeddings=data.embeddings,
        person=data.person_ids,
        pinned=data.pinned,
        photo=data.photo_ids,
        rejected=[(row_of[f], p) for f, p in sorted(data.rejections) if f in row_of],
        cannot_link=[
            (row_of[a], row_of[b])
            for a, b in sorted(data.not_same_faces)
            if a in row_of and b in row_of
        ],  # fmt: skip
        score=data.scores,
        poor=data.poor,
        group_margin=None if gate.group_margin is None else gate.group_margin / pair.slope,
        pair_margin=None if gate.pair_margin is None else gate.pair_margin / pair.slope,
        join_cosine=t["join_cosine"],
        join_pair_cosine=t["join_pair_cosine"],
        cluster_cosine=t["cluster_cosine"],
        pair_cosine=t["pair_cosine"],
        attach_cosine=t["attach_cosine"],
    )


def apply_clustering(
    db: Database,
    dry_run: bool = False,
    device: torch.device | None = None,
    source: str = "Regroup",
    run_id: str | None = None,
) -> ClusterChanges:
    """Place the library's new and unassigned faces (or, with ``dry_run``, only report what would
    change); the neighbour searches run on ``device``. ``source`` names the history entry
    ("Scan", "Regroup"); parts of one run share a ``run_id`` and one entry."""
    model_id = str(settings.get(db, "model_id"))
    data = load_faces(db, model_id)
    if not len(data.face_ids):
        return ClusterChanges(dry_run=dry_run)
    from faceorganizer.core.clustering import recluster

    out = recluster(cluster_input(data, model_id), device=device)
    seen = {
        int(f): (int(p) if p >= 0 else None)
        for f, p in zip(data.face_ids.tolist(), data.person_ids.tolist(), strict=True)
    }
    poor = data.face_ids[data.poor] if data.poor is not None else np.zeros(0, np.int64)
    return write_assignments(
        db,
        out.assignments(data.face_ids),
        out.new_groups(data.face_ids),
        dry_run,
        seen=seen,
        source=source,
        run_id=run_id,
        poor=poor.tolist(),
    )
