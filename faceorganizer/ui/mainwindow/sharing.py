"""Sharing people with other apps: Export people… (an album folder and a contact sheet per named
person), Write names to XMP sidecars, Read names from XMP.

Threading contract: the dialogs run on the GUI thread; the work (linking or copying photos,
drawing contact sheets, reading and writing XMP, cutting faces from regions) runs on the
window's ``editor`` thread with its writer library. A report opens when it is done (not modal);
names read from XMP are one edit, so the views refresh and Undo takes them back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox

from faceorganizer.services.types import ExportSummary, XmpImportSummary, XmpWriteSummary
from faceorganizer.ui.mainwindow.shell import Refreshes, Searches, Shell
from faceorganizer.ui.sharing_dialogs import (
    ExportDialog,
    export_report,
    import_report,
    report_box,
    write_report,
)

if TYPE_CHECKING:
    from faceorganizer.services.library import Library


class SharingWindow(Shell, Protocol):
    """What the sharing controller uses of the main window."""

    @property
    def refresher(self) -> Refreshes: ...
    @property
    def search(self) -> Searches: ...


class Sharing(QObject):
    done = Signal(object)  # the ExportSummary, XmpWriteSummary or XmpImportSummary

    def __init__(self, window: SharingWindow) -> None:
        super().__init__(window.window())
        self.window = window
        self.export_dest = ""
        self.report: QMessageBox | None = None

    def _show(self, title: str, text: str, details: str = "") -> None:
        if self.report is not None:
            self.report.close()
        self.report = report_box(self.window.window(), title, text, details)
        self.report.open()
        self.window.statusBar().showMessage(text.splitlines()[0], 8000)

    def export_people(self) -> None:
        w = self.window
        if w.editor is None:
            return
        dialog = ExportDialog(self.export_dest, w.window())
        if not dialog.exec():
            return
        self.export_to(dialog.choice().dest, dialog.choice().mode, dialog.choice().contact_sheet)

    def export_to(self, dest: str, mode: str = "link", contact_sheet: bool = True) -> None:
        """Export the named people to ``dest`` (on the editor thread), then report."""
        w = self.window
        if w.editor is None:
            return
        self.export_dest = dest

        def job(lib: Library) -> ExportSummary:
            return lib.export(dest, mode=mode, contact_sheet=contact_sheet)

        def finished(summary: ExportSummary) -> None:
            self._show("Export people", export_report(summary))
            self.done.emit(summary)

        w.statusBar().showMessage("Exporting people…")
        w.editor.submit("export", job, finished, w.show_error)

    def write_xmp(self) -> None:
        """Write every named face into the photos' XMP sidecars."""
        w = self.window
        if w.editor is None:
            return

        def finished(summary: XmpWriteSummary) -> None:
            self._show("Write names to XMP", *write_report(summary))
            self.done.emit(summary)

        w.statusBar().showMessage("Writing names to XMP sidecars…")
        w.editor.submit("xmp", lambda lib: lib.write_xmp(), finished, w.show_error)

    def import_xmp(self) -> None:
        """Read the names in every photo's XMP (one undoable edit), then refresh and report."""
        w = self.window
        if w.editor is None:
            return

        def finished(summary: XmpImportSummary) -> None:
            self._show("Read names from XMP", *import_report(summary))
            w.search.refresh()
            w.refresher.refresh(lambda: self.done.emit(summary))

        w.statusBar().showMessage("Reading names from XMP…")
        w.editor.submit("xmp", lambda lib: lib.import_xmp(), finished, w.show_error)
