"""Pick a person to move faces to: type to filter, arrows and Enter, or "New person"."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from faceorganizer.services.types import PersonInfo
from faceorganizer.ui.people_model import PeopleModel, PersonIdRole
from faceorganizer.ui.people_view import PersonCardDelegate

NEW_PERSON = -1


class PersonChooser(QDialog):
    """``chosen`` after ``exec()``: a person id, ``NEW_PERSON``, or None when cancelled."""

    def __init__(
        self,
        model: PeopleModel,
        title: str,
        exclude: Sequence[int] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(560, 480)
        self.chosen: int | None = None
        self._exclude = set(exclude)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Type a name…")
        self.filter_edit.setClearButtonEnabled(True)
        self.proxy = _ExcludingProxy(self._exclude, self)
        self.proxy.setSourceModel(model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
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
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.filter_edit.textChanged.connect(self._on_filter)
        self.filter_edit.returnPressed.connect(self._accept_current)
        self.list.activated.connect(lambda _i: self._accept_current())
        self.new_button.clicked.connect(self.choose_new)
        buttons.accepted.connect(self._accept_current)
        buttons.rejected.connect(self.reject)
        self._on_filter("")

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        if self.proxy.rowCount():
            self.list.setCurrentIndex(self.proxy.index(0, 0))

    def choose(self, person_id: int) -> None:
        self.chosen = person_id
        self.accept()

    def choose_new(self) -> None:
        self.choose(NEW_PERSON)

    def _accept_current(self) -> None:
        index = self.list.currentIndex()
        if index.isValid():
            self.choose(int(index.data(PersonIdRole)))

    def person_ids(self) -> list[int]:
        return [
            int(self.proxy.index(r, 0).data(PersonIdRole)) for r in range(self.proxy.rowCount())
        ]


class _ExcludingProxy(QSortFilterProxyModel):
    def __init__(self, exclude: set[int], parent: QWidget) -> None:
        super().__init__(parent)
        self._exclude = exclude

    def filterAcceptsRow(self, row: int, parent) -> bool:  # type: ignore[no-untyped-def,override]
        index = self.sourceModel().index(row, 0, parent)
        if index.data(PersonIdRole) in self._exclude:
            return False
        return super().filterAcceptsRow(row, parent)


def people_names(people: Sequence[PersonInfo]) -> dict[str, int]:
    return {p.name.casefold(): p.person_id for p in people if p.name}
