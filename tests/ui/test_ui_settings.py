"""The window reads its settings from their declarations: the library's "same person at"
threshold is the similar-faces panel's default, and the chosen device reaches every worker."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings  # noqa: E402

from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.ui.mainwindow import MainWindow  # noqa: E402
from tests.helpers.fakes import fake_photo  # noqa: E402

pytestmark = pytest.mark.qt_log_level_fail("WARNING")  # the ignored messages: pyproject.toml


@pytest.fixture
def window(qtbot, tmp_path: Path, library: Library, album, engine):  # type: ignore[no-untyped-def]
    folder, _ = album
    fake_photo(folder / "dee_1.png", ["dee"], seed=99)
    library.scan(engine=engine)
    path = library.path
    library.close()
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch_folders", False)
    w = MainWindow(path, qsettings=settings)
    qtbot.addWidget(w)
    qtbot.waitSignal(w.refreshed, timeout=20_000).wait()
    yield w
    w.close()


def _search(qtbot, window: MainWindow, face_id: int) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        window.search.show_similar(face_id)


def _ann_face(window: MainWindow) -> int:
    assert window.reader is not None
    return next(f.face_id for f in window.reader.faces() if "ann_1" in f.photo_path)


def test_threshold_setting_is_the_panels_default(qtbot, window: MainWindow) -> None:
    panel = window.similar
    assert panel.slider.value() == 65
    _search(qtbot, window, _ann_face(window))
    percents = sorted(h.percent for h in panel.model._hits)
    assert panel.model.count_above() == sum(p >= 65 for p in percents)
    lookalike = [p for p in percents if 1 <= p < 65]
    assert lookalike, percents  # the look-alike: below the default, far above strangers
    new = math.floor(lookalike[-1])
    window.settings.apply_settings({"threshold_percent": float(new)})
    qtbot.waitUntil(lambda: panel.slider.value() == new, timeout=10_000)
    assert panel.model.count_above() == sum(p >= new for p in percents)
    assert panel.model.count_above() > sum(p >= 65 for p in percents)
    assert panel.count_label.text().startswith(f"{panel.model.count_above()} face")
    assert window.reader is not None and window.reader.settings()["threshold_percent"] == new


def test_device_setting_reaches_every_worker(qtbot, window: MainWindow) -> None:
    window.settings.apply_settings({"device": "cpu"})
    assert window.machine.get("device") == "cpu"
    seen: list[str] = []
    for n, handle in enumerate((window.engine, window.editor, window.lister), 1):
        assert handle is not None
        # other jobs (the startup refresh) may finish first: wait for our answer
        handle.submit("which device", lambda lib: lib.device, seen.append)
        qtbot.waitUntil(lambda n=n: len(seen) == n, timeout=10_000)
    assert seen == ["cpu", "cpu", "cpu"]


def test_ray_cluster_setting_reaches_the_scan(qtbot, window: MainWindow, monkeypatch) -> None:
    """The cluster chosen in Settings is this computer's, and the next scan is sent there with
    its path map; a malformed map is told to the user and starts no scan."""
    window.settings.apply_settings({"ray_address": "10.0.0.5:6379", "ray_path_map": "/a=/b"})
    assert window.machine.get("ray_address") == "10.0.0.5:6379"
    asked: list[object] = []
    assert window.engine is not None
    monkeypatch.setattr(window.engine, "scan", lambda *a, **kw: asked.append(kw["ray"]))
    assert window.scans.start_scan(["/photos"])
    ray = asked[0]
    assert (ray.address, ray.path_map) == ("10.0.0.5:6379", (("/a", "/b"),))  # type: ignore[attr-defined]
    window.scans.scanning = False
    window.settings.apply_settings({"ray_path_map": "no equals sign"})
    errors: list[str] = []
    monkeypatch.setattr(window, "show_error", errors.append)
    assert not window.scans.start_scan(["/photos"])
    assert len(asked) == 1 and "SRC=DST" in errors[0]
    window.settings.apply_settings({"ray_address": ""})
    assert window.machine.get("ray_address") is None
