"""Re-clustering the library into people while keeping every decision the user made.

``apply_clustering`` loads faces, persons and rejections, asks ``core.clustering.recluster`` for
a grouping, and writes it back through ``write_assignments``, which enforces the user's
decisions itself whatever the algorithm returns: pinned faces (``assigned_by='user'``) never
move, a rejected (face, person) pair is never assigned, names are never touched, and only
unnamed persons left empty are removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sqlite_utils import Database

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
    named: set[int]  # ids of persons with a name
    not_same_persons: set[tuple[int, int]] = field(default_factory=set)  # "Not the same"
    not_same_faces: set[tuple[int, int]] = field(default_factory=set)
    scores: np.ndarray | None = None  # float (n,): detection score


def load_faces(db: Database, model_id: str) -> LibraryFaces:
    found = faces.for_clustering(db, model_id)
    return LibraryFaces(
        face_ids=found.face_ids,
        embeddings=found.embeddings,
        photo_ids=found.photo_ids,
        person_ids=found.person_ids,
        pinned=found.pinned,
        rejections=faces.all_rejections(db),
        named=persons.named_ids(db),
        scores=found.scores,
        not_same_persons=not_same.all_persons(db),
        not_same_faces=not_same.all_faces(db),
    )


def write_assignments(
    db: Database,
    assignments: Mapping[int, int | None],
    new_groups: Sequence[Sequence[int]],
    dry_run: bool = False,
) -> ClusterChanges:
    """Give faces their clustered person (``assignments``: face id -> existing person id or
    None) and create one person per new group; pinned faces, rejections and names win."""
    changes = ClusterChanges(dry_run=dry_run)
    with transaction(db):
        ids = sorted(set(assignments) | {f for g in new_groups for f in g})
        states = faces.states(db, ids)
        rejected = faces.rejections_of(db, ids)
        existing = {p.id for p in persons.all_rows(db)}
        moves: dict[int, int | None] = {}
        for fid, target in assignments.items():
            s = states.get(fid)
            if s is None or s.assigned_by == "user" or s.person_id == target:
                continue
            if target is not None and (target not in existing or (fid, target) in rejected):
                continue
            moves[fid] = target
        groups: list[list[int]] = []
        for group in new_groups:
            free = [f for f in group if f in states and states[f].assigned_by != "user"]
            if free:
                groups.append(free)
        for fid, target in moves.items():
            old = states[fid].person_id
            if old is not None:
                changes.left.setdefault(old, []).append(fid)
            if target is not None:
                changes.joined.setdefault(target, []).append(fid)
        for group in groups:
            for fid in group:
                old = states[fid].person_id
                if old is not None:
                    changes.left.setdefault(old, []).append(fid)
        changes.new_groups = groups
        remaining = {p: persons.face_count(db, p) for p in changes.left if p not in changes.joined}
        leaving = {p: len(set(v)) for p, v in changes.left.items()}
        changes.dissolved = sorted(
            p
            for p, n in remaining.items()
            if n == leaving[p] and persons.get(db, p).name is None  # type: ignore[union-attr]
        )
        if dry_run:
            return changes
        for fid, target in moves.items():
            faces.assign(db, [fid], target, "auto" if target is not None else None)
        for group in groups:
            pid = persons.create(db)
            faces.assign(db, group, pid, "auto")
        persons.delete_empty_unnamed(db, sorted(changes.left))
    return changes


def cluster_input(data: LibraryFaces, model_id: str) -> ClusterInput:
    """The library's faces as ``core.clustering``'s input: named persons, and persons the user
    said are "not the same" as another, are locked; "not the same" faces are cannot-links; and
    the thresholds are the model's calibrated ones, so every model clusters equally strictly."""
    from faceorganizer.core.clustering import ClusterInput, cluster_thresholds
    from faceorganizer.core.models.registry import calibration_for

    row_of = {int(f): i for i, f in enumerate(data.face_ids.tolist())}
    t = cluster_thresholds(calibration_for(model_id))
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
        locked_persons=set(data.named) | {p for pair in data.not_same_persons for p in pair},
        score=data.scores,
        join_cosine=t["join_cosine"],
        cluster_cosine=t["cluster_cosine"],
        pair_cosine=t["pair_cosine"],
        attach_cosine=t["attach_cosine"],
    )


def apply_clustering(
    db: Database, dry_run: bool = False, device: torch.device | None = None
) -> ClusterChanges:
    """Re-cluster the library's faces (or, with ``dry_run``, only report what would change);
    the neighbour searches run on ``device``."""
    model_id = str(settings.get(db, "model_id"))
    data = load_faces(db, model_id)
    if not len(data.face_ids):
        return ClusterChanges(dry_run=dry_run)
    from faceorganizer.core.clustering import recluster

    out = recluster(cluster_input(data, model_id), device=device)
    return write_assignments(
        db, out.assignments(data.face_ids), out.new_groups(data.face_ids), dry_run
    )
