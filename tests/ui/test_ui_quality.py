"""Issue 18 in the real window (offscreen Qt, real photos and model): "Other faces" lists the
faces too poor to recognise with their reasons, Review never shows one, and the similar-faces
panel says when the face searched with is too poor to compare reliably. Each page is grabbed to
a PNG in the test's folder (``FACEORGANIZER_SHOTS`` keeps them elsewhere, to look at)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QRect, QSettings  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from faceorganizer import config  # noqa: E402
from faceorganizer.core.quality import POOR_CEILING  # noqa: E402
from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.ui.faces_view import FACE_THUMB, PLACE_COLOR, face_place  # noqa: E402
from faceorganizer.ui.mainwindow import PERSON_PAGE, MainWindow  # noqa: E402
from tests.helpers.library_support import copy_library, debris_library  # noqa: E402

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
]


@pytest.fixture
def window(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    folder, db, _ = debris_library()
    _, db = copy_library(folder, db, tmp_path)
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch_folders", False)
    w = MainWindow(db, device="cpu", qsettings=settings)
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    qtbot.waitSignal(w.refreshed, timeout=30_000).wait()
    yield w, db
    w.ask_before_quit = False
    w.close()


def shot(widget, name: str, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    QTest.qWait(1500)  # the thumbnails, read on their own thread
    folder = Path(os.environ.get("FACEORGANIZER_SHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    assert widget.grab().save(str(path))
    return path


def poor_ids(db: Path) -> set[int]:
    with Library.open(db, read_only=True) as lib:
        return {f.face_id for f in lib.faces(other=True)} | {
            f.face_id for f in lib.faces() if f.poor_reason is not None
        }


def test_other_faces_lists_the_faces_too_poor_to_recognise_with_why(qtbot, window, tmp_path):
    w, db = window
    qtbot.waitUntil(lambda: "Other faces (" in w.people_page.other_button.text(), timeout=30_000)
    w.similar_dock.show()  # opening the page, like any faces page, is not a search
    searches: list[int] = []
    w.search_finished.connect(searches.append)
    w.action("other").trigger()
    qtbot.waitUntil(
        lambda: w.stack.currentIndex() == PERSON_PAGE and w.faces_model.rowCount() > 0,
        timeout=30_000,
    )  # listed on a worker thread
    QTest.qWait(500)  # time for a search, had the page started one
    assert w.faces_view.currentIndex().row() == 0
    assert searches == [] and w.similar.query_face_id is None
    model = w.faces_model
    shown = [model.face_at(r) for r in range(model.rowCount())]
    names = {Path(f.photo_path).name: f.poor_reason for f in shown if f is not None}
    assert "cut by the edge" in names["obama_cut.jpg"]
    assert "too blurred" in names["obama_blur.jpg"] and "too blurred" in names["kit_blur.jpg"]
    assert all(f is not None and f.person_id is None and f.poor_reason for f in shown)
    assert w.faces_view.itemDelegate().reasons  # type: ignore[attr-defined]
    _the_cut_face_is_outlined_where_it_is(w, shown)
    assert "Other faces" in w.person_title.text()
    count = int(w.people_page.other_button.text().split("(")[1].rstrip(")"))
    assert count == model.rowCount()
    shot(w, "other_faces", tmp_path)
    w.action("unassigned").trigger()
    loose = [w.faces_model.face_at(r) for r in range(w.faces_model.rowCount())]
    assert not any(f is not None and f.poor_reason for f in loose)
    assert not w.faces_view.itemDelegate().reasons  # type: ignore[attr-defined]


def _the_cut_face_is_outlined_where_it_is(w, shown) -> None:
    """A face cut by the border sits off-centre in its thumbnail: its own box is drawn there."""
    row = next(r for r, f in enumerate(shown) if Path(f.photo_path).name == "obama_cut.jpg")
    index = w.faces_model.index(row)
    w.faces_view.scrollTo(index)
    cell = w.faces_view.visualRect(index)
    thumb = QRect(cell.x() + (cell.width() - FACE_THUMB) // 2, cell.y() + 6, FACE_THUMB, FACE_THUMB)
    place = face_place(shown[row], thumb)
    assert place is not None and thumb.contains(place)
    assert abs(place.center().x() - thumb.center().x()) > FACE_THUMB // 8  # off-centre
    image = w.faces_view.viewport().grab().toImage()
    edge = [image.pixelColor(place.left() + d, place.center().y()) for d in (-1, 0, 1)]
    amber = PLACE_COLOR
    assert any(
        abs(c.red() - amber.red()) + abs(c.green() - amber.green()) + abs(c.blue() - amber.blue())
        < 60
        for c in edge
    ), [c.name() for c in edge]


def test_review_never_shows_a_poor_face(qtbot, window, tmp_path, monkeypatch):
    from faceorganizer.services.review import queue as review_queue

    monkeypatch.setattr(review_queue, "MIN_CHANCE", 0.0)  # every question it could ask
    w, db = window
    poor = poor_ids(db)
    assert poor
    w.action("review").trigger()
    qtbot.waitUntil(lambda: w.review.loaded and not w.review._loading, timeout=60_000)
    seen: list[str] = []
    while w.review.current is not None and len(seen) < 8:
        s = w.review.current
        assert not poor & {t.face.face_id for t in w.review_page.tiles}, s
        assert not poor & set(s.face_ids)
        seen.append(s.suggestion_id)
        if len(seen) == 1:
            shot(w, "review", tmp_path)
        w.review_page.skip_button.click()
        qtbot.waitUntil(
            lambda: w.review.current is None or w.review.current.suggestion_id not in seen,
            timeout=60_000,
        )
    assert seen


def test_the_panel_says_a_poor_face_is_too_poor_to_compare(qtbot, window, tmp_path):
    w, db = window
    with Library.open(db, read_only=True) as lib:
        (cut,) = [f for f in lib.faces(other=True) if Path(f.photo_path).name == "obama_cut.jpg"]
    with qtbot.waitSignal(w.search_finished, timeout=60_000):
        w.search.show_similar(cut.face_id)
    warning = w.similar.warning.text()
    assert w.similar.warning.isVisible()
    assert "too poor to compare reliably" in warning and "cut by the edge" in warning
    default = float(config.default("threshold_percent"))
    assert w.similar.model.count_above() == 0
    assert w.similar.count_label.text() == f"0 faces ≥ {default:.0f} %"
    w.similar.slider.setValue(0)
    qtbot.waitUntil(lambda: w.similar.model.count_above() > 0, timeout=60_000)
    hits = [w.similar.model.hit_at(r) for r in range(w.similar.model.rowCount())]
    assert all(h.percent <= POOR_CEILING for h in hits if h is not None)
    shot(w, "poor_query", tmp_path)
    with Library.open(db, read_only=True) as lib:
        good = next(f for f in lib.faces() if f.person_id is not None and not f.poor_reason)
    with qtbot.waitSignal(w.search_finished, timeout=60_000):
        w.search.show_similar(good.face_id)
    assert not w.similar.warning.isVisible()
