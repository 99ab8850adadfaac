"""Screenshots of the real app on the shared photos (run under Xvfb).

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python resources/screenshots/make_screenshots.py

Scans ``../shared/data/faces/photos`` into a library kept in /tmp (reused on later runs), names
each person after the folder most of its faces come from (what a user would type), then grabs
the people grid, a person's faces, the similar-faces panel, a group photo and the Review page.
"""

from __future__ import annotations

import collections
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer

from faceorganizer.services.library import Library
from faceorganizer.ui.app import make_app
from faceorganizer.ui.mainwindow import MainWindow

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "data" / "faces" / "photos"
WORK = Path(os.environ.get("FO_SHOTS_DIR", Path(tempfile.gettempdir()) / "fo-cache-F" / "shots"))


def spin(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait(signal, ms: int = 600_000) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def name_people(path: Path) -> None:
    """Name each group after the person folder most of its faces come from."""
    with Library.open(path) as lib:
        for person in lib.people():
            if person.name:
                continue
            folders = collections.Counter(
                Path(f.photo_path).parent.name for f in lib.faces(person_id=person.person_id)
            )
            folder, n = folders.most_common(1)[0]
            if folder.startswith("_") or n < 2:
                continue
            name = folder.replace("_", " ").title()
            if name.casefold() not in {(p.name or "").casefold() for p in lib.people()}:
                lib.name_person(person.person_id, name)


def main() -> int:
    app = make_app()
    WORK.mkdir(parents=True, exist_ok=True)
    library = WORK / "library.sqlite3"
    settings = QSettings(str(WORK / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch_folders", False)
    settings.remove("geometry")
    settings.remove("windowState")
    fresh = not library.exists()
    w = MainWindow(library, device="auto", qsettings=settings)
    w.resize(1360, 860)
    w.show()
    wait(w.refreshed, 60_000)
    if fresh:
        w.scans.start_scan([str(SHARED)])
        spin(20_000)
        w.grab().save(str(HERE / "scanning.png"))
        wait(w.scan_done)
        name_people(library)
        w.refresher.refresh()
        wait(w.refreshed)
    w.similar_dock.hide()
    spin(1500)
    w.grab().save(str(HERE / "people.png"))

    people = [p for p in w.people_model.people() if p.name]
    person = max(people, key=lambda p: p.face_count)  # named people come first by name now
    w.navigation.open_person(person.person_id)
    spin(1500)
    w.grab().save(str(HERE / "person.png"))

    face = w.faces_model.face_at(2)
    w.faces_view.setCurrentIndex(w.faces_model.index(2))
    w.search.show_similar(face.face_id)
    wait(w.search_finished, 120_000)
    w.similar.slider.setValue(65)
    spin(1500)
    w.grab().save(str(HERE / "similar.png"))

    with Library.open(library, read_only=True) as lib:
        group = max(
            (f for f in lib.faces() if "_group" in f.photo_path),
            key=lambda f: len(lib.photo_faces(f.photo_id)),
        )
    w.similar_dock.hide()
    w.navigation.open_photo(group.face_id)
    for _ in range(100):
        if w.photo_view.has_picture():
            break
        spin(100)
    spin(800)
    w.grab().save(str(HERE / "photo.png"))

    w.review.show_review()
    for _ in range(600):
        if w.review.current is not None and w.review_page.body.isVisible():
            break
        spin(100)
    spin(2500)  # the sharp crops arrive
    w.grab().save(str(HERE / "review.png"))
    w.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
