"""`pip install .` (not editable) from a clean copy of the checkout gives a working
`faceorganizer` command, and the wheel carries the package data and none of the test photos.

The throwaway venv reaches the dependencies (torch...) of the environment running the tests
through a .pth line instead of installing them again; `faceorganizer` itself comes only from
the wheel, which the test checks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".heic", ".heif", ".avif", ".webp", ".tif", ".tiff"}


def clean_copy(dest: Path) -> Path:
    """The files a fresh clone of this working tree would have (tracked and new, not ignored)."""
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, names):
        source = REPO / name.decode()
        if source.is_file() or source.is_symlink():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the venv, the wheel), both made from a clean copy."""
    tmp = tmp_path_factory.mktemp("wheel")
    clone = clean_copy(tmp / "clone")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp / "wheels"),
            str(clone),
        ],
        check=True,
    )
    (wheel,) = (tmp / "wheels").glob("faceorganizer-*.whl")
    venv = tmp / "venv"
    # Without its own pip and setuptools: those of the test environment (through the .pth) are
    # recent enough for pyproject's metadata.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    vpy = venv / "bin" / "python"
    site = subprocess.run(
        [str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(site) / "zz_test_dependencies.pth").write_text("\n".join(deps) + "\n")
    subprocess.run(
        [str(vpy), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(clone)],
        check=True,
    )
    return venv, wheel


def run_clean(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8"}
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_wheel_carries_package_data_not_photos(installed: tuple[Path, Path]) -> None:
    _, wheel = installed
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    calibrations = (REPO / "faceorganizer" / "core" / "calibration").glob("*.json")
    expected = {f"faceorganizer/core/calibration/{p.name}" for p in calibrations}
    expected.add("faceorganizer/resources/faceorganizer.svg")
    assert expected <= set(names)
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {
        "faceorganizer",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
    assert not [n for n in names if Path(n).suffix.lower() in PHOTO_SUFFIXES]


@pytest.mark.real_model  # the installed command detects with the packaged MTCNN
def test_installed_command_works_without_the_checkout(
    installed: tuple[Path, Path], faces_dir: Path, tmp_path: Path
) -> None:
    venv, _ = installed
    where = run_clean(
        venv, "python", "-c", "import faceorganizer; print(faceorganizer.__file__)", cwd=tmp_path
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr
    version = run_clean(venv, "faceorganizer", "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == "faceorganizer 0.1.0"
    photo = faces_dir / "photos" / "deepface_testset" / "_group" / "couple.jpg"
    detect = run_clean(venv, "faceorganizer", "detect", "--json", str(photo), cwd=tmp_path)
    assert detect.returncode == 0, detect.stderr
    (result,) = json.loads(detect.stdout)
    assert len(result["faces"]) == 2
