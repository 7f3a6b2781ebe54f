"""Binary and soft (grey-level) morphology written with padded shifts.

Every operation is a few ``shift`` calls (a slice and a ``concat`` with a
constant border: no boolean indexing, static shapes) combined elementwise, so it
runs on every array-API namespace, under ``jax.jit`` and ``torch.compile``, and
gradients flow through the soft (float) versions.

Conventions:

- ``erode`` is SciPy's ``binary_erosion`` with the cross-shaped (connectivity-1)
  structuring element and ``border_value=0``: outside the array is background, so
  foreground touching the border is eroded there. ``surface = mask & ~erode(mask)``
  (MONAI's edge convention for the surface metrics).
- The pools (``max_pool3``/``min_pool3``) take the 3^d box over ``axes``; the
  border is neutral (filled with −inf for a max, +inf for a min; ``False``/``True``
  for bool, the integer type's extremes for integers), like ``torch``'s
  ``max_pool`` with padding: a border never biases the result.
- ``soft_erode`` is clDice's soft erosion (Shit et al. 2021, MONAI ``soft_erode``):
  the minimum of the per-axis 3-min-pools, i.e. the min over the cross-shaped
  element; ``soft_dilate`` the 3^d box max.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._dispatch import same_chunks
from ._namespace import Array, Namespace, device

__all__ = [
    "erode",
    "max_pool3",
    "min_pool3",
    "morphological_gradient",
    "shift",
    "soft_dilate",
    "soft_erode",
    "surface",
]


def _axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"`axis` must lie in [-{ndim}, {ndim}) for a {ndim}-d array, got {axis}")
    return axis % ndim


def _take(x: Array, start: int, stop: int, *, axis: int) -> Array:
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop)
    return x[tuple(index)]


def shift(x: Array, offset: int, *, axis: int, fill: float | bool, xp: Namespace) -> Array:
    """``x`` moved by ``offset`` along ``axis``; the vacated border holds ``fill``.

    ``shift(x, 1, axis=0)[i] == x[i - 1]`` for ``i >= 1`` and ``fill`` at ``i = 0``;
    the shape is unchanged (an ``|offset|`` of the axis length or more gives all
    ``fill``).
    """
    axis = _axis(axis, x.ndim)
    n = x.shape[axis]
    steps = min(abs(offset), n)
    if offset == 0:
        return x
    shape = list(x.shape)
    shape[axis] = steps
    border = xp.full(tuple(shape), fill, dtype=x.dtype, device=device(x))
    if steps == n:
        return border
    if offset > 0:
        moved = xp.concat([border, _take(x, 0, n - steps, axis=axis)], axis=axis)
    else:
        moved = xp.concat([_take(x, steps, n, axis=axis), border], axis=axis)
    return same_chunks(moved, x, xp=xp)


def _as_bool(mask: Array, *, xp: Namespace) -> Array:
    return mask if mask.dtype == xp.bool else mask != 0


def _normal_axes(axes: Sequence[int], ndim: int) -> tuple[int, ...]:
    return tuple(_axis(a, ndim) for a in axes)


def erode(mask: Array, *, axes: tuple[int, ...], xp: Namespace) -> Array:
    """Binary erosion over ``axes`` with the cross-shaped element; outside = background.

    ``mask`` is bool (any numeric: nonzero is foreground); the result is bool.
    Equal to ``scipy.ndimage.binary_erosion(mask, structure)`` with ``structure``
    the connectivity-1 cross over ``axes`` (and no extent over the other axes).
    """
    mask = _as_bool(mask, xp=xp)
    out = mask
    for axis in _normal_axes(axes, mask.ndim):
        for offset in (-1, 1):
            out = out & shift(mask, offset, axis=axis, fill=False, xp=xp)
    return out


def surface(mask: Array, *, axes: tuple[int, ...], xp: Namespace) -> Array:
    """The foreground elements with a background (or outside) cross neighbour: bool."""
    mask = _as_bool(mask, xp=xp)
    return mask & ~erode(mask, axes=axes, xp=xp)


def _extreme(x: Array, *, high: bool, xp: Namespace) -> float | bool:
    """The neutral border value: the identity of max (``high=False``) or min (``high=True``)."""
    if x.dtype == xp.bool:
        return high
    if xp.isdtype(x.dtype, "integral"):
        info = xp.iinfo(x.dtype)
        return int(info.max) if high else int(info.min)
    return float("inf") if high else -float("inf")


def _pool_axis(x: Array, *, axis: int, high: bool, xp: Namespace) -> Array:
    """The 3-max (``high=False``) or 3-min (``high=True``) along one axis.

    Padded shifts on every library, JAX included: not XLA's ``reduce_window``, whose
    jitted gradient went wrong (DESIGN §12).
    """
    fill = _extreme(x, high=high, xp=xp)
    left = shift(x, 1, axis=axis, fill=fill, xp=xp)
    right = shift(x, -1, axis=axis, fill=fill, xp=xp)
    if x.dtype == xp.bool:
        combine = xp.logical_and if high else xp.logical_or
    else:
        combine = xp.minimum if high else xp.maximum
    return combine(combine(left, x), right)


def max_pool3(x: Array, *, axes: tuple[int, ...], xp: Namespace) -> Array:
    """The maximum over the 3^d box around each element (over ``axes``); border neutral."""
    for axis in _normal_axes(axes, x.ndim):
        x = _pool_axis(x, axis=axis, high=False, xp=xp)
    return x


def min_pool3(x: Array, *, axes: tuple[int, ...], xp: Namespace) -> Array:
    """The minimum over the 3^d box around each element (over ``axes``); border neutral."""
    for axis in _normal_axes(axes, x.ndim):
        x = _pool_axis(x, axis=axis, high=True, xp=xp)
    return x


def soft_erode(x: Array, *, axes: tuple[int, ...], xp: Namespace) -> Array:
    """clDice's soft erosion: the minimum of the per-axis 3-min-pools (cross element)."""
    pools = [_pool_axis(x, axis=axis, high=True, xp=xp) for axis in _normal_axes(axes, x.ndim)]
    if not pools:
        return x
    out = pools[0]
    combine = xp.logical_and if x.dtype == xp.bool else xp.minimum
    for pool in pools[1:]:
        out = combine(out, pool)
    return out


def soft_dilate(x: Array, *, axes: tuple[int, ...], xp: Namespace) -> Array:
    """clDice's soft dilation: the 3^d box maximum."""
    return max_pool3(x, axes=axes, xp=xp)


def morphological_gradient(x: Array, *, axes: tuple[int, ...], xp: Namespace) -> Array:
    """``max_pool3(x) − min_pool3(x)``: non-zero at edges (float ``x``)."""
    return max_pool3(x, axes=axes, xp=xp) - min_pool3(x, axes=axes, xp=xp)
