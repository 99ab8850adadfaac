"""The command line over a library scanned with the fake models: output, edits, errors."""

from __future__ import annotations

import json

import pytest

from faceorganizer.cli import build_parser, main
from faceorganizer.services.library import Library


@pytest.fixture
def lib_path(library: Library) -> str:
    path = str(library.path)
    library.close()
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_people_name_undo_history(lib_path: str, capsys) -> None:
    rc, out, _ = run(capsys, "people", "--library", lib_path, "--json")
    people = json.loads(out)
    assert rc == 0 and len(people) == 3
    first = str(people[0]["person_id"])
    assert run(capsys, "name", first, "Ann", "--library", lib_path)[0] == 0
    rc, out, _ = run(capsys, "people", "--library", lib_path)
    assert "Ann" in out
    rc, out, _ = run(capsys, "undo", "--library", lib_path)
    named = f"undid: Name 'Ann' ({people[0]['face_count']} faces)"
    assert rc == 0 and out.startswith(named)
    rc, out, _ = run(capsys, "history", "--library", lib_path, "--json")
    assert json.loads(out)[0]["undone"] is True


def test_search_and_export_table(lib_path: str, tmp_path, capsys) -> None:
    rc, out, _ = run(capsys, "faces", "--library", lib_path, "--json")
    faces = json.loads(out)
    rc, out, _ = run(capsys, "search", "--face", str(faces[0]["face_id"]), "--library", lib_path,
                     "--json")  # fmt: skip
    assert rc == 0 and json.loads(out)["hits"]
    dest = tmp_path / "faces.csv"
    rc, out, _ = run(capsys, "export", str(dest), "--format", "csv", "--library", lib_path)
    assert rc == 0 and len(dest.read_text().splitlines()) == len(faces) + 1


def test_errors_are_one_line_with_a_status(lib_path: str, capsys) -> None:
    rc, _, err = run(capsys, "name", "999", "Zed", "--library", lib_path)
    assert rc == 1 and err.strip() == "faceorganizer: error: no person with id 999"
    rc, out, err = run(capsys, "search", "--library", lib_path, "--json")
    assert rc == 1 and "exactly one of --face ID, --image FILE or --like-person" in err
    assert json.loads(out)["error"]


def test_parser_knows_the_common_options_everywhere() -> None:
    parser = build_parser()
    args = parser.parse_args(["--json", "people", "--device", "cpu", "-v"])
    assert (args.json, args.device, args.verbose, args.debug) == (True, "cpu", True, False)
    args = parser.parse_args(["people"])
    assert (args.json, args.device) == (False, "auto")
    with pytest.raises(SystemExit):
        parser.parse_args(["people", "--device", "tpu"])


def test_a_stopped_scan_says_how_far_it_got_and_a_lost_folder_once(tmp_path, album, engine) -> None:
    """A stopped scan said "new 11 … failed 1" when 3 photos were read, and a folder that could
    not be listed was one more "new" photo that "failed", listed among the unreadable photos."""
    import os
    import threading
    from dataclasses import asdict

    from faceorganizer.cli.library_commands import _summary_text
    from faceorganizer.services.types import ScanProgress

    folder, _ = album
    drive = tmp_path / "drive"
    (drive / "photos").mkdir(parents=True)
    os.link(next(folder.glob("*.jpg")), drive / "photos" / "one.jpg")
    with Library.open(tmp_path / "lib.sqlite3", device="cpu") as lib:
        lib.set_setting("model_id", engine.model_id)
        lib.scan([drive / "photos"], engine=engine, cluster=False)
        drive.rename(tmp_path / "unplugged")
        cancel = threading.Event()

        def stop_at_three(p: ScanProgress) -> None:
            if p.phase == "scanning" and p.done >= 3:
                cancel.set()

        lib.add_folder(folder)
        s = lib.scan(engine=engine, cancel=cancel, progress=stop_at_three)
    assert s.cancelled and 3 <= s.read < s.to_read == s.new, asdict(s)
    lost = str(drive / "photos")
    assert s.folders == [(lost, "folder not found (is its drive connected?); its photos are kept")]
    assert s.failed == len(s.errors) <= 1 and all(p != lost for p, _ in s.errors)
    text = _summary_text(s)
    head = f"scan stopped after {s.read} of {s.to_read} photos (the next scan goes on)"
    assert text.startswith(head), text
    assert text.count(lost) == 1 and f"new {s.new}," in text, text
