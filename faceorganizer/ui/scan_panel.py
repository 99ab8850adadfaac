"""The scan's progress, shown while it runs: photos done/total, faces, rate, ETA, pause, cancel,
and the files that could not be read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from faceorganizer.services.types import ScanProgress, ScanSummary
from faceorganizer.ui.elided_label import ElidedLabel


def format_eta(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s left"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s left"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min left"


def describe_progress(p: ScanProgress) -> str:
    if p.phase == "walking":
        return "Looking for photos…"
    if p.phase == "names":
        return f"Reading face names from XMP… {p.done:,} / {p.total:,} photos"
    if p.phase == "clustering":
        return f"Grouping {p.faces} faces into people…"
    if p.phase == "done":
        return f"Done: {p.done} photos, {p.faces} faces"
    parts = [f"{p.done:,} / {p.total:,} photos", f"{p.faces:,} faces"]
    if p.failed:
        parts.append(f"{p.failed} unreadable")
    if p.rate > 0:
        parts.append(f"{p.rate:.1f} photos/s")
    eta = format_eta(p.eta_s)
    if eta:
        parts.append(eta)
    return " · ".join(parts)


def describe_summary(s: ScanSummary) -> str:
    head = "Scan finished"
    if s.cancelled:
        head = f"Scan stopped after {s.read} of {s.to_read} photos (the next scan goes on)"
    parts = [f"{s.new} new", f"{s.changed} changed", f"{s.unchanged} unchanged"]
    if s.moved:
        parts.append(f"{s.moved} moved")
    if s.removed:
        parts.append(f"{s.removed} removed")
    if s.failed:
        parts.append(f"{s.failed} could not be read")
    if s.folders:
        n = len(s.folders)
        parts.append(f"{n} folder{'s' * (n != 1)} could not be read")
    if s.decisions_dropped:
        n = len(s.decisions_dropped)
        parts.append(f"{n} changed photo{'s' * (n != 1)} no longer hold the same faces")
    text = f"{head}: {', '.join(parts)} — {s.faces_added} faces added"
    if s.xmp is not None and (s.xmp.named or s.xmp.conflicts):
        text += f"; {s.xmp.named} face names read from XMP"
        if s.xmp.conflicts:
            text += f", {len(s.xmp.conflicts)} not applied (they disagree with your names)"
    return text


class ErrorsDialog(QDialog):
    """Files that could not be read, with the reason for each."""

    def __init__(self, errors: Sequence[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Files that could not be read")
        self.resize(720, 360)
        tree = QTreeWidget(self)
        tree.setHeaderLabels(["File", "Reason", "Folder"])
        tree.setRootIsDecorated(False)
        for path, reason in errors:
            p = Path(path)
            QTreeWidgetItem(tree, [p.name, reason, str(p.parent)])
        tree.resizeColumnToContents(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{len(errors)} file(s) were skipped:"))
        layout.addWidget(tree, 1)
        layout.addWidget(buttons)
        self.tree = tree


class ScanPanel(QWidget):
    """A slim bar above the status bar, visible while a scan runs."""

    pause_toggled = Signal(bool)
    cancel_requested = Signal()
    errors_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scanPanel")
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.setMinimumWidth(240)
        self.label = ElidedLabel()
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setToolTip("Stop the scan; the next scan resumes where it stopped")
        self.errors_button = QPushButton("")
        self.errors_button.setFlat(True)
        self.errors_button.setVisible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.addWidget(self.bar, 2)
        layout.addWidget(self.label, 3)
        layout.addWidget(self.errors_button)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        self.pause_button.toggled.connect(self._on_pause)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.errors_button.clicked.connect(self.errors_requested)
        self.last: ScanProgress | None = None

    def started(self) -> None:
        self.last = None
        self.bar.setRange(0, 0)
        self.label.set_full_text("Looking for photos…")
        self.pause_button.setChecked(False)
        self.pause_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.setVisible(True)

    def update_progress(self, p: ScanProgress) -> None:
        self.last = p
        if p.total > 0 and p.phase in ("scanning", "names"):
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.done, p.total))
        elif p.phase != "scanning":
            self.bar.setRange(0, 0)
        self._show_label()
        self.set_error_count(p.failed)

    def _show_label(self) -> None:
        """The progress; while paused it says so first (no progress arrives then)."""
        paused = self.pause_button.isChecked()
        last = self.last
        if paused and last is not None:  # no rate or time left while nothing moves
            last = replace(last, rate=0.0, eta_s=None)
        text = describe_progress(last) if last is not None else ""
        if paused:
            text = f"Paused — {text}" if text else "Paused"
        self.label.set_full_text(text)

    def set_error_count(self, n: int) -> None:
        self.errors_button.setText(f"{n} unreadable file{'s' * (n != 1)}…")
        self.errors_button.setVisible(n > 0)

    def finished(self, text: str) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.label.set_full_text(text)
        self.pause_button.setEnabled(False)
        self.cancel_button.setEnabled(False)

    def _on_pause(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self._show_label()
        self.pause_toggled.emit(paused)
