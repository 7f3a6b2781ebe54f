"""Every Python example of the README runs as written (torch and JAX examples need them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
# a block that cannot run here (it needs 2 processes, say) starts with this marker naming
# the test file that runs it instead: `# runs in tests/test_distributed.py (...)`
DELEGATED = r"# runs in (tests/\w+\.py)"


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", [i for i, b in enumerate(BLOCKS)
                                   if not re.match(DELEGATED, b)])
def test_readme_example_runs(index: int) -> None:
    code = BLOCKS[index]
    for module in re.findall(r"^import ([\w, .]+)", code, flags=re.M):
        for name in (m.strip().split(" as ")[0] for m in module.split(",")):
            pytest.importorskip(name.split(".")[0], reason=f"{name} is not installed")
    exec(compile(code, f"README.md example {index + 1}", "exec"), {})


def test_delegated_examples_are_run_by_the_test_they_name() -> None:
    for block in BLOCKS:
        if (found := re.match(DELEGATED, block)) is not None:
            test = (README.parent / found[1]).read_text()
            assert found[0] in test, f"{found[1]} does not run the README block {found[0]!r}"
