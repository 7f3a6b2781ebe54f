"""Every Python example of the README runs as written (torch and JAX examples need them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index: int) -> None:
    code = BLOCKS[index]
    for module in re.findall(r"^import ([\w, .]+)", code, flags=re.M):
        for name in (m.strip().split(" as ")[0] for m in module.split(",")):
            pytest.importorskip(name.split(".")[0], reason=f"{name} is not installed")
    exec(compile(code, f"README.md example {index + 1}", "exec"), {})
