"""Soft confusion statistics ``(I, P, G)`` (and the element count ``S``) per image and class.

``I = Σ p·g``, ``P = Σ p^k``, ``G = Σ g^k`` over the spatial elements (and over
the batch too with ``batch=True``), ignored elements excluded from every sum;
``S`` is the number of counted elements (for formulas with true negatives,
``TN = S − P − G + I``). The ``(N, C, S)`` work is one kernel with a closed-form
gradient (``_kernels.statistics``); integer labels are never expanded into a float
one-hot.
"""

from __future__ import annotations

from ._inputs import Prepared
from ._kernels import STATISTICS, StatsConfig, run
from ._namespace import Array

__all__ = ["Stats", "soft_statistics"]

Stats = tuple[Array, ...]


def soft_statistics(batch: Prepared, *, squared: bool = False, soft_label: bool = False,
                    batch_pooled: bool = False, count: bool = False) -> Stats:
    """``(I, P, G)`` (``(I, P, G, S)`` with ``count``), each ``(N, C)`` (``(C,)`` pooled)."""
    xp = batch.xp
    if soft_label and not squared and batch.labels is None:
        stats = _soft_label_statistics(batch)
    else:
        target = batch.labels if batch.labels is not None else batch.target
        assert target is not None
        stats = run(STATISTICS, batch.scores, target, batch.mask,
                     config=StatsConfig(_activation(batch), squared), xp=xp)
    if batch_pooled:
        stats = tuple(xp.sum(s, axis=0) for s in stats)
    if not count:
        return stats
    n, c, s = batch.scores.shape
    if batch.mask is None:
        size = s * n if batch_pooled else s
        return (*stats, xp.full_like(stats[0], float(size)))
    mask = xp.broadcast_to(batch.mask, (n, c, s))
    counted = xp.astype(xp.count_nonzero(mask, axis=(0, 2) if batch_pooled else (2,)),
                        stats[0].dtype)
    return (*stats, counted)


def _activation(batch: Prepared) -> str:
    if not batch.from_logits:
        return "identity"
    return "softmax" if batch.mode == "multiclass" else "sigmoid"


def _soft_label_statistics(batch: Prepared) -> Stats:
    """MONAI ``soft_label``: ``I = (|p|_1 + |g|_1 − |p − g|_1) / 2`` (plain autograd).

    Equals ``Σ p·g`` for hard ``g`` and makes the loss minimal at ``p == g`` for soft
    ``g`` (Wang et al. 2023). With ``squared=True`` MONAI uses the same identity in the
    L2 norm, which is exactly ``Σ p·g`` (the kernel's statistics): the L1 form there
    would not match the squared denominator and the loss could go below 0.
    """
    xp, p, g = batch.xp, batch.probs(), batch.target
    assert g is not None
    if batch.mask is not None:
        p = xp.where(batch.mask, p, xp.zeros_like(p))
        g = xp.where(batch.mask, g, xp.zeros_like(g))
    total_p, total_g = xp.sum(p, axis=2), xp.sum(g, axis=2)
    return ((total_p + total_g - xp.sum(xp.abs(p - g), axis=2)) / 2, total_p, total_g)
