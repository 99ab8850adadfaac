"""The review queue in the window: the Review page, its pending count on the toolbar, answers
by key (Y / N / S) and undo.

Threading contract: the queue is computed on the window's ``reviewer`` thread (its own read-only
library), answers run on the ``editor`` thread like every edit; results come back to the GUI
thread. After an answer the next question is shown at once from the queue already computed
(one that does not touch the persons or faces just answered) while the queue is computed again;
people and counts refresh as each answer lands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QPixmap

from faceorganizer.services.people.labels import faces_text
from faceorganizer.services.types import EditInfo, FaceInfo, Suggestion
from faceorganizer.ui.mainwindow.pages import REVIEW_PAGE
from faceorganizer.ui.mainwindow.shell import Navigates, RunsEdits, Scanning, Shell
from faceorganizer.ui.people_model import told_apart
from faceorganizer.ui.review_page import FaceTile, LargeFaceLoader, Question, Side

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QStackedWidget

    from faceorganizer.services.library import Library
    from faceorganizer.ui.engine_worker import WorkerHandle
    from faceorganizer.ui.review_page import ReviewPage
    from faceorganizer.ui.thumbnails import ThumbnailCache

SHOWN = 6  # faces of a person shown beside a question
RELOAD_MS = 600  # a refresh recounts the queue this long after the last one
BUTTONS = {
    "merge": ("Merge", "Not the same"),
    "who": ("Yes", "No"),
    "new": ("Yes", "No"),
    "odd": ("Remove", "Keep"),
}
NOTHING = (
    "<h2>Nothing to review</h2><p>No merge, no face to place and no stray face looks likely "
    "right now. New photos may bring new questions.</p>"
)
LOOKING = "<h2>Looking for questions…</h2>"


class ReviewWindow(Shell, Protocol):
    """What the review controller uses of the main window."""

    review_page: ReviewPage
    reviewer: WorkerHandle | None
    stack: QStackedWidget
    thumbs: ThumbnailCache

    @property
    def edits(self) -> RunsEdits: ...
    @property
    def edits_applied(self) -> SignalInstance: ...
    @property
    def navigation(self) -> Navigates: ...
    @property
    def refreshed(self) -> SignalInstance: ...
    @property
    def scans(self) -> Scanning: ...
    def action(self, action_id: str) -> QAction: ...


class Review(QObject):
    """Keeps the queue, shows its first question on the Review page and answers it."""

    def __init__(self, window: ReviewWindow) -> None:
        super().__init__(window.window())
        self.window = window
        self.page = window.review_page
        self.queue: list[Suggestion] = []
        self.loaded = False
        self.current: Suggestion | None = None
        self.skipped: set[str] = set()
        self._answers: set[int] = set()  # edit ids of this session's answers
        self._undone: set[int] = set()  # ... of those undone now
        self._loading = False
        self._again = False
        self._answering = False
        self._tiles: list[FaceTile] = []
        self.large = LargeFaceLoader(parent=self)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(RELOAD_MS)
        self.timer.timeout.connect(self.reload)
        self.page.answered.connect(self.answer)
        self.page.undo_requested.connect(self.undo)
        window.thumbs.thumbnail_ready.connect(self._on_thumbnail)
        self.large.ready.connect(self._on_large)
        window.refreshed.connect(self._on_refreshed)
        window.edits_applied.connect(self._on_edit)

    # the queue

    def reset(self) -> None:
        """A new library: forget the old one's queue."""
        self.queue, self.loaded, self.current = [], False, None
        self.skipped.clear()
        self._answers.clear()
        self._undone.clear()
        self._loading = self._again = self._answering = False
        self.large.clear()
        self._set_count(None)

    @property
    def answered(self) -> int:
        """Answers given and not undone (undo and redo, from the page or the Edit menu, count)."""
        return len(self._answers - self._undone)

    def _on_edit(self, result: object) -> None:
        if isinstance(result, EditInfo) and result.edit_id in self._answers:
            if result.undone:
                self._undone.add(result.edit_id)
            else:
                self._undone.discard(result.edit_id)
            if self.current is not None:
                self.page.status.setText(self._position())

    def visible(self) -> bool:
        return self.window.stack.currentIndex() == REVIEW_PAGE

    def _on_refreshed(self) -> None:
        if not self.window.scans.scanning:
            self.timer.start()

    def reload(self) -> None:
        """Compute the queue again on the reviewer thread (one at a time, one more queued)."""
        w = self.window
        if w.reviewer is None:
            return
        if self._loading:
            self._again = True
            return
        self._loading = True
        skipped = sorted(self.skipped)

        def job(lib: Library) -> list[Suggestion]:
            return lib.review_queue(skipped=skipped)

        w.reviewer.submit("review", job, self._loaded, self._failed)

    def _loaded(self, queue: list[Suggestion]) -> None:
        self._loading = False
        if self._again:
            self._again = False
            self.reload()
            return
        self.queue = [s for s in queue if s.suggestion_id not in self.skipped]
        self.loaded = True
        self._set_count(len(self.queue))
        if not self.visible() or self._answering:
            return
        ids = {s.suggestion_id for s in self.queue}
        if self.current is None or self.current.suggestion_id not in ids:
            self._show_next()
        else:  # the same question stays: its "to go" follows the queue just computed
            self.page.status.setText(self._position())

    def _failed(self, message: str) -> None:
        self._loading = False
        self.window.show_error(message)

    def _set_count(self, n: int | None) -> None:
        action = self.window.action("review")
        action.setText("&Review" if not n else f"&Review ({n:,})")
        action.setToolTip(
            "Questions that put people right in a few answers" + (f": {n:,} waiting" if n else "")
        )

    # the page

    def show_review(self, push: bool = True) -> None:
        """Open the Review page with its first question."""
        self.window.navigation.show_review(push)
        if self.current is not None and self.current in self.queue:
            return
        if not self.loaded:
            self.page.show_message(LOOKING)
            self.reload()
            return
        self._show_next()

    def _show_next(self, avoid: Suggestion | None = None) -> None:
        """Show the first question not skipped (and, right after an answer, not touching what
        it answered); say so when there is none."""
        for s in self.queue:
            if s.suggestion_id in self.skipped or (avoid is not None and _touch(s, avoid)):
                continue
            self._show(s)
            return
        self.current = None
        self.page.show_message(LOOKING if self._loading or avoid is not None else NOTHING)

    def _show(self, s: Suggestion) -> None:
        reader = self.window.reader
        if reader is None:
            return
        try:
            question = self._question(reader, s)
        except Exception:  # the library moved on (a person merged away): ask again
            self.queue = [q for q in self.queue if q.suggestion_id != s.suggestion_id]
            self._show_next()
            return
        self.current = s
        self._tiles = self.page.show_question(question)
        for tile in self._tiles:
            tile.set_pixmap(self.window.thumbs.get(tile.face.face_id))
            tile.set_pixmap(self.large.get(tile.face))
        self.page.setFocus()

    def _person_side(self, reader: Library, pid: int, leave_out: tuple[int, ...] = ()) -> Side:
        """A person's faces to judge by: never one too poor to recognise (``poor_reason``)."""
        person = reader.person(pid)
        faces: list[FaceInfo] = []
        if person.cover_face_id is not None and person.cover_face_id not in leave_out:
            cover = reader.face(person.cover_face_id)
            if cover.poor_reason is None:
                faces.append(cover)
        for f in reader.faces(person_id=pid, limit=4 * SHOWN + len(leave_out) + 1):
            if len(faces) >= SHOWN:
                break
            if f.face_id not in leave_out and f not in faces and f.poor_reason is None:
                faces.append(f)
        count = person.face_count - len(leave_out)
        title = f"{told_apart(person)} · {faces_text(count)}"
        return Side(title, faces, more=max(0, count - len(faces)))

    def _question(self, reader: Library, s: Suggestion) -> Question:
        faces = [reader.face(f) for f in s.face_ids]
        n = len(faces)
        if s.kind == "merge":
            left = self._person_side(reader, int(s.person_id or 0))
            right = self._person_side(reader, int(s.other_person_id or 0))
        elif s.kind == "who":
            left = self._person_side(reader, int(s.person_id or 0))
            right = Side(f"{n} face{'s' * (n != 1)} without a person", faces, n > 1)
        elif s.kind == "odd":
            left = self._person_side(reader, int(s.person_id or 0), s.face_ids)
            right = Side("This face", faces)
        else:
            left = Side("This face", faces[:1])
            rest = faces[1:]
            many = len(rest) > 1
            title = f"and these {len(rest)} faces" if many else "and this face"
            right = Side(title, rest, many)
        yes, no = BUTTONS[s.kind]
        return Question(s.question, left, right, yes, no, s.chance, self._position())

    def _position(self) -> str:
        left_in_queue = len([q for q in self.queue if q.suggestion_id not in self.skipped])
        return f"{self.answered:,} answered · {left_in_queue:,} to go"

    def _on_thumbnail(self, face_id: int) -> None:
        for tile in self._tiles:
            if tile.face.face_id == face_id and tile.pixmap is None:
                tile.set_pixmap(self.window.thumbs.get(face_id))

    def _on_large(self, face_id: int, pixmap: QPixmap) -> None:
        for tile in self._tiles:
            if tile.face.face_id == face_id:
                tile.set_pixmap(pixmap)

    # answers

    def answer(self, answer: str) -> None:
        """``yes`` accepts the question shown, ``no`` rejects it, ``skip`` leaves it for now."""
        s = self.current
        if s is None or self._answering:
            return
        if answer == "skip":
            self.skipped.add(s.suggestion_id)
            self._show_next()
            return
        excluded = self.page.excluded()
        sid = s.suggestion_id

        def job(lib: Library) -> EditInfo:
            if answer == "yes":
                return lib.review_accept(sid, excluded)
            return lib.review_reject(sid)

        self._answering = True
        self.page.set_busy(True)
        self.window.edits.edit(job, then=self._answer_landed, failed=self._answer_failed)

    def _answer_landed(self, result: object) -> None:
        answered = self.current
        self._answering = False
        if isinstance(result, EditInfo) and result.edit_id:
            self._answers.add(result.edit_id)
        if answered is not None:
            self.queue = [q for q in self.queue if q.suggestion_id != answered.suggestion_id]
        self._set_count(len(self.queue))
        self._show_next(avoid=answered)
        self.reload()

    def _answer_failed(self, message: str) -> None:
        self._answering = False
        self.window.statusBar().showMessage(message, 8000)
        self.current = None
        self.page.show_message(LOOKING)
        self.reload()

    def undo(self) -> None:
        """Undo the last edit (the last answer, when answering) and ask again."""
        self.current = None
        self.page.show_message(LOOKING)
        self.window.edits.edit(lambda lib: lib.undo(), then=lambda _r: self.reload())


def _touch(a: Suggestion, b: Suggestion) -> bool:
    """Whether two questions are about a same person or face."""
    persons_a = {p for p in (a.person_id, a.other_person_id) if p is not None}
    persons_b = {p for p in (b.person_id, b.other_person_id) if p is not None}
    return bool(persons_a & persons_b) or bool(set(a.face_ids) & set(b.face_ids))
