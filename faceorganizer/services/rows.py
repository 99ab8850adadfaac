"""Storage rows as the service results the CLI and the GUI see."""

from __future__ import annotations

from faceorganizer.services.types import FaceInfo, PersonInfo
from faceorganizer.storage.faces import FaceRow
from faceorganizer.storage.persons import PersonSummary


def face_info(r: FaceRow, bar: float | None = None) -> FaceInfo:
    """The face as the CLI and the GUI see it; with the library's quality ``bar``, a face under
    it says why (``services.quality``)."""
    reason = None
    if bar is not None and r.poor(bar):
        from faceorganizer.services.quality import reason_text

        reason = reason_text(r.model_id, r.quality_signals, bar)
    return FaceInfo(
        r.id, r.photo_id, r.photo_path, r.box, r.score, r.person_id, r.person_name,
        r.assigned_by, bool(r.hidden), bool(r.not_face), reason, (r.photo_width, r.photo_height),
    )  # fmt: skip


def person_info(s: PersonSummary) -> PersonInfo:
    first, _, last = (s.months or "").partition("/")
    return PersonInfo(
        s.id, s.name, s.face_count, s.photo_count, s.cover_face_id, bool(s.hidden),
        first or None, last or None,
    )  # fmt: skip
