"""Shared, expensive setup for the library tests: one folder of copied shared photos and one
library scanned from it per session; tests that change things work on copies of both."""

from __future__ import annotations

import csv
import functools
import hashlib
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path

from faceorganizer.services.library import Library
from tests.helpers.photos import FACES_DIR

REPO = Path(__file__).resolve().parents[2]

# People with 3+ single-person photos, two group photos that hold some of them, LFW crops of
# two more people, and photos without a face.
PERSON_FOLDERS = (
    "photos/face_recognition_examples/obama",
    "photos/face_recognition_examples/kit_harington",
    "photos/face_recognition_examples/alex_lacamoire",
    "photos/deepface_testset/katy_perry",
    "photos/deepface_testset/scarlett_johansson",
)
GROUP_PHOTOS = (
    "photos/face_recognition_examples/_group/two_people.jpg",
    "photos/face_recognition_examples/_group/kit_with_rose.jpg",
)
LFW_PEOPLE = ("lfw_dev/Aaron_Peirsol", "lfw_dev/Al_Sharpton")
NO_FACE = 2
BROKEN = {"broken/truncated.jpg", "broken/not_an_image.jpg"}


def subset() -> list[tuple[str, str]]:
    """(relpath in the shared folder, person or '') of the photos the tests scan."""
    with open(FACES_DIR / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    chosen = [
        (r["relpath"], r["person"])
        for r in rows
        if os.path.dirname(r["relpath"]) in PERSON_FOLDERS + LFW_PEOPLE
        or r["relpath"] in GROUP_PHOTOS
    ]
    chosen += [(r["relpath"], "") for r in rows if r["kind"] == "no_face"][:NO_FACE]
    return sorted(chosen)


def make_photo_folder(dest: Path) -> dict[str, str]:
    """Copy the subset under ``dest`` (one folder per source folder), add two unreadable files
    and a hidden folder that must be skipped; returns {path in dest: person}."""
    people: dict[str, str] = {}
    for rel, person in subset():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FACES_DIR / rel, target)
        people[str(target)] = person
    (dest / "broken").mkdir()
    sample = FACES_DIR / subset()[0][0]
    (dest / "broken/truncated.jpg").write_bytes(sample.read_bytes()[:700])
    (dest / "broken/not_an_image.jpg").write_text("just some text, not a photo\n")
    (dest / ".thumbnails").mkdir()
    shutil.copyfile(sample, dest / ".thumbnails/skip_me.jpg")
    return people


@functools.cache
def shared_engine(batch_size: int = 32):  # type: ignore[no-untyped-def]
    from faceorganizer.config import DEFAULT_MODEL_ID
    from faceorganizer.core.pipeline import FaceEngine

    return FaceEngine(model_id=DEFAULT_MODEL_ID, device="auto", batch_size=batch_size)


def scanned_into(db: Path, folders: list[Path]) -> Path:
    """A new library at ``db`` with ``folders`` scanned by the session's engine, its WAL folded
    into the file so that copies of the file alone are whole."""
    with Library.open(db) as lib:
        lib.scan(folders, engine=shared_engine())
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db


@functools.cache
def scanned_library() -> tuple[Path, Path]:
    """(photo folder, library file) of the session's pristine scan; never modify these."""
    root = Path(tempfile.mkdtemp(prefix="fo-lib-"))
    folder = root / "photos"
    make_photo_folder(folder)
    return folder, scanned_into(root / "library.sqlite3", [folder])


CELEBRITY_FOLDERS = ("photos/five_celebrity", "photos/deepface_testset")
HELD_BACK = 3
LATER = "mindy_kaling"


@functools.cache
def celebrity_library() -> tuple[Path, Path, Path]:
    """(photo folder, library, held-back photos) of one scan per session: the two celebrity
    folders of issue 9's reproduction, ``HELD_BACK`` photos of ``LATER`` kept out for later."""
    root = Path(tempfile.mkdtemp(prefix="fo-celeb-"))
    folder, later = root / "photos", root / "later"
    for rel in CELEBRITY_FOLDERS:
        shutil.copytree(FACES_DIR / rel, folder / Path(rel).name)
    later.mkdir()
    for photo in sorted((folder / "five_celebrity" / LATER).iterdir())[:HELD_BACK]:
        photo.rename(later / photo.name)
    db = scanned_into(
        root / "library.sqlite3", [folder / Path(rel).name for rel in CELEBRITY_FOLDERS]
    )
    return folder, db, later


