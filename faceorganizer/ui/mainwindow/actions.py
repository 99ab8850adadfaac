"""Every action of the main window, declared once.

A row gives the action's id, text, shortcuts and tip, the controller method it runs, where it
appears and when it is enabled. ``make_actions`` turns the rows into QActions,
``connect_actions`` connects them to the controllers and ``populate`` fills the menus, the
toolbar, the person bar and the context menus from the same rows.

Adding an action is one row here plus the controller method (and a predicate in
``selection.py`` when it is not always enabled). The controller method is named
``"controller.method"`` after the window's controller attributes (``"close"``: the window's).

Where an action appears: a container name, optionally ``container/section``; entries keep the
table's order and a separator goes between two sections of one container. Containers are the
menus in ``MENUS``, ``toolbar`` (the main toolbar), ``person_bar`` (above a person's faces),
``people_menu`` and ``faces_menu`` (the context menus of the people grid and the face grid).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar, QWidget

from faceorganizer.ui.mainwindow import selection as sel
from faceorganizer.ui.mainwindow.selection import SelectionState

Shortcut = str | QKeySequence.StandardKey
Key = QKeySequence.StandardKey

MENUS: tuple[tuple[str, str], ...] = (
    ("file", "&File"),
    ("edit", "&Edit"),
    ("view", "&View"),
    ("help", "&Help"),
)
BARS = ("toolbar", "person_bar")
CONTEXT_MENUS = ("people_menu", "faces_menu")
CONTAINERS = tuple(name for name, _title in MENUS) + BARS + CONTEXT_MENUS


@dataclass(frozen=True)
class ActionSpec:
    """One action. ``slot`` runs on ``triggered`` (on ``toggled(bool)`` when ``checkable``);
    ``made_by`` instead names a method returning an action Qt made (a dock's toggle), which
    the row renames and places like the others."""

    id: str
    text: str
    slot: str = ""
    shortcuts: tuple[Shortcut, ...] = ()
    tip: str = ""
    where: tuple[str, ...] = ()
    enabled_if: Callable[[SelectionState], bool] | None = None
    checkable: bool = False
    made_by: str = ""


A = ActionSpec
# fmt: off
ACTIONS: tuple[ActionSpec, ...] = (
    # navigation.py
    A("back", "&Back", "navigation.go_back", (Key.Back, "Backspace"),
      where=("view", "toolbar/go"), enabled_if=sel.can_go_back),
    A("people", "&People", "navigation.show_people", ("Ctrl+1",), where=("view",)),
    A("unassigned", "Faces &without a person", "navigation.show_unassigned", ("Ctrl+U",),
      where=("view",)),
    A("other", "&Other faces", "navigation.show_other", ("Ctrl+Shift+U",),
      "Faces too poor to recognise, never grouped or suggested", where=("view",)),
    # review.py
    A("review", "&Review", "review.show_review", ("Ctrl+R",),
      "Questions that put people right in a few answers",
      where=("view", "toolbar/go")),
    # scanning.py, watching.py
    A("add_folder", "&Add folder…", "scans.choose_folder", ("Ctrl+O",),
      "Add a folder of photos and scan it",
      where=("file/scan", "toolbar/go")),
    A("scan", "&Scan for new photos", "scans.start_scan", ("F5",),
      "Find new and changed photos in your folders",
      where=("file/scan", "toolbar/go"), enabled_if=sel.can_scan),
    A("cancel_scan", "S&top scan", "scans.cancel_scan", ("Esc",),
      where=("file/scan",), enabled_if=sel.is_scanning),
    A("watch", "&Watch folders for new photos", "watching.set_watching", checkable=True,
      where=("file/scan",)),
    A("errors", "&Unreadable files…", "scans.show_errors", where=("file/scan",)),
    # edits.py
    A("undo", "&Undo", "edits.undo", (Key.Undo,), where=("edit/history", "toolbar/history")),
    A("redo", "&Redo", "edits.redo", ("Ctrl+Shift+Z", "Ctrl+Y"),
      where=("edit/history", "toolbar/history")),
    A("rename", "Re&name…", "edits.rename_current", ("F2",),
      "Give this person a name",
      where=("edit/people", "person_bar", "people_menu"), enabled_if=sel.can_rename),
    A("merge", "&Merge", "edits.merge_selected", ("Ctrl+M",),
      "Make the selected people one person",
      where=("edit/people", "people_menu"), enabled_if=sel.several_people),
    A("move", "Mo&ve to…", "edits.move_selected", ("Ctrl+Shift+M",),
      "Move the selected faces to another person",
      where=("edit/people", "person_bar", "faces_menu"), enabled_if=sel.some_faces),
    A("new_person", "New &person", "edits.new_person_from_selected", ("Ctrl+N",),
      "Make a new person of the selected faces",
      where=("edit/people", "person_bar", "faces_menu"), enabled_if=sel.some_faces),
    A("reject", "&Not this person", "edits.reject_selected", ("Delete",),
      "Take the selected faces out of this person",
      where=("edit/people", "person_bar", "faces_menu"), enabled_if=sel.faces_of_one_person),
    A("not_face", "Not a &face", "edits.not_a_face_selected", ("Shift+Delete",),
      "These are not faces (a hand, the back of a head): out of people, search and grouping",
      where=("edit/people", "person_bar", "faces_menu"), enabled_if=sel.some_faces),
    A("confirm", "&Confirm", "edits.confirm_selected", ("Ctrl+Return",),
      "Mark the selected faces as right (grouping never moves them)",
      where=("edit/people", "person_bar", "faces_menu"), enabled_if=sel.faces_in_people),
    A("cover", "Use as &cover", "edits.cover_selected", (),
      "Show this face on the person's card",
      where=("edit/people", "person_bar", "faces_menu"),
      enabled_if=sel.one_face_of_this_person),
    A("hide", "&Hide", "edits.hide_selected", ("Ctrl+H",),
      "Hide the selected people or faces",
      where=("edit/people", "person_bar", "people_menu", "faces_menu"),
      enabled_if=sel.people_or_faces),
    A("unhide", "Un&hide", "edits.unhide_selected", ("Ctrl+Shift+H",),
      where=("edit/people", "people_menu", "faces_menu"), enabled_if=sel.people_or_faces),
    A("regroup", "Re&group people", "edits.regroup", (),
      "Place the faces without a person into people; faces in a person stay where they are",
      where=("edit/regroup",)),
    # search.py
    A("search_photo", "Search with a &photo…", "search.choose_photo", ("Ctrl+Shift+F",),
      "Find faces like one in a photo",
      where=("file/search", "toolbar/search")),
    A("similar_panel", "&Similar faces panel", made_by="similar_dock.toggleViewAction",
      shortcuts=("Ctrl+F",), where=("view", "toolbar/search")),
    # sharing.py
    A("export_people", "&Export people…", "sharing.export_people", ("Ctrl+E",),
      "A folder per named person with their photos and a contact sheet of their faces",
      where=("file/share",), enabled_if=sel.has_library),
    A("write_xmp", "&Write names to XMP sidecars", "sharing.write_xmp", (),
      "Put the names into photo.jpg.xmp sidecars, where digiKam, Lightroom and darktable see them",
      where=("file/share",), enabled_if=sel.has_library),
    A("import_xmp", "&Read names from XMP", "sharing.import_xmp", (),
      "Take the names other apps wrote into the photos or their sidecars",
      where=("file/share",), enabled_if=sel.can_scan),
    # settings.py, window.py
    A("open_library", "&Open library…", "settings.choose_library", ("Ctrl+Shift+O",),
      where=("file/library",)),
    A("settings", "Se&ttings…", "settings.show_settings", (Key.Preferences,),
      where=("file/library",)),
    A("quit", "&Quit", "close", (Key.Quit,), where=("file/quit",)),
    # help.py
    A("log_folder", "Open &log folder", "help.open_log_folder", (),
      "Show the folder of the log, where failures are explained", where=("help",)),
    A("about", "&About FaceOrganizer", "help.show_about", where=("help",)),
)
# fmt: on


def resolve(root: object, dotted: str) -> Callable[..., object]:
    """``"edits.undo"`` → ``root.edits.undo``; a clear error for a row naming nothing."""
    target: object = root
    for part in dotted.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise LookupError(f"action table: {dotted!r} names nothing on the window") from None
    if not callable(target):
        raise LookupError(f"action table: {dotted!r} is not callable")
    return target


def make_actions(specs: Iterable[ActionSpec], window: QWidget) -> dict[str, QAction]:
    """The QActions of ``specs``, owned by ``window`` (so their shortcuts work on every page);
    ``made_by`` rows take theirs from the window's widgets. Nothing is connected yet."""
    actions: dict[str, QAction] = {}
    for spec in specs:
        if spec.id in actions:
            raise ValueError(f"action table: {spec.id!r} twice")
        if spec.made_by:
            made = resolve(window, spec.made_by)()
            assert isinstance(made, QAction), spec.made_by
            action = made
            action.setText(spec.text)
        else:
            action = QAction(spec.text, window)
            action.setCheckable(spec.checkable)
            window.addAction(action)
        if spec.shortcuts:
            action.setShortcuts([QKeySequence(key) for key in spec.shortcuts])
        if spec.tip:
            action.setStatusTip(spec.tip)
            action.setToolTip(spec.tip)
        actions[spec.id] = action
    return actions


def connect_actions(
    specs: Iterable[ActionSpec], actions: Mapping[str, QAction], controllers: object
) -> None:
    """Connect each action to its controller method."""
    for spec in specs:
        if not spec.slot:
            continue
        slot = resolve(controllers, spec.slot)
        action = actions[spec.id]
        if spec.checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False, slot=slot: slot())


