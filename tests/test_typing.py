"""The public signatures are typed: mypy catches a misspelt keyword and a bad ``reduction``.

mypy checks two small snippets (one wrong, one right) against the package's
annotations; the package itself is analysed silently (``--follow-imports=silent``:
its own errors are ``./dev lint``'s business), with the project's ``[tool.mypy]``
settings (strict; the optional backends are not analysed). About 2-3 s.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HEADER = """\
import numpy as np

import segloss_xp as sx

x = np.zeros((2, 3, 4, 4))
y = np.zeros((2, 4, 4), dtype=np.int64)
"""

WRONG = HEADER + textwrap.dedent("""\
    a = sx.dice_loss(x, y, smoth=1.0)
    b = sx.cross_entropy(x, y, reduction="avg")
""")

RIGHT = HEADER + textwrap.dedent("""\
    a = sx.dice_loss(x, y, smooth=1.0)
    b = sx.cross_entropy(x, y, reduction="none")
""")


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """mypy's error lines for ``wrong.py`` and ``right.py``, checked in one run."""
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e '.[lint]')")
    tmp = tmp_path_factory.mktemp("typing")
    (tmp / "wrong.py").write_text(WRONG)
    (tmp / "right.py").write_text(RIGHT)
    env = {**os.environ, "MYPYPATH": str(ROOT)}  # the checkout's segloss_xp, not an install
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
           "--follow-imports=silent", "--cache-dir", str(tmp / ".mypy_cache"),
           "--no-error-summary", "--show-error-codes", "--no-pretty",
           str(tmp / "wrong.py"), str(tmp / "right.py")]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp, timeout=300)
    if run.returncode not in (0, 1):  # 2: mypy itself failed (bad config, crash)
        pytest.fail(f"mypy failed (exit {run.returncode}):\n{run.stdout}\n{run.stderr}")
    lines = run.stdout.splitlines()
    return {name: [line for line in lines if Path(line.split(":")[0]).name == name]
            for name in ("wrong.py", "right.py")}


def _line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def test_misspelt_keyword_is_a_type_error(mypy_output: dict[str, list[str]]) -> None:
    line = _line_of(WRONG, "smoth=")
    errors = [e for e in mypy_output["wrong.py"] if f"wrong.py:{line}:" in e]
    assert any('"smoth"' in e and "dice_loss" in e for e in errors), (
        "mypy did not flag dice_loss(..., smoth=1.0); its output for wrong.py:\n"
        + "\n".join(mypy_output["wrong.py"]))


def test_reduction_outside_the_literal_is_a_type_error(
    mypy_output: dict[str, list[str]],
) -> None:
    line = _line_of(WRONG, 'reduction="avg"')
    errors = [e for e in mypy_output["wrong.py"] if f"wrong.py:{line}:" in e]
    assert any("reduction" in e and "avg" in e and "Literal" in e for e in errors), (
        "mypy did not flag cross_entropy(..., reduction='avg'); its output for wrong.py:\n"
        + "\n".join(mypy_output["wrong.py"]))


def test_correct_calls_type_check_clean(mypy_output: dict[str, list[str]]) -> None:
    assert mypy_output["right.py"] == []