def people_of(lib: Library, folder: str) -> list[int]:
    """Persons whose faces mostly come from photos in a folder of that name (a person)."""
    found = []
    for p in lib.people(include_hidden=True):
        counts = Counter(Path(f.photo_path).parent.name for f in lib.faces(p.person_id))
        if counts and counts.most_common(1)[0][0] == folder:
            found.append(p.person_id)
    return found


def library_copy(dest: Path) -> tuple[Path, Path]:
    """A private copy of the scanned folder and library under ``dest``, paths rewritten."""
    return copy_library(*scanned_library(), dest)


def copy_library(folder: Path, db: Path, dest: Path) -> tuple[Path, Path]:
    """A copy of a photo folder and its library under ``dest``, paths rewritten."""
    new_folder = dest / "photos"
    shutil.copytree(folder, new_folder, copy_function=shutil.copy2)
    new_db = dest / "library.sqlite3"
    shutil.copyfile(db, new_db)
    con = sqlite3.connect(new_db)
    old, new = str(folder), str(new_folder)
    con.execute("UPDATE photos SET path = ? || substr(path, ?)", [new, len(old) + 1])
    con.execute(
        "UPDATE settings SET value = replace(value, ?, ?) WHERE key = 'folders'", [old, new]
    )
    con.commit()
    con.close()
    return new_folder, new_db


OBAMA = "photos/face_recognition_examples/obama/obama2.jpg"
KIT = "photos/face_recognition_examples/kit_harington/john2.jpeg"
CUT_SHARE = 0.6  # of the face's width past the border
BLUR_SHARE = 0.07  # Gaussian sigma, of the face's width


def make_debris(folder: Path) -> dict[str, Path]:
    """Photos of Obama whose face is cut by the right border or blurred, and of Kit Harington
    blurred, made from shared photos (faces too poor to recognise)."""
    from PIL import Image, ImageFilter

    folder.mkdir(parents=True)
    out = {}
    for name, rel in (("obama", OBAMA), ("kit", KIT)):
        found = shared_engine().embed_image(FACES_DIR / rel)
        x0, _, x1, _ = max(found.faces, key=lambda f: f.detection.width).detection.box
        with Image.open(FACES_DIR / rel) as im:
            rgb = im.convert("RGB")
        if name == "obama":
            out["obama_cut"] = cut = folder / "obama_cut.jpg"
            right = int(x0 + (1 - CUT_SHARE) * (x1 - x0))
            rgb.crop((0, 0, right, rgb.height)).save(cut, quality=92)
        out[f"{name}_blur"] = blur = folder / f"{name}_blur.jpg"
        rgb.filter(ImageFilter.GaussianBlur(BLUR_SHARE * (x1 - x0))).save(blur, quality=92)
    return out


@functools.cache
def debris_library() -> tuple[Path, Path, Path]:
    """(photo folder, library, debris folder) of one scan per session: the session's scanned
    library with ``make_debris`` photos scanned into it (grouped as a scan does)."""
    root = Path(tempfile.mkdtemp(prefix="fo-debris-"))
    folder, db = copy_library(*scanned_library(), root)
    debris = folder / "debris"
    make_debris(debris)
    scanned_into(db, [debris])
    return folder, db, debris


def canonical_dump(db_path_or_con) -> dict[str, list]:  # type: ignore[no-untyped-def]
    """Persons, face assignments, rejections and "not the same" pairs, in a form two states can
    be compared by."""
    con = (
        db_path_or_con
        if isinstance(db_path_or_con, sqlite3.Connection)
        else sqlite3.connect(db_path_or_con)
    )
    return {
        "persons": con.execute(
            "SELECT id, name, cover_face_id, hidden FROM persons ORDER BY id"
        ).fetchall(),
        "faces": con.execute(
            "SELECT id, photo_id, person_id, assigned_by, hidden FROM faces ORDER BY id"
        ).fetchall(),
        "rejections": con.execute("SELECT * FROM rejections ORDER BY 1, 2").fetchall(),
        "not_same_persons": con.execute("SELECT * FROM not_same_persons ORDER BY 1, 2").fetchall(),
        "not_same_faces": con.execute("SELECT * FROM not_same_faces ORDER BY 1, 2").fetchall(),
    }


def tree_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
