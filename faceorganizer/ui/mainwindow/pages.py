"""The pages of the window's central stack, each a plain widget that only lays itself out.

To add a page: a widget class here (or in a module of its own, as ``ui/review_page.py``), a
``*_PAGE`` index after the last one, the widget added in ``MainWindow._build_pages`` (which
checks the index) and a ``show_*`` method in ``navigation.py``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from faceorganizer.ui.faces_model import FacesModel
from faceorganizer.ui.faces_view import FacesView
from faceorganizer.ui.people_model import PeopleModel
from faceorganizer.ui.people_view import PeopleView

PEOPLE_PAGE, PERSON_PAGE, PHOTO_PAGE, REVIEW_PAGE = 0, 1, 2, 3

OTHER_FACES_TIP = (
    "Faces too poor to recognise: cut by the edge, too small, too blurred or turned away. "
    "They are never grouped or suggested; put one into a person by hand if you know who it is."
)
FACES_HINT = (
    "Click a face to see similar faces · double-click to open its photo · "
    "select several with Ctrl or Shift · green dot: confirmed by you"
)
OTHER_FACES_HINT = (
    "These faces are never grouped, suggested or shown as likely matches · if you know who one "
    "is, put it into that person with Move to… (it stays there)"
)
NO_PHOTOS_TEXT = (
    "<h2>No photos yet</h2><p>Add a folder of photos to find the people in them,"
    " or drag a folder onto this window.</p>"
)


class PeoplePage(QWidget):
    """The people grid with its filter, and what to do when there is nobody to show."""

    def __init__(self, model: PeopleModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter people by name")
        self.filter_edit.setClearButtonEnabled(True)
        self.show_hidden_box = QCheckBox("Show hidden")
        self.unassigned_button = QPushButton("Faces without a person")
        self.unassigned_button.setToolTip("Faces not grouped into anyone yet")
        self.other_button = QPushButton("Other faces")
        self.other_button.setToolTip(OTHER_FACES_TIP)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.show_hidden_box)
        top.addWidget(self.unassigned_button)
        top.addWidget(self.other_button)
        self.view = PeopleView()
        self.view.setModel(model)
        self.empty_label = QLabel(NO_PHOTOS_TEXT)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_button = QPushButton("Add a folder of photos…")
        empty_row = QHBoxLayout()
        empty_row.addStretch(1)
        empty_row.addWidget(self.empty_button)
        empty_row.addStretch(1)
        self.empty_box = QWidget()
        empty_layout = QVBoxLayout(self.empty_box)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.empty_label)
        empty_layout.addLayout(empty_row)
        empty_layout.addStretch(2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty_box, 1)


class PersonPage(QWidget):
    """One person's faces (or the faces without a person) under a title and the person bar."""

    def __init__(self, model: FacesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setObjectName("personTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.person_bar = QToolBar("Person")
        self.person_bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        head = QVBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.person_bar)
        self.view = FacesView()
        self.view.setModel(model)
        self.view.setAccessibleName("Faces")
        self.hint = QLabel(FACES_HINT)
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hint)
