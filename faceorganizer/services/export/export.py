"""Exporting the library: a folder per named person with links (or copies) of their photos,
or a table of faces. Originals are only read, never written, renamed or moved.

Every file goes through ``core.writer``: an export never lands inside a folder the library scans
(the next scan would take it for new photos), onto a photo, onto the library or through a link,
and never replaces an existing file unless asked (``force``). Re-running an export adds nothing
(a copy already there is found, not copied again as ``X (2).jpg``). Each person folder holds
``EXPORT_MARK``, so a scan skips it wherever it is moved to later; a folder that exists and is
not ours is never marked (its photos would vanish from scans): the person gets ``Name (2)``.
A photo or a person that cannot be exported is reported and the rest goes on; a full disk stops
the export, naming the destination.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from pathlib import Path
from typing import BinaryIO

from defusedcsv import csv
from sqlite_utils import Database

from faceorganizer.core.reader import ReadRefused
from faceorganizer.core.text import clean_name
from faceorganizer.core.writer import (
    Guard,
    WriteRefused,
    candidates,
    check_target,
    copy_unique,
    make_folder,
    write_file,
)
from faceorganizer.services.errors import LibraryError
from faceorganizer.services.scan.files import EXPORT_MARK, os_path, stored_path, under
from faceorganizer.services.types import ExportSummary
from faceorganizer.services.write_guard import library_guard
from faceorganizer.storage import exports, faces, photos, settings

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
MAX_FOLDER_BYTES = 200  # of a person folder's name (file systems allow 255; room for " (N)")
MARK_TEXT = "FaceOrganizer export: scans skip this folder.\n"


def folder_name(name: str) -> str:
    """A person's name as a safe folder name (no separators or control characters, short
    enough for any file system)."""
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    raw = cleaned.encode("utf-8")
    if len(raw) > MAX_FOLDER_BYTES:
        cleaned = raw[:MAX_FOLDER_BYTES].decode("utf-8", "ignore").strip(" .")
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


def _folder(path: Path, guard: Guard) -> None:
    if path.exists() and not path.is_dir():
        raise LibraryError(f"{path} is a file, not a folder: choose another destination")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise LibraryError(f"cannot export to {path}: {parent} is a file, not a folder")
            break
    try:
        make_folder(path, guard, chosen=True)
    except WriteRefused as exc:
        raise LibraryError(str(exc)) from None


def _ours_or_free(folder: Path) -> bool:
    """A folder an export may use: absent, empty, or an earlier export (holds our mark)."""
    if os.path.islink(folder):
        return False
    if not folder.exists():
        return True
    if not folder.is_dir():
        return False
    mark = folder / EXPORT_MARK
    if mark.is_file() and not mark.is_symlink():
        return True
    try:
        return not any(folder.iterdir())
    except OSError:
        return False


def _person_folder(dest: Path, name: str, pid: int, used: set[Path], guard: Guard) -> Path:
    """The person's folder, created and marked: ``Name``, or ``Name (2)``... when ``Name`` is
    another person's (same folder name) or a folder that is not ours."""
    for folder in candidates(dest, folder_name(name)):
        if folder in used or not _ours_or_free(folder):
            continue
        make_folder(folder, guard)
        write_file(folder / EXPORT_MARK, MARK_TEXT.encode(), guard, replace=True)
        return folder
    raise AssertionError("unreachable")


def _link(src: str, folder: Path, name: str, guard: Guard, taken: set[Path]) -> tuple[Path, bool]:
    """A link to ``src`` as ``name`` (or ``stem (N).ext``) in ``folder``; a link to it already
    there is the one. Returns the path and whether it was made now."""
    for target in candidates(folder, name):
        if target in taken:
            continue
        if os.path.islink(target) and os.readlink(target) == src:
            return target, False
        if not os.path.lexists(target):
            guard.check(target)
            os.symlink(src, target)
            return target, True
    raise AssertionError("unreachable")


def export_by_person(
    db: Database,
    dest: Path,
    mode: str = "link",
    contact_sheet: bool = False,
    *,
    library: Path,
) -> ExportSummary:
    """A folder per visible named person with links (or copies) of their photos, and with
    ``contact_sheet`` a printable grid of their faces in it."""
    if mode not in ("link", "copy"):
        raise LibraryError(f"unknown export mode {mode!r}: use link or copy")
    check_destination(db, dest)
    guard = library_guard(db, library, outside_scanned=True)
    rows = exports.named_person_photos(db)
    summary = ExportSummary(dest=str(dest))
    _folder(dest, guard)
    folders: dict[int, Path] = {}
    refused: set[int] = set()
    taken: set[Path] = set()
    for pid, name, stored in rows:
        if pid in refused:
            continue
        path = os_path(stored)
        try:
            if pid not in folders:
                folders[pid] = _person_folder(dest, name, pid, set(folders.values()), guard)
                summary.folders += 1
            done = _place(path, folders[pid], mode, guard, taken)
        except (WriteRefused, ReadRefused) as exc:
            if isinstance(exc, WriteRefused) and exc.reason == "the disk is full":
                raise LibraryError(f"{exc}; nothing more was exported to {dest}") from None
            where = exc.path if isinstance(exc, WriteRefused) else path
            summary.errors.append((where, exc.reason))
            if pid not in folders:
                refused.add(pid)
            continue
        except OSError as exc:
            summary.errors.append((path, (exc.strerror or str(exc)).lower()))
            continue
        if done is None:
            continue
        summary.files += 1
        summary.linked += done == "linked"
        summary.copied += done == "copied"
    for path, reason in summary.errors:
        log.warning("export: %s: %s", path, reason)
    if contact_sheet:
        names = {pid: name for pid, name, _path in rows}
        for pid, folder in folders.items():
            summary.sheets += len(_contact_sheet(db, folder, pid, names[pid], guard))
    return summary


