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
from typing import Any, Literal

from ._namespace import Array, Namespace, is_concrete
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
    "check_finite_input",
    "check_ignore_index",
    "check_labels_in_range",
    "check_mode",
    "check_nonnegative",
    "check_number",
    "check_positive",
    "check_pred_dtype",
    "check_unit",
    "check_unit_interval",
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
    """A length-C sequence (or 1-D array) of finite numbers >= 0 -> tuple of floats.

    ``scalar=True`` also accepts one number, repeated for every class.
    """
    if scalar and isinstance(values, int | float) and not isinstance(values, bool):
        values = (values,) * num_classes
    try:
        out = tuple(float(v) for v in values)  # type: ignore[attr-defined]
    except TypeError as exc:
        what = "a number or a sequence" if scalar else "a sequence (or 1-D array)"
        raise TypeError(f"`{name}` must be {what} of numbers, one per class, got "
                        f"{type(values).__name__} (mode={mode!r})") from exc
    if len(out) != num_classes:
        raise ValueError(
            f"`{name}` must have one entry per class: expected {num_classes}, got "
            f"{len(out)} (the full class count, background included; mode={mode!r})")
    if not all(math.isfinite(v) and v >= 0 for v in out):
        raise ValueError(f"`{name}` must be finite and >= 0, got {out} (mode={mode!r})")
    return out


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


def check_finite_input(name: str, x: Array, *, xp: Namespace) -> None:
    # max and min propagate NaN and expose ±inf: no full-size temporary, unlike isfinite(x)
    if not bool(xp.isfinite(xp.max(x)) & xp.isfinite(xp.min(x))):
        raise ValueError(
            f"`{name}` contains non-finite values (nan or inf); "
            "disable with segloss_xp.options(validate=False) at your own risk"
        )


def check_unit_interval(name: str, x: Array, *, what: str, ignore_index: int | None = None,
                        xp: Namespace) -> None:
    """Raise if ``x`` (float) has values outside [0, 1] other than ``ignore_index``."""
    outside = (x < 0) | (x > 1)
    if ignore_index is not None:
        outside = outside & (x != ignore_index)
    if bool(xp.any(outside)):
        low = xp.min(xp.where(outside, x, xp.ones_like(x)))
        high = xp.max(xp.where(outside, x, xp.zeros_like(x)))
        bad: Any = float(low) if float(low) < 0 else float(high)
        extra = "" if ignore_index is None else f" (ignore_index={ignore_index})"
        raise ValueError(f"`{name}` must hold {what} in [0, 1]{extra}; found {bad!r}")


def check_labels_in_range(labels: Array, num_classes: int, ignore_index: int | None, *,
                          xp: Namespace) -> None:
    """Raise if an integer label lies outside ``[0, num_classes)`` and is not ignored."""
    invalid = (labels < 0) | (labels >= num_classes)
    if ignore_index is not None:
        invalid = invalid & (labels != ignore_index)
    if bool(xp.any(invalid)):
        # fill with 0, not -1: -1 overflows unsigned labels (uint8 masks are common)
        zeros = xp.zeros_like(labels)
        high = int(xp.max(xp.where(invalid, labels, zeros)))
        bad = high if high >= num_classes else int(xp.min(xp.where(invalid, labels, zeros)))
        raise ValueError(
            f"`y_true` holds label {bad} outside [0, {num_classes}) for a `y_pred` with "
            f"{num_classes} classes (ignore_index={ignore_index}, mode='multiclass')"
        )
