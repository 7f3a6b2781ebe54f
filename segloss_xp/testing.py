"""Testing helpers: run a function on every array backend and compare the results.

This is the module the project's own test suite and conformance report use, public so
that users can check a loss (or their own code built on one) on their backends.

A :class:`Backend` turns NumPy data into arrays of its library on its device
(:meth:`Backend.asarray`) and back (:meth:`Backend.to_numpy`). A backend that is not
installed (or, for CuPy and ``torch-cuda``, has no GPU) is reported with the reason,
never silently passed.

=============== ==================================================================
name            backend
=============== ==================================================================
``numpy``       ``array_api_compat.numpy``
``strict``      ``array_api_strict``, API version 2024.12, boolean indexing and
                data-dependent shapes switched off (proves jit-safety)
``strict-dev1`` the same on ``Device("device1")`` (results must stay there)
``torch``       PyTorch on the CPU
``torch-cuda``  PyTorch on the current CUDA device (skipped without one)
``jax``         ``jax.numpy`` with x64 enabled (a process-wide JAX setting)
``dask``        ``dask.array`` (statistics-based losses and metrics only)
``cupy``        CuPy (skipped without a GPU)
=============== ==================================================================

Only NumPy and the standard library are imported with this module; each backend
library is imported when it is first loaded.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "Comparison",
    "ComparisonRow",
    "activated",
    "assert_matches",
    "compare_backends",
    "load_backend",
]

#: Every backend name, in the order tests and reports list them.
BACKEND_NAMES: tuple[str, ...] = (
    "numpy", "strict", "strict-dev1", "torch", "torch-cuda", "jax", "dask", "cupy",
)


def _no_context() -> contextlib.AbstractContextManager[Any]:
    return contextlib.nullcontext()


@dataclass
class Backend:
    """One array library on one device.

    Parameters
    ----------
    name : str
        One of :data:`BACKEND_NAMES`.
    xp : module
        The array namespace (array-API compatible) of the library.
    device : object, optional
        The device arrays are created on; None for the library's default.
    lazy : bool, optional
        True when values are lazy (dask): no ``take_along_axis``, and results
        are only computed by :meth:`to_numpy`.
    context : callable, optional
        Returns the context manager to run code under (``array_api_strict``'s
        flags); see :func:`activated`.

    See Also
    --------
    load_backend : the way to obtain one.
    """

    name: str
    xp: Any
    device: Any = None
    lazy: bool = False
    context: Callable[[], contextlib.AbstractContextManager[Any]] = field(default=_no_context)

    def asarray(self, a: Any, dtype: str | None = None) -> Any:
        """Convert NumPy data to an array of this backend on its device.

        Parameters
        ----------
        a : array_like
            NumPy data.
        dtype : str, optional
            A dtype name (``"float32"``, ``"bfloat16"``, ``"int64"``…); by default
            ``a``'s dtype is kept.

        Returns
        -------
        array
            An array of this backend's library, on :attr:`device`.
        """
        a = np.asarray(a)
        if dtype is not None:
            if dtype == "bfloat16":
                return self.xp.astype(self.asarray(a.astype(np.float32)), self.xp.bfloat16)
            a = a.astype(dtype)
        if self.name.startswith("torch"):
            import torch

            return torch.asarray(a.copy(), device=self.device)
        if self.name == "dask":
            import dask.array as da

            # two chunks along the first two axes and the last (batch, class or space,
            # space or class): every reduction crosses chunks, with 8 chunks, not 2^ndim
            # (the task count is nearly all of dask's time on test-sized arrays)
            split = {0, 1, a.ndim - 1}
            return da.from_array(a, chunks=tuple(max(1, (n + 1) // 2) if i in split else n
                                                 for i, n in enumerate(a.shape)))
        if self.device is not None:
            return self.xp.asarray(a, device=self.device)
        return self.xp.asarray(a)

    def to_numpy(self, x: Any) -> np.ndarray[Any, Any]:
        """Convert an array of this backend to NumPy (computing lazy values).

        Parameters
        ----------
        x : array
            An array of this backend; bfloat16 comes back as float32 (NumPy has
            no bfloat16).

        Returns
        -------
        numpy.ndarray
            The values, on the host.
        """
        if self.name.startswith("torch"):
            x = x.detach().cpu()
            return np.asarray((x.float() if str(x.dtype) == "torch.bfloat16" else x).numpy())
        if self.name == "dask":
            return np.asarray(x.compute())
        if self.name == "cupy":
            return np.asarray(x.get())
        if self.name.startswith("strict"):
            import array_api_strict as xps

            return np.asarray(xps.asarray(x, device=xps.Device("CPU_DEVICE")))
        if str(getattr(x, "dtype", "")) == "bfloat16":  # JAX
            return np.asarray(x.astype("float32"))
        return np.asarray(x)

    def dtype(self, name: str) -> Any:
        """The dtype object called ``name`` in this backend's namespace."""
        return getattr(self.xp, name)


