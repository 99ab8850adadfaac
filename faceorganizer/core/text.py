"""Names and file names are data: text from outside (typed, read from another app's sidecar, a
file name on disk) made safe for where it goes.

- Input: a person's name holds no control characters. A typed one is refused (``name_problem``);
  one read from a sidecar has them turned into spaces (``clean_name``: ``Line1&#10;Line2`` is
  "Line1 Line2").
- Terminal: control characters (escape sequences that set the title or clear the screen, bells,
  carriage returns) are shown as ``\\x1b``-style escapes, never sent (``for_terminal``).
- CSV: cells are neutralised by ``defusedcsv`` (OWASP's CSV-injection rule); ``clean_name``
  first, so no cell starts with a tab or a carriage return either.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME = 200  # characters of a person's name

# C0 and C1 control characters and DEL; the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SPACES = re.compile(r"\s+")
# Bidirectional overrides and isolates can make a name display as another.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def has_control(text: str) -> bool:
    return bool(_CONTROL.search(text) or _BIDI.search(text))


def name_problem(name: str) -> str | None:
    """Why a typed name cannot be taken, or None when it can."""
    if has_control(name):
        return "a name cannot hold control characters (a line break, a tab, an escape)"
    if len(name.strip()) > MAX_NAME:
        return f"a name can hold at most {MAX_NAME} characters"
    return None


def clean_name(name: str | None) -> str | None:
    """A name read from elsewhere, made one clean line: control characters and runs of
    whitespace become one space, at most ``MAX_NAME`` characters; None when nothing is left."""
    if name is None:
        return None
    text = _BIDI.sub("", _CONTROL.sub(" ", unicodedata.normalize("NFC", name)))
    text = _SPACES.sub(" ", text).strip()[:MAX_NAME].strip()
    return text or None


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def for_terminal(text: str, keep_newlines: bool = False) -> str:
    """``text`` safe to print: every control character shown as an escape (``\\x1b``), line
    breaks kept only with ``keep_newlines`` (our own line structure, not a value's)."""
    if keep_newlines:
        return "\n".join(for_terminal(line) for line in text.split("\n"))
    return _BIDI.sub(_escape, _CONTROL.sub(_escape, text))
