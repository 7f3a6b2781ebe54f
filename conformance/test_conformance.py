"""Every loss in the case table, on every backend, against the float64 oracle.

Values (float64 on every backend; float32/float16/bfloat16 where the backend
has the dtype), result namespace/dtype/device, gradients (torch autograd vs
``jax.grad`` vs central differences of the oracle, on the first case of each mode
and one case of each kind in ``cases.GRADIENT_CASES``), finite gradients on
saturated inputs (logits ±1e4, probabilities exactly 0 and 1), ``jax.jit`` /
``jax.vmap`` equal to eager, and ``torch.compile`` with zero graph breaks. Every
number is judged by ``suite.check`` against ``suite.BOUNDS``, as in the report.

The last section checks the checks: a gradient 1e-6 off, a zero gradient, a jit or
compile difference beyond its bound or a graph break must fail, in the tests and in
the report alike.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from conformance import report, suite
from conformance.cases import (
    CASES,
    GRADIENT_CASES,
    LOSSES,
    Case,
    LossSpec,
    case_by_id,
    first_cases,
    gradient_cases,
    loss_by_name,
)
from segloss_xp.testing import Backend


def _pairs(select: str = "all") -> list[tuple[LossSpec, Case]]:
    """(loss, case) pairs: "all", "extreme" (saturated inputs), "first" (the first plain
    case of each mode, with and without ignore_index) or "gradient" (the
    finite-difference selection: "first" and ``GRADIENT_CASES``)."""
    pairs: list[tuple[LossSpec, Case]] = []
    for spec in LOSSES:
        if select == "first":
            pairs += [(spec, case) for case in first_cases(spec)]
        elif select == "gradient":
            pairs += [(spec, case) for case in gradient_cases(spec)]
        else:
            pairs += [(spec, case) for case in CASES if spec.supports(case)
                      and (select == "all" or case.extreme)]
    return pairs


def _ids(pairs: list[tuple[LossSpec, Case]]) -> list[str]:
    return [f"{s.name}-{c.id}" for s, c in pairs]


ALL = _pairs("all")
FIRST = _pairs("first")
GRADIENT = _pairs("gradient")
EXTREME = _pairs("extreme")


def _skip_unsupported(spec: LossSpec, backend: Backend) -> None:
    reason = spec.unsupported(backend.name)
    if reason is not None:
        pytest.skip(reason)


def _need(*modules: str) -> None:
    for module in modules:
        pytest.importorskip(module, reason=f"{module} is not installed")


@pytest.mark.parametrize(("spec", "case"), ALL, ids=_ids(ALL))
def test_value_float64(spec: LossSpec, case: Case, backend: Backend) -> None:
    _skip_unsupported(spec, backend)
    suite.value_error(spec, case, backend, "float64")


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize(("spec", "case"), FIRST, ids=_ids(FIRST))
def test_value_low_precision(spec: LossSpec, case: Case, dtype: str, backend: Backend) -> None:
    _skip_unsupported(spec, backend)
    if not hasattr(backend.xp, dtype):
        pytest.skip(f"{backend.name} has no {dtype}")
    if dtype == "bfloat16" and backend.name == "dask":
        pytest.skip("dask arrays are built from numpy, which has no bfloat16")
    suite.value_error(spec, case, backend, dtype)


@pytest.mark.parametrize(("spec", "case"), GRADIENT, ids=_ids(GRADIENT))
def test_gradients(spec: LossSpec, case: Case) -> None:
    _need("torch", "jax")
    if not spec.smooth_gradient:
        pytest.skip(f"{spec.name} is not differentiable at generic points")
    suite.check(suite.gradients(spec, case))


@pytest.mark.parametrize(("spec", "case"), EXTREME, ids=_ids(EXTREME))
def test_finite_gradients_saturated(spec: LossSpec, case: Case) -> None:
    _need("torch", "jax")
    finite = suite.finite_gradients(spec, case)
    assert finite == {"torch": True, "jax": True}, finite


@pytest.mark.parametrize(("spec", "case"), FIRST, ids=_ids(FIRST))
def test_jax_jit_and_vmap(spec: LossSpec, case: Case) -> None:
    _need("jax")
    suite.check(suite.trace_errors(spec, case))


@pytest.mark.parametrize(("spec", "case"), FIRST, ids=_ids(FIRST))
def test_torch_compile_no_graph_breaks(spec: LossSpec, case: Case) -> None:
    _need("torch")
    breaks, error = suite.compile_check(spec, case)
    suite.check({"graph_breaks": breaks, "compile": error})


# ----------------------------------------------------------------------------- the selection


def test_finite_differences_cover_every_kind_of_input() -> None:
    """The gradient selection holds every target kind, 3-D, channels-last, no channel axis
    and probabilities, in every mode that has them; every differentiable loss gets more
    than its first cases."""
    chosen = [c for _, c in GRADIENT]
    kinds = {
        "onehot": lambda c: c.target_kind == "onehot",
        "soft": lambda c: c.target_kind == "soft",
        "3-D": lambda c: c.y_pred.ndim == 5,
        "channels-last": lambda c: c.channels_last,
        "no channel axis": lambda c: c.no_channel,
        "probabilities": lambda c: not c.from_logits,
    }
    for kind, has in kinds.items():
        assert any(has(c) for c in chosen), f"no {kind} case is checked by finite differences"
    for mode in ("multiclass", "binary", "multilabel"):
        assert any(c.mode == mode and not c.from_logits for c in chosen), mode
        assert any(c.mode == mode and (c.channels_last or c.no_channel or c.y_pred.ndim == 5)
                   for c in chosen), mode
    assert {c.id for c in chosen} >= set(GRADIENT_CASES)
    for spec in LOSSES:
        if spec.smooth_gradient:
            assert len(gradient_cases(spec)) > len(first_cases(spec)), spec.name
    for case in chosen:  # probabilities stay inside (0, 1) under the finite-difference step
        if not case.from_logits:
            assert 10 * suite.FD_STEP < case.y_pred.min() <= case.y_pred.max() < 0.95


def test_saturated_probabilities_are_checked_in_every_mode() -> None:
    """Probabilities exactly 0 and 1 (from_logits=False), value on every backend and finite
    gradients, for the pixel and compound losses and exp_log_loss in each mode."""
    saturated = [c for c in CASES if c.extreme and not c.from_logits]
    for mode in ("multiclass", "binary", "multilabel"):
        cases = [c for c in saturated if c.mode == mode]
        assert cases, mode
        assert all(np.any(c.y_pred == 0) and np.any(c.y_pred == 1) for c in cases), mode
    checked = {s.name for s, c in ALL if c in saturated}
    for name in ("cross_entropy", "balanced_cross_entropy", "focal_loss", "dice_ce_loss",
                 "dice_focal_loss", "bce_dice_loss", "combo_loss", "exp_log_loss"):
        assert name in checked, name


# ----------------------------------------------------------------------------- the checks fail


def test_bounds_refuse_what_they_should() -> None:
    ok = {"torch_vs_fd": 1e-10, "jax_vs_fd": 1e-10, "torch_vs_jax": 1e-15, "scale": 0.5}
    assert suite.failures(ok) == {}
    for key, bad in [("torch_vs_fd", 1e-7), ("jax_vs_fd", float("nan")), ("torch_vs_jax", 1e-9)]:
        assert list(suite.failures({**ok, key: bad})) == [key]
    # a gradient that is ~0 makes every comparison vacuous: refused in every mode
    for scale in (0.0, 1e-6, float("nan")):
        assert "vacuous" in suite.failures({**ok, "scale": scale})["scale"]
    for key, bad in [("jit", 1e-11), ("vmap", float("nan")), ("compile", 1e-10),
                     ("graph_breaks", 1)]:
        assert suite.failures({key: bad}), key
        with pytest.raises(AssertionError, match=key):
            suite.check({key: bad})
    assert suite.failures({"jit": 0.0, "vmap": 1e-13, "compile": 0.0, "graph_breaks": 0}) == {}


def _oracle_off_by(spec: LossSpec, factor: float) -> LossSpec:
    """``spec`` with an oracle scaled by ``factor``: its derivatives are off by as much."""
    def scaled(*args: Any, **kwargs: Any) -> Any:
        return np.asarray(spec.oracle(*args, **kwargs)) * factor

    return dataclasses.replace(spec, oracle=scaled)


def test_gradient_check_catches_a_gradient_one_millionth_off() -> None:
    """A gradient off by 1e-6 (relative) fails against finite differences; the former
    bound ``1e-7 + 1e-6·scale`` let it pass."""
    _need("torch", "jax")
    spec, case = loss_by_name("cross_entropy"), case_by_id("mc2d-labels")
    assert suite.failures(suite.gradients(spec, case)) == {}
    measured = suite.gradients(_oracle_off_by(spec, 1 + 1e-6), case)
    assert set(suite.failures(measured)) == {"torch_vs_fd", "jax_vs_fd"}, measured
    assert measured["torch_vs_fd"] <= 1e-7 + 1e-6 * measured["scale"]  # the former bound


def test_compile_check_counts_a_real_graph_break() -> None:
    """A loss that breaks the graph is caught (fullgraph raises; explain counts), and
    one whose traced value differs from eager is too."""
    _need("torch")
    import torch

    spec, case = loss_by_name("dice_loss"), case_by_id("mc2d-labels")
    breaks, error = suite.compile_check(spec, case)
    assert suite.failures({"graph_breaks": breaks, "compile": error}) == {}

    def breaking(x: Any, y: Any, **kw: Any) -> Any:
        torch._dynamo.graph_break()
        return sx.dice_loss(x, y, **kw)

    def traced_differently(x: Any, y: Any, **kw: Any) -> Any:
        shift = 1e-6 if torch.compiler.is_compiling() else 0.0
        return sx.dice_loss(x, y, **kw) + shift

    def calling(fn: Any) -> LossSpec:
        copy = dataclasses.replace(spec)
        object.__setattr__(copy, "resolve", lambda: fn)  # frozen: the instance attribute
        return copy

    breaks, _ = suite.compile_check(calling(breaking), case)
    assert breaks >= 1
    _, error = suite.compile_check(calling(traced_differently), case)
    assert suite.failures({"compile": error})


def test_report_marks_cells_beyond_their_bound_as_failed(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Gradient, jit, vmap and compile cells print FAIL and count as failures when a
    measurement exceeds its bound (no exception needed)."""
    spec = loss_by_name("dice_loss")
    monkeypatch.setattr(report, "_gradient_cases", lambda s: first_cases(s)[:1])
    monkeypatch.setattr(report, "_trace_cases", lambda s: first_cases(s)[:1])
    monkeypatch.setattr(report, "_extreme_cases", lambda s: [])
    monkeypatch.setattr(suite, "gradients", lambda s, c: {
        "torch_vs_fd": 1e-6, "jax_vs_fd": 1e-12, "torch_vs_jax": 0.0, "scale": 1.0})
    monkeypatch.setattr(suite, "trace_errors", lambda s, c: {"jit": 1e-9, "vmap": 0.0})
    monkeypatch.setattr(suite, "compile_check", lambda s, c: (2, 0.0))
    failures = report.Failures()
    row = report._trace_row(spec, failures, have_torch=True, have_jax=True)
    torch_fd, jax_fd, torch_jax, _, jit, vmap, breaks = row
    assert torch_fd.startswith("FAIL") and jit.startswith("FAIL") and breaks.startswith("FAIL")
    assert not jax_fd.startswith("FAIL") and not torch_jax.startswith("FAIL")
    assert not vmap.startswith("FAIL")
    assert len(failures.items) == 3, failures.items
    monkeypatch.setattr(suite, "gradients", lambda s, c: {
        "torch_vs_fd": 0.0, "jax_vs_fd": 0.0, "torch_vs_jax": 0.0, "scale": 0.0})
    failures = report.Failures()
    row = report._trace_row(spec, failures, have_torch=True, have_jax=True)
    assert all(cell.startswith("FAIL") for cell in row[:3]), row
    assert any("vacuous" in item for item in failures.items), failures.items


def test_report_counts_non_finite_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = loss_by_name("dice_loss")
    monkeypatch.setattr(report, "_gradient_cases", lambda s: [])
    monkeypatch.setattr(report, "_trace_cases", lambda s: [])
    monkeypatch.setattr(suite, "finite_gradients", lambda s, c: {"torch": True, "jax": False})
    failures = report.Failures()
    row = report._trace_row(spec, failures, have_torch=True, have_jax=True)
    assert row[3] == "FAIL" and len(failures.items) == len(report._extreme_cases(spec)) > 0
