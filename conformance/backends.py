"""The backends every test and the report run on, and the one assertion helper.

A :class:`Backend` turns NumPy data into arrays of its library on its device
(``backend.asarray``) and back (``backend.to_numpy``). Backends that are not
installed (or, for CuPy, have no GPU) are reported with a reason, never
silently passed.

* ``numpy``        array_api_compat.numpy
* ``strict``       array_api_strict, api_version 2024.12, boolean indexing and
                   data-dependent shapes switched off (proves jit-safety)
* ``strict-dev1``  the same on ``Device("device1")`` (results must stay there)
* ``torch``        CPU (CUDA when available: ``torch-cuda``)
* ``jax``          jax.numpy with x64 enabled
* ``dask``         dask.array (statistics-based losses and metrics only)
* ``cupy``         skipped without a GPU
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "assert_matches",
    "load_backend",
]

BACKEND_NAMES = ("numpy", "strict", "strict-dev1", "torch", "jax", "dask", "cupy")


@dataclass
class Backend:
    name: str
    xp: Any
    device: Any = None
    lazy: bool = False  # dask: no take_along_axis, lazy values
    context: Callable[[], contextlib.AbstractContextManager[Any]] = field(
        default=contextlib.nullcontext)

    def asarray(self, a: Any, dtype: str | None = None) -> Any:
        """NumPy data -> this backend's array (``dtype`` a NumPy dtype name)."""
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

            return da.from_array(a, chunks=-1)
        return self.xp.asarray(a, device=self.device) if self.device is not None else \
            self.xp.asarray(a)

    def to_numpy(self, x: Any) -> np.ndarray:
        if self.name.startswith("torch"):
            return x.detach().cpu().float().numpy() if str(x.dtype) == "torch.bfloat16" else \
                x.detach().cpu().numpy()
        if self.name == "dask":
            return np.asarray(x.compute())
        if self.name == "cupy":
            return x.get()
        if self.name.startswith("strict"):
            import array_api_strict as xps

            return np.asarray(xps.asarray(x, device=xps.Device("CPU_DEVICE")))
        return np.asarray(x)

    def dtype(self, name: str) -> Any:
        return getattr(self.xp, name)


def _strict(device_name: str | None) -> Backend:
    import array_api_strict as xps

    def context() -> contextlib.AbstractContextManager[Any]:
        return xps.ArrayAPIStrictFlags(api_version="2024.12", boolean_indexing=False,
                                       data_dependent_shapes=False)

    device = xps.Device(device_name) if device_name else None
    return Backend("strict-dev1" if device_name else "strict", xps, device, context=context)


def load_backend(name: str) -> tuple[Backend | None, str]:
    """``(backend, "")`` or ``(None, reason it is unavailable)``."""
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
            import array_api_compat.torch as xt
            import torch

            if not torch.cuda.is_available():
                return None, "torch has no CUDA device on this machine"
            return Backend("torch-cuda", xt, torch.device("cuda")), ""
        if name == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp

            return Backend("jax", jnp), ""
        if name == "dask":
            import array_api_compat.dask.array as xda

            return Backend("dask", xda, lazy=True), ""
        if name == "cupy":
            cupy = importlib.import_module("cupy")
            if cupy.cuda.runtime.getDeviceCount() < 1:
                return None, "cupy is installed but no GPU is visible"
            import array_api_compat.cupy as xcp

            return Backend("cupy", xcp), ""
    except ImportError as exc:
        return None, f"{name} is not installed ({exc.name or exc})"
    except Exception as exc:  # e.g. cupy without a CUDA driver
        return None, f"{name} unavailable: {type(exc).__name__}: {exc}"
    raise ValueError(f"unknown backend {name!r}")


@contextlib.contextmanager
def activated(backend: Backend) -> Iterator[Backend]:
    with backend.context():
        yield backend


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
    """``actual`` is a ``backend`` array of ``dtype`` on ``ref``'s device, close to ``expected``.

    Checks namespace, dtype, device (that of ``ref``, an input array) and shape
    before the values, which are compared in float64 against NumPy ``expected``.
    """
    import array_api_compat as compat

    if backend.name == "dask":
        assert compat.is_dask_array(actual), f"expected a dask array, got {type(actual)}"
    else:
        ns = compat.array_namespace(actual)
        assert ns is backend.xp or (backend.name == "jax" and compat.is_jax_namespace(ns)), (
            f"result namespace {ns.__name__} is not {backend.name}'s")
    assert actual.dtype == backend.dtype(dtype), f"dtype {actual.dtype} != {dtype}"
    if ref is not None and backend.name != "dask":
        got, want = compat.device(actual), compat.device(ref)
        assert got == want, f"result on device {got}, input on {want}"
    got = backend.to_numpy(actual).astype(np.float64)
    want = np.asarray(expected, dtype=np.float64)
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        err = np.max(np.abs(got - want))
        rel = err / max(np.max(np.abs(want)), math.ulp(1.0))
        raise AssertionError(
            f"{backend.name}: max abs error {err:.3e} (rel {rel:.3e}) > rtol={rtol}, atol={atol}\n"
            f"got  {got.ravel()[:6]}\nwant {want.ravel()[:6]}")
