"""The people grid's model over a real library (scanned with the fake models), offscreen."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from faceorganizer.services.library import Library  # noqa: E402
from faceorganizer.ui.people_model import (  # noqa: E402
    FaceCountRole,
    PeopleModel,
    PersonIdRole,
    decode_ids,
    encode_ids,
)


@pytest.fixture
def reader(library: Library):  # type: ignore[no-untyped-def]
    lib = Library.open(library.path, read_only=True)
    yield lib
    lib.close()


def test_people_model_lists_cards_and_asks_to_rename(qtbot, library: Library, reader) -> None:
    model = PeopleModel()
    model.set_library(reader)
    assert model.rowCount() == 3
    counts = [model.index(r).data(FaceCountRole) for r in range(3)]
    assert counts == sorted(counts, reverse=True)
    first = model.index(0)
    assert first.data(Qt.ItemDataRole.DisplayRole) == "Unnamed"
    with qtbot.waitSignal(model.rename_requested) as blocker:
        assert model.setData(first, "  Ann  ")
    assert blocker.args == [first.data(PersonIdRole), "Ann"]
    assert not model.setData(first, "   ")

    library.name_person(first.data(PersonIdRole), "Ann")
    model.refresh()
    assert model.index(model.row_of(first.data(PersonIdRole))).data() == "Ann"
    model.set_filter("an")
    assert model.rowCount() == 1


def test_dragged_ids_survive_encoding() -> None:
    assert decode_ids(encode_ids([3, 1, 2])) == [3, 1, 2]
