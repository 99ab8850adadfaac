"""Helpers shared by the GUI tests: selecting as a user does, with the view focused."""

from __future__ import annotations

from faceorganizer.ui.mainwindow import MainWindow


def select_face_rows(window: MainWindow, rows: list[int]) -> list[int]:
    """Select these rows of the faces grid; returns the face ids the view reports selected."""
    view = window.faces_view
    view.setFocus()
    sel = view.selectionModel()
    sel.clearSelection()
    for r in rows:
        sel.select(window.faces_model.index(r), sel.SelectionFlag.Select)
    return view.selected_face_ids()
