"""Dialogs for sharing people: "Export people…" (album folders, contact sheets) and the reports
of reading and writing face names in XMP. The window's sharing controller runs the work."""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from faceorganizer.services.types import ExportSummary, XmpImportSummary, XmpWriteSummary

MAX_DETAILS = 500


@dataclass(frozen=True)
class ExportChoice:
    dest: str
    mode: str  # "link" | "copy"
    contact_sheet: bool


class ExportDialog(QDialog):
    """Where to export the named people, links or copies, and contact sheets or not."""

    def __init__(self, dest: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export people")
        self.folder = QLineEdit(dest)
        self.folder.setPlaceholderText("A folder for one sub-folder per named person")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.link = QRadioButton("Links to the photos (no extra space)")
        self.copy = QRadioButton("Copies of the photos")
        self.link.setChecked(True)
        self.contact_sheet = QCheckBox("A contact sheet of each person's faces (JPEG, A4)")
        self.contact_sheet.setChecked(True)
        form = QFormLayout()
        form.addRow("Folder", row)
        form.addRow("Photos", self.link)
        form.addRow("", self.copy)
        form.addRow("", self.contact_sheet)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.folder.textChanged.connect(self._update)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._update()

    def _choose(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export people to", self.folder.text())
        if path:
            self.folder.setText(path)

    def _update(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self.folder.text().strip()))

    def choice(self) -> ExportChoice:
        dest = os.path.expanduser(self.folder.text().strip())
        mode = "copy" if self.copy.isChecked() else "link"
        return ExportChoice(dest, mode, self.contact_sheet.isChecked())


def export_report(s: ExportSummary) -> str:
    how = f"{s.linked} linked" if s.linked or not s.copied else f"{s.copied} copied"
    people = "1 person" if s.folders == 1 else f"{s.folders} people"
    photos = f"{s.files} photo{'s' * (s.files != 1)}"
    text = f"{people}, {photos} ({how}) in {s.dest}"
    if s.sheets:
        text += f"; {s.sheets} contact sheet page{'s' * (s.sheets != 1)}"
    if s.errors:
        n = len(s.errors)
        text += f"; {n} file{'s' * (n != 1)} not exported (the log names them and says why)"
    return text


def import_report(s: XmpImportSummary) -> tuple[str, str]:
    """(short text, details) of reading names from XMP."""
    if not s.with_regions:
        return f"No face regions in the XMP of {s.photos} photos.", ""
    text = (
        f"{s.named} face{'s' * (s.named != 1)} named from XMP in {s.with_regions} "
        f"photo{'s' * (s.with_regions != 1)}"
        + (f", {s.cut} of them cut from regions no face was found in" if s.cut else "")
        + ("; Undo takes them back." if s.edit_id else ".")
    )
    lines = []
    if s.conflicts:
        text += f"\n{len(s.conflicts)} name(s) not applied: they disagree with your names."
        for c in s.conflicts[:MAX_DETAILS]:
            if c.library_name:
                why = f"the face is {c.library_name!r} here"
            elif c.reason == "marked as not this person":
                why = "you said the face is not them"
            else:
                why = c.reason
            lines.append(f"{c.xmp_name!r} in XMP, but {why}: {c.photo}")
    lines += s.error_lines()[:MAX_DETAILS]
    return text, "\n".join(lines)


def write_report(s: XmpWriteSummary) -> tuple[str, str]:
    """(short text, details) of writing names into sidecars."""
    text = (
        f"{s.faces} named face{'s' * (s.faces != 1)} in {s.photos} photo"
        f"{'s' * (s.photos != 1)}: {s.written} sidecar{'s' * (s.written != 1)} written, "
        f"{s.unchanged} already up to date."
    )
    lines = [f"Replaced {name!r} written by another app in {path}" for path, name in s.replaced]
    if s.errors:
        text += f"\n{len(s.errors)} sidecar(s) could not be written."
        lines += [reason for _path, reason in s.errors[:MAX_DETAILS]]
    return text, "\n".join(lines)


def report_box(parent: QWidget | None, title: str, text: str, details: str = "") -> QMessageBox:
    """A message with the long list behind "Show Details…" (shown with ``open()``)."""
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setText(text)
    if details:
        box.setDetailedText(details)
    return box
