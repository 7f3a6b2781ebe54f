"""Reductions: class selection, class weighting, and ``reduction``.

Region losses produce a ``(N, C)`` table (one value per image and class, or
``(C,)`` when statistics are pooled over the batch). ``include_background``
drops class 0, ``class_weights`` multiply each class's loss (MONAI semantics:
the mean is *not* renormalised by the weights), and ``reduction`` gives the
plain mean, the sum, or the table itself. Pixel losses reduce with
:func:`reduce_elements` (masked mean over the counted elements).
"""

from __future__ import annotations

from ._math import safe_divide
from ._namespace import Array, Namespace

__all__ = ["apply_class_weights", "reduce_elements", "reduce_table", "select_classes"]


def select_classes(x: Array, include_background: bool) -> Array:
    """Drop class 0 (last axis) unless ``include_background``."""
    if include_background:
        return x
    if x.shape[-1] < 2:
        raise ValueError(
            "include_background=False would drop the only class; it applies to "
            "multiclass/multilabel outputs with at least 2 classes")
    return x[..., 1:]


def apply_class_weights(loss: Array, weights: Array | None, *,
                        include_background: bool) -> Array:
    """Multiply the per-class loss (last axis) by checked, length-C ``weights``."""
    if weights is None:
        return loss
    return loss * (weights if include_background else weights[1:])


def reduce_table(loss: Array, reduction: str, *, xp: Namespace) -> Array:
    """Mean / sum over every entry, or the table itself for ``"none"``."""
    if reduction == "mean":
        return xp.mean(loss)
    if reduction == "sum":
        return xp.sum(loss)
    return loss


def reduce_elements(loss: Array, mask: Array | None, reduction: str, *, xp: Namespace,
                    denominator: Array | None = None) -> Array:
    """Reduce a per-element loss map; masked elements count for nothing.

    ``"mean"`` divides by the number of counted elements (torch's convention
    for ``ignore_index``), or by ``denominator`` when given (torch's weighted
    mean). An all-ignored input gives 0 with a finite gradient, not NaN.
    """
    if mask is not None:
        loss = xp.where(mask, loss, xp.zeros_like(loss))
    if reduction == "none":
        return loss
    if reduction == "mean" and denominator is None and mask is None:
        return xp.mean(loss)
    total = xp.sum(loss)
    if reduction == "sum":
        return total
    if denominator is None:
        denominator = xp.astype(xp.count_nonzero(xp.broadcast_to(mask, loss.shape)),
                                loss.dtype)
    return safe_divide(total, denominator, fill=0.0, xp=xp)
