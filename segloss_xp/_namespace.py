"""The one place that touches ``array_api_compat``.

Namespace detection (with a clear error for mixed namespaces), device lookup,
the dtype policy (half precision accumulates in float32), the library an array
or namespace belongs to, and detection of traced / lazy arrays on which value
checks must not run.
"""

from __future__ import annotations

import sys
from typing import Any

import array_api_compat as compat

Array = Any
Namespace = Any

__all__ = [
    "Array",
    "Namespace",
    "as_like",
    "compute_dtype",
    "device",
    "get_namespace",
    "is_array",
    "is_concrete",
    "library",
    "library_name",
]


def library_name(x: object) -> str:
    """Short name of the library an array comes from (for error messages)."""
    if x is None:
        return "None"
    module = type(x).__module__.split(".")[0]
    return {"jaxlib": "jax", "builtins": type(x).__name__}.get(module, module)


def library(xp: Namespace) -> str:
    """``"torch"``, ``"jax"``, ``"dask"``, ``"cupy"``, ``"numpy"`` or ``"other"``.

    The key of the per-operation delegation table (``_dispatch``) and of the
    declared capabilities (``_capabilities``).
    """
    # by module name, not array_api_compat's is_*_namespace: those are functools-cached,
    # which makes torch.compile warn at every call site it traces
    return _LIBRARIES.get(getattr(xp, "__name__", ""), "other")


_LIBRARIES = {
    "torch": "torch", "array_api_compat.torch": "torch",
    "jax.numpy": "jax", "jax.experimental.array_api": "jax",
    "dask.array": "dask", "array_api_compat.dask.array": "dask",
    "cupy": "cupy", "array_api_compat.cupy": "cupy",
    "numpy": "numpy", "array_api_compat.numpy": "numpy",
}


def get_namespace(*arrays: object, names: tuple[str, ...] = ()) -> Namespace:
    """Array-API namespace shared by ``arrays`` (``None`` entries are skipped).

    Raises
    ------
    TypeError
        When the arrays come from different libraries (``y_pred`` torch and
        ``y_true`` numpy, say), naming each argument and its library; or when
        an argument is not an array at all.
    """
    present = [(n, a) for n, a in zip(names or (None,) * len(arrays), arrays, strict=True)
               if a is not None]
    if present and all(_is_torch(a) for _, a in present):
        # fast path: no array_api_compat type checks, whose functools caches make
        # torch.compile print a warning per call site it traces
        import array_api_compat.torch as torch_namespace

        return torch_namespace
    for name, a in present:
        if not is_array(a):
            label = f"`{name}`" if name else "an argument"
            raise TypeError(
                f"{label} must be an array (numpy, torch, jax, cupy, dask or "
                f"array_api_strict), got {type(a).__name__}"
            )
    try:
        return compat.array_namespace(*(a for _, a in present))
    except TypeError as exc:
        described = ", ".join(
            f"`{n}` is a {library_name(a)} array" if n else f"{library_name(a)} array"
            for n, a in present
        )
        raise TypeError(
            f"all arrays must come from the same library (mixed namespaces): {described}. "
            "Convert them to one library first."
        ) from exc


def _is_torch(x: object) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def device(x: Array) -> Any:
    """Device of ``x`` (``None`` for a JAX tracer under ``jax.jit``: safe as ``device=``)."""
    if _is_torch(x):
        return x.device
    return compat.device(x)


_PYTHON_VALUES = frozenset({bool, int, float, complex, str, list, tuple, dict, type(None)})


def is_array(x: object) -> bool:
    """True for an array of any supported library (not a list or tuple of them)."""
    # torch tensors and Python values first: array_api_compat's functools-cached checks
    # make torch.compile warn (class_weights=[...] inside a compiled loss)
    if _is_torch(x):
        return True
    if type(x) in _PYTHON_VALUES:  # exact types: a NumPy float64 is a float subclass
        return False
    return bool(compat.is_array_api_obj(x))


def compute_dtype(dtype: Any, *, xp: Namespace) -> Any:
    """Accumulation / result dtype: float64 stays float64, everything else is float32."""
    return xp.float64 if dtype == xp.float64 else xp.float32


def as_like(value: Any, ref: Array, *, xp: Namespace, dtype: Any = None) -> Array:
    """``value`` as an array on ``ref``'s device (and ``ref``'s dtype unless given)."""
    return xp.asarray(value, dtype=ref.dtype if dtype is None else dtype, device=device(ref))


def is_concrete(*arrays: Array) -> bool:
    """True when every array holds data we may inspect now.

    False for JAX tracers (``jax.jit``, ``jax.vmap``, ``jax.grad`` of a jitted
    function), dask arrays (lazy), and any torch tensor while ``torch.compile``
    is tracing: value checks would be host syncs or graph breaks there.
    """
    for x in arrays:
        if x is None:
            continue
        if _is_torch(x):
            torch = sys.modules["torch"]
            if torch.compiler.is_compiling() or x.device.type == "meta":
                return False
            if torch._C._functorch.is_batchedtensor(x):  # torch.func.vmap
                return False
        elif compat.is_dask_array(x):
            return False
        elif compat.is_jax_array(x):
            jax = sys.modules["jax"]
            if isinstance(x, jax.core.Tracer):
                return False
    return True
