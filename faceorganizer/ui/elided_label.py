"""Labels that shorten their text to the width they get instead of asking for more."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """One line of plain text, elided in the middle to the width it is given: it never asks
    for more, so a long file name or message cannot widen the window (a photo's name once grew
    it to 2,674 px on a 1,600 px screen). The whole text is its tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = QFontMetrics(self.font())
        self.setText(metrics.elidedText(self._full, Qt.TextElideMode.ElideMiddle, self.width()))


def fit_header(metrics: QFontMetrics, room: QRect, flags: int, text: str) -> str:
    """``text`` ("name\ncount · %") with the name shortened (…) until all of it fits ``room``:
    a long name ran over the card's edges and hid the count (the whole is the tooltip)."""
    name, _, rest = text.partition("\n")

    def fits(candidate: str) -> bool:
        used = metrics.boundingRect(room, flags, candidate)
        return used.height() <= room.height() and used.width() <= room.width()

    shown = text
    while name and not fits(shown):
        name = name[:-1].rstrip()
        shown = f"{name}…\n{rest}" if rest else f"{name}…"
    return shown


class FittedLabel(QLabel):
    """Centred text on at most ``lines`` lines, shortened with "…" (``fit_header``) to the
    width it gets, so it never widens the page; the whole text is its tooltip."""

    def __init__(self, lines: int = 2, bold: float = 1.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.lines = lines
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * bold)
        font.setBold(True)
        self.setFont(font)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        metrics = QFontMetrics(self.font())
        room = QRect(0, 0, max(1, self.width()), self.lines * metrics.lineSpacing())
        flags = int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap)
        shown = fit_header(metrics, room, flags, self._full)
        if shown != self.text():
            self.setText(shown)