def _strict(device_name: str | None) -> Backend:
    import array_api_strict as xps

    def context() -> contextlib.AbstractContextManager[Any]:
        flags: contextlib.AbstractContextManager[Any] = xps.ArrayAPIStrictFlags(
            api_version="2024.12", boolean_indexing=False, data_dependent_shapes=False)
        return flags

    device = xps.Device(device_name) if device_name else None
    return Backend("strict-dev1" if device_name else "strict", xps, device, context=context)


def _torch_cuda() -> tuple[Backend | None, str]:
    import array_api_compat.torch as xt
    import torch

    if torch.version.cuda is None:
        return None, f"torch-cuda: torch {torch.__version__} is a CPU-only build (no CUDA)"
    if not torch.cuda.is_available():
        return None, f"torch-cuda: no CUDA device visible to torch {torch.__version__}"
    return Backend("torch-cuda", xt, torch.device("cuda", torch.cuda.current_device())), ""


def load_backend(name: str) -> tuple[Backend | None, str]:
    """Load one backend by name.

    Parameters
    ----------
    name : str
        One of :data:`BACKEND_NAMES`.

    Returns
    -------
    backend : Backend or None
        None when the backend is unavailable on this machine.
    reason : str
        Empty when ``backend`` is returned; otherwise why it is unavailable
        (not installed, no GPU, ...), suitable as a skip reason.

    Raises
    ------
    ValueError
        If ``name`` is not a backend name.

    Notes
    -----
    Loading ``"jax"`` enables JAX's x64 mode for the whole process.

    Examples
    --------
    >>> from segloss_xp.testing import load_backend
    >>> backend, reason = load_backend("numpy")
    >>> backend.name, reason
    ('numpy', '')
    """
    if name not in BACKEND_NAMES:
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKEND_NAMES}")
    try:
        if name == "numpy":
            import array_api_compat.numpy as xnp

            return Backend("numpy", xnp), ""
        if name == "strict":
            return _strict(None), ""
        if name == "strict-dev1":
            return _strict("device1"), ""
        if name == "torch":
            import array_api_compat.torch as xt
            import torch

            return Backend("torch", xt, torch.device("cpu")), ""
        if name == "torch-cuda":
            return _torch_cuda()
        if name == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp

            return Backend("jax", jnp), ""
        if name == "dask":
            import array_api_compat.dask.array as xda

            return Backend("dask", xda, lazy=True), ""
        cupy = importlib.import_module("cupy")
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "cupy: installed, but no GPU is visible"
        import array_api_compat.cupy as xcp

        return Backend("cupy", xcp), ""
    except ImportError as exc:
        missing = exc.name or str(exc)
        if missing.split(".")[0] == name:
            return None, f"{name}: not installed"
        return None, f"{name}: {missing} is not installed"
    except Exception as exc:  # e.g. cupy without a CUDA driver
        return None, f"{name}: unavailable ({type(exc).__name__}: {exc})"


