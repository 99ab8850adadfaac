"""A drag in the people grid through Qt's own drag loop, for tests/ui/test_people_drag.py.

Run on the minimal platform (its drag is Qt's QSimpleDrag, the same QBasicDrag loop the X11 and
Wayland platforms run; the offscreen platform has none). The mouse presses a card, drags it to
the bottom edge and waits, rolls the wheel, and drops it on the card under the mouse. Prints one
JSON line: how far each step scrolled and the merge the drop asked for.
"""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from faceorganizer.services.types import PersonInfo
from faceorganizer.ui.people_model import PeopleModel, PersonIdRole
from faceorganizer.ui.people_view import PeopleView

PEOPLE = 300
EDGE_WAIT_MS = 20_000


def main() -> int:
    app = QApplication(sys.argv[:1])
    if QGuiApplication.platformName() != "minimal":
        print(json.dumps({"error": f"platform {QGuiApplication.platformName()}"}))
        return 2
    model = PeopleModel()
    model.set_people([PersonInfo(i, None, 3, 2, None) for i in range(1, PEOPLE + 1)])
    view = PeopleView()
    view.setModel(model)
    view.resize(520, 420)
    view.show()
    QTest.qWaitForWindowExposed(view)
    merges: list[list[object]] = []
    model.merge_requested.connect(lambda target, others: merges.append([target, others]))
    window = view.window().windowHandle()
    viewport = view.viewport()
    bar = view.verticalScrollBar()
    result: dict[str, object] = {"max": bar.maximum(), "single_step": bar.singleStep()}

    def at(x: int, y: int) -> QPoint:
        return viewport.mapTo(view.window(), QPoint(x, y))

    start = view.visualRect(model.index(0)).center()
    result["first_hidden"] = next(
        int(model.index(r).data(PersonIdRole))
        for r in range(model.rowCount())
        if view.visualRect(model.index(r)).top() >= viewport.height()
    )

    def during_drag() -> None:
        x = start.x()
        for y in range(start.y(), viewport.height() - 8, 24):
            QTest.mouseMove(window, at(x, y))
            QTest.qWait(20)
        QTest.mouseMove(window, at(x, viewport.height() - 8))
        for _ in range(EDGE_WAIT_MS // 100):  # until it scrolled three rows (or gave up)
            QTest.qWait(100)
            if bar.value() > 3 * view.gridSize().height():
                break
        result["scrolled_at_edge"] = bar.value()
        middle = viewport.height() // 2
        QTest.mouseMove(window, at(x, middle))
        QTest.qWait(200)
        before = bar.value()
        point = QPointF(at(x, middle))
        wheel = QWheelEvent(
            point,
            QPointF(view.window().mapToGlobal(point.toPoint())),
            QPoint(0, 0),
            QPoint(0, -120),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(window, wheel)
        QTest.qWait(100)
        result["wheel"] = bar.value() - before
        target = view.indexAt(QPoint(x, middle))
        result["target"] = int(target.data(PersonIdRole)) if target.isValid() else None
        QTest.mouseRelease(
            window, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(x, middle)
        )

    class DragStarted(QObject):
        """Runs the drag's steps once Qt's drag loop has begun (a fixed delay races it)."""

        started = False

        def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.DragEnter and not self.started:
                self.started = True
                QTimer.singleShot(100, during_drag)
            return False

    started = DragStarted()
    viewport.installEventFilter(started)
    QTest.mousePress(
        window, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(start.x(), start.y())
    )
    for dy in range(0, 40, 5):  # past the drag distance: the drag loop starts here
        QTest.mouseMove(window, at(start.x(), start.y() + dy))
    QTest.qWait(500)
    result["merges"] = merges
    print(json.dumps(result))
    view.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
