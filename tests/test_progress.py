"""The progress bar of long runs (``conformance/progress.py``), on a fake stream.

A terminal gets one line redrawn with ``\\r`` (bar, done/total, what runs now) that never
grows past the terminal's width; a log gets a plain line each ``every`` percent; a line
written meanwhile is not broken by the bar; every step is timed for the summary.
"""

from __future__ import annotations

import io

import pytest

from conformance.progress import Progress, format_seconds, text_table


class FakeStream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(tty: bool, steps: int, every: float = 10.0,
         durations: list[float] | None = None) -> tuple[Progress, str]:
    stream, clock = FakeStream(tty), FakeClock()
    bar = Progress(steps, title="report", stream=stream, every=every, clock=clock)
    for i in range(steps):
        with bar.step(f"values: loss{i} / torch"):
            clock.now += (durations or [1.0] * steps)[i]
    bar.close()
    return bar, stream.getvalue()


def test_tty_redraws_one_line_within_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    _, out = _run(tty=True, steps=4)
    frames = out.split("\r")
    drawn = [f for f in frames if f.startswith("report [")]
    # each step is drawn when it starts (naming it) and when it ends
    assert len(drawn) == 8, frames
    assert all(len(f) <= 59 for f in frames), [len(f) for f in frames]
    assert "values: loss2 / tor" in drawn[4] and " 2/4 " in drawn[4]  # cut at the width
    assert drawn[-1].startswith("report [" + "#" * 14) and " 4/4 100% " in drawn[-1]
    # the bar's line is wiped before the closing line, which ends with a newline
    assert out.endswith("\rreport: 4/4 done in 4.0 s\n")
    assert out.count("\n") == 1


def test_tty_line_written_above_the_bar() -> None:
    stream = FakeStream(tty=True)
    bar = Progress(2, title="bench", stream=stream)
    with bar.step("W2D ours.dice.torch"):
        bar.write("[pass 1/1 1/2] W2D ours.dice.torch  fwd 1.0 ms")
    text = stream.getvalue()
    before, line, after = text.partition("[pass 1/1 1/2] W2D ours.dice.torch  fwd 1.0 ms\n")
    assert line, text
    assert before.endswith("\r") and before.rstrip("\r ").endswith("W2D ours.dice.torch")
    assert after.startswith("\rbench [")  # redrawn below the line


def test_log_gets_a_plain_line_every_ten_percent() -> None:
    _, out = _run(tty=False, steps=40)
    lines = out.splitlines()
    assert "\r" not in out
    assert len(lines) == 11, lines  # 10 %, 20 %, ... 100 %, and the closing line
    assert lines[0] == "report: 4/40  10% 4.0 s values: loss3 / torch"
    assert lines[9].startswith("report: 40/40 100% ")
    assert lines[-1] == "report: 40/40 done in 40 s"


def test_log_with_few_steps_and_coarse_every() -> None:
    _, out = _run(tty=False, steps=3, every=50.0)
    lines = out.splitlines()
    # 1/3 = 33 % is below the first mark; 2/3 passes 50 %; 3/3 is 100 %
    assert [line.split()[1] for line in lines[:-1]] == ["2/3", "3/3"], lines


def test_total_may_grow_and_steps_are_timed() -> None:
    stream, clock = FakeStream(tty=False), FakeClock()
    bar = Progress(title="bench", stream=stream, clock=clock)
    bar.add(2)
    for label, seconds in (("a", 3.0), ("b", 30.0)):
        with bar.step(label):
            clock.now += seconds
    bar.add(1)
    with bar.step("c"):
        clock.now += 12.0
    assert (bar.done, bar.total) == (3, 3)
    assert bar.slowest(2) == [("b", 30.0), ("c", 12.0)]
    assert bar.slowest_lines(2, "rows") == ["slowest of 3 rows (45 s in all):",
                                            "          30 s  b", "          12 s  c"]


def test_a_failing_step_is_still_counted() -> None:
    bar = Progress(1, stream=FakeStream(tty=False))
    with pytest.raises(RuntimeError), bar.step("x"):
        raise RuntimeError("boom")
    assert bar.done == 1 and bar.times[0][0] == "x"


def test_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="every"):
        Progress(1, every=0)


def test_helpers() -> None:
    assert [format_seconds(s) for s in (0.25, 42, 185, 3720)] == [
        "0.2 s", "42 s", "3 min 05 s", "1 h 02 min"]
    assert text_table(["backend", "pass"], [["numpy", 50], ["torch-cuda", 0]]).splitlines() == [
        "backend     pass", "----------  ----", "numpy         50", "torch-cuda     0"]