@contextlib.contextmanager
def activated(backend: Backend) -> Iterator[Backend]:
    """Run the enclosed code under ``backend``'s context (``array_api_strict`` flags).

    Parameters
    ----------
    backend : Backend
        The backend to activate.

    Yields
    ------
    Backend
        ``backend`` itself.
    """
    with backend.context():
        yield backend


def _dtype_name(dtype: Any) -> str:
    """``float32`` for NumPy's, torch's (``torch.float32``) and array_api_strict's dtype."""
    return str(dtype).rsplit(".", 1)[-1]


def assert_matches(
    actual: Any,
    expected: Any,
    backend: Backend,
    *,
    dtype: str,
    rtol: float,
    atol: float = 0.0,
    ref: Any = None,
) -> None:
    """Assert ``actual`` is ``backend``'s array of ``dtype`` on its device, close to ``expected``.

    One call checks, in this order: the namespace (``actual`` belongs to
    ``backend``), the dtype, the device, the shape and the values. The values
    are compared in float64 with ``|actual − expected| <= atol + rtol·|expected|``;
    A NaN in either fails (a NaN is never an expected loss).

    Parameters
    ----------
    actual : array
        The result under test, an array of ``backend``.
    expected : array_like
        The expected values, as NumPy data (typically from a float64 oracle).
    backend : Backend
        The backend ``actual`` must belong to.
    dtype : str
        The expected dtype name (``"float32"``, ``"float64"``...).
    rtol, atol : float
        Relative and absolute tolerance.
    ref : array, optional
        An input array of ``backend``: ``actual`` must be on its device. Without
        it, ``actual`` must be on ``backend.device`` when that is set.

    Raises
    ------
    AssertionError
        Naming the first check that fails (with the largest errors for values).

    Examples
    --------
    >>> import numpy as np
    >>> from segloss_xp import dice_loss
    >>> from segloss_xp.testing import assert_matches, load_backend
    >>> backend, _ = load_backend("numpy")
    >>> logits = backend.asarray(np.zeros((1, 2, 2, 2)))
    >>> labels = backend.asarray(np.array([[[0, 1], [1, 0]]]))
    >>> loss = dice_loss(logits, labels, smooth=0.0)
    >>> assert_matches(loss, 0.5, backend, dtype="float64", rtol=1e-12, ref=logits)
    >>> assert_matches(loss, 0.5, backend, dtype="float32", rtol=1e-12)
    Traceback (most recent call last):
        ...
    AssertionError: numpy: dtype float64, expected float32
    """
    import array_api_compat as compat

    name = backend.name
    if backend.lazy:
        if not compat.is_dask_array(actual):
            raise AssertionError(f"{name}: expected a dask array, got {type(actual).__name__}")
    else:
        try:
            ns = compat.array_namespace(actual)
        except TypeError as exc:
            raise AssertionError(f"{name}: result is not an array ({exc})") from None
        if not (ns is backend.xp or (name == "jax" and compat.is_jax_namespace(ns))):
            raise AssertionError(f"{name}: result namespace {ns.__name__} is not "
                                 f"{getattr(backend.xp, '__name__', backend.xp)}")
    if actual.dtype != backend.dtype(dtype):
        raise AssertionError(f"{name}: dtype {_dtype_name(actual.dtype)}, expected {dtype}")
    want_device = compat.device(ref) if ref is not None else backend.device
    if want_device is not None and not backend.lazy:
        got_device = compat.device(actual)
        if got_device != want_device:
            raise AssertionError(f"{name}: result on device {got_device}, expected {want_device}")
    got = backend.to_numpy(actual).astype(np.float64)
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{name}: shape {got.shape}, expected {want.shape}")
    if np.isnan(want).any() or np.isnan(got).any():
        # a NaN is never an expected value here: equal_nan would let a NaN loss pass
        raise AssertionError(f"{name}: NaN in the result ({np.isnan(got).sum()}) or the "
                             f"expectation ({np.isnan(want).sum()})")
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        err, rel = _errors(got, want)
        raise AssertionError(
            f"{name}: max abs error {err:.3e} (rel {rel:.3e}) > rtol={rtol}, atol={atol}\n"
            f"got  {got.ravel()[:6]}\nwant {want.ravel()[:6]}")