def _place(path: str, folder: Path, mode: str, guard: Guard, taken: set[Path]) -> str | None:
    """Link or copy one photo into its person's folder; None when it is there already or the
    photo is gone."""
    name = os.path.basename(path)
    if not os.path.exists(path):
        return None
    if mode == "link":
        try:
            target, made = _link(path, folder, name, guard, taken)
            taken.add(target)
            return "linked" if made else None
        except PermissionError:
            pass  # a file system without links: copies instead
    target, made = copy_unique(path, folder, name, guard, taken)
    taken.add(target)
    return "copied" if made else None


def _contact_sheet(
    db: Database, folder: Path, person_id: int, name: str, guard: Guard
) -> list[Path]:
    from faceorganizer.services.export.contact_sheet import SheetFace, write_sheets

    rows = exports.person_sheet_faces(db, person_id)
    sheet_faces = [
        SheetFace(
            fid, os_path(path), (x1, y1, x2, y2), w, h, (taken or "")[:10] or os.path.basename(path)
        )
        for fid, path, x1, y1, x2, y2, w, h, taken in rows
    ]
    return write_sheets(
        folder, folder_name(name), name, sheet_faces, lambda f: faces.thumbnail(db, f), guard
    )


def _csv_record(record: dict[str, object]) -> dict[str, object]:
    return {k: clean_name(v) if isinstance(v, str) else v for k, v in record.items()}


def _refuse_existing(dest: Path, guard: Guard, force: bool) -> None:
    """Refuse a table or matrix ``dest`` that the guard protects, that is a link or a folder, or
    that exists when ``force`` was not given."""
    try:
        guard.check(dest)
        if os.path.lexists(dest) and not dest.is_symlink() and (dest.is_dir() or not force):
            what = "a folder" if dest.is_dir() else "a file"
            hint = "" if dest.is_dir() else "; use --force to replace it"
            raise LibraryError(f"{dest} already exists ({what}){hint}")
        check_target(dest, guard, replace=True)
    except WriteRefused as exc:
        raise LibraryError(str(exc)) from None


def export_table(
    db: Database, dest: Path, fmt: str, force: bool = False, *, library: Path
) -> ExportSummary:
    """Write every face (photo path, box, person) as CSV or JSON to ``dest`` (a file, or
    ``faces.csv|json`` in a folder); an existing file is replaced only with ``force``, and the
    library, its photos and links never. Text cells of the CSV are neutralised against formula
    injection (``defusedcsv``: a name like ``=HYPERLINK(...)`` is text in a spreadsheet)."""
    if fmt not in ("csv", "json"):
        raise LibraryError(f"unknown export format {fmt!r}: use csv or json")
    if dest.is_dir():
        dest = dest / f"faces.{fmt}"
    check_destination(db, dest)
    guard = library_guard(db, library, outside_scanned=True)
    _refuse_existing(dest, guard, force)
    _folder(dest.parent, Guard())
    records = exports.face_records(db)

    def body(out: BinaryIO) -> None:
        f = io.TextIOWrapper(out, encoding="utf-8", newline="")
        if fmt == "csv":
            writer = csv.DictWriter(f, fieldnames=exports.FACE_FIELDS)
            writer.writeheader()
            writer.writerows(_csv_record(r) for r in records)
        else:
            json.dump(records, f, indent=1)
        f.flush()
        f.detach()

    try:
        write_file(dest, body, guard, replace=force)
    except WriteRefused as exc:
        raise LibraryError(str(exc)) from None
    return ExportSummary(dest=str(dest), files=len(records), format=fmt)


def export_library(
    db: Database,
    library: Path,
    dest: str | os.PathLike[str],
    by_person: bool,
    mode: str,
    fmt: str | None,
    force: bool,
    contact_sheet: bool,
) -> ExportSummary:
    """Person folders, or a faces table (``fmt``): what ``faceorganizer export`` asks for, on
    behalf of the library at ``library``."""
    path = Path(dest).expanduser()
    if fmt is not None:
        return export_table(db, path, fmt, force, library=library)
    if not by_person:
        raise LibraryError("choose --by-person or --format csv|json")
    return export_by_person(db, path, mode, contact_sheet, library=library)


def export_embeddings(
    db: Database, library: Path, dest: Path, face_ids: list[int], force: bool = False
) -> str:
    """Write the embeddings of ``face_ids`` as one float32 ``.npy`` matrix (row k: the k-th
    face), under the same rules as a table; returns the path written."""
    import numpy as np

    if dest.suffix != ".npy":
        raise LibraryError(f"{dest}: an embeddings file ends in .npy")
    check_destination(db, dest)
    guard = library_guard(db, library, outside_scanned=True)
    _refuse_existing(dest, guard, force)
    found = faces.vectors_of(db, face_ids)
    rows = [found[f][0] for f in face_ids if f in found]
    if len(rows) != len(face_ids):
        raise LibraryError("some faces are gone from the library; list them again")
    dims = {len(r) for r in rows}
    if len(dims) > 1:
        raise LibraryError("these faces were made by models of different sizes")
    matrix = np.stack(rows).astype(np.float32) if rows else np.empty((0, 0), np.float32)
    _folder(dest.parent, Guard())
    try:
        write_file(dest, lambda out: np.save(out, matrix), guard, replace=force)
    except WriteRefused as exc:
        raise LibraryError(str(exc)) from None
    return str(dest)
