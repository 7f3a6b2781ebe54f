"""The public API as data: formula table, per-parameter docs, capabilities, delegation.

Each public fact is written once in the package; these tests check that every place
that shows it agrees with that one place.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from conformance.cases import LOSSES
from conformance.helpers import REQUIRED_KEYWORDS, losses, public_functions
from segloss_xp import _dispatch, _math
from segloss_xp._capabilities import CAPABILITIES, FEATURES, markdown_table
from segloss_xp._docs import DOCS
from segloss_xp._formulas import FORMULAS
from segloss_xp.testing import Backend

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = public_functions()


# ----------------------------------------------------------------------------- formula table


@pytest.mark.parametrize("kind", sorted(FORMULAS))
def test_public_defaults_equal_the_formula_table(kind: str) -> None:
    params = inspect.signature(getattr(sx, f"{kind}_loss")).parameters
    for name, default in FORMULAS[kind].defaults.items():
        assert params[name].default == default, (kind, name)


def test_every_region_loss_is_a_formula() -> None:
    region = {name for name in public_functions("region") if name.endswith("_loss")}
    assert region - {"exp_log_loss"} == {f"{kind}_loss" for kind in FORMULAS}


@pytest.mark.parametrize("kind", sorted(FORMULAS))
def test_region_loss_from_stats_takes_exactly_the_formula_parameters(kind: str) -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    y = np.random.default_rng(1).integers(0, 3, size=(2, 4, 5))
    stats = sx.soft_confusion(x, y, count=FORMULAS[kind].needs_count)
    sx.region_loss_from_stats(stats, kind=kind, **FORMULAS[kind].defaults)
    with pytest.raises(TypeError, match=f"kind='{kind}' takes the parameters"):
        sx.region_loss_from_stats(stats, kind=kind, not_a_parameter=1.0)


# ----------------------------------------------------------------------------- docs


@pytest.mark.parametrize("name", [*PUBLIC, "options", "get_option"])
def test_docstring_is_complete_numpydoc(name: str) -> None:
    validate = pytest.importorskip("numpydoc.validate", reason="numpydoc is not installed")
    doc = getattr(sx, name).__doc__
    assert "%(" not in doc, f"{name}: placeholder left in the docstring"
    errors = [(code, msg) for code, msg in validate.validate(f"segloss_xp.{name}")["errors"]
              if code not in ("ES01", "SA01")]  # extended summary and See Also are optional
    assert not errors, f"{name}: {errors}"


def test_shared_parameters_are_worded_once() -> None:
    # every public function documenting `ignore_index` uses the one shared wording
    wording = DOCS["ignore_index"].splitlines()[1].strip()
    for name, fn in PUBLIC.items():
        if "ignore_index" in inspect.signature(fn).parameters:
            assert wording in " ".join(fn.__doc__.split()), name


# ----------------------------------------------------------------------------- types


@pytest.mark.parametrize("name", sorted(losses()))
def test_signature_survives_decorators_with_literal_types(name: str) -> None:
    fn = getattr(sx, name)
    assert fn.__module__.startswith("segloss_xp.")
    hints = typing.get_type_hints(fn)
    for param in ("mode", "reduction"):
        if param in hints:
            assert typing.get_origin(hints[param]) is typing.Literal, (name, param)
    params = list(inspect.signature(fn).parameters.values())
    # boundary_loss's second input is the target's signed distance maps, not the target
    second = "dist_maps" if name == "boundary_loss" else "y_true"
    assert [p.name for p in params[:2]] == ["y_pred", second]
    assert all(p.kind is p.KEYWORD_ONLY for p in params[2:]), name


# ----------------------------------------------------------------------------- capabilities


def test_every_public_function_declares_its_capabilities() -> None:
    functions = {name for name in sx.__all__ if callable(getattr(sx, name))
                 and name not in ("options", "get_option")}
    assert functions == set(CAPABILITIES)


def test_readme_api_table_is_generated_from_the_capabilities() -> None:
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, (
        "README's API table is stale; regenerate it with "
        "`python -c 'from segloss_xp._capabilities import markdown_table; "
        "print(markdown_table())'`")


def test_conformance_covers_every_loss() -> None:
    covered = {spec.public_name for spec in LOSSES}
    assert set(losses()) <= covered, set(losses()) - covered


def test_unsupported_feature_raises_the_declared_reason() -> None:
    da = pytest.importorskip("dask.array", reason="dask is not installed")
    unsupported = [n for n, caps in CAPABILITIES.items() if not caps.supports("dask")]
    assert unsupported, "nothing declares dask unsupported: this test would be vacuous"
    x = da.from_array(np.zeros((2, 3, 4)), chunks=-1)
    y = da.from_array(np.zeros((2, 4), dtype=np.int64), chunks=-1)
    for name in unsupported:
        with pytest.raises(TypeError, match=f"{name} does not support dask arrays"):
            # refused before any shape or mode check
            getattr(sx, name)(x, y, **REQUIRED_KEYWORDS.get(name, {}))
    assert set(FEATURES) == {"dask", "jit", "autograd", "compile"}


# ----------------------------------------------------------------------------- delegation


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "sigmoid", "log_sigmoid"])
def test_native_kernel_equals_generic(op: str, backend: Backend) -> None:
    xp = backend.xp
    x = backend.asarray(np.random.default_rng(2).normal(scale=30.0, size=(2, 3, 5)))
    axis = {"axis": 1} if "softmax" in op else {}
    native = _dispatch.native(op, xp=xp)
    assert (native is not None) == (backend.name in ("torch", "torch-cuda", "jax", "jax-jit"))
    got = backend.to_numpy(getattr(_dispatch, op)(x, **axis, xp=xp))
    want = backend.to_numpy(getattr(_math, f"generic_{op}")(x, **axis, xp=xp))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


def _operations(xp: Any, backend: Backend) -> dict[str, Callable[[], Any]]:
    """One call of every delegated operation of ``_dispatch`` on small inputs."""
    rng = np.random.default_rng(3)
    x = backend.asarray(rng.normal(scale=3.0, size=(2, 3, 5)))
    labels = backend.asarray(rng.integers(0, 3, (2, 5)))
    values = backend.asarray(rng.normal(size=(2, 5)))
    y = backend.asarray(rng.random((2, 3, 5)))
    table = backend.asarray(rng.normal(size=(2, 3)))
    return {
        "take_labels": lambda: _dispatch.take_labels(x, labels, xp=xp),
        "take_labels_2d": lambda: _dispatch.take_labels(table, labels, xp=xp),
        "label_sums": lambda: _dispatch.label_sums(values, labels, num_classes=3, xp=xp),
        "label_counts": lambda: _dispatch.label_counts(labels, num_classes=3, like=x, xp=xp),
        "scatter_labels": lambda: _dispatch.scatter_labels(x * 1.0, labels, values, xp=xp),
        "extrema": lambda: xp.stack(_dispatch.extrema(x, xp=xp)),
        "sort_order": lambda: _dispatch.take_order(y, _dispatch.sort_order(x, xp=xp), xp=xp),
        "sort_order_f32": lambda: _dispatch.take_order(  # the host sort (CPU)
            y, _dispatch.sort_order(xp.astype(x, xp.float32), xp=xp), xp=xp),
        "unsort": lambda: _dispatch.unsort(x, _dispatch.sort_order(y, xp=xp), xp=xp),
        "product_difference": lambda: _dispatch.product_difference(
            x, table[:, :, None], values[:, None, :], xp=xp),
        "multiply_temporary": lambda: _dispatch.multiply_temporary(x * 1.0, y, xp=xp),
        "binary_cross_entropy": lambda: _dispatch.binary_cross_entropy(
            x, y, backend.asarray(np.array([[[0.5], [1.0], [2.0]]])), xp=xp),
    }


@pytest.mark.parametrize("op", ["take_labels", "take_labels_2d", "label_sums",
                                "label_counts", "scatter_labels", "extrema", "sort_order",
                                "sort_order_f32", "unsort",
                                "product_difference", "multiply_temporary",
                                "binary_cross_entropy"])
def test_delegated_operation_equals_its_generic_version(
        op: str, backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each ``_dispatch`` operation's native kernel (torch, JAX) equals the standard-only
    version that every other namespace runs (``native`` patched to find nothing)."""
    if op in ("sort_order", "sort_order_f32", "unsort") and backend.name == "dask":
        pytest.skip("dask has no take_along_axis (the Lovász losses refuse dask)")
    xp = backend.xp
    got = backend.to_numpy(_operations(xp, backend)[op]())
    monkeypatch.setattr(_dispatch, "native", lambda operation, *, xp: None)
    want = backend.to_numpy(_operations(xp, backend)[op]())
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
