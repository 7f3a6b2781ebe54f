"""The case table of the distances and metrics (``conformance/functions.py``) and its report.

Every public function that is not a loss (nor one of the loss utilities) has cases in
the table; each case agrees with its float64 oracle on NumPy and torch (the report runs
them on every backend and under ``jax.jit``); the report's section marks a failing or
unsupported cell and follows ``--only``.
"""

from __future__ import annotations

import pytest

from conformance import functions, report
from conformance.functions import FUNCTION_CASES, FunctionCase
from conformance.helpers import losses, public_functions
from segloss_xp.testing import activated, load_backend

# loss utilities, checked with the losses: statistics, validation and wrappers
UTILITIES = {"check_inputs", "soft_confusion", "region_loss_from_stats", "deep_supervision"}
def test_every_non_loss_function_has_cases() -> None:
    expected = set(public_functions()) - set(losses()) - UTILITIES
    covered = {c.function for c in FUNCTION_CASES}
    assert expected <= covered, f"no case in conformance/functions.py for {expected - covered}"
    assert covered <= set(public_functions()), covered - set(public_functions())
    ids = [(c.function, c.id) for c in FUNCTION_CASES]
    assert len(ids) == len(set(ids)), "case ids repeat within a function"


def _params() -> list[object]:
    out = []
    for name in ("numpy", "torch"):
        for case in FUNCTION_CASES:
            out.append(pytest.param(case, name, id=f"{case.function}-{case.id}-{name}"))
    return out


@pytest.mark.parametrize(("case", "backend_name"), _params())
def test_case_matches_the_oracle(case: FunctionCase, backend_name: str) -> None:
    backend, reason = load_backend(backend_name)
    if backend is None:
        pytest.skip(reason)
    with activated(backend):
        assert functions.value_error(case, backend) <= functions.BOUNDS.get(
            functions.result_dtype(case, backend), 0.0)


def test_report_cells_fail_and_name_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    numpy, _ = load_backend("numpy")
    dask, reason = load_backend("dask")
    if dask is None:
        pytest.skip(reason)

    def off(case: FunctionCase, backend: object, *, jit: bool = False) -> float:
        raise AssertionError(f"{case.id}: off")

    monkeypatch.setattr(functions, "value_error", off)
    failures = report.Failures()
    cell, why = report._function_cell("dice_score", numpy, failures)
    count = sum(c.function == "dice_score" for c in FUNCTION_CASES)
    assert (cell, why) == ("FAIL", None) and len(failures.items) == count, failures.items
    cell, why = report._function_cell("hausdorff_distance", dask, failures)
    assert cell == "n/s" and why is not None and "dask" in why
    assert report._function_cell("dice_score", None, failures) == ("skip", None)
    assert len(failures.items) == count


def test_report_section_follows_only() -> None:
    text, failed = report.build_report(only="unet_weight_map", backends=["numpy"])
    section = text.split("## Distances and metrics")[1].split("## Failures")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert [r.split(" | ")[0] for r in rows[1:]] == ["| unet_weight_map"], rows
    cells = rows[1].strip("| ").split(" | ")[1:]
    assert cells[0].endswith("(3)") and all(c == "skip" for c in cells[1:]), cells
    assert failed == 0
    text, _ = report.build_report(only="NOTHING_MATCHES", backends=["numpy"])
    assert "## Distances and metrics" not in text
