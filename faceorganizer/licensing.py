"""Under which licence FaceOrganizer comes, as source and as the desktop bundle.

The source code is MIT. The desktop bundle (packaging/) also carries python-exiv2 and
pillow-jxl-plugin (GPL-3.0-or-later), the libexiv2 inside python-exiv2 (GPL-2.0-or-later), Qt
and PySide6 (taken under LGPL-3.0), PyTorch, NumPy and more (BSD, MIT, Apache-2.0, ...). The
GPL-3.0-or-later parts make the bundle as a whole GPL-3.0-or-later: GPL-2.0-or-later would not
do, as python-exiv2 allows no version before 3 and Apache-2.0 code cannot be combined with
GPL-2.0. Every component keeps its own licence; the bundle's THIRD-PARTY-NOTICES, generated from
what it ships (packaging/third_party_notices.py), gives each one's licence texts and notices.
"""

from __future__ import annotations

import sys
from pathlib import Path

SOURCE_LICENSE = "MIT"
BUNDLE_LICENSE = "GPL-3.0-or-later"
NOTICES = "THIRD-PARTY-NOTICES"


def bundle_folder() -> Path | None:
    """The desktop bundle's folder when running from it (PyInstaller), else None."""
    if not getattr(sys, "frozen", False):
        return None
    return Path(sys.executable).resolve().parent


def summary(bundle: Path | None = None) -> str:
    """One paragraph for the About dialog and ``--version``."""
    text = (
        f"FaceOrganizer's source code is under the {SOURCE_LICENSE} licence. The desktop "
        "bundle, which includes GPL components (python-exiv2, libexiv2), is distributed as a "
        f"whole under the GNU GPL, version 3 or later ({BUNDLE_LICENSE})"
    )
    if bundle is None:
        return text + "."
    return text + f"; every component's licence is in {bundle / NOTICES}."