def _errors(got: np.ndarray[Any, Any], want: np.ndarray[Any, Any]) -> tuple[float, float]:
    """Max absolute error and that error relative to max ``|want|`` (normwise).

    Matching NaNs and equal infinities count as no error; any other non-finite
    mismatch is an infinite error.
    """
    if got.size == 0:
        return 0.0, 0.0
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(same, 0.0, np.abs(got - want))
    diff = np.where(np.isnan(diff), np.inf, diff)
    err = float(np.max(diff))
    finite = np.abs(want[np.isfinite(want)])
    scale = float(np.max(finite)) if finite.size else 0.0
    return err, err / max(scale, math.ulp(1.0)) if err else 0.0


Status = Literal["ok", "skipped", "error"]


@dataclass(frozen=True)
class ComparisonRow:
    """One backend's result in :func:`compare_backends`.

    Attributes
    ----------
    backend : str
        The backend name.
    status : {"ok", "skipped", "error"}
        ``"skipped"``: the backend is unavailable; ``"error"``: the function
        raised (or returned a result of another shape than the reference).
    max_abs_error : float or None
        ``max |result − reference|`` over all elements (None unless ``"ok"``).
    max_rel_error : float or None
        ``max_abs_error`` divided by the largest finite ``|reference|`` (a
        normwise relative error; None unless ``"ok"``).
    dtype : str or None
        The result's dtype name.
    device : str or None
        The result's device.
    reason : str
        Why the backend was skipped, or the error message; empty when ``"ok"``.
    """

    backend: str
    status: Status
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    dtype: str | None = None
    device: str | None = None
    reason: str = ""


class Comparison(list[ComparisonRow]):
    """The rows of :func:`compare_backends`, one per backend; prints as a Markdown table."""

    def to_markdown(self) -> str:
        """The rows as a Markdown table (errors in ``%.3e``; reasons on one line)."""

        def cell(value: object) -> str:
            if value is None:
                return ""
            if isinstance(value, float):
                return f"{value:.3e}"
            return " ".join(str(value).split()).replace("|", "\\|")

        lines = ["| backend | status | max abs error | max rel error | dtype | device | reason |",
                 "|---|---|---|---|---|---|---|"]
        for r in self:
            cells = (r.backend, r.status, r.max_abs_error, r.max_rel_error, r.dtype, r.device,
                     r.reason)
            lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()


def _outputs(result: Any) -> list[Any]:
    return list(result) if isinstance(result, tuple | list) else [result]


def _convert(value: Any, backend: Backend) -> Any:
    return backend.asarray(value) if isinstance(value, np.ndarray | np.generic) else value


def _float64(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic) and np.issubdtype(value.dtype, np.floating):
        return np.asarray(value, dtype=np.float64)
    return value


def _run_one(
    fn: Callable[..., Any],
    backend: Backend,
    inputs: Sequence[Any],
    kwargs: dict[str, Any],
    reference: list[np.ndarray[Any, Any]],
) -> ComparisonRow:
    name = backend.name
    try:
        with activated(backend):
            args = [_convert(a, backend) for a in inputs]
            kw = {k: _convert(v, backend) for k, v in kwargs.items()}
            outputs = _outputs(fn(*args, **kw))
            got = [backend.to_numpy(o).astype(np.float64) for o in outputs]
    except Exception as exc:
        return ComparisonRow(name, "error", reason=f"{type(exc).__name__}: {exc}")
    import array_api_compat as compat

    dtype = ", ".join(dict.fromkeys(_dtype_name(getattr(o, "dtype", "?")) for o in outputs))
    try:
        device = ", ".join(dict.fromkeys(
            str(compat.device(o)).removeprefix("array_api_strict.") for o in outputs))
    except Exception:  # not an array (a Python float, say)
        device = "?"
    if [g.shape for g in got] != [w.shape for w in reference]:
        return ComparisonRow(
            name, "error", dtype=dtype, device=device,
            reason=f"result shapes {[g.shape for g in got]} != reference "
                   f"{[w.shape for w in reference]}")
    errors = [_errors(g, w) for g, w in zip(got, reference, strict=True)]
    return ComparisonRow(name, "ok", max(e[0] for e in errors), max(e[1] for e in errors),
                         dtype, device)


