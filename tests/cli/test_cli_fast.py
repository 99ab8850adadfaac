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
    assert rc == 0 and out.startswith("undid: Name an unnamed person 'Ann'")
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
