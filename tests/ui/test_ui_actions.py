"""The main window's action table drives its menus, toolbars and context menus: a real window
(offscreen) on a new, empty library; no photos or models needed."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtGui import QAction, QImage, QKeySequence  # noqa: E402
from PySide6.QtWidgets import QMenu, QToolBar, QWidget  # noqa: E402

from faceorganizer.ui.mainwindow import MainWindow  # noqa: E402
from faceorganizer.ui.mainwindow.actions import (  # noqa: E402
    ACTIONS,
    CONTAINERS,
    MENUS,
    ActionSpec,
    placements,
)
from faceorganizer.ui.mainwindow.pages import PEOPLE_PAGE, PERSON_PAGE  # noqa: E402
from faceorganizer.ui.mainwindow.selection import SelectionState  # noqa: E402

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
]


@pytest.fixture
def window(qtbot, tmp_path: Path):
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("watch_folders", False)
    w = MainWindow(tmp_path / "library.sqlite3", device="cpu", qsettings=settings)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.refreshed, timeout=30_000):
        pass
    yield w
    w.close()


def containers(window: MainWindow) -> dict[str, QWidget]:
    menus = {a.menu().title(): a.menu() for a in window.menuBar().actions()}
    found: dict[str, QWidget] = {name: menus[title] for name, title in MENUS}
    found.update(
        toolbar=window.findChild(QToolBar, "mainToolbar"),
        person_bar=window.person_page.person_bar,
        people_menu=window.people_view,
        faces_menu=window.faces_view,
    )
    assert set(found) == set(CONTAINERS)
    return found


def test_every_row_appears_where_declared_once_and_nowhere_else(window):
    for name, widget in containers(window).items():
        entries = [a for a in widget.actions() if not a.isSeparator()]
        declared = [window.action(spec.id) for spec in ACTIONS if name in where(spec)]
        assert entries == declared, name  # the table's order, each action once
        separators = sum(a.isSeparator() for a in widget.actions())
        assert separators == max(0, len(section_runs(name)) - 1), name


def test_menus_and_toolbar_read_as_before_the_table(window):
    """The layout users know (the menus of the single-class window this package replaced, and
    the Help menu, "Not a face" and Review added since)."""
    expected = {
        "file": "&Add folder… | &Scan for new photos | S&top scan | &Watch folders for new photos"
        " | &Unreadable files… | - | Search with a &photo… | - | &Export people…"
        " | &Write names to XMP sidecars | &Read names from XMP | - | &Open library… | Se&ttings…"
        " | - | &Quit",
        "edit": "&Undo | &Redo | - | Re&name… | &Merge | Mo&ve to… | New &person"
        " | &Not this person | Not a &face | &Confirm | Use as &cover | &Hide | Un&hide | -"
        " | Re&group people",
        "view": "&Back | &People | Faces &without a person | &Other faces | &Review | "
        "&Similar faces panel",
        "help": "Open &log folder | &About FaceOrganizer",
        "toolbar": "&Back | &Review | &Add folder… | &Scan for new photos | - | &Undo | &Redo | -"
        " | Search with a &photo… | &Similar faces panel",
        "person_bar": "Re&name… | Mo&ve to… | New &person | &Not this person | Not a &face"
        " | &Confirm | Use as &cover | &Hide",
        "people_menu": "Re&name… | &Merge | &Hide | Un&hide",
        "faces_menu": "Mo&ve to… | New &person | &Not this person | Not a &face | &Confirm"
        " | Use as &cover | &Hide | Un&hide",
    }
    found = containers(window)
    for name, text in expected.items():
        shown = [("-" if a.isSeparator() else a.text()) for a in found[name].actions()]
        assert " | ".join(shown) == text, name


def test_menu_bar_holds_the_declared_menus_in_order(window):
    titles = [a.menu().title() for a in window.menuBar().actions()]
    assert titles == [title for _name, title in MENUS]
    assert all(isinstance(containers(window)[name], QMenu) for name, _title in MENUS)


def test_shortcuts_are_unique_and_reach_the_window(window):
    seen: dict[str, str] = {}
    for spec in ACTIONS:
        keys = [k.toString() for k in window.action(spec.id).shortcuts()]
        for declared in spec.shortcuts:
            if isinstance(declared, str):
                assert QKeySequence(declared).toString() in keys, (spec.id, declared)
        for text in keys:
            if not text:  # a standard key this platform leaves unbound
                continue
            assert text not in seen, f"{text} for {spec.id} and {seen[text]}"
            seen[text] = spec.id
    assert {"F2", "Ctrl+M", "Del", "Backspace", "Ctrl+Y", "Ctrl+Shift+Z", "Ctrl+F"} <= set(seen)
    own = set(window.actions())
    for spec in ACTIONS:
        if not spec.made_by:  # the panel's toggle belongs to its dock
            assert window.action(spec.id) in own, spec.id


def test_triggering_a_row_runs_its_controller_method(window, qtbot):
    window.navigation.show_unassigned()
    assert window.stack.currentIndex() == PERSON_PAGE
    window.action("people").trigger()
    assert window.stack.currentIndex() == PEOPLE_PAGE
    window.action("similar_panel").trigger()
    assert window.similar_dock.isVisible() and window.action("similar_panel").isChecked()
    window.action("watch").trigger()
    assert window.machine.get("watch_folders") is True


def test_enabled_states_follow_the_selection(window):
    state = window.selection.state()
    assert (state.page, state.people, state.faces, state.scanning) == (PEOPLE_PAGE, [], [], False)
    enabled = {spec.id: window.action(spec.id).isEnabled() for spec in ACTIONS}
    assert not enabled["scan"] and not enabled["cancel_scan"]  # no folder yet: nothing to rescan
    assert not any(enabled[i] for i in ("rename", "merge", "move", "reject", "cover", "hide"))
    assert not enabled["back"] and not enabled["undo"] and not enabled["redo"]


def test_predicates_read_the_selection():
    by_id = {spec.id: spec for spec in ACTIONS}

    def enabled(action_id: str, **changes) -> bool:
        base = dict(
            page=PEOPLE_PAGE,
            people=[],
            faces=[],
            faces_person=None,
            faces_placed=False,
            current_person=None,
            has_library=True,
            has_folders=True,
            has_history=False,
            scanning=False,
        )
        predicate = by_id[action_id].enabled_if
        assert predicate is not None
        return predicate(SelectionState(**(base | changes)))

    assert enabled("rename", people=[3]) and not enabled("rename", people=[3, 4])
    assert enabled("rename", page=PERSON_PAGE, current_person=3)
    assert enabled("merge", people=[3, 4]) and not enabled("merge", people=[3])
    assert enabled("reject", faces=[1], faces_person=3) and not enabled("reject", faces=[1])
    assert enabled("confirm", faces=[1], faces_placed=True) and not enabled("confirm", faces=[1])
    assert enabled("cover", page=PERSON_PAGE, faces=[1], current_person=3)
    assert not enabled("cover", page=PERSON_PAGE, faces=[1, 2], current_person=3)
    assert enabled("back", page=PERSON_PAGE) and enabled("back", has_history=True)
    assert not enabled("back")
    assert enabled("scan") and not enabled("scan", scanning=True)
    assert not enabled("scan", has_folders=False)
    assert enabled("cancel_scan", scanning=True) and not enabled("cancel_scan")


@pytest.mark.real_model  # the first folder is scanned through the app's engine
def test_scan_again_waits_for_a_first_folder(window, qtbot, tmp_path):
    """ "Scan for new photos" was offered in an empty library, where it has nothing to scan
    again; "Add folder" is how the first folder comes, and after it the rescan is offered."""
    scan, add = window.action("scan"), window.action("add_folder")
    assert not scan.isEnabled() and add.isEnabled()
    folder = tmp_path / "photos"
    folder.mkdir()
    QImage(64, 48, QImage.Format.Format_RGB32).save(str(folder / "blank.png"))
    with qtbot.waitSignal(window.scan_done, timeout=120_000):
        window.scans.add_folder(str(folder))
    qtbot.waitUntil(scan.isEnabled, timeout=30_000)
    assert add.isEnabled() and window.reader is not None and window.reader.folders()


def test_table_mistakes_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        placements([ActionSpec("x", "X", "edits.undo", where=("nowhere",))])
    scattered = [
        ActionSpec("a", "A", "edits.undo", where=("file/one",)),
        ActionSpec("b", "B", "edits.undo", where=("file/two",)),
        ActionSpec("c", "C", "edits.undo", where=("file/one",)),
    ]
    with pytest.raises(ValueError, match="not together"):
        placements(scattered)


def where(spec: ActionSpec) -> set[str]:
    return {place.partition("/")[0] for place in spec.where}


def section_runs(container: str) -> list[str]:
    entries = placements(ACTIONS)[container]
    return [s for i, (_id, s) in enumerate(entries) if i == 0 or entries[i - 1][1] != s]


def test_every_action_is_a_qaction(window):
    assert all(isinstance(window.action(spec.id), QAction) for spec in ACTIONS)
