"""Pick a person to move faces to: type to filter, pick a card, or type a new name.

Nothing is chosen until the user chooses: Enter on a name someone has picks that person; the
beginning of a name only one person's starts with picks that person's card as it is typed (so
Enter takes the card on screen, not a new person called "Madon"); Enter on any other name makes
a new person of that name ("New person “…”" always does); and a card is picked by click, arrows
or Enter on it. The faces' current person is listed too, and named above the cards.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QSortFilterProxyModel, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from faceorganizer.services.types import PersonInfo
from faceorganizer.ui.people_model import PeopleModel, PersonIdRole, PersonRole, long_name
from faceorganizer.ui.people_view import PersonCardDelegate

NEW_PERSON = -1


class PersonChooser(QDialog):
    """After ``exec()``: ``chosen`` is a person id, ``NEW_PERSON`` (then ``new_name`` is the
    typed name, or None for an unnamed person), or None when cancelled."""

    def __init__(
        self,
        model: PeopleModel,
        title: str,
        current: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(560, 480)
        self.chosen: int | None = None
        self.new_name: str | None = None
        self.current = current
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Type a name, or a new name for a new person")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.installEventFilter(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.now_label = QLabel()
        self.now_label.setObjectName("hint")
        self.list = QListView()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setUniformItemSizes(True)
        self.list.setItemDelegate(PersonCardDelegate(self.list))
        self.list.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.list.setModel(self.proxy)
        self.new_button = QPushButton("New person")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.addButton(self.new_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setAutoDefault(False)
        self.new_button.setAutoDefault(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.now_label)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.filter_edit.textChanged.connect(self._on_filter)
        self.filter_edit.returnPressed.connect(self._on_return)
        self.list.activated.connect(lambda _i: self._accept_current())
        self.list.selectionModel().currentChanged.connect(lambda *_a: self._update_buttons())
        self.new_button.clicked.connect(self.choose_new)
        buttons.accepted.connect(self._accept_current)
        buttons.rejected.connect(self.reject)
        self._show_current(model)
        self._on_filter("")

    def _show_current(self, model: PeopleModel) -> None:
        person = next((p for p in model.people() if p.person_id == self.current), None)
        self.now_label.setText(f"Now in: {long_name(person)}" if person else "")
        self.now_label.setVisible(person is not None)

    def typed(self) -> str:
        return self.filter_edit.text().strip()

    def match(self) -> int | None:
        """The person whose name is exactly what was typed (ignoring case), if just one."""
        text = self.typed().casefold()
        found = [
            int(self.proxy.index(r, 0).data(PersonIdRole))
            for r in range(self.proxy.rowCount())
            if (self.proxy.index(r, 0).data(PersonRole).name or "").casefold() == text
        ]
        return found[0] if text and len(found) == 1 else None

    def started(self) -> int | None:
        """The row of the one listed person whose name starts with what was typed, if just one
        (and no name is exactly that)."""
        text = self.typed().casefold()
        rows = [
            r
            for r in range(self.proxy.rowCount())
            if (self.proxy.index(r, 0).data(PersonRole).name or "").casefold().startswith(text)
        ]
        return rows[0] if text and len(rows) == 1 and self.match() is None else None

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self.list.selectionModel().clearCurrentIndex()
        self.list.clearSelection()
        row = self.started()
        if row is not None:
            self.list.setCurrentIndex(self.proxy.index(row, 0))
        self._update_buttons()

    def _update_buttons(self) -> None:
        name = self.typed()
        fresh = bool(name) and self.match() is None
        self.new_button.setText(f"New person “{name}”" if fresh else "New person")
        self.ok_button.setEnabled(self.list.currentIndex().isValid() or self.match() is not None)

    def _on_return(self) -> None:
        """Enter in the name field: the person of exactly that name, else the one whose name
        starts so (picked on screen), else a new one with it."""
        match = self.match()
        if match is not None:
            self.choose(match)
        elif self.started() is not None:
            self._accept_current()
        elif self.typed():
            self.choose_new()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Down in the name field moves to the first card (then Enter picks it)."""
        if watched is self.filter_edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Down and self.proxy.rowCount():
                self.list.setFocus()
                self.list.setCurrentIndex(self.proxy.index(0, 0))
                return True
        return super().eventFilter(watched, event)

    def choose(self, person_id: int) -> None:
        self.chosen = person_id
        self.accept()

    def choose_new(self) -> None:
        self.new_name = self.typed() or None
        self.choose(NEW_PERSON)

    def _accept_current(self) -> None:
        index = self.list.currentIndex()
        match = self.match()
        if index.isValid():
            self.choose(int(index.data(PersonIdRole)))
        elif match is not None:
            self.choose(match)

    def person_ids(self) -> list[int]:
        return [
            int(self.proxy.index(r, 0).data(PersonIdRole)) for r in range(self.proxy.rowCount())
        ]


def people_names(people: Sequence[PersonInfo]) -> dict[str, int]:
    return {p.name.casefold(): p.person_id for p in people if p.name}
