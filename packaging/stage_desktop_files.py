"""Lay out the desktop files under ``DEST/share`` as XDG data folders expect them.

The desktop entry, the AppStream metainfo and the icon come from ``resources/``; the PNG
icon sizes are rendered here from the SVG with Qt's SVG renderer, so they never drift from it.
``packaging/install-desktop.sh`` copies the result into the user's data folder.

Usage: python packaging/stage_desktop_files.py DEST
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

APP_ID = "io.github.faceorganizer.FaceOrganizer"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def render_png(svg: Path, size: int, dest: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"error: {svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(dest)):  # the format from the .png suffix
        raise SystemExit(f"error: cannot write {dest}")


def stage(dest: Path) -> Path:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (QPainter needs one)
    share = dest / "share"
    icons = share / "icons" / "hicolor"
    svg = (RESOURCES / "icons" / f"{APP_ID}.svg").resolve()
    for sub, name in (
        ("applications", f"{APP_ID}.desktop"),
        ("metainfo", f"{APP_ID}.metainfo.xml"),
    ):
        (share / sub).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(RESOURCES / name, share / sub / name)
    (icons / "scalable" / "apps").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, icons / "scalable" / "apps" / f"{APP_ID}.svg")
    for size in PNG_SIZES:
        render_png(svg, size, icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png")
    return share


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(stage(Path(sys.argv[1])))
