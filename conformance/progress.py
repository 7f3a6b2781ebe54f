"""Progress of a long run, and its closing summary: used by ``python -m conformance.report``
and ``python -m benchmarks.run``.

On a terminal, :class:`Progress` redraws one line on the stream (``\\r``, as wide as the
terminal): a bar, done/total, elapsed time and what runs now. On anything else (a CI log,
a file) it writes a plain line each time another ``every`` percent is done, so a log
gets about ``100 / every`` lines. Every finished step is timed: :meth:`Progress.slowest`
names the slowest ones for the summary, which :func:`text_table` lays out.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

__all__ = ["Progress", "format_seconds", "text_table"]


def format_seconds(seconds: float) -> str:
    """``4.2 s``, ``42 s``, ``3 min 05 s`` or ``1 h 02 min``."""
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def text_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A fixed-width table: the first column left-aligned, the others right-aligned."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Progress:
    """Steps done out of ``total``, drawn on ``stream`` (default ``sys.stderr``).

    ``with progress.step("values: dice_loss / torch"): ...`` shows the label while the
    step runs and counts it when it ends; :meth:`write` prints a line without breaking
    the bar; :meth:`close` ends the bar's line. ``total`` may grow (:meth:`add`).
    """

    def __init__(self, total: int = 0, *, title: str = "", stream: TextIO | None = None,
                 every: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        if every <= 0:
            raise ValueError(f"every must be a positive percentage, got {every!r}")
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty()) if callable(isatty) else False
        self.total, self.done, self.title, self.every = total, 0, title, every
        self.label = ""
        self.times: list[tuple[str, float]] = []
        self._clock = clock
        self._start = clock()
        self._reported = 0.0  # the last percentage written as a plain line
        self._drawn = False

    def add(self, steps: int) -> None:
        """``steps`` more to do (a plan that grows while it runs)."""
        self.total += steps
        self._draw()

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Run one step called ``label``: shown while it runs, timed and counted after."""
        self.label = label
        self._draw()
        start = self._clock()
        try:
            yield
        finally:
            self.times.append((label, self._clock() - start))
            self.done += 1
            self._draw()
            self._plain_line()

    def write(self, line: str) -> None:
        """Print ``line`` (a log line) above the bar."""
        self._clear()
        print(line, file=self.stream, flush=True)
        self._draw()

    def elapsed(self) -> float:
        return self._clock() - self._start

    def slowest(self, count: int = 5) -> list[tuple[str, float]]:
        """The ``count`` slowest steps, slowest first."""
        return sorted(self.times, key=lambda t: -t[1])[:count]

    def slowest_lines(self, count: int = 5, what: str = "steps") -> list[str]:
        """The summary's lines: a heading, then one line per slow step (none if none)."""
        if not self.times:
            return []
        return [f"slowest of {len(self.times)} {what} ({format_seconds(self.elapsed())} "
                "in all):", *(f"  {format_seconds(seconds):>12}  {label}"
                              for label, seconds in self.slowest(count))]

    def close(self) -> None:
        """End the bar's line (a terminal keeps the last state) and write the total."""
        self._clear()
        print(f"{self.title + ': ' if self.title else ''}{self.done}/{self.total} done in "
              f"{format_seconds(self.elapsed())}", file=self.stream, flush=True)

    # ---------------------------------------------------------------- drawing

    def _percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 100.0

    def _status(self) -> str:
        return (f"{self.done}/{self.total} {self._percent():3.0f}% "
                f"{format_seconds(self.elapsed())} {self.label}")

    def _draw(self) -> None:
        if not self.tty:
            return
        width = max(shutil.get_terminal_size((80, 24)).columns - 1, 20)
        head = f"{self.title} " if self.title else ""
        bar_width = max(min(30, width // 4), 5)
        filled = int(bar_width * min(self._percent(), 100.0) / 100.0)
        line = f"{head}[{'#' * filled}{'.' * (bar_width - filled)}] {self._status()}"
        self.stream.write("\r" + line[:width].ljust(width))
        self.stream.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self.tty and self._drawn:
            width = max(shutil.get_terminal_size((80, 24)).columns - 1, 20)
            self.stream.write("\r" + " " * width + "\r")
            self.stream.flush()
            self._drawn = False

    def _plain_line(self) -> None:
        if self.tty:
            return
        percent = self._percent()
        if percent >= self._reported + self.every or (percent >= 100.0 > self._reported):
            self._reported = percent - percent % self.every if percent < 100.0 else 100.0
            head = f"{self.title}: " if self.title else ""
            print(f"{head}{self._status()}", file=self.stream, flush=True)
