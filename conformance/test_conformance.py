"""Every loss in the case table, on every backend, against the float64 oracle.

Values (float64 on every backend; float32/float16/bfloat16 where the backend
has the dtype), result namespace/dtype/device, gradients (torch autograd vs
``jax.grad`` vs central differences of the oracle), finite gradients on
saturated inputs, ``jax.jit`` / ``jax.vmap`` equal to eager, and
``torch.compile`` with zero graph breaks.
"""

from __future__ import annotations

import pytest

from conformance import suite
from conformance.cases import CASES, LOSSES, Case, LossSpec
from segloss_xp.testing import Backend


def _pairs(select: str = "all") -> list[tuple[LossSpec, Case]]:
    """(loss, case) pairs; "first": the first plain case per (loss, mode) plus ignore cases."""
    pairs: list[tuple[LossSpec, Case]] = []
    seen: set[tuple[str, str]] = set()
    for spec in LOSSES:
        for case in CASES:
            if not spec.supports(case):
                continue
            if select == "all":
                pairs.append((spec, case))
            elif select == "extreme":
                if case.extreme:
                    pairs.append((spec, case))
            elif not case.extreme:
                key = (spec.name, case.mode + ("-ignore" if "ignore_index" in case.kwargs else ""))
                if key not in seen:
                    seen.add(key)
                    pairs.append((spec, case))
    return pairs


def _ids(pairs: list[tuple[LossSpec, Case]]) -> list[str]:
    return [f"{s.name}-{c.id}" for s, c in pairs]


ALL = _pairs("all")
FIRST = _pairs("first")
EXTREME = _pairs("extreme")


def _skip_unsupported(spec: LossSpec, backend: Backend) -> None:
    reason = spec.unsupported(backend.name)
    if reason is not None:
        pytest.skip(reason)


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


@pytest.mark.parametrize(("spec", "case"), FIRST, ids=_ids(FIRST))
def test_gradients(spec: LossSpec, case: Case) -> None:
    pytest.importorskip("torch", reason="torch is not installed")
    pytest.importorskip("jax", reason="jax is not installed")
    if not spec.smooth_gradient:
        pytest.skip(f"{spec.name} is not differentiable at generic points")
    errors = suite.gradients(spec, case)
    scale = errors["scale"]
    assert scale > 0 or case.mode == "binary", "a zero gradient would make this test vacuous"
    assert errors["torch_vs_fd"] <= 1e-7 + 1e-6 * scale, errors
    assert errors["jax_vs_fd"] <= 1e-7 + 1e-6 * scale, errors
    assert errors["torch_vs_jax"] <= 1e-12 + 1e-10 * scale, errors


@pytest.mark.parametrize(("spec", "case"), EXTREME, ids=_ids(EXTREME))
def test_finite_gradients_saturated(spec: LossSpec, case: Case) -> None:
    pytest.importorskip("torch", reason="torch is not installed")
    pytest.importorskip("jax", reason="jax is not installed")
    finite = suite.finite_gradients(spec, case)
    assert finite == {"torch": True, "jax": True}, finite


@pytest.mark.parametrize(("spec", "case"), FIRST, ids=_ids(FIRST))
def test_jax_jit_and_vmap(spec: LossSpec, case: Case) -> None:
    pytest.importorskip("jax", reason="jax is not installed")
    assert suite.jit_error(spec, case) <= 1e-12
    assert suite.vmap_error(spec, case) <= 1e-12


@pytest.mark.parametrize(("spec", "case"), FIRST, ids=_ids(FIRST))
def test_torch_compile_no_graph_breaks(spec: LossSpec, case: Case) -> None:
    pytest.importorskip("torch", reason="torch is not installed")
    breaks, error = suite.compile_check(spec, case)
    assert breaks == 0
    assert error <= 1e-12
