"""The public testing helpers: ``assert_matches`` and ``compare_backends``."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from segloss_xp import dice_loss
from segloss_xp.testing import (
    BACKEND_NAMES,
    Backend,
    Comparison,
    ComparisonRow,
    assert_matches,
    compare_backends,
    load_backend,
)

RNG = np.random.default_rng(7)
LOGITS = RNG.normal(size=(2, 3, 6, 5))
LABELS = RNG.integers(0, 3, size=(2, 6, 5))


def _other_namespace_array(backend: Backend) -> Any:
    """``[1., 2.]`` as an array of a namespace that is not ``backend``'s."""
    if backend.name != "numpy":
        return np.array([1.0, 2.0])
    xps = pytest.importorskip("array_api_strict", reason="array_api_strict is not installed")
    return xps.asarray([1.0, 2.0])


# --- assert_matches --------------------------------------------------------------------


def test_assert_matches_accepts_a_match(backend: Backend) -> None:
    ref = backend.asarray(np.zeros(2))
    actual = backend.asarray(np.array([1.0, 2.0]))
    assert_matches(actual, [1.0, 2.0], backend, dtype="float64", rtol=0, ref=ref)


def test_assert_matches_rejects_nan_even_against_nan(backend: Backend) -> None:
    # a NaN is never an expected loss: NaN == NaN would hide a poisoned result
    actual = backend.asarray(np.array([1.0, np.nan]))
    with pytest.raises(AssertionError, match="NaN"):
        assert_matches(actual, [1.0, np.nan], backend, dtype="float64", rtol=0)


def test_assert_matches_rejects_wrong_dtype(backend: Backend) -> None:
    actual = backend.asarray(np.array([1.0, 2.0]), dtype="float32")
    with pytest.raises(AssertionError, match=r"dtype float32, expected float64"):
        assert_matches(actual, [1.0, 2.0], backend, dtype="float64", rtol=1e-6)


def test_assert_matches_rejects_wrong_namespace(backend: Backend) -> None:
    actual = _other_namespace_array(backend)
    with pytest.raises(AssertionError, match=r"namespace|expected a dask array"):
        assert_matches(actual, [1.0, 2.0], backend, dtype="float64", rtol=1e-6)


def test_assert_matches_rejects_wrong_shape(backend: Backend) -> None:
    actual = backend.asarray(np.array([[1.0, 2.0]]))
    with pytest.raises(AssertionError, match=r"shape \(1, 2\), expected \(2,\)"):
        assert_matches(actual, [1.0, 2.0], backend, dtype="float64", rtol=1e-6)


def test_assert_matches_rejects_wrong_value(backend: Backend) -> None:
    actual = backend.asarray(np.array([1.0, 2.0]))
    with pytest.raises(AssertionError, match=r"max abs error 1\.000e-01"):
        assert_matches(actual, [1.0, 2.1], backend, dtype="float64", rtol=1e-6)
    with pytest.raises(AssertionError, match=r"NaN"):
        assert_matches(actual, [1.0, np.nan], backend, dtype="float64", rtol=1e-6)


def test_assert_matches_rejects_wrong_device() -> None:
    dev1, reason = load_backend("strict-dev1")
    if dev1 is None:
        pytest.skip(reason)
    import array_api_strict as xps

    on_default = xps.asarray([1.0, 2.0])
    with pytest.raises(AssertionError, match=r"device"):
        assert_matches(on_default, [1.0, 2.0], dev1, dtype="float64", rtol=0)
    with pytest.raises(AssertionError, match=r"device"):
        assert_matches(on_default, [1.0, 2.0], dev1, dtype="float64", rtol=0,
                       ref=dev1.asarray(np.zeros(2)))


def test_assert_matches_rejects_non_arrays() -> None:
    numpy, _ = load_backend("numpy")
    assert numpy is not None
    with pytest.raises(AssertionError, match=r"not an array"):
        assert_matches(1.0, 1.0, numpy, dtype="float64", rtol=0)


# --- compare_backends ------------------------------------------------------------------


def test_compare_backends_one_row_per_backend_with_reasons() -> None:
    table = compare_backends(dice_loss, LOGITS, LABELS)
    assert isinstance(table, Comparison)
    assert [row.backend for row in table] == list(BACKEND_NAMES)
    for row in table:
        found, reason = load_backend(row.backend)
        if found is None:
            assert row == ComparisonRow(row.backend, "skipped", reason=reason)
            assert row.reason.startswith(f"{row.backend}: ")
        else:
            assert row.status == "ok", row
            assert row.reason == ""


