"""Exporting the library: a folder per named person with links (or copies) of their photos,
or a table of faces. Originals are only read, never written, renamed or moved.

An export never lands inside a folder the library scans (the next scan would take it for new
photos) or onto a photo, and never replaces an existing file unless asked (``force``). Each
person folder holds ``EXPORT_MARK``, so a scan skips it wherever it is moved to later.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

from sqlite_utils import Database

from faceorganizer.services.errors import LibraryError
from faceorganizer.services.scan.files import EXPORT_MARK, os_path, stored_path, under
from faceorganizer.services.types import ExportSummary
from faceorganizer.storage import exports, faces, photos, settings

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def folder_name(name: str) -> str:
    """A person's name as a safe folder name (no separators or control characters)."""
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    return cleaned or "_"


def check_destination(db: Database, dest: Path) -> None:
    """Refuse ``dest`` inside one of the library's folders, or on one of its photos."""
    real = os.path.realpath(dest)
    for folder in settings.get(db, "folders") or []:
        if under(real, [os.path.realpath(folder)]):
            raise LibraryError(
                f"{dest} is inside the library's folder {folder}; the next scan would take the "
                "export for new photos: choose a destination outside the scanned folders"
            )
    if photos.by_path(db, stored_path(real) or real) is not None:
        raise LibraryError(f"{dest} is a photo of the library: choose another destination")


def _folder(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise LibraryError(f"{path} is a file, not a folder: choose another destination")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise LibraryError(f"cannot export to {path}: {parent} is a file, not a folder")
            break
    path.mkdir(parents=True, exist_ok=True)


def _place(src: str, target: Path, mode: str) -> str:
    """Link ``src`` at ``target`` (copy where links are refused); returns what was done."""
    if mode == "link":
        try:
            os.symlink(src, target)
            return "linked"
        except OSError:
            pass
    part = target.with_name(f".{target.name}.part")  # a killed copy never looks finished
    shutil.copy2(src, part)
    os.replace(part, target)
    return "copied"


def export_by_person(
    db: Database, dest: Path, mode: str = "link", contact_sheet: bool = False
) -> ExportSummary:
    """A folder per visible named person with links (or copies) of their photos, and with
    ``contact_sheet`` a printable grid of their faces in it."""
    if mode not in ("link", "copy"):
        raise LibraryError(f"unknown export mode {mode!r}: use link or copy")
    check_destination(db, dest)
    rows = exports.named_person_photos(db)
    summary = ExportSummary(dest=str(dest))
    _folder(dest)
    folders: dict[int, Path] = {}
    used: set[Path] = set()
    for pid, name, stored in rows:
        path = os_path(stored)
        if pid not in folders:
            folder = dest / folder_name(name)
            if folder in folders.values():
                folder = dest / f"{folder_name(name)} ({pid})"
            check_destination(db, folder)
            _folder(folder)
            (folder / EXPORT_MARK).write_text("FaceOrganizer export: scans skip this folder.\n")
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
    from faceorganizer.services.export.contact_sheet import SheetFace, write_sheets

    rows = exports.person_sheet_faces(db, person_id)
    sheet_faces = [
        SheetFace(
            fid, os_path(path), (x1, y1, x2, y2), w, h, (taken or "")[:10] or os.path.basename(path)
        )
        for fid, path, x1, y1, x2, y2, w, h, taken in rows
    ]
    return write_sheets(
        folder, folder_name(name), name, sheet_faces, lambda f: faces.thumbnail(db, f)
    )


def export_table(db: Database, dest: Path, fmt: str, force: bool = False) -> ExportSummary:
    """Write every face (photo path, box, person) as CSV or JSON to ``dest`` (a file, or
    ``faces.csv|json`` in a folder); an existing file is replaced only with ``force``."""
    if fmt not in ("csv", "json"):
        raise LibraryError(f"unknown export format {fmt!r}: use csv or json")
    if dest.is_dir():
        dest = dest / f"faces.{fmt}"
    check_destination(db, dest)
    if os.path.lexists(dest) and (dest.is_dir() or not force):
        what = "a folder" if dest.is_dir() else "a file"
        hint = "" if dest.is_dir() else "; use --force to replace it"
        raise LibraryError(f"{dest} already exists ({what}){hint}")
    _folder(dest.parent)
    records = exports.face_records(db)
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


def export_library(
    db: Database,
    dest: str | os.PathLike[str],
    by_person: bool,
    mode: str,
    fmt: str | None,
    force: bool,
    contact_sheet: bool,
) -> ExportSummary:
    """Person folders, or a faces table (``fmt``): what ``faceorganizer export`` asks for."""
    path = Path(dest).expanduser()
    if fmt is not None:
        return export_table(db, path, fmt, force)
    if not by_person:
        raise LibraryError("choose --by-person or --format csv|json")
    return export_by_person(db, path, mode, contact_sheet)


def export_embeddings(db: Database, dest: Path, face_ids: list[int], force: bool = False) -> str:
    """Write the embeddings of ``face_ids`` as one float32 ``.npy`` matrix (row k: the k-th
    face), under the same rules as a table; returns the path written."""
    import numpy as np

    if dest.suffix != ".npy":
        raise LibraryError(f"{dest}: an embeddings file ends in .npy")
    check_destination(db, dest)
    if os.path.lexists(dest) and (dest.is_dir() or not force):
        hint = "" if dest.is_dir() else "; use --force to replace it"
        raise LibraryError(f"{dest} already exists{hint}")
    _folder(dest.parent)
    found = faces.vectors_of(db, face_ids)
    rows = [found[f][0] for f in face_ids if f in found]
    if len(rows) != len(face_ids):
        raise LibraryError("some faces are gone from the library; list them again")
    dims = {len(r) for r in rows}
    if len(dims) > 1:
        raise LibraryError("these faces were made by models of different sizes")
    matrix = np.stack(rows).astype(np.float32) if rows else np.empty((0, 0), np.float32)
    tmp = dest.with_name(dest.name + ".part")
    with open(tmp, "wb") as f:
        np.save(f, matrix)
    os.replace(tmp, dest)
    return str(dest)
