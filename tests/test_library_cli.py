"""The library commands end to end on a copy of the session's scanned library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from library_support import library_copy

from faceorganizer.cli import main


@pytest.fixture
def run(tmp_path: Path, capsys):
    _, db = library_copy(tmp_path)

    def call(*argv: str) -> tuple[int, object]:
        status = main([*argv, "--json", "--library", str(db)])
        out = capsys.readouterr().out
        return status, json.loads(out) if out.strip() else None

    return call


def test_name_merge_undo_redo_history(run) -> None:
    _, people = run("people")
    assert len(people) >= 2 and people[0]["face_count"] >= people[1]["face_count"]
    a, b = people[0]["person_id"], people[1]["person_id"]
    assert run("name", str(a), "Alpha")[0] == 0
    assert run("merge", "alpha", str(b))[0] == 0
    _, merged = run("people")
    alpha = next(p for p in merged if p["name"] == "Alpha")
    assert alpha["face_count"] == people[0]["face_count"] + people[1]["face_count"]
    _, faces = run("faces", "--person", "Alpha")
    assert {f["assigned_by"] for f in faces} == {"auto", "user"}
    assert run("undo")[1]["kind"] == "merge"
    assert [p["face_count"] for p in run("people")[1][:2]] == [
        people[0]["face_count"],
        people[1]["face_count"],
    ]
    assert run("redo")[1]["kind"] == "merge"
    _, history = run("history")
    assert [e["kind"] for e in history] == ["merge", "name"]
    status, err = run("name", "nobody-by-that-name", "X")
    assert status == 1 and "no person named" in err["error"]


def test_search_finds_the_same_person_first_and_moves_hits(run) -> None:
    _, people = run("people")
    person = people[0]
    _, faces = run("faces", "--person", str(person["person_id"]))
    _, found = run("search", "--face", str(faces[0]["face_id"]), "--limit", "3")
    hits = found["hits"]
    assert hits and all(h["face"]["person_id"] == person["person_id"] for h in hits)
    assert [h["percent"] for h in hits] == sorted((h["percent"] for h in hits), reverse=True)
    run("name", str(person["person_id"]), "Searched")
    status, moved = run("search", "--face", str(faces[0]["face_id"]), "--move-to", "Searched")
    assert status == 0 and moved["edit"]["kind"] == "move"


def test_export_faces_table(run, tmp_path: Path) -> None:
    status, result = run("export", str(tmp_path / "out.json"), "--format", "json")
    rows = json.loads((tmp_path / "out.json").read_text())
    assert status == 0 and result["files"] == len(rows) > 0
    assert {"face_id", "photo", "x1", "person"} <= set(rows[0])
