"""The similar-faces dock never widens the window: where the window is too narrow to hold a page
and the panel side by side (a small screen), the panel floats over it instead of docking."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QRect, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

log = logging.getLogger(__name__)

SPLITTER = 12  # the dock's separator and frame, beside the two minimum widths


class DockFitter(QObject):
    """Floats ``dock`` when it is shown docked in a window narrower than page + dock.

    Qt grows the window to the docked layout's minimum as the dock appears, before anyone hears
    of it: the width the window had while the dock was hidden is kept, and given back."""

    def __init__(self, window: QMainWindow, dock: QDockWidget, page: QWidget) -> None:
        super().__init__(window)
        self.window, self.dock, self.page = window, dock, page
        self.width_before = window.width()
        window.installEventFilter(self)
        dock.visibilityChanged.connect(self._on_visibility)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and (self.dock.isHidden() or self.dock.isFloating()):
            self.width_before = self.window.width()
        return False

    def needed(self) -> int:
        return self.page.minimumWidth() + self.dock.minimumWidth() + SPLITTER

    def _on_visibility(self, visible: bool) -> None:
        width = self.width_before
        if not visible or self.dock.isFloating() or width >= self.needed():
            return
        log.info(
            "window %d px wide, under the %d px a page and the panel need: panel floats",
            width,
            self.needed(),
        )
        self.dock.setFloating(True)
        QTimer.singleShot(0, lambda: self._back_to(width))

    def _back_to(self, width: int) -> None:
        self.window.resize(width, self.window.height())
        inside = self.window.geometry()
        panel = min(max(self.dock.minimumWidth(), inside.width() // 2), inside.width())
        self.dock.setGeometry(
            QRect(inside.right() - panel + 1, inside.top(), panel, inside.height())
        )
