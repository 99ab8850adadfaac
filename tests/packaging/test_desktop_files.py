"""Desktop integration: the .desktop entry and AppStream metainfo pass the freedesktop
validators, and `make install-desktop`'s steps put a valid menu entry and every icon size into a
user's XDG data folder (a temporary one here), and take them out again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from faceorganizer.ui.app import APP_ID

REPO = Path(__file__).resolve().parents[2]
RESOURCES = REPO / "resources"
DESKTOP = RESOURCES / f"{APP_ID}.desktop"
METAINFO = RESOURCES / f"{APP_ID}.metainfo.xml"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install the Debian package {package} (.ci/run does)")
    return path


def desktop_entry(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_desktop_entry_is_valid() -> None:
    result = subprocess.run(
        [tool("desktop-file-validate", "desktop-file-utils"), str(DESKTOP)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout
    entry = desktop_entry(DESKTOP)
    assert entry["Icon"] == APP_ID
    assert entry["Exec"].split()[:2] == ["faceorganizer", "gui"]


def test_metainfo_is_valid_and_lists_our_screenshots() -> None:
    result = subprocess.run(
        [tool("appstreamcli", "appstream"), "validate", "--no-net", str(METAINFO)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    images = [Path(e.text or "").name for e in root.iter("image")]
    assert images, "no screenshots listed"
    on_disk = {p.name for p in (RESOURCES / "screenshots").glob("*.png")}
    assert set(images) == on_disk


def test_icon_is_the_package_svg() -> None:
    icon = RESOURCES / "icons" / f"{APP_ID}.svg"
    assert icon.resolve() == (REPO / "faceorganizer" / "resources" / "faceorganizer.svg")
    ET.parse(icon)  # well-formed XML


def test_install_desktop_for_the_user(tmp_path: Path) -> None:
    """What `make install-desktop` runs, with a program whose path has a space."""
    program = tmp_path / "my apps" / "faceorganizer"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    subprocess.run(
        [sys.executable, "packaging/stage_desktop_files.py", str(tmp_path / "stage")],
        cwd=REPO,
        env=env,
        check=True,
    )
    subprocess.run(
        [
            "sh",
            "packaging/install-desktop.sh",
            "--from",
            str(tmp_path / "stage" / "share"),
            "--exec",
            str(program),
        ],
        cwd=REPO,
        env=env,
        check=True,
    )
    data = tmp_path / "data"
    installed = data / "applications" / DESKTOP.name
    result = subprocess.run(
        [tool("desktop-file-validate", "desktop-file-utils"), str(installed)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout
    entry = desktop_entry(installed)
    assert entry["Exec"] == f'"{program}" gui %f'
    assert entry["TryExec"] == str(program)
    assert (data / "metainfo" / METAINFO.name).read_bytes() == METAINFO.read_bytes()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    for size in PNG_SIZES:
        png = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        with Image.open(png) as image:
            assert image.size == (size, size)
            alpha = image.convert("RGBA").getchannel("A")
            assert alpha.getextrema() == (0, 255)  # transparent corners, an opaque icon

    subprocess.run(
        ["sh", "packaging/install-desktop.sh", "--uninstall"], cwd=REPO, env=env, check=True
    )
    left = list(data.rglob(f"{APP_ID}*"))
    assert left == []


def test_install_desktop_refuses_a_path_it_cannot_write(tmp_path: Path) -> None:
    program = tmp_path / "a$b" / "faceorganizer"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    result = subprocess.run(
        ["sh", "packaging/install-desktop.sh", "--exec", str(program)],
        cwd=REPO,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "cannot run a path" in result.stderr
    assert not (tmp_path / "data").exists()
