"""Argument and input validation: every bad input becomes a clear ValueError/TypeError.

One message style per kind of error: ```name` must be ..., got value``. Structural
checks (types, shapes, dtypes, option values) always run; they read only
metadata. Value checks (label range, probabilities in [0, 1], finite inputs) read
data, so they run only on concrete arrays and only while
``options(validate=True)`` (the default); they never change results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from ._namespace import (
    Array,
    Namespace,
    as_like,
    device,
    get_namespace,
    is_array,
    is_concrete,
    library_name,
)
from ._options import get_option

Mode = Literal["multiclass", "binary", "multilabel"]
SigmoidMode = Literal["binary", "multilabel"]
Reduction = Literal["mean", "sum", "none"]
ScalarReduction = Literal["mean", "sum"]
ClassWeights = Sequence[float] | None  # length C
Weights = float | Sequence[float] | None  # one number for every class, or length C

MODES = ("multiclass", "binary", "multilabel")
SIGMOID_MODES = ("binary", "multilabel")
REDUCTIONS = ("mean", "sum", "none")
SCALAR_REDUCTIONS = ("mean", "sum")

__all__ = [
    "MODES",
    "REDUCTIONS",
    "SCALAR_REDUCTIONS",
    "SIGMOID_MODES",
    "ClassWeights",
    "Mode",
    "Reduction",
    "ScalarReduction",
    "SigmoidMode",
    "Weights",
    "check_bool",
    "check_choice",
    "check_class_vector",
    "check_ignore_index",
    "check_mode",
    "check_nonnegative",
    "check_number",
    "check_positive",
    "check_pred_dtype",
    "check_spacing",
    "check_unit",
    "class_vector",
    "should_check_values",
]


def check_choice(name: str, value: object, choices: Sequence[object], *,
                 why: str = "") -> None:
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {allowed}; got {value!r}{why}")


def check_mode(mode: object, *, allowed: Sequence[str], caller: str,
               alternative: str = "") -> None:
    """``mode`` is a known mode and one that ``caller`` is defined for."""
    check_choice("mode", mode, MODES)
    if mode not in allowed:
        hint = f"; {alternative}" if alternative else ""
        raise ValueError(f"{caller} is defined for mode in {tuple(allowed)}, got "
                         f"mode={mode!r}{hint}")


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be a bool, got {type(value).__name__}")
    return value


def check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value!r}")
    return float(value)


def check_nonnegative(name: str, value: object) -> float:
    v = check_number(name, value)
    if v < 0:
        raise ValueError(f"`{name}` must be >= 0, got {value!r}")
    return v


def check_positive(name: str, value: object) -> float:
    v = check_number(name, value)
    if v <= 0:
        raise ValueError(f"`{name}` must be > 0, got {value!r}")
    return v


def check_unit(name: str, value: object) -> float:
    v = check_number(name, value)
    if not 0 <= v <= 1:
        raise ValueError(f"`{name}` must lie in [0, 1], got {value!r}")
    return v


def check_class_vector(name: str, values: object, num_classes: int, *, mode: str,
                       scalar: bool = False) -> tuple[float, ...]:
    """A length-C sequence of finite numbers >= 0 -> tuple of floats.

    ``scalar=True`` also accepts one number, repeated for every class.
    """
    if scalar and isinstance(values, int | float) and not isinstance(values, bool):
        values = (values,) * num_classes
    try:
        if isinstance(values, str | bytes):
            raise TypeError(values)
        out = tuple(float(v) for v in values)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        what = "a number, a sequence" if scalar else "a sequence"
        raise TypeError(f"`{name}` must be {what} or a 1-D array of numbers, one per class, "
                        f"got {type(values).__name__} {values!r} (mode={mode!r})") from exc
    _check_length(name, len(out), num_classes, mode=mode)
    if not all(math.isfinite(v) and v >= 0 for v in out):
        raise ValueError(f"`{name}` must be finite and >= 0, got {out} (mode={mode!r})")
    return out


def _check_length(name: str, length: int, num_classes: int, *, mode: str) -> None:
    if length != num_classes:
        raise ValueError(
            f"`{name}` must have one entry per class: expected {num_classes}, got "
            f"{length} (the full class count, background included; mode={mode!r})")


def class_vector(name: str, values: object, num_classes: int, *, mode: str, like: Array,
                 xp: Namespace, scalar: bool = False, upper: float | None = None) -> Array:
    """``values`` as a length-C array in ``like``'s dtype and device, checked.

    Python numbers and sequences are checked at once. Arrays (NumPy, or the library of
    ``like``, traced ones included) are checked by shape now and by value only when
    concrete and value checks are on: no ``.item()`` under ``torch.compile``, no
    tracer error under ``jax.jit``. ``upper`` bounds every entry from above.
    """
    if not is_array(values):
        checked = check_class_vector(name, values, num_classes, mode=mode, scalar=scalar)
        if upper is not None and max(checked) > upper:
            raise ValueError(f"`{name}` must lie in [0, {upper:g}] in mode={mode!r}, got "
                             f"{checked}")
        return as_like(checked, like, xp=xp)
    if library_name(values) not in ("numpy", library_name(like)):
        raise TypeError(f"`{name}` is a {library_name(values)} array but the inputs are "
                        f"{library_name(like)} arrays; pass a sequence, a NumPy array or a "
                        f"{library_name(like)} array")
    shape = tuple(values.shape)  # type: ignore[attr-defined]
    if shape == () and scalar:
        vector = xp.broadcast_to(xp.asarray(values, dtype=like.dtype, device=device(like)),
                                 (num_classes,))
    elif len(shape) != 1:
        raise ValueError(f"`{name}` must be a 1-D array with one entry per class, got shape "
                         f"{shape} (mode={mode!r})")
    else:
        _check_length(name, shape[0], num_classes, mode=mode)
        vector = xp.asarray(values, dtype=like.dtype, device=device(like))
    if should_check_values(values):  # in the values' own namespace: they are concrete
        own, array = get_namespace(values), values  # type: Namespace, Array
        bad = ~own.isfinite(array) | (array < 0)
        if upper is not None:
            bad = bad | (array > upper)
        if bool(own.any(bad)):
            bound = "finite and >= 0" if upper is None else f"in [0, {upper:g}]"
            raise ValueError(f"`{name}` must be {bound}, got {values!r} (mode={mode!r})")
    return vector


def check_pred_dtype(y_pred: Array, *, mode: str, xp: Namespace) -> None:
    if not xp.isdtype(y_pred.dtype, "real floating"):
        raise TypeError(
            f"`y_pred` must be a real floating array (float16, bfloat16, float32 or "
            f"float64) of scores, got dtype {y_pred.dtype} (mode={mode!r}); cast it with "
            "astype, or use a metric for hard (integer/bool) predictions"
        )


def check_ignore_index(ignore_index: object, *, mode: str) -> None:
    if ignore_index is None:
        return
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(
            f"`ignore_index` must be an int or None, got {type(ignore_index).__name__}"
        )
    if mode != "multiclass" and ignore_index in (0, 1):
        raise ValueError(
            f"`ignore_index`={ignore_index} would mask genuine target values in "
            f"mode={mode!r} (targets are 0/1); use a value outside [0, 1], e.g. -1 or 255"
        )


def should_check_values(*arrays: Array) -> bool:
    """Value checks run when enabled and every array is concrete (not traced/lazy)."""
    return is_concrete(*arrays) and get_option("validate")


def check_spacing(spacing: object, ndim: int) -> tuple[float, ...]:
    """``spacing`` (None, one number, or one number per spatial axis) -> ``ndim`` floats > 0.

    Shared by every function with a ``spacing`` keyword (distances, metrics, losses).
    """
    if spacing is None:
        return (1.0,) * ndim
    if isinstance(spacing, int | float) and not isinstance(spacing, bool):
        values: tuple[object, ...] = (spacing,) * ndim
    elif isinstance(spacing, Sequence) and not isinstance(spacing, str | bytes):
        values = tuple(spacing)
    else:
        raise TypeError(f"`spacing` must be None, a number or a sequence of numbers (one per "
                        f"spatial axis), got {type(spacing).__name__} {spacing!r}")
    if len(values) != ndim:
        raise ValueError(f"`spacing` must have one entry per spatial axis: expected {ndim}, "
                         f"got {len(values)} ({spacing!r})")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise TypeError(f"`spacing` entries must be real numbers, got {spacing!r}")
    out = tuple(float(v) for v in values)  # type: ignore[arg-type]
    if not all(math.isfinite(v) and v > 0 for v in out):
        raise ValueError(f"`spacing` entries must be finite and > 0, got {spacing!r}")
    return out
