"""The main window as a package: ``window.py`` is the shell, ``actions.py`` the table every
menu, toolbar and context menu is built from, ``pages.py`` the pages, and one module per
feature: ``navigation``, ``refresh``, ``selection`` (what actions are enabled), ``search``
(similar faces), ``edits``, ``review`` (the review queue), ``scanning``, ``watching``,
``settings``."""

from faceorganizer.ui.mainwindow.pages import PEOPLE_PAGE, PERSON_PAGE, PHOTO_PAGE, REVIEW_PAGE
from faceorganizer.ui.mainwindow.window import MainWindow

__all__ = ["PEOPLE_PAGE", "PERSON_PAGE", "PHOTO_PAGE", "REVIEW_PAGE", "MainWindow"]
