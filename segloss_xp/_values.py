"""Value checks: an error on concrete arrays, a NaN where values cannot be read.

Checks that need the data (label range, probabilities in [0, 1], one-hot/soft targets
summing to 1, finite input) raise ``ValueError`` naming the argument and the offending
value when the arrays are concrete. Under ``jax.jit``/``jax.vmap``, while
``torch.compile`` traces, and on dask they cannot raise before the values exist: there
each check becomes a flag in the graph, and :meth:`ValueChecks.poison` makes the loss
NaN when any flag is set (no host sync). Dask raises the check's message when the
result is computed. ``options(validate=False)`` turns every value check off.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from ._dispatch import extrema, host_extrema, lazy_assert
from ._namespace import Array, Namespace, is_concrete
from ._options import get_option

__all__ = ["ValueChecks"]

Detail = Callable[[], str]


class ValueChecks:
    """The value checks of one call: eager (raise), traced (flag) or off."""

    def __init__(self, *arrays: Array, xp: Namespace) -> None:
        validate = get_option("validate")
        self.xp = xp
        self.eager = validate and is_concrete(*arrays)
        self.traced = validate and not self.eager
        self._flags: list[tuple[Array, str]] = []

    @property
    def active(self) -> bool:
        return self.eager or self.traced

    def require(self, bad: Array, message: str, detail: Detail | None = None) -> None:
        """``bad`` (a 0-d bool array) must be False: raise now, or flag it for :meth:`poison`."""
        if self.eager:
            if bool(bad):
                raise ValueError(message + ("" if detail is None else detail()))
        elif self.traced:
            self._flags.append((bad, message))

    def poison(self, result: Array) -> Array:
        """``result``, or NaN where a traced check failed (dask: raise at compute time)."""
        if not self._flags:
            return result
        xp = self.xp
        flags = [lazy_assert(flag, f"{message} (found when computing)", xp=xp)
                 for flag, message in self._flags]
        invalid = flags[0]
        for flag in flags[1:]:
            invalid = invalid | flag
        return xp.where(invalid, xp.full_like(result, math.nan), result)


def check_prediction(y_pred: Array, checks: ValueChecks, *, from_logits: bool,
                     class_sums: Callable[[], Array] | None) -> None:
    """Finite scores; probabilities in [0, 1] when ``from_logits=False``.

    With ``from_logits=True`` and ``class_sums`` (multiclass), scores that already are a
    probability distribution over the class axis give a warning (eager only).
    """
    if not checks.active:
        return
    xp = checks.xp
    if checks.traced:
        low, high = extrema(y_pred, xp=xp)
        checks.require(~(xp.isfinite(high) & xp.isfinite(low)), _NON_FINITE)
        if not from_logits:
            checks.require(~((low >= 0) & (high <= 1)), _NOT_PROBABILITIES)
        return
    # eager: both facts from one transfer of (min, max) to the host
    low, high = host_extrema(y_pred, xp=xp)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(_NON_FINITE)
    in_unit = low >= 0 and high <= 1
    if not from_logits and not in_unit:
        raise ValueError(f"{_NOT_PROBABILITIES}; found {low if low < 0 else high!r}")
    if from_logits and in_unit and class_sums is not None and bool(
            xp.all(xp.abs(class_sums() - 1) < 1e-3)):
        warnings.warn(
            "`y_pred` looks like probabilities (values in [0, 1] summing to 1 over the "
            "class axis) but from_logits=True applies a softmax to them again; pass "
            "from_logits=False", UserWarning, stacklevel=4)


_NON_FINITE = ("`y_pred` contains non-finite values (nan or inf); disable with "
               "segloss_xp.options(validate=False) at your own risk")
_NOT_PROBABILITIES = "`y_pred` must hold probabilities (from_logits=False) in [0, 1]"


def check_labels(labels: Array, num_classes: int, ignore_index: int | None,
                 checks: ValueChecks) -> None:
    """Integer labels in ``[0, num_classes)`` unless equal to ``ignore_index``."""
    if not checks.active:
        return
    xp = checks.xp
    if ignore_index is None and checks.eager:  # the common case: one pass, no temporaries
        low, high = host_extrema(labels, xp=xp)
        if low >= 0 and high < num_classes:
            return
    invalid = (labels < 0) | (labels >= num_classes)
    if ignore_index is not None:
        invalid = invalid & (labels != ignore_index)

    def offending() -> str:
        # fill with 0, not -1: -1 overflows unsigned labels (uint8 masks are common)
        zeros = xp.zeros_like(labels)
        high = int(xp.max(xp.where(invalid, labels, zeros)))
        bad = high if high >= num_classes else int(xp.min(xp.where(invalid, labels, zeros)))
        return (f"`y_true` holds label {bad} outside [0, {num_classes}) for a `y_pred` with "
                f"{num_classes} classes (ignore_index={ignore_index}, mode='multiclass')")

    checks.require(xp.any(invalid), "" if checks.eager else
                   f"`y_true` holds labels outside [0, {num_classes}) "
                   f"(ignore_index={ignore_index})", offending)


def check_finite(name: str, x: Array, checks: ValueChecks) -> None:
    """Finite values of ``x`` (one pass: min and max propagate NaN)."""
    if not checks.active:
        return
    low, high = extrema(x, xp=checks.xp)
    checks.require(~(checks.xp.isfinite(low) & checks.xp.isfinite(high)),
                   f"`{name}` contains non-finite values (nan or inf)")


def check_unit_interval(name: str, x: Array, checks: ValueChecks, *, what: str,
                        ignore_index: int | None = None) -> None:
    """Values of ``x`` (float) in [0, 1], apart from ``ignore_index``."""
    if not checks.active:
        return
    xp = checks.xp
    if ignore_index is None and checks.eager:  # the common case: one pass, no temporaries
        low, high = host_extrema(x, xp=xp)
        if low >= 0 and high <= 1:  # NaN fails both comparisons
            return
    outside = ~((x >= 0) & (x <= 1))  # NaN is outside too
    if ignore_index is not None:
        outside = outside & (x != ignore_index)

    def offending() -> str:
        if bool(xp.any(xp.isnan(x) & outside)):
            return "; found nan"
        low = float(xp.min(xp.where(outside, x, xp.ones_like(x))))
        high = float(xp.max(xp.where(outside, x, xp.zeros_like(x))))
        return f"; found {low if low < 0 else high!r}"

    extra = "" if ignore_index is None else f" (ignore_index={ignore_index})"
    checks.require(xp.any(outside), f"`{name}` must hold {what} in [0, 1]{extra}", offending)


def check_class_sums(target: Array, mask: Array | None, checks: ValueChecks, *,
                     axis: int, given_dtype: Any) -> None:
    """One-hot/soft targets ``(N, C, S)`` sum to 1 over the classes at every counted pixel.

    The tolerance follows the dtype the targets were given in (``given_dtype``): soft
    labels rounded to bfloat16 (eps 2⁻⁷) sum to 1 only within a few eps.
    """
    if not checks.active:
        return
    xp = checks.xp
    sums = xp.sum(target, axis=1, keepdims=True)
    eps_dtype = given_dtype if xp.isdtype(given_dtype, "real floating") else target.dtype
    tolerance = 1e-3 + target.shape[1] * float(xp.finfo(eps_dtype).eps)
    wrong = xp.abs(sums - 1) > tolerance
    if mask is not None:
        wrong = wrong & mask

    def offending() -> str:
        found = float(xp.max(xp.where(wrong, xp.abs(sums - 1), xp.zeros_like(sums))))
        return (f"; found a pixel whose targets sum to 1 ± {found:.4g}. Binary masks need "
                "mode='binary' (or 'multilabel'); channels-last one-hot data class_axis=-1")

    checks.require(xp.any(wrong), f"`y_true` one-hot/soft targets must sum to 1 over the "
                   f"class axis {axis} in mode='multiclass'", offending)


def check_not_one_hot(y_true: Array, checks: ValueChecks) -> None:
    """A binary target ``(N, *spatial)`` must not be a one-hot over its axis 1.

    A ``(N, C, H, W)`` one-hot target next to ``(N, C, H, W)`` logits in binary mode would
    be read as a single-channel volume of depth C, every channel a slice of space.
    """
    if not checks.active:
        return
    xp = checks.xp
    values = xp.astype(y_true, xp.float32)  # bool targets too (no int comparison of bools)
    hard = xp.all((values == 0) | (values == 1))
    one_hot = hard & xp.all(xp.sum(values, axis=1) == 1)
    checks.require(one_hot, f"`y_true` of shape {tuple(y_true.shape)} is a one-hot over axis 1 "
                   f"({y_true.shape[1]} channels), but mode='binary' reads that axis as space; "
                   "use mode='multilabel' (a sigmoid per channel) or mode='multiclass'")
