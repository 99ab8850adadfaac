"""Tests by need: the ``real_model``, ``shared_photos`` and ``gui`` markers, applied from what a
test uses, and checked against what it really does.

At collection every test gets the markers of what its code and its fixtures name: a fixture or
helper declared with ``@needs(...)``, the names in ``NAMED`` (``FACES_DIR``, ``FaceEngine``,
``qtbot``...), followed through the test module's own functions and the helpers in ``tests/``.
So ``-m "not real_model and not shared_photos"`` (``make test-fast``) selects by need, and a
test cannot forget its marker. What a name cannot show (a subprocess that loads a model) a test
says itself with the marker.

While a test runs, an audit hook watches what it opens and starts: a test that reads the shared
photos, loads real model weights or makes the first ``QApplication`` without the marker fails
at teardown, naming the marker it lacks. Every such test is caught in a run filtered by marker;
in a full run, a session fixture is made once, so only the first test that makes it is seen.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.helpers.photos import FACES_DIR

NEEDS = ("real_model", "shared_photos", "gui")  # the markers, declared in pyproject.toml
# Names whose use shows a need wherever they appear in a test, a fixture or a helper.
NAMED = {
    "FACES_DIR": {"shared_photos"},
    "FaceEngine": {"real_model"},  # a real engine unless given fake detector and embedder
    "load_nets": {"real_model"},
    "read_dlib_net": {"real_model"},
    "default_weights_path": {"real_model"},
    "face_recognition_model_location": {"real_model"},
    "DlibResnetEmbedder": {"real_model"},
    "Detector": {"real_model"},
    "MTCNN": {"real_model"},
    "qtbot": {"gui"},
    "qapp": {"gui"},
    "MainWindow": {"gui"},
}
FAKES = "tests.helpers.fakes"  # fakes build FaceEngine around fake models: no need
F = TypeVar("F", bound=Callable[..., Any])


def needs(*markers: str) -> Callable[[F], F]:
    """Declare what a fixture or helper needs (put it under ``@pytest.fixture``)."""
    unknown = set(markers) - set(NEEDS)
    if unknown:
        raise ValueError(f"unknown needs {sorted(unknown)}; known: {sorted(NEEDS)}")

    def mark(fn: F) -> F:
        fn._needs = tuple(markers)  # type: ignore[attr-defined]
        return fn

    return mark


def _ours(obj: object) -> bool:
    module = getattr(obj, "__module__", "") or ""
    return module.startswith("tests.") and module != FAKES


def _needs_of(fn: Any, seen: set[int]) -> set[str]:
    """What a function names, through the test-suite functions it calls by name."""
    fn = getattr(getattr(fn, "hypothesis", None), "inner_test", fn)  # a @given test
    fn = inspect.unwrap(fn) if callable(fn) else fn
    found = set(getattr(fn, "_needs", ()))
    code = getattr(fn, "__code__", None)
    if code is None or id(code) in seen:
        return found
    seen.add(id(code))
    scope = getattr(fn, "__globals__", {})
    found |= _needs_of_code(code, scope, seen)
    return found


_helper_functions: dict[str, Any] = {}


def _helpers() -> dict[str, Any]:
    """The functions of the helper modules, by name (a test may import one inside its body,
    where its module's globals do not show it); read once, after collection."""
    if not _helper_functions:
        for name, module in list(sys.modules.items()):
            if not name.startswith("tests.helpers.") or module is None:
                continue
            for key, value in vars(module).items():
                target = inspect.unwrap(value) if callable(value) else value
                if isinstance(target, types.FunctionType) and target.__module__ == name:
                    _helper_functions.setdefault(key, target)
    return _helper_functions


def _shared_path(value: str | os.PathLike[str]) -> bool:
    path = os.path.abspath(os.fspath(value))
    return any(path == root or path.startswith(root + os.sep) for root in _shared_roots())


def _shared_roots() -> tuple[str, ...]:
    return tuple(sorted({os.path.abspath(FACES_DIR), os.path.realpath(FACES_DIR)}))


def _needs_of_code(code: types.CodeType, scope: dict[str, Any], seen: set[int]) -> set[str]:
    found: set[str] = set()
    for name in code.co_varnames:  # a parameter or local (``qtbot``): only by its name
        found |= NAMED.get(name, set())
    helpers = _helpers()
    for name in code.co_names:  # globals, attributes and imported names
        found |= NAMED.get(name, set())
        obj = scope.get(name, helpers.get(name))
        if obj is None:
            continue
        found |= set(getattr(obj, "_needs", ()))
        if isinstance(obj, str | os.PathLike) and _shared_path(obj):
            found.add("shared_photos")  # a module constant such as FACES_DIR / "lfw_dev"
        target = inspect.unwrap(obj) if callable(obj) else obj
        if isinstance(target, types.FunctionType) and _ours(target):
            found |= _needs_of(target, seen)
        elif isinstance(obj, type) and _ours(obj):
            for member in vars(obj).values():
                if isinstance(member, types.FunctionType):
                    found |= _needs_of(member, seen)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _needs_of_code(const, scope, seen)
    return found


def declared(item: pytest.Item) -> set[str]:
    """The needs of a test: its own code's and its fixtures'."""
    seen: set[int] = set()
    found = _needs_of(getattr(item, "function", None), seen)
    info = getattr(item, "_fixtureinfo", None)
    for name in info.names_closure if info is not None else ():
        found |= NAMED.get(name, set())
        defs = info.name2fixturedefs.get(name)
        if defs and _ours(defs[-1].func):
            found |= _needs_of(defs[-1].func, seen)
    return found & set(NEEDS)


def pytest_configure(config: pytest.Config) -> None:
    sys.addaudithook(_watch.hook)  # for good: an audit hook cannot be removed


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for need in sorted(declared(item) - {m.name for m in item.iter_markers()}):
            item.add_marker(need)


def _package_dirs(name: str, sub: str) -> list[str]:
    spec = importlib.util.find_spec(name)
    found = spec.submodule_search_locations if spec else None
    return [os.path.join(p, sub) for p in found or []]


def _weights_dirs() -> tuple[str, ...]:
    dirs = _package_dirs("facenet_pytorch", "data") + _package_dirs("face_recognition_models", "")
    dirs.append(str(Path.home() / ".local/share/FaceOrganizer/models"))
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(cache, "torch")
    dirs += [os.path.join(torch_home, "checkpoints"), os.path.join(torch_home, "hub")]
    both = {os.path.join(f(d), "") for d in dirs for f in (os.path.abspath, os.path.realpath)}
    return tuple(sorted(both))


class _Watch:
    """The needs a running test shows, from Python's audit events (``sys.addaudithook``)."""

    def __init__(self) -> None:
        self.shared_roots = _shared_roots()
        self.shared = tuple(os.path.join(r, "") for r in self.shared_roots)
        self.weights = _weights_dirs()
        self.active = False
        self.seen: dict[str, str] = {}  # need -> what showed it

    def _path(self, raw: object) -> None:
        if isinstance(raw, bytes):
            raw = os.fsdecode(raw)
        if not isinstance(raw, str):
            return
        path = os.path.abspath(raw)
        if path.startswith(self.shared) or path in self.shared_roots:
            self.seen.setdefault("shared_photos", f"read {path}")
        elif path.startswith(self.weights) and path.endswith((".pt", ".pth", ".dat")):
            self.seen.setdefault("real_model", f"read {path}")

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active:
            return
        if event in ("open", "os.listdir", "os.scandir"):
            if args:
                self._path(args[0])
        elif event == "subprocess.Popen" and len(args) > 1:
            argv = args[1] if isinstance(args[1], (list, tuple)) else [args[1]]
            for arg in argv:
                if isinstance(arg, (str, bytes, os.PathLike)):
                    text = os.fsdecode(arg)
                    if any(root in text for root in self.shared_roots):
                        self.seen.setdefault("shared_photos", f"started a process on {text}")


_watch = _Watch()
_had_app = pytest.StashKey[bool]()


def _qt_app_exists() -> bool:
    widgets = sys.modules.get("PySide6.QtWidgets")
    return widgets is not None and widgets.QApplication.instance() is not None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _watch.seen = {}
    item.stash[_had_app] = _qt_app_exists()
    _watch.active = True
    try:
        return (yield)
    finally:
        _watch.active = False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    result = yield
    if not item.stash.get(_had_app, True) and _qt_app_exists():
        _watch.seen.setdefault("gui", "made the first QApplication")
    missing = {n: w for n, w in _watch.seen.items() if item.get_closest_marker(n) is None}
    if missing:
        said = "; ".join(f"{n} ({w})" for n, w in sorted(missing.items()))
        pytest.fail(f"this test lacks its marker: {said}", pytrace=False)
    return result
