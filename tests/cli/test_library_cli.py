"""The library commands end to end on a copy of the session's scanned library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceorganizer.cli import main
from tests.helpers.library_support import library_copy


@pytest.fixture
def run(tmp_path: Path, capsys):
    _, db = library_copy(tmp_path)

    def call(*argv: str) -> tuple[int, object]:
        status = main([*argv, "--json", "--library", str(db)])
        out = capsys.readouterr().out
        return status, json.loads(out) if out.strip() else None

    call.db = str(db)  # type: ignore[attr-defined]
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
    assert [e["kind"] for e in history] == ["merge", "name", "auto"]
    merged = f"Merge an unnamed person ({people[1]['face_count']} faces) into 'Alpha'"
    assert history[0]["description"] == merged
    assert history[2]["description"].startswith("Scan: ")
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


def test_history_names_people_by_their_names_now(run, capsys) -> None:
    """Descriptions name a person as it was when the edit was made, or as it is named now: no
    stale "unnamed" once the user names a group; a name another person has gets a merge hint."""
    _, people = run("people")
    a, b = people[0]["person_id"], people[1]["person_id"]
    _, faces = run("faces", "--person", str(a))
    run("move", str(faces[0]["face_id"]), "--to", str(b))
    run("name", str(b), "Katy")
    run("name", str(b), "Katy Perry")
    c, d = people[2]["person_id"], people[3]["person_id"]
    run("merge", str(b), str(c), str(d))
    status = main(["name", str(a), "katy perry", "--library", run.db])
    assert status == 0 and f"merge {b} {a}" in capsys.readouterr().err
    _, history = run("history")
    count = {p["person_id"]: p["face_count"] for p in people}
    assert [e["description"] for e in history[:5]] == [
        f"Name 'katy perry' ({count[a] - 1} faces)",
        f"Merge 2 unnamed people ({count[c] + count[d]} faces) into 'Katy Perry'",
        "Rename 'Katy' to 'Katy Perry'",
        f"Name 'Katy' ({count[b] + 1} faces)",
        "Move 1 face to 'Katy Perry'",
    ]


def test_not_a_face_and_back(run) -> None:
    _, faces = run("faces")
    face = faces[0]["face_id"]
    status, info = run("not-face", str(face))
    assert status == 0 and info["kind"] == "not-face"
    assert face not in {f["face_id"] for f in run("faces")[1]}
    assert run("not-face", str(face), "--restore")[1]["kind"] == "face"
    assert face in {f["face_id"] for f in run("faces")[1]}


def test_embeddings_round_trip_through_json_and_npy(run, tmp_path: Path) -> None:
    """`faces --json --embeddings` and `faces --npy FILE` give back exactly the library's
    float32 vectors, row k of the file being the k-th face listed."""
    import sqlite3

    import numpy as np

    _, people = run("people")
    person = str(people[0]["person_id"])
    npy = tmp_path / "out" / "faces.npy"
    _, listed = run("faces", "--person", person, "--embeddings", "--npy", str(npy))
    matrix = np.load(npy, allow_pickle=False)
    from faceorganizer.core.models.registry import MODELS

    dims = MODELS[listed[0]["model_id"]].dims
    assert matrix.dtype == np.float32 and matrix.shape == (len(listed), dims)
    con = sqlite3.connect(run.db)
    for k, face in enumerate(listed):
        blob, model = con.execute(
            "SELECT embedding, model_id FROM faces WHERE id = ?", [face["face_id"]]
        ).fetchone()
        stored = np.frombuffer(blob, np.float32)
        assert (face["row"], face["model_id"]) == (k, model)
        assert np.array_equal(np.asarray(face["embedding"], np.float32), stored)
        assert np.array_equal(matrix[k], stored)
    con.close()
    # the same person's faces are alike in the exported vectors, as in the app
    assert float((matrix @ matrix.T).min()) > 0.8
    status, err = run("faces", "--person", person, "--npy", str(npy))
    assert status == 1 and "already exists" in err["error"]
    assert run("faces", "--person", person, "--npy", str(npy), "--force")[0] == 0
    _, plain = run("faces", "--person", person)
    assert "embedding" not in plain[0]


def test_library_before_the_action_is_the_library_used(tmp_path: Path, monkeypatch, capsys) -> None:
    from faceorganizer.services.library import Library

    db = tmp_path / "mine.sqlite3"
    Library.open(db).close()
    default = tmp_path / "default.sqlite3"
    monkeypatch.setenv("FACEORGANIZER_LIBRARY", str(default))
    assert main(["library", "--library", str(db), "check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["library"] == str(db)
    backup = tmp_path / "copy.sqlite3"
    assert main(["library", "--library", str(db), "backup", str(backup)]) == 0
    assert backup.exists() and not default.exists()
    other = tmp_path / "other.sqlite3"
    assert main(["library", "--library", str(other), "check", "--library", str(db)]) == 0
    assert not other.exists()