def compare_backends(
    fn: Callable[..., Any],
    *numpy_inputs: Any,
    backends: Iterable[str] | None = None,
    **kwargs: Any,
) -> Comparison:
    """Run ``fn`` on every backend and tabulate its differences from float64 NumPy.

    The reference is ``fn`` called on NumPy arrays with every floating input
    cast to float64. On each backend, ``fn`` is called with each NumPy array
    (positional or keyword) converted to that backend's array on its device,
    keeping its dtype (float32 stays float32, integer and bool labels keep
    theirs), and the result is compared with the reference.

    Parameters
    ----------
    fn : callable
        The function to compare, e.g. a loss. It may return one array or a
        tuple of arrays (compared element by element).
    *numpy_inputs : numpy.ndarray or object
        Positional arguments of ``fn``; NumPy arrays are converted per backend,
        anything else is passed unchanged.
    backends : iterable of str, optional
        Backend names (see :data:`BACKEND_NAMES`); all of them by default.
    **kwargs
        Keyword arguments of ``fn``; NumPy array values are converted per
        backend, other values (strings, numbers, sequences) are passed unchanged.

    Returns
    -------
    Comparison
        A list of :class:`ComparisonRow`, one per requested backend in order:
        unavailable backends are ``"skipped"`` rows carrying the reason, and an
        exception raised by ``fn`` on a backend is an ``"error"`` row carrying
        its message. ``print`` it (or call ``to_markdown()``) for a table.

    Raises
    ------
    ValueError
        If a backend name is unknown.
    Exception
        Whatever ``fn`` raises on the float64 NumPy reference.

    See Also
    --------
    assert_matches : one result against expected values, with dtype and device.

    Notes
    -----
    ``max_rel_error`` is normwise: the largest absolute error divided by the
    largest finite magnitude of the reference, which stays meaningful where
    the reference is 0. Loading the ``"jax"`` backend enables JAX's x64 mode
    for the whole process.

    Examples
    --------
    >>> import numpy as np
    >>> from segloss_xp import dice_loss
    >>> from segloss_xp.testing import compare_backends
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(2, 3, 8, 8)).astype(np.float32)
    >>> labels = rng.integers(0, 3, size=(2, 8, 8))
    >>> table = compare_backends(dice_loss, logits, labels, backends=["numpy"], smooth=1.0)
    >>> row = table[0]
    >>> row.status, row.dtype, row.max_abs_error < 1e-6
    ('ok', 'float32', True)
    >>> print(compare_backends(dice_loss, logits.astype(np.float64), labels,
    ...                        backends=["numpy"]))
    | backend | status | max abs error | max rel error | dtype | device | reason |
    |---|---|---|---|---|---|---|
    | numpy | ok | 0.000e+00 | 0.000e+00 | float64 | cpu |  |
    """
    names = list(BACKEND_NAMES if backends is None else backends)
    unknown = [n for n in names if n not in BACKEND_NAMES]
    if unknown:
        raise ValueError(f"unknown backend(s) {unknown}; expected names from {BACKEND_NAMES}")
    reference = [
        np.asarray(r, dtype=np.float64)
        for r in _outputs(fn(*map(_float64, numpy_inputs),
                             **{k: _float64(v) for k, v in kwargs.items()}))
    ]
    rows = Comparison()
    for name in names:
        backend, reason = load_backend(name)
        if backend is None:
            rows.append(ComparisonRow(name, "skipped", reason=reason))
        else:
            rows.append(_run_one(fn, backend, numpy_inputs, kwargs, reference))
    return rows
