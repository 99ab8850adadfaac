"""The built desktop bundle (dist/FaceOrganizer, `make package`) stands alone: run from its
folder with a bare environment (no virtualenv, no PYTHONPATH, an empty home), it prints its
version, finds faces, scans photos into a fresh library with the same faces and embeddings as
the virtualenv, and opens and closes its window.

Skipped when there is no bundle or when it was built from other sources than this checkout's;
`make test-bundle` (run by .ci/run after `make package`) makes both a failure instead.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from faceorganizer import __version__
from tests.helpers.system_libraries import can_hide_libraries, without_libraries

REPO = Path(__file__).resolve().parents[2]
BUNDLE = Path(os.environ.get("FACEORGANIZER_BUNDLE", REPO / "dist" / "FaceOrganizer"))
PROGRAM = BUNDLE / "faceorganizer"
GROUP_PHOTO = "photos/deepface_testset/_group/couple.jpg"
EMBEDDING_TOLERANCE = 1e-4
TIMEOUT_S = 600


def _why_not_testable() -> str | None:
    if not PROGRAM.is_file():
        return f"no bundle at {BUNDLE}: build it with `make package`"
    stamp_file = BUNDLE / "SOURCE_STAMP"
    built_from = stamp_file.read_text().strip() if stamp_file.is_file() else None
    source_stamp = runpy.run_path(str(REPO / "packaging" / "source_stamp.py"))["source_stamp"]
    if built_from != source_stamp():
        return f"the bundle at {BUNDLE} was built from other sources: rebuild with `make package`"
    return None


_reason = _why_not_testable()
if _reason and os.environ.get("FACEORGANIZER_REQUIRE_BUNDLE"):
    raise RuntimeError(_reason)
pytestmark = [
    pytest.mark.bundle,
    pytest.mark.real_model,  # the bundle runs its own copies of the models
    pytest.mark.skipif(_reason is not None, reason=str(_reason)),
]


def bare_env(home: Path, **extra: str) -> dict[str, str]:
    """What a user's session gives a program: no venv on PATH, no PYTHONPATH."""
    home.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **extra}


