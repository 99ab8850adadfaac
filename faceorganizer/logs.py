"""Where failures are explained: a rotating log file in the user's log folder, and hooks that put
every uncaught exception there with its traceback.

The command line and the desktop app call ``setup_logging`` once at start; modules only ever use
``logging.getLogger(__name__)``. Users see short messages; the log keeps the detail and says which
version, thread and module it came from. ``FACEORGANIZER_LOG_DIR`` moves the folder (tests do).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
from pathlib import Path
from types import TracebackType

import platformdirs

LOG_DIR_ENV = "FACEORGANIZER_LOG_DIR"
LOG_NAME = "faceorganizer.log"
MAX_BYTES = 2_000_000
BACKUPS = 4
FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"

log = logging.getLogger("faceorganizer")
_log_path: Path | None = None
_configured = threading.Event()


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file; a disk that is full or failing costs log lines, never a traceback on the
    user's terminal for each one (the command's own message says what went wrong)."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handleError(record)


def configured() -> bool:
    """Whether ``setup_logging`` ran in this process."""
    return _configured.is_set()


def log_dir() -> Path:
    """The user's log folder (platformdirs), or ``$FACEORGANIZER_LOG_DIR``."""
    override = os.environ.get(LOG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_log_dir("FaceOrganizer", appauthor=False))


def log_file() -> Path:
    return log_dir() / LOG_NAME


class _EscapingFormatter(logging.Formatter):
    """File and person names in log lines may hold control characters: shown as escapes, so
    reading the log in a terminal is safe (line breaks of tracebacks are kept)."""

    def format(self, record: logging.LogRecord) -> str:
        from faceorganizer.core.text import for_terminal

        return for_terminal(super().format(record), keep_newlines=True)


def setup_logging(console_level: int | None = None) -> Path | None:
    """Send the app's loggers to the rotating log file (INFO and up) and, with
    ``console_level``, to stderr too; install the exception hooks. Returns the log file, or None
    when it cannot be written (a read-only home): logging then goes to stderr only.

    Calling it again replaces the handlers it added, so tests may point it elsewhere.
    """
    global _log_path
    from faceorganizer import __version__

    root = logging.getLogger("faceorganizer")
    for handler in list(root.handlers):
        if getattr(handler, "_faceorganizer", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG)
    root.propagate = False
    path: Path | None = log_file()
    try:
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler: logging.Handler = _LogFile(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
        file_handler.setLevel(logging.INFO)
    except OSError:
        path = None
        file_handler = logging.StreamHandler(sys.stderr)
        file_handler.setLevel(logging.WARNING)
    handlers = [file_handler]
    if console_level is not None:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(console_level)
        handlers.append(console)
    for handler in handlers:
        handler.setFormatter(_EscapingFormatter(FORMAT))
        handler._faceorganizer = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    _log_path = path
    _configured.set()
    install_exception_hooks()
    log.info(
        "FaceOrganizer %s, Python %s, pid %d", __version__, sys.version.split()[0], os.getpid()
    )
    return path


def _log_uncaught(
    kind: str,
    exc_type: type[BaseException],
    exc: BaseException | None,
    tb: TracebackType | None,
) -> None:
    log.critical("uncaught exception in %s", kind, exc_info=(exc_type, exc, tb))  # type: ignore[arg-type]


def install_exception_hooks() -> None:
    """Uncaught exceptions of the main thread and of every other thread go to the log with their
    traceback (then on to the hooks that were there before, which print them)."""
    if not getattr(sys.excepthook, "_faceorganizer", False):
        previous_hook = sys.excepthook

        def excepthook(
            exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
        ) -> None:
            if not issubclass(exc_type, KeyboardInterrupt):
                _log_uncaught("the main thread", exc_type, exc, tb)
            previous_hook(exc_type, exc, tb)

        excepthook._faceorganizer = True  # type: ignore[attr-defined]
        sys.excepthook = excepthook
    if not getattr(threading.excepthook, "_faceorganizer", False):
        previous_thread_hook = threading.excepthook

        def thread_excepthook(args: threading.ExceptHookArgs) -> None:
            name = args.thread.name if args.thread is not None else "a thread"
            _log_uncaught(f"thread {name}", args.exc_type, args.exc_value, args.exc_traceback)
            previous_thread_hook(args)

        thread_excepthook._faceorganizer = True  # type: ignore[attr-defined]
        threading.excepthook = thread_excepthook


def where() -> str:
    """A short phrase naming the log file, for user messages."""
    return str(_log_path) if _log_path is not None else "the terminal output"
