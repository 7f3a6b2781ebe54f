"""Per-operation delegation: a framework's fused kernel where it has one, else the generic one.

Each operation is one row of a table, keyed by the library of the namespace
(``_namespace.library``): torch and JAX get their fused kernels (one kernel and
one backward instead of ~6 elementwise passes, each with a full-size
temporary); every other namespace (NumPy, CuPy, dask, ``array_api_strict``)
runs the standard-only versions of ``_math``. Losses call the operations here
and never branch on the library themselves. Later rows (closed-form gradient
kernels, the distance transform, the all-reduce) sit on the same seam.

The kernels are looked up in a plain dict (no ``functools.cache``: torch.compile
warns on every cached call it traces through).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from . import _math
from ._namespace import Array, Namespace, library

__all__ = ["cumulative_sum", "lazy_assert", "log_sigmoid", "log_softmax", "native", "sigmoid",
           "softmax"]

Kernel = Callable[..., Array]


def _torch_kernels() -> dict[str, Kernel]:
    torch = sys.modules["torch"]
    functional = torch.nn.functional
    return {
        "softmax": lambda x, *, axis: functional.softmax(x, dim=axis),
        "log_softmax": lambda x, *, axis: functional.log_softmax(x, dim=axis),
        "sigmoid": torch.sigmoid,
        "log_sigmoid": functional.logsigmoid,
        # array_api_compat's cumulative_sum looks the namespace up again through a
        # functools cache, which torch.compile warns about
        "cumulative_sum": lambda x, *, axis: torch.cumsum(x, dim=axis),
    }


def _jax_kernels() -> dict[str, Kernel]:
    nn = sys.modules["jax"].nn
    return {
        "softmax": lambda x, *, axis: nn.softmax(x, axis=axis),
        "log_softmax": lambda x, *, axis: nn.log_softmax(x, axis=axis),
        "sigmoid": nn.sigmoid,
        "log_sigmoid": nn.log_sigmoid,
    }


_LOADERS: dict[str, Callable[[], dict[str, Kernel]]] = {
    "torch": _torch_kernels,
    "jax": _jax_kernels,
}
_KERNELS: dict[str, dict[str, Kernel]] = {}


def native(operation: str, *, xp: Namespace) -> Kernel | None:
    """The fused kernel of ``xp``'s library for ``operation``, or ``None``."""
    name = library(xp)
    if name not in _KERNELS:
        loader = _LOADERS.get(name)
        _KERNELS[name] = {} if loader is None else loader()
    return _KERNELS[name].get(operation)


def softmax(x: Array, *, axis: int, xp: Namespace) -> Array:
    """Softmax along ``axis``."""
    kernel = native("softmax", xp=xp)
    return kernel(x, axis=axis) if kernel else _math.generic_softmax(x, axis=axis, xp=xp)


def log_softmax(x: Array, *, axis: int, xp: Namespace) -> Array:
    """Log-softmax along ``axis`` (exact for logits of magnitude 1e4)."""
    kernel = native("log_softmax", xp=xp)
    return kernel(x, axis=axis) if kernel else _math.generic_log_softmax(x, axis=axis, xp=xp)


def sigmoid(x: Array, *, xp: Namespace) -> Array:
    """Logistic sigmoid, elementwise."""
    kernel = native("sigmoid", xp=xp)
    return kernel(x) if kernel else _math.generic_sigmoid(x, xp=xp)


def log_sigmoid(x: Array, *, xp: Namespace) -> Array:
    """``log σ(x)``, elementwise, exact in both tails."""
    kernel = native("log_sigmoid", xp=xp)
    return kernel(x) if kernel else _math.generic_log_sigmoid(x, xp=xp)


def cumulative_sum(x: Array, *, axis: int, xp: Namespace) -> Array:
    """Inclusive cumulative sum along ``axis``."""
    kernel = native("cumulative_sum", xp=xp)
    return kernel(x, axis=axis) if kernel else xp.cumulative_sum(x, axis=axis)


def _dask_assert(flag: Array, message: str) -> Array:
    def check(block: Array) -> Array:
        if block.any():
            raise ValueError(message)
        return block
    return flag.map_blocks(check, dtype=flag.dtype)


_LAZY_ASSERTS: dict[str, Callable[[Array, str], Array]] = {"dask": _dask_assert}


def lazy_assert(flag: Array, message: str, *, xp: Namespace) -> Array:
    """``flag`` itself; on dask, computing it raises ``ValueError(message)`` when True.

    Elsewhere (traced JAX or torch arrays) a set flag only makes the loss NaN.
    """
    check = _LAZY_ASSERTS.get(library(xp))
    return flag if check is None else check(flag, message)