def placements(specs: Iterable[ActionSpec]) -> dict[str, list[tuple[str, str]]]:
    """Per container, its (action id, section) entries in table order."""
    where: dict[str, list[tuple[str, str]]] = {name: [] for name in CONTAINERS}
    for spec in specs:
        for place in spec.where:
            container, _, section = place.partition("/")
            if container not in where:
                raise ValueError(f"action table: {spec.id!r} in unknown {container!r}")
            where[container].append((spec.id, section))
    for container, entries in where.items():
        sections = [s for i, (_id, s) in enumerate(entries) if i == 0 or entries[i - 1][1] != s]
        if len(sections) != len(set(sections)):
            raise ValueError(f"action table: sections of {container!r} are not together")
    return where


def populate(
    containers: Mapping[str, QWidget],
    specs: Iterable[ActionSpec],
    actions: Mapping[str, QAction],
) -> None:
    """Fill menus, toolbars and context menus from the table. A container that is neither a
    menu nor a toolbar (a view) shows its actions as its context menu."""
    for name, entries in placements(specs).items():
        widget = containers[name]
        if not isinstance(widget, (QMenu, QToolBar)):
            widget.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for i, (action_id, section) in enumerate(entries):
            if i and section != entries[i - 1][1]:
                add_separator(widget)
            widget.addAction(actions[action_id])


def add_separator(widget: QWidget) -> None:
    if isinstance(widget, (QMenu, QToolBar)):
        widget.addSeparator()
        return
    separator = QAction(widget)
    separator.setSeparator(True)
    widget.addAction(separator)
