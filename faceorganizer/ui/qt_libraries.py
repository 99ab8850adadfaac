"""Which system libraries Qt's platform plugin lacks, found before Qt is started.

When no platform plugin loads, Qt aborts the process, and its message names ``libxcb-cursor0``
even when other libraries are the missing ones. The plugin Qt will load is checked here with
``ldd`` instead (the dynamic loader itself, so the answer is the one Qt would get), and every
missing library is named with the Debian/Ubuntu package that provides it. Imports no Qt module:
loading QtCore could itself fail on a missing library.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Debian 12 / Ubuntu package of each system library that PySide6's Qt (QtCore, QtGui,
# QtWidgets and the xcb, wayland and offscreen platform plugins) links to; checked with
# `dpkg -S` on Debian 12. Libraries not listed here are named without a package.
DEBIAN_PACKAGES: dict[str, str] = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libOpenGL.so.0": "libopengl0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libdrm.so.2": "libdrm2",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libgio-2.0.so.0": "libglib2.0-0",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libharfbuzz.so.0": "libharfbuzz0b",
    "libpng16.so.16": "libpng16-16",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
}

# Libraries that come with PySide6 (or the bundle) itself: missing means a broken install.
_OWN_LIBRARY = re.compile(r"^lib(Qt6|icu|pyside6|shiboken6)")
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


@dataclass(frozen=True)
class PluginCheck:
    """One platform plugin and what the dynamic loader could not find for it."""

    platform: str
    plugin: Path | None
    missing: tuple[str, ...]

    @property
    def loadable(self) -> bool:
        return self.plugin is not None and not self.missing


def platforms_to_try(env: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, in order (``QT_QPA_PLATFORM``, else as Qt 6 chooses:
    wayland first in a Wayland session, xcb always as the fallback)."""
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        names = [part.split(":", 1)[0].strip() for part in chosen.split(";")]
        return [name for name in names if name]
    if env.get("XDG_SESSION_TYPE", "").lower() == "wayland" or env.get("WAYLAND_DISPLAY"):
        return ["wayland", "xcb"]
    return ["xcb"]


def plugin_dirs(env: Mapping[str, str]) -> list[Path]:
    """Folders of platform plugins in the order Qt searches them."""
    dirs: list[Path] = []
    if env.get("QT_QPA_PLATFORM_PLUGIN_PATH"):
        dirs.append(Path(env["QT_QPA_PLATFORM_PLUGIN_PATH"]))
    for entry in env.get("QT_PLUGIN_PATH", "").split(os.pathsep):
        if entry:
            dirs.append(Path(entry) / "platforms")
    spec = importlib.util.find_spec("PySide6")
    for location in (spec.submodule_search_locations or []) if spec else []:
        dirs.append(Path(location) / "Qt" / "plugins" / "platforms")
    return list(dict.fromkeys(dirs))


def find_plugin(platform: str, env: Mapping[str, str]) -> Path | None:
    for folder in plugin_dirs(env):
        candidate = folder / f"libq{platform}.so"
        if candidate.is_file():
            return candidate
    return None


def missing_libraries(library: Path, env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The shared libraries the dynamic loader cannot find for ``library`` and everything it
    links to, by their names (``ldd``'s "not found" lines); empty when ldd is not available."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return ()
    result = subprocess.run(
        [ldd, str(library)],
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        check=False,
    )
    return tuple(dict.fromkeys(_NOT_FOUND.findall(result.stdout)))


def check_platforms(env: Mapping[str, str] | None = None) -> list[PluginCheck]:
    """Each platform Qt will try, with its plugin and the libraries it lacks."""
    env = os.environ if env is None else env
    checks = []
    for platform in platforms_to_try(env):
        plugin = find_plugin(platform, env)
        missing = missing_libraries(plugin, env) if plugin is not None else ()
        checks.append(PluginCheck(platform, plugin, missing))
    return checks


def describe_missing(checks: list[PluginCheck]) -> str | None:
    """A message naming every missing library and how to install it, or None when one of the
    platforms can load (or when none was found at all: then Qt's own message is better)."""
    if any(c.loadable for c in checks) or not any(c.missing for c in checks):
        return None
    missing = list(dict.fromkeys(name for c in checks for name in c.missing))
    own = [name for name in missing if _OWN_LIBRARY.match(name)]
    system = [name for name in missing if name not in own]
    platforms = " or ".join(f'"{c.platform}"' for c in checks if c.missing)
    lines = [f"the window cannot open: Qt's {platforms} platform plugin lacks libraries"]
    if system:
        lines.append(f"  missing system libraries: {', '.join(system)}")
        packages = [DEBIAN_PACKAGES[name] for name in system if name in DEBIAN_PACKAGES]
        if packages:
            unique = " ".join(dict.fromkeys(packages))
            lines.append(f"  on Debian/Ubuntu: sudo apt install {unique}")
    if own:
        lines.append(
            f"  missing from the app's own files: {', '.join(own)} (reinstall FaceOrganizer)"
        )
    return "\n".join(lines)


def check_qt_libraries(env: Mapping[str, str] | None = None) -> str | None:
    """On Linux, the message to show instead of letting Qt abort, or None when Qt can start."""
    if not sys.platform.startswith("linux"):
        return None
    return describe_missing(check_platforms(env))
