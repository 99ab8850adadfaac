"""What the feature controllers see of the main window and of each other, as small protocols.

No controller imports ``window.py``: each declares, in a ``*Window`` protocol beside it, the few
members of the window it uses, and reaches the other controllers through the protocols below.
``MainWindow`` satisfies them all (mypy checks that where the window builds its controllers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PySide6.QtWidgets import QStatusBar, QWidget

    from faceorganizer.services.library import Library
    from faceorganizer.ui.engine_worker import WorkerHandle


class Shell(Protocol):
    """What every controller may use: the window as a widget (QWidget's own ``window()``, the
    parent of dialogs and controllers), its messages, and the library's reader and editor."""

    reader: Library | None
    editor: WorkerHandle | None

    def window(self) -> QWidget: ...
    def statusBar(self) -> QStatusBar: ...
    def show_error(self, message: str) -> None: ...


class Navigates(Protocol):
    current_person: int | None
    current_photo_face: int | None

    def has_history(self) -> bool: ...
    def show_review(self, push: bool = True) -> None: ...
    def refresh_person_page(self, soft: bool = False) -> None: ...
    def refresh_photo(self) -> None: ...


class Refreshes(Protocol):
    def refresh(self, then: Callable[[], None] | None = None, soft: bool = False) -> None: ...
    def schedule(self) -> None: ...
    def update_empty(self, *_args: object) -> None: ...


class Selects(Protocol):
    def selected_faces(self) -> list[int]: ...
    def faces_person(self, faces: list[int]) -> int | None: ...
    def update_actions(self, *_args: object) -> None: ...


class Scanning(Protocol):
    scanning: bool

    def start_scan(self, folders: list[str] | None = None) -> bool: ...


class Searches(Protocol):
    def refresh(self) -> None: ...


class RunsEdits(Protocol):
    def edit(
        self,
        job: Callable[[Library], Any],
        then: Callable[[Any], None] | None = None,
        failed: Callable[[str], None] | None = None,
    ) -> None: ...


class Reviews(Protocol):
    def show_review(self, push: bool = True) -> None: ...


class Watches(Protocol):
    def watch_folders(self) -> None: ...
