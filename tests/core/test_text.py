"""Names are data (``core.text``): control characters refused or made one line, escaped for the
terminal."""

from __future__ import annotations

from faceorganizer.core.text import clean_name, for_terminal, name_problem


def test_names_are_data() -> None:
    assert clean_name("Line1\nLine2\t x\x1b[2J") == "Line1 Line2 x [2J"
    assert clean_name(" \x00 ") is None
    assert name_problem("Ann\nBob") is not None and name_problem("Zoë O'Brien") is None
    assert name_problem("x" * 201) is not None
    assert for_terminal("a\x1b]0;t\x07b\nc") == "a\\x1b]0;t\\x07b\\x0ac"
    assert for_terminal("a\x1bb\nc", keep_newlines=True) == "a\\x1bb\nc"
