"""When Qt's platform plugin lacks system libraries, `faceorganizer gui` names every one of them
and their Debian packages, instead of Qt's abort that names libxcb-cursor0. The libraries are
really missing: hidden from the dynamic loader in a private mount namespace, where Qt's own
plugin loader fails the same way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from faceorganizer.ui.qt_libraries import (
    PluginCheck,
    check_platforms,
    describe_missing,
    find_plugin,
    platforms_to_try,
)
from tests.helpers.system_libraries import can_hide_libraries, without_libraries

REPO = Path(__file__).resolve().parents[2]
ISSUE_LIBRARIES = ("libxcb-icccm.so.4*", "libxcb-keysyms.so.1*")

needs_namespace = pytest.mark.skipif(
    can_hide_libraries() is not None, reason=f"cannot hide libraries: {can_hide_libraries()}"
)


def app_env(**extra: str) -> dict[str, str]:
    """The environment of a user's session on X11 (no offscreen platform, a display set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "WAYLAND", "XDG_S"))}
    env.update(PYTHONPATH=str(REPO), DISPLAY=":99", LANG="C.UTF-8", **extra)
    return env


@needs_namespace
def test_gui_names_each_missing_library_and_its_package(tmp_path: Path) -> None:
    library = tmp_path / "library.db"
    result = without_libraries(
        ISSUE_LIBRARIES,
        [sys.executable, "-m", "faceorganizer", "gui", "--library", str(library)],
        env=app_env(HOME=str(tmp_path)),
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "libxcb-icccm.so.4" in result.stderr and "libxcb-keysyms.so.1" in result.stderr
    apt_line = next(line for line in result.stderr.splitlines() if "sudo apt install" in line)
    assert {"libxcb-icccm4", "libxcb-keysyms1"} <= set(apt_line.split())
    assert "Traceback" not in result.stderr and "Aborted" not in result.stderr
    assert not library.exists()  # stopped before anything was opened


@needs_namespace
def test_qt_itself_fails_on_the_hidden_libraries() -> None:
    """The ground truth for the message above: Qt's plugin loader cannot load xcb there."""
    probe = "from PySide6.QtGui import QGuiApplication; QGuiApplication([])"
    result = without_libraries(
        ISSUE_LIBRARIES,
        [sys.executable, "-c", probe],
        env=app_env(QT_QPA_PLATFORM="xcb", QT_DEBUG_PLUGINS="1"),
        timeout=120,
    )
    assert result.returncode != 0
    assert "libxcb-icccm.so.4: cannot open shared object file" in result.stderr


def test_report_agrees_with_the_dynamic_loader() -> None:
    """On this machine as it is: a plugin we report complete loads, one we report incomplete
    fails to load on the first library we named."""
    for platform in ("xcb", "wayland", "offscreen"):
        (check,) = check_platforms({"QT_QPA_PLATFORM": platform})
        assert check.plugin is not None, f"no {platform} plugin in PySide6"
        load = subprocess.run(
            [sys.executable, "-c", f"import ctypes; ctypes.CDLL({str(check.plugin)!r})"],
            capture_output=True,
            text=True,
        )
        if check.missing:
            assert load.returncode != 0
            assert any(name in load.stderr for name in check.missing), load.stderr
        else:
            assert load.returncode == 0, load.stderr


def test_platform_order_follows_qt() -> None:
    assert platforms_to_try({}) == ["xcb"]
    assert platforms_to_try({"XDG_SESSION_TYPE": "wayland"}) == ["wayland", "xcb"]
    assert platforms_to_try({"QT_QPA_PLATFORM": "offscreen"}) == ["offscreen"]
    assert platforms_to_try({"QT_QPA_PLATFORM": "wayland;xcb:option"}) == ["wayland", "xcb"]


def test_one_loadable_platform_is_enough() -> None:
    xcb = find_plugin("xcb", {})
    wayland_missing = PluginCheck(
        "wayland", find_plugin("wayland", {}), ("libwayland-cursor.so.0",)
    )
    assert describe_missing([wayland_missing, PluginCheck("xcb", xcb, ())]) is None
    message = describe_missing([wayland_missing, PluginCheck("xcb", xcb, ("libQt6XcbQpa.so.6",))])
    assert message is not None
    assert "libwayland-cursor0" in message  # a system library, with its package
    assert "libQt6XcbQpa.so.6 (reinstall FaceOrganizer)" in message  # one of the app's own
