"""What the services hand to the CLI and the GUI: plain, immutable, thread-safe values."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PersonInfo:
    person_id: int
    name: str | None  # None: an unnamed group ("Unnamed" in the UI)
    face_count: int
    photo_count: int
    cover_face_id: int | None
    hidden: bool = False
    first_month: str | None = None  # unnamed persons: "YYYY-MM" of the first and last photos
    last_month: str | None = None


@dataclass(frozen=True)
class FaceInfo:
    face_id: int
    photo_id: int
    photo_path: str
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in the upright photo
    score: float
    person_id: int | None
    person_name: str | None
    assigned_by: str | None  # "auto" | "user" | None
    hidden: bool = False
    not_face: bool = False  # the user said this detection is not a face
    # under the library's quality bar: why ("cut by the edge, too blurred"); None: judgeable
    poor_reason: str | None = None
    photo_size: tuple[int, int] = (0, 0)  # the upright photo's width and height


@dataclass(frozen=True)
class PhotoInfo:
    photo_id: int
    path: str
    width: int
    height: int
    status: str  # "ok" | "error" | "missing"
    error: str | None = None
    face_count: int = 0


@dataclass(frozen=True)
class ImageFace:
    """A face found in a photo from outside the library (to search with)."""

    index: int  # ``face_index`` of ``Library.search(image=...)``
    box: tuple[float, float, float, float]
    score: float
    thumbnail: bytes  # small JPEG
    largest: bool  # the face a search uses when none is chosen
    poor_reason: str | None = None  # under the library's quality bar: why


@dataclass(frozen=True)
class SearchHit:
    face: FaceInfo
    percent: float  # calibrated similarity, 0..100
    cosine: float


@dataclass
class ScanProgress:
    """Progress as a plain object the CLI (tqdm) and the GUI (progress bar) both display."""

    total: int = 0  # photos to process (known after the file walk)
    done: int = 0
    faces: int = 0
    failed: int = 0
    rate: float = 0.0  # photos / s
    eta_s: float | None = None
    current: str = ""
    phase: str = "walking"  # walking | scanning | names (XMP) | clustering | done


@dataclass
class ScanSummary:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    moved: int = 0
    removed: int = 0
    failed: int = 0
    faces_added: int = 0
    # photos the engine had to read (new and changed) and how many it read: they differ when
    # the scan was stopped, and the next scan reads the rest
    to_read: int = 0
    read: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    # folders that could not be listed (path, reason): not photos, so in none of the counts
    folders: list[tuple[str, str]] = field(default_factory=list)
    placed: str | None = None  # the history entry of the faces placed into people, if any
    # (path, what): faces of changed photos whose people/marks were not carried over, because
    # no face of the new file is the same face (same place and likeness)
    decisions_dropped: list[tuple[str, str]] = field(default_factory=list)
    xmp: XmpImportSummary | None = None  # face names read from XMP after the photos were stored
    stages: dict[str, float] = field(default_factory=dict)  # engine seconds per stage, summed
    engine_seconds: float = 0.0  # of ``seconds``, loading the engine (torch and the models)


@dataclass(frozen=True)
class EditInfo:
    edit_id: int
    kind: str  # name | merge | move | reject | confirm | hide | unhide | cover | not-face | face
    # | auto (what a scan or a regroup placed)
    description: str  # human: "Rename person 12 to Alice"
    created_at: str
    undone: bool = False
    # on undo/redo: faces of the edit no longer in the library (their photos were removed), and
    # whether replaying it changed anything at all
    missing_faces: int = 0
    changed: bool = True


@dataclass
class ClusterChanges:
    """What a re-clustering did (or would do, on a dry run)."""

    joined: dict[int, list[int]] = field(default_factory=dict)  # person id -> face ids joining
    left: dict[int, list[int]] = field(default_factory=dict)  # person id -> face ids leaving
    new_groups: list[list[int]] = field(default_factory=list)  # face ids of each new group
    dissolved: list[int] = field(default_factory=list)  # person ids that became empty
    dry_run: bool = False
    edit: EditInfo | None = None  # the history entry that undo reverts (None: nothing placed)


@dataclass
class ExportSummary:
    """What an export wrote (originals are only ever linked or copied, never touched)."""

    dest: str
    files: int = 0
    folders: int = 0
    linked: int = 0
    copied: int = 0
    format: str | None = None  # None: folders by person; "csv" | "json": a faces table
    sheets: int = 0  # contact sheet pages written (one JPEG grid of faces per person and page)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, why) not exported


@dataclass(frozen=True)
class NameConflict:
    """An XMP region whose name the library does not take: the face is named otherwise there,
    or the user said it is not that person. Reported, never applied."""

    photo: str
    face_id: int
    xmp_name: str
    library_name: str | None
    reason: str


@dataclass
class XmpImportSummary:
    """What reading face regions from XMP did; ``edit_id`` is the one undoable history entry
    that named the faces (None when no name changed)."""

    photos: int = 0  # photos whose XMP was read
    with_regions: int = 0  # of those, photos with face regions
    named: int = 0  # faces given a name (moved into a named person, confirmed)
    confirmed: int = 0  # faces already in the person of that name, now confirmed
    cut: int = 0  # faces cut from regions the detector had not found
    conflicts: list[NameConflict] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    edit_id: int | None = None

    def error_lines(self) -> list[str]:
        """Each error as one line naming its file: most reasons name the sidecar (or the photo)
        and say what happened there, which is not always that it could not be read (an
        AppliedToDimensions ignored, one region left out)."""
        return [r if p in r else f"cannot read {p}: {r}" for p, r in self.errors]


@dataclass
class XmpWriteSummary:
    """What writing sidecars did; ``replaced``: regions of other apps on our faces whose names
    we replaced, as (sidecar, their name)."""

    photos: int = 0
    written: int = 0  # sidecars created or changed
    unchanged: int = 0  # sidecars that already held exactly this
    faces: int = 0  # named faces written
    replaced: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


@dataclass(frozen=True)
class Suggestion:
    """One question of the review queue; ``suggestion_id`` names what it proposes, so that it
    can be answered later (``review accept ID``) and is refused once the library moved on.

    ``kind``: ``merge`` (``other_person_id`` into ``person_id``), ``who`` (``face_ids`` are
    ``person_id``), ``new`` (``face_ids`` are one new person) or ``odd`` (``face_ids[0]`` does
    not belong to ``person_id``). Accepting does what it proposes; rejecting records the
    opposite for good ("Not the same", "Not this person", "Keep").
    """

    suggestion_id: str
    kind: str
    question: str  # human: "Is this Madonna?"
    person_id: int | None
    other_person_id: int | None
    face_ids: tuple[int, ...]
    chance: float  # 0..1: how likely accepting is right
    value: float  # chance x faces it puts right: the queue's order
