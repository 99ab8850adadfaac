"""Arguments that make no sense are refused with a message, and edits that change nothing leave
no history (issue 13, defects 14 and 15), on a copy of the session's scanned library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceorganizer.cli import main
from faceorganizer.services.library import Library
from tests.helpers.library_support import library_copy, shared_engine


@pytest.fixture
def run(tmp_path: Path, capsys):
    folder, db = library_copy(tmp_path)

    def call(*argv: str) -> tuple[int, object, str]:
        try:
            status = main([*argv, "--json", "--library", str(db)])
        except SystemExit as exc:  # argparse refusing an argument
            status = int(exc.code or 0)
        captured = capsys.readouterr()
        out = json.loads(captured.out) if captured.out.strip() else None
        return status, out, captured.err

    call.folder, call.db = folder, db  # type: ignore[attr-defined]
    return call


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--threshold", "150"], "150 is not a percentage from 0 to 100"),
        (["--threshold", "-5"], "-5 is not a percentage from 0 to 100"),
        (["--threshold", "nan"], "nan is not a percentage from 0 to 100"),
        (["--threshold", "inf"], "inf is not a percentage from 0 to 100"),
        (["--limit", "0"], "0 is less than 1"),
        (["--limit", "-1"], "-1 is less than 1"),
    ],
)
def test_search_refuses_values_that_make_no_sense(run, argv, message) -> None:
    status, _, err = run("search", "--face", "1", *argv)
    assert status == 2 and message in err


def test_face_index_belongs_to_an_image(run) -> None:
    status, out, _ = run("search", "--face", "1", "--face-index", "3")
    assert status == 1 and "--face-index chooses a face of --image" in out["error"]  # type: ignore[index]
    status, _, err = run("faces", "--limit", "0")
    assert status == 2 and "0 is less than 1" in err


def _two_people(run) -> tuple[dict, dict]:
    _, people, _ = run("people")
    return people[0], people[1]


def test_reject_of_a_face_not_in_the_person_says_what_it_does_and_only_once(run) -> None:
    """Rejecting a face that is not in the person only records "not this person" (grouping and
    XMP names honour it): the history says so, and doing it again is not a new entry."""
    a, b = _two_people(run)
    _, faces_b, _ = run("faces", "--person", str(b["person_id"]))
    stranger = faces_b[0]["face_id"]
    status, out, _ = run("reject", str(stranger), "--from", str(a["person_id"]))
    assert status == 0 and out["description"].startswith("Mark 1 face (not in it) as not")
    assert run("people")[1][:2] == [a, b]  # nobody lost or gained a face
    status, out, _ = run("reject", str(stranger), "--from", str(a["person_id"]))
    assert status == 1 and out["error"].startswith("nothing to change: the faces are already")
    assert [e["kind"] for e in run("history")[1]] == ["reject", "auto"]  # newest first: the scan's
    status, out, _ = run("reject", str(stranger), "--from", str(b["person_id"]))
    assert status == 0 and out["description"] == "Take 1 face out of an unnamed person"


def test_unhide_of_a_visible_person_and_other_no_ops_leave_no_history(run) -> None:
    a, _ = _two_people(run)
    pid = str(a["person_id"])
    status, out, _ = run("unhide", pid)
    assert status == 1 and out["error"] == "nothing to change: an unnamed person is not hidden"
    assert run("name", pid, "Ann")[0] == 0
    status, out, _ = run("name", pid, "Ann")
    assert status == 1 and "is already named 'Ann'" in out["error"]
    assert run("hide", pid)[0] == 0
    status, out, _ = run("hide", pid)
    assert status == 1 and "is already hidden" in out["error"]
    assert [e["kind"] for e in run("history")[1]] == ["hide", "name", "auto"]


def test_undo_of_a_move_whose_photo_was_deleted_says_so(run) -> None:
    a, _ = _two_people(run)
    _, faces_a, _ = run("faces", "--person", str(a["person_id"]))
    face = faces_a[0]
    assert run("move", str(face["face_id"]), "--new")[0] == 0
    Path(face["photo_path"]).unlink()
    with Library.open(run.db) as lib:  # type: ignore[attr-defined]
        assert lib.scan(engine=shared_engine(), cluster=False).removed == 1
    status, out, _ = run("undo")
    assert status == 1 and out["missing_faces"] == 1 and out["changed"] is False
    status, out, _ = run("undo")  # the next older entry: the scan's placements, not the move again
    assert status == 0 and out["kind"] == "auto"