def run_bundle(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PROGRAM), *args],
        cwd=home.parent,
        env=bare_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def run_venv(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = bare_env(home, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "faceorganizer", *args],
        cwd=home.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def library_faces(library: Path) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Per photo file name: its faces as (box, embedding), left to right."""
    with sqlite3.connect(library) as db:
        rows = db.execute(
            "SELECT photos.path, x1, y1, x2, y2, embedding FROM faces "
            "JOIN photos ON photos.id = faces.photo_id"
        ).fetchall()
    faces: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for path, x1, y1, x2, y2, blob in rows:
        box = np.array([x1, y1, x2, y2])
        faces.setdefault(Path(path).name, []).append((box, np.frombuffer(blob, np.float32)))
    return {name: sorted(found, key=lambda f: tuple(f[0])) for name, found in faces.items()}


@pytest.fixture(scope="module")
def photos(manifest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few shared photos: portraits, a group photo and an EXIF-rotated one."""
    rows = sorted((r for r in manifest if r.kind == "photo"), key=lambda r: r.relpath)[:3]
    rows += [r for r in manifest if r.relpath == GROUP_PHOTO]
    rows += [r for r in manifest if r.exif_orientation not in (None, 1)][:1]
    folder = tmp_path_factory.mktemp("bundle-photos")
    for i, row in enumerate(rows):
        shutil.copyfile(row.path, folder / f"{i}_{row.path.name}")
    return folder


@pytest.fixture(scope="module")
def scanned(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same photos scanned into a fresh library by the bundle and by the virtualenv."""
    tmp = tmp_path_factory.mktemp("bundle-scan")
    libraries = tmp / "bundle.db", tmp / "venv.db"
    bundle = run_bundle(tmp / "bundle-home", "scan", "--library", str(libraries[0]), str(photos))
    assert bundle.returncode == 0, bundle.stderr
    venv = run_venv(tmp / "venv-home", "scan", "--library", str(libraries[1]), str(photos))
    assert venv.returncode == 0, venv.stderr
    return libraries


def test_version(tmp_path: Path) -> None:
    result = run_bundle(tmp_path / "home", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"faceorganizer {__version__}"


def test_detect_finds_the_faces_the_venv_finds(faces_dir: Path, tmp_path: Path) -> None:
    photo = str(faces_dir / GROUP_PHOTO)
    bundle = run_bundle(tmp_path / "bundle-home", "detect", "--json", photo)
    assert bundle.returncode == 0, bundle.stderr
    venv = run_venv(tmp_path / "venv-home", "detect", "--json", photo)
    assert venv.returncode == 0, venv.stderr
    (found,), (expected,) = json.loads(bundle.stdout), json.loads(venv.stdout)
    assert len(found["faces"]) == 2
    for face, reference in zip(found["faces"], expected["faces"], strict=True):
        assert np.allclose(face["box"], reference["box"], atol=0.5)


def test_scan_into_a_fresh_library(scanned: tuple[Path, Path], photos: Path) -> None:
    bundle_library, _ = scanned
    faces = library_faces(bundle_library)
    assert set(faces) == {p.name for p in photos.iterdir()}  # a face in every photo
    assert len(faces[next(n for n in faces if n.endswith("couple.jpg"))]) == 2


def test_same_faces_and_embeddings_as_the_venv(scanned: tuple[Path, Path]) -> None:
    bundle_faces, venv_faces = (library_faces(library) for library in scanned)
    assert bundle_faces.keys() == venv_faces.keys()
    worst = 0.0
    for name, found in bundle_faces.items():
        expected = venv_faces[name]
        assert len(found) == len(expected), name
        for (box, embedding), (ref_box, ref_embedding) in zip(found, expected, strict=True):
            assert np.allclose(box, ref_box, atol=0.5), name
            worst = max(worst, float(np.abs(embedding - ref_embedding).max()))
    assert worst <= EMBEDDING_TOLERANCE


def test_facenet_model_imports_scans_and_matches_the_venv(
    generated_vggface2: Path, photos: Path, tmp_path: Path
) -> None:
    """The optional FaceNet models need neither torchvision nor facenet-pytorch (the bundle has
    no torchvision): the bundle imports release-shaped weights (their strict architecture
    check), scans with them, and gives the virtualenv's embeddings."""
    libraries = {}
    for name, run in (("bundle", run_bundle), ("venv", run_venv)):
        home = tmp_path / f"{name}-home"
        imported = run(home, "models", "import", "facenet-vggface2", str(generated_vggface2))
        assert imported.returncode == 0, imported.stderr
        libraries[name] = tmp_path / f"{name}.db"
        scan = run(
            home,
            "scan",
            "--model",
            "facenet-vggface2",
            "--library",
            str(libraries[name]),
            str(photos),
        )
        assert scan.returncode == 0, scan.stderr
    found, expected = library_faces(libraries["bundle"]), library_faces(libraries["venv"])
    assert found.keys() == expected.keys() == {p.name for p in photos.iterdir()}
    worst = 0.0
    for name, faces in found.items():
        assert len(faces) == len(expected[name]), name
        for (box, embedding), (ref_box, ref_embedding) in zip(faces, expected[name], strict=True):
            assert embedding.shape == (512,) and np.allclose(box, ref_box, atol=0.5), name
            worst = max(worst, float(np.abs(embedding - ref_embedding).max()))
    assert worst <= EMBEDDING_TOLERANCE


def test_names_round_trip_through_xmp_sidecars(photos: Path, tmp_path: Path) -> None:
    """exiv2 (a compiled library in the bundle) writes a named face into a sidecar and reads
    it back, on copies of the photos."""
    copies = tmp_path / "photos"
    shutil.copytree(photos, copies)
    library = tmp_path / "library.db"
    home = tmp_path / "home"
    scan = run_bundle(home, "scan", "--library", str(library), str(copies))
    assert scan.returncode == 0, scan.stderr
    people = json.loads(run_bundle(home, "people", "--json", "--library", str(library)).stdout)
    person = people[0]["person_id"]
    assert run_bundle(home, "name", "--library", str(library), str(person), "Ada").returncode == 0
    write = run_bundle(home, "xmp", "write", "--all", "--library", str(library))
    assert write.returncode == 0, write.stderr
    sidecars = sorted(copies.glob("*.xmp"))
    assert len(sidecars) == people[0]["photo_count"]
    shown = run_bundle(home, "xmp", "show", "--json", str(sidecars[0].with_suffix("")))
    assert shown.returncode == 0, shown.stderr
    assert [r["name"] for r in json.loads(shown.stdout)["regions"]] == ["Ada"]


def test_window_opens_and_closes_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    library = tmp_path / "library.db"
    result = run_bundle(
        home, "gui", "--library", str(library), "--quit-after", "1500", QT_QPA_PLATFORM="offscreen"
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert library.is_file()
    settings = (home / ".config" / "FaceOrganizer" / "FaceOrganizer.conf").read_text()
    assert "geometry=" in settings  # saved by the window's close event


@pytest.mark.skipif(can_hide_libraries() is not None, reason=str(can_hide_libraries()))
def test_names_missing_system_libraries(tmp_path: Path) -> None:
    """The bundle carries Qt's xcb libraries but not OpenGL's, which come with the desktop."""
    result = without_libraries(
        ["libGL.so.1*", "libEGL.so.1*"],
        [str(PROGRAM), "gui", "--library", str(tmp_path / "library.db")],
        env=bare_env(tmp_path / "home", DISPLAY=":99"),
        cwd=tmp_path,
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 1, result.stderr
    assert "libGL.so.1" in result.stderr and "libgl1" in result.stderr
    assert "Traceback" not in result.stderr


def test_install_desktop_from_the_bundle(tmp_path: Path) -> None:
    """The bundle's own install-desktop.sh puts a menu entry that runs the bundle."""
    data = tmp_path / "data"
    env = bare_env(tmp_path / "home", XDG_DATA_HOME=str(data))
    subprocess.run(["sh", str(BUNDLE / "install-desktop.sh")], env=env, check=True, timeout=60)
    (entry,) = (data / "applications").glob("*.desktop")
    assert f"Exec={PROGRAM} gui %f" in entry.read_text().splitlines()
    validate = shutil.which("desktop-file-validate")
    assert validate, "install the Debian package desktop-file-utils (.ci/run does)"
    result = subprocess.run([validate, str(entry)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout
    assert len(list((data / "icons" / "hicolor").glob("*/apps/*.png"))) == 8
