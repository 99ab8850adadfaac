"""Exporting the library: a folder per named person with links (or copies) of their photos,
or a table of faces. Originals are only read, never written, renamed or moved."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

from sqlite_utils import Database

from faceorganizer.services.errors import LibraryError
from faceorganizer.services.types import ExportSummary
from faceorganizer.storage import exports

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def folder_name(name: str) -> str:
    """A person's name as a safe folder name (no separators or control characters)."""
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    return cleaned or "_"


def _place(src: str, target: Path, mode: str) -> str:
    """Link ``src`` at ``target`` (copy where links are refused); returns what was done."""
    if mode == "link":
        try:
            os.symlink(src, target)
            return "linked"
        except OSError:
            pass
    shutil.copy2(src, target)
    return "copied"


def export_by_person(
    db: Database, dest: Path, mode: str = "link", contact_sheet: bool = False
) -> ExportSummary:
    """A folder per visible named person with links (or copies) of their photos, and with
    ``contact_sheet`` a printable grid of their faces in it."""
    if mode not in ("link", "copy"):
        raise LibraryError(f"unknown export mode {mode!r}: use link or copy")
    rows = exports.named_person_photos(db)
    summary = ExportSummary(dest=str(dest))
    dest.mkdir(parents=True, exist_ok=True)
    folders: dict[int, Path] = {}
    used: set[Path] = set()
    for pid, name, path in rows:
        if pid not in folders:
            folder = dest / folder_name(name)
            if folder in folders.values():
                folder = dest / f"{folder_name(name)} ({pid})"
            folder.mkdir(exist_ok=True)
            folders[pid] = folder
            summary.folders += 1
        target = folders[pid] / os.path.basename(path)
        stem, ext = os.path.splitext(target.name)
        n = 1
        while target in used or os.path.lexists(target):
            if os.path.islink(target) and os.readlink(target) == path:
                break
            n += 1
            target = folders[pid] / f"{stem} ({n}){ext}"
        used.add(target)
        if os.path.lexists(target):
            continue
        if not os.path.exists(path):
            continue
        done = _place(path, target, mode)
        summary.files += 1
        summary.linked += done == "linked"
        summary.copied += done == "copied"
    if contact_sheet:
        names = {pid: name for pid, name, _path in rows}
        for pid, folder in folders.items():
            summary.sheets += len(_contact_sheet(db, folder, pid, names[pid]))
    return summary


def _contact_sheet(db: Database, folder: Path, person_id: int, name: str) -> list[Path]:
    from faceorganizer.services.contact_sheet import SheetFace, write_sheets
    from faceorganizer.storage import faces

    rows = exports.person_sheet_faces(db, person_id)
    sheet_faces = [
        SheetFace(fid, path, (x1, y1, x2, y2), w, h, (taken or "")[:10] or os.path.basename(path))
        for fid, path, x1, y1, x2, y2, w, h, taken in rows
    ]
    return write_sheets(
        folder, folder_name(name), name, sheet_faces, lambda f: faces.thumbnail(db, f)
    )


def export_table(db: Database, dest: Path, fmt: str) -> ExportSummary:
    """Write every face (photo path, box, person) as CSV or JSON to ``dest`` (a file)."""
    if fmt not in ("csv", "json"):
        raise LibraryError(f"unknown export format {fmt!r}: use csv or json")
    records = exports.face_records(db)
    if dest.is_dir():
        dest = dest / f"faces.{fmt}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        if fmt == "csv":
            writer = csv.DictWriter(f, fieldnames=exports.FACE_FIELDS)
            writer.writeheader()
            writer.writerows(records)
        else:
            json.dump(records, f, indent=1)
    os.replace(tmp, dest)
    return ExportSummary(dest=str(dest), files=len(records), format=fmt)
