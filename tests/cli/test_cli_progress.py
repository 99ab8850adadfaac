"""The CLI's progress off a terminal: plain lines at most every few seconds, never a carriage
return (tqdm's bar in a log made one 100 KB line of a 2,336-photo scan)."""

from __future__ import annotations

import io

from faceorganizer.cli.progress import PLAIN_EVERY_S, Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_off_a_terminal_a_plain_line_every_few_seconds() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress("scanning", "photo", 200, stream=out, clock=clock)
    assert not progress.terminal
    for done in range(1, 201):  # a photo every 0.25 s: 50 s in all
        progress.update(done, faces=2 * done, failed=0)
        clock.now += 0.25
    progress.close()
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert PLAIN_EVERY_S == 5.0 and len(lines) == 1 + 9 + 1  # at once, every 5 s, at the end
    assert lines[0].startswith("scanning:   0% 1/200 photos [00:00<")
    assert (
        lines[1] == "scanning:  10% 21/200 photos [00:05<00:42,  4.20photo/s, faces=42, failed=0]"
    )
    assert lines[-1] == (
        "scanning: 100% 200/200 photos [00:50<00:00,  4.00photo/s, faces=400, failed=0]"
    )


def test_bytes_of_an_unknown_size_and_nothing_twice() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress("downloading", "B", None, stream=out, unit_scale=True, clock=clock)
    progress.update(0)
    clock.now += 6
    progress.update(12 * 1024 * 1024)
    progress.close()  # the last count is already out
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("downloading: 0.00B [00:00, ")
    assert lines[1].startswith("downloading: 12.0MB [00:06, ") and lines[1].endswith("MB/s]")
