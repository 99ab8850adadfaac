"""Progress on stderr: tqdm's bar on a terminal; elsewhere (a log file, a pipe, CI) a plain line
every few seconds.

tqdm redraws its bar with carriage returns, which a terminal overwrites in place but a log keeps:
a 2,336-photo scan left one 100 KB line. Off a terminal the same figures, formatted by tqdm
(``format_meter``: count, percentage, elapsed, remaining, rate), go out as whole lines instead,
the first at once, then one per ``PLAIN_EVERY_S`` and the last when the work ends.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

PLAIN_EVERY_S = 5.0


class Progress:
    """One progress display; ``update`` with the count done so far, ``close`` at the end."""

    def __init__(
        self,
        desc: str,
        unit: str,
        total: int | None = None,
        stream: TextIO | None = None,
        unit_scale: bool = False,
        every_s: float = PLAIN_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.desc, self.unit, self.total = desc, unit, total
        self.stream = stream if stream is not None else sys.stderr
        self.unit_scale = unit_scale
        self.every_s = every_s
        self.clock = clock
        self.done = 0
        self.postfix = ""
        self._bar: Any = None
        self._start = clock()
        self._last_line: float | None = None
        self._shown = -1
        self.terminal = _is_terminal(self.stream)

    def update(self, done: int, total: int | None = None, **postfix: object) -> None:
        if total is not None:
            self.total = total
        self.done = done
        self.postfix = ", ".join(f"{k}={v}" for k, v in postfix.items())
        if self.terminal:
            self._update_bar()
            return
        now = self.clock()
        if self._last_line is None or now - self._last_line >= self.every_s:
            self._line(now)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif not self.terminal and self._shown != self.done:
            self._line(self.clock())

    def _update_bar(self) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(
                total=self.total,
                desc=self.desc,
                unit=self.unit,
                unit_scale=self.unit_scale,
                unit_divisor=1024 if self.unit_scale else 1000,
                file=self.stream,
                dynamic_ncols=True,
            )
        if self.total is not None and self._bar.total != self.total:
            self._bar.total = self.total
        if self.postfix:
            self._bar.set_postfix_str(self.postfix, refresh=False)
        self._bar.update(self.done - self._bar.n)

    def _line(self, now: float) -> None:
        from tqdm import tqdm

        counted = "{percentage:3.0f}% {n_fmt}/{total_fmt}" if self.total else "{n_fmt}"
        left = "<{remaining}" if self.total else ""
        units = "{unit}" if self.unit_scale else " {unit}s"
        text = tqdm.format_meter(
            self.done,
            self.total,
            now - self._start,
            prefix=f"{self.desc}: ",
            unit=self.unit,
            unit_scale=self.unit_scale,
            unit_divisor=1024 if self.unit_scale else 1000,
            postfix=self.postfix or None,
            bar_format="{desc}" + counted + units + " [{elapsed}" + left + ", {rate_fmt}{postfix}]",
        )
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last_line = now
        self._shown = self.done


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