def test_compare_backends_dice_float64_agrees() -> None:
    table = compare_backends(dice_loss, LOGITS, LABELS, reduction="none", smooth=0.5)
    ok = [row for row in table if row.status == "ok"]
    assert any(row.backend == "numpy" for row in ok)
    for row in ok:
        assert row.dtype == "float64", row
        assert row.max_abs_error is not None and row.max_abs_error < 1e-12, row
        assert row.max_rel_error is not None and row.max_rel_error < 1e-12, row


def test_compare_backends_keeps_input_dtypes() -> None:
    seen: dict[str, tuple[str, str]] = {}

    def record(x: Any, y: Any) -> Any:
        seen[type(x).__module__] = (str(x.dtype), str(y.dtype))
        return x / 3

    table = compare_backends(record, LOGITS.astype(np.float32), LABELS.astype(np.int32) > 0,
                             backends=["numpy", "torch"])
    assert table[0].dtype == "float32"
    assert seen["numpy"] == ("float32", "bool")
    if table[1].status == "ok":
        assert table[1].dtype == "float32"
        assert seen["torch"] == ("torch.float32", "torch.bool")
        assert table[1].device == "cpu"
    # the reference is float64 NumPy, so the float32 round-off shows
    assert table[0].max_abs_error is not None and 0 < table[0].max_abs_error < 1e-6


def test_compare_backends_converts_array_keywords_only() -> None:
    kinds: list[tuple[str, str, type]] = []

    def fn(x: Any, *, weights: Any, mode: str, scale: float) -> Any:
        kinds.append((type(x).__module__.split(".")[0], type(weights).__module__.split(".")[0],
                      type(mode)))
        return x * weights * scale

    table = compare_backends(fn, np.ones(3), backends=["numpy", "strict"],
                             weights=np.arange(3.0), mode="multiclass", scale=2.0)
    if table[1].status == "skipped":
        pytest.skip(table[1].reason)
    assert [row.status for row in table] == ["ok", "ok"]
    # reference, numpy, strict
    assert kinds == [("numpy", "numpy", str), ("numpy", "numpy", str),
                     ("array_api_strict", "array_api_strict", str)]


def test_compare_backends_captures_errors() -> None:
    def numpy_only(x: Any) -> Any:
        if not isinstance(x, np.ndarray):
            raise RuntimeError("only NumPy | here\nsecond line")
        return x

    table = compare_backends(numpy_only, LOGITS, backends=["numpy", "strict", "cupy"])
    assert table[0].status == "ok"
    if table[1].status != "skipped":
        assert table[1].status == "error"
        assert table[1].reason == "RuntimeError: only NumPy | here\nsecond line"
        assert table[1].max_abs_error is None
    if table[2].status == "skipped":
        assert "cupy" in table[2].reason
    lines = table.to_markdown().splitlines()
    assert len(lines) == 2 + len(table)
    assert lines[0].startswith("| backend | status | max abs error")
    assert "only NumPy \\| here second line" in table.to_markdown()
    assert str(table) == table.to_markdown()


def test_compare_backends_shape_mismatch_is_an_error() -> None:
    def fn(x: Any) -> Any:
        return x if isinstance(x, np.ndarray) else x[0, ...]

    table = compare_backends(fn, LOGITS, backends=["strict"])
    if table[0].status == "skipped":
        pytest.skip(table[0].reason)
    assert table[0].status == "error"
    assert "shapes" in table[0].reason


def test_compare_backends_tuple_results() -> None:
    def pair(x: Any) -> Any:
        return x, 2 * x

    (row,) = compare_backends(pair, LOGITS, backends=["numpy"])
    assert row.status == "ok" and row.max_abs_error == 0.0


def test_compare_backends_rejects_unknown_backend_and_reference_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown backend"):
        compare_backends(dice_loss, LOGITS, LABELS, backends=["numpy", "nmupy"])
    with pytest.raises(ValueError, match=r"y_true|label|shape"):
        compare_backends(dice_loss, LOGITS, LABELS[:1], backends=["numpy"])


def test_torch_cuda_is_a_backend_with_a_reason() -> None:
    assert "torch-cuda" in BACKEND_NAMES
    found, reason = load_backend("torch-cuda")
    if found is None:
        assert reason.startswith("torch-cuda: ")
        assert "CUDA" in reason or "not installed" in reason
    else:
        assert found.device.type == "cuda"


def test_testing_module_imports_no_backend() -> None:
    code = ("import sys, segloss_xp.testing; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'jax', 'dask', 'cupy', 'array_api_strict'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"
