"""Issue 18 on real photos and the real model: which faces can be judged, and a library that
never judges the others by itself.

Debris is made here from shared photos (a face cut by the border, a blurred one: generated in a
temporary folder, never stored) and added to the session's scanned library; a turned-away face is
a profile of ``cfp_dev``."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from faceorganizer import config
from faceorganizer.core.calibration import labelled_face
from faceorganizer.core.quality import POOR_CEILING, Signals, quality_model
from faceorganizer.services.library import Library
from tests.helpers.library_support import (
    FACES_DIR,
    copy_library,
    debris_library,
    people_of,
    scanned_into,
    shared_engine,
)

BAR = float(config.default("quality_bar"))
PROFILE = FACES_DIR / "cfp_dev/228/profile_03.jpg"


@pytest.fixture
def debris(tmp_path: Path) -> tuple[Path, Path, Path]:
    folder, db, debris = debris_library()
    new_folder, new_db = copy_library(folder, db, tmp_path)
    return new_folder, new_db, new_folder / debris.name


def _poor_faces(lib: Library) -> dict[str, tuple[int, str | None, int | None]]:
    """Photo file name -> (face id, reason, person) of every face under the bar."""
    out = {}
    rows = lib.db.execute(
        "SELECT f.id, p.path FROM faces f JOIN photos p ON p.id = f.photo_id "
        "WHERE f.quality_recipe > 0 AND f.quality < ?",
        [BAR],
    ).fetchall()
    for fid, path in rows:
        face = lib.face(fid)
        out[Path(path).name] = (fid, face.poor_reason, face.person_id)
    return out


def test_cut_blurred_and_turned_faces_are_below_the_bar_with_their_reason(debris) -> None:
    _, db, _ = debris
    with Library.open(db) as lib:
        poor = _poor_faces(lib)
        assert "cut by the edge" in (poor["obama_cut.jpg"][1] or ""), poor
        for name in ("obama_blur.jpg", "kit_blur.jpg"):
            assert "too blurred" in (poor[name][1] or ""), poor.get(name)
        other = {Path(f.photo_path).name: f.poor_reason for f in lib.faces(other=True)}
        assert {"obama_cut.jpg", "obama_blur.jpg", "kit_blur.jpg"} <= set(other)
        assert lib.counts()["other"] == len(other)
    (face,) = shared_engine().embed_image(PROFILE).faces
    model = quality_model("dlib-resnet-v1")
    assert face.quality < BAR
    assert model.reasons(Signals(**face.signals), BAR) == ["turned away"]


@pytest.mark.slow
def test_every_single_person_photo_main_face_is_above_the_bar(manifest) -> None:
    photos = [r.path for r in manifest if r.kind == "photo"]
    below = []
    for result in shared_engine().process(photos):
        k = labelled_face(result)
        assert k is not None, result.path
        if result.faces[k].quality < BAR:
            below.append((Path(result.path).name, round(result.faces[k].quality, 3)))
    assert len(photos) == 199 and below == []


def test_debris_never_joins_a_person_and_a_hand_placed_face_stays(debris) -> None:
    folder, db, debris_folder = debris
    with Library.open(db) as lib:
        poor = _poor_faces(lib)
        assert all(person is None for _, _, person in poor.values()), poor
        lib.cluster()
        assert all(lib.face(fid).person_id is None for fid, _, _ in poor.values())
        obama = max(people_of(lib, "obama"), key=lambda p: lib.person(p).face_count)
        cut = poor["obama_cut.jpg"][0]
        lib.move_faces([cut], obama)
        lib.cluster()
        assert lib.face(cut).person_id == obama
        # the photo changes on disk (re-saved): detected again, the decision carried over
        path = debris_folder / "obama_cut.jpg"
        with Image.open(path) as im:
            im.convert("RGB").save(path, quality=80)
        summary = lib.scan(engine=shared_engine())
        assert summary.changed == 1
        (again,) = [f for f in lib.faces(obama) if Path(f.photo_path).name == "obama_cut.jpg"]
        assert again.assigned_by == "user" and "cut by the edge" in (again.poor_reason or "")
        assert all(
            lib.face(fid).person_id is None
            for name, (fid, _, _) in _poor_faces(lib).items()
            if name != "obama_cut.jpg"
        )


def test_search_with_a_poor_face_says_so_and_shows_nothing_as_the_same_person(debris) -> None:
    _, db, _ = debris
    with Library.open(db) as lib:
        cut = _poor_faces(lib)["obama_cut.jpg"][0]
        assert lib.search(face_id=cut) == []  # the default threshold (65 %)
        hits = lib.search(face_id=cut, threshold=0.0, limit=20)
        assert hits and max(h.percent for h in hits) <= POOR_CEILING
        good = next(f for f in lib.faces() if f.person_id is not None and f.poor_reason is None)
        found = lib.search(face_id=good.face_id, threshold=0.0)
        assert all(h.percent <= POOR_CEILING for h in found if h.face.poor_reason)


def test_review_never_asks_about_a_poor_face(debris, monkeypatch) -> None:
    """Every question the queue could ask (down to any chance) leaves the poor faces out."""
    from faceorganizer.services.review import queue as review_queue

    monkeypatch.setattr(review_queue, "MIN_CHANCE", 0.0)
    _, db, _ = debris
    with Library.open(db) as lib:
        poor = {fid for fid, _, _ in _poor_faces(lib).values()}
        queue = lib.review_queue()
        assert len(queue) >= 5 and poor
        for s in queue:
            assert not poor & set(s.face_ids), s


@pytest.mark.slow
def test_strangers_stay_apart(tmp_path: Path) -> None:
    """1,000 one-photo people: at most 2 % of them end up in a group."""
    db = scanned_into(tmp_path / "library.sqlite3", [FACES_DIR / "lfw_strangers"])
    with Library.open(db) as lib:
        sizes = {p.person_id: p.face_count for p in lib.people()}
        grouped = {f.photo_id for f in lib.faces() if sizes.get(f.person_id or -1, 0) >= 2}
        photos = lib.counts()["photos"]
    assert photos == 1000
    assert len(grouped) <= 0.02 * photos, len(grouped)
