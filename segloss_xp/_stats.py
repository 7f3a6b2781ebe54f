"""Soft confusion statistics ``(I, P, G)`` (and the element count ``S``) per image and class.

``I = Σ p·g``, ``P = Σ p^k``, ``G = Σ g^k`` over the spatial elements (and over
the batch too with ``batch=True``), ignored elements excluded from every sum;
``S`` is the number of counted elements (for formulas with true negatives,
``TN = S − P − G + I``). Integer labels are compared with the class ids (a bool
indicator); they are never expanded into a float one-hot.
"""

from __future__ import annotations

from ._inputs import Prepared
from ._namespace import Array

__all__ = ["Stats", "soft_statistics"]

Stats = tuple[Array, ...]


def soft_statistics(batch: Prepared, *, squared: bool = False, soft_label: bool = False,
                    batch_pooled: bool = False, count: bool = False) -> Stats:
    """``(I, P, G)`` (``(I, P, G, S)`` with ``count``), each ``(N, C)`` (``(C,)`` pooled)."""
    xp = batch.xp
    p = batch.probs()
    axes = (0, 2) if batch_pooled else (2,)

    def total(x: Array) -> Array:
        return xp.sum(x, axis=axes)

    def counted(x: Array) -> Array:
        return xp.astype(xp.count_nonzero(x, axis=axes), p.dtype)

    if batch.mask is not None:
        p = xp.where(batch.mask, p, xp.zeros_like(p))
    pk = p * p if squared else p
    if batch.labels is not None:
        hit = batch.label_indicator()
        inter = total(xp.where(hit, p, 0.0))  # scalar: no full-size zeros buffer
        # g is 0/1, so g^k == g: the count of labelled elements per class
        stats: Stats = (inter, total(pk), counted(hit))
    else:
        g = batch.target
        assert g is not None
        inter = total(p * g)
        if soft_label and not squared:
            # I = (|p|_1 + |g|_1 − |p − g|_1) / 2: equals Σ p·g for hard g, and makes the
            # loss minimal at p == g for soft g (MONAI soft_label, Wang et al. 2023).
            # With squared=True MONAI uses the same identity in the L2 norm (its ord=2),
            # (|p|² + |g|² − |p − g|²) / 2, which is exactly Σ p·g: the L1 form there
            # would not match the squared denominator and the loss could go below 0.
            inter = (total(p) + total(g) - total(xp.abs(p - g))) / 2
        stats = (inter, total(pk), total(g * g if squared else g))
    if not count:
        return stats
    n, c, s = batch.scores.shape
    if batch.mask is None:
        size = s * n if batch_pooled else s
        return (*stats, xp.full_like(stats[0], float(size)))
    mask = xp.broadcast_to(batch.mask, (n, c, s))
    return (*stats, counted(mask))
