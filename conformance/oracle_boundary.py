"""Independent float64 oracle of the boundary losses (``segloss_xp.boundary``).

Plain NumPy and SciPy in float64, loops over images and classes, straight from the
papers; it never imports ``segloss_xp``. Distances come from
``scipy.ndimage.distance_transform_edt`` and the neighbourhood operations from
``scipy.ndimage.minimum_filter`` / ``maximum_filter`` (the library writes both with
padded shifts and its own transform: the two share no code).

Conventions (DESIGN §6 and §11, the conventions of ``conformance/oracle.py``):

* ``y_pred`` channels-first ``(N, C, *spatial)``; targets as in ``oracle._prepare``.
* Every loss is a table per image and class ``(N, C)``; ``include_background=False``
  drops class 0 (not in binary mode), ``"mean"``/``"sum"`` reduce the table.
* Neighbourhoods are the 3^d box (``size=3``) or the cross (connectivity 1) over the
  spatial axes; the image border is neutral: ``+inf`` outside for a minimum, ``−inf``
  for a maximum (torch's ``max_pool`` with padding, MONAI's clDice).
* ``signed_distance_map``: Kervadec et al.'s ``one_hot2dist`` (MONAI ``BoundaryLoss``):
  ``−(d_in − 1)`` inside (0 on the inner boundary), ``d_out`` outside, zeros for an
  empty or full mask.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from conformance import oracle

__all__ = ["boundary_dice_loss", "boundary_loss", "cldice_loss", "distance_field",
           "hausdorff_dt_loss", "morphological_gradient", "signed_distance_map",
           "soft_skeleton"]

F64 = NDArray[np.float64]


def _per_image(x: F64, fn: Callable[[F64], F64]) -> F64:
    """``fn`` on each ``(n, c)`` spatial image of ``x`` ``(N, C, *spatial)``."""
    out = np.empty(x.shape, dtype=np.float64)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            out[n, c] = fn(x[n, c])
    return out


def _edt(mask: NDArray[np.bool_], spacing: Sequence[float] | None) -> F64:
    return np.asarray(ndimage.distance_transform_edt(mask, sampling=spacing), dtype=np.float64)


def signed_distance_map(mask: ArrayLike, spacing: Sequence[float] | None = None) -> F64:
    """Kervadec's signed map per ``(n, c)`` of a ``(N, C, *spatial)`` mask (``> 0.5``)."""
    def one(image: F64) -> F64:
        inside = image > 0.5
        if not inside.any() or inside.all():
            return np.zeros(image.shape)
        return np.where(inside, -(_edt(inside, spacing) - 1.0), _edt(~inside, spacing))
    return _per_image(np.asarray(mask, dtype=np.float64), one)


def distance_field(mask: ArrayLike, spacing: Sequence[float] | None = None) -> F64:
    """MONAI ``HausdorffDTLoss.distance_field``: ``EDT(m) + EDT(¬m)`` per ``(n, c)`` of
    ``m = mask > 0.5``; zeros for an empty or full mask."""
    def one(image: F64) -> F64:
        inside = image > 0.5
        if not inside.any() or inside.all():
            return np.zeros(image.shape)
        return _edt(inside, spacing) + _edt(~inside, spacing)
    return _per_image(np.asarray(mask, dtype=np.float64), one)


def _reduce(table: F64, *, mode: str, include_background: bool, reduction: str
            ) -> F64 | np.float64:
    return oracle._reduce_region(table, mode=mode, include_background=include_background,
                                 class_weights=None, reduction=reduction, batch=False)


def _spatial_mean(x: F64) -> F64:
    return np.asarray(x.reshape(x.shape[0], x.shape[1], -1).mean(axis=2))


def _spatial_sum(x: F64) -> F64:
    return np.asarray(x.reshape(x.shape[0], x.shape[1], -1).sum(axis=2))


def _probabilities_and_targets(y_pred: ArrayLike, y_true: ArrayLike, mode: str,
                               from_logits: bool) -> tuple[F64, F64]:
    x, g, _, _ = oracle._prepare(y_pred, y_true, mode, None)
    return oracle.probabilities(x, mode, from_logits), g


# ------------------------------------------------------------------------------ losses


def boundary_loss(y_pred: ArrayLike, dist_maps: ArrayLike, *, mode: str = "multiclass",
                  from_logits: bool = True, include_background: bool = False,
                  reduction: str = "mean") -> F64 | np.float64:
    """Kervadec et al. 2019: ``mean_x p_c(x)·φ_c(x)`` per ``(n, c)``, then reduced."""
    p = oracle.probabilities(np.asarray(y_pred, dtype=np.float64), mode, from_logits)
    phi = np.asarray(dist_maps, dtype=np.float64)
    return _reduce(_spatial_mean(p * phi), mode=mode, include_background=include_background,
                   reduction=reduction)


def _filter(x: F64, *, maximum: bool, cross: bool) -> F64:
    """3^d box (or cross) maximum / minimum over the spatial axes, neutral border."""
    ndim = x.ndim
    footprint = (ndimage.generate_binary_structure(ndim, 1) if cross
                 else np.ones((3,) * ndim, dtype=bool))
    if maximum:
        return np.asarray(ndimage.maximum_filter(x, footprint=footprint, mode="constant",
                                                 cval=-np.inf))
    return np.asarray(ndimage.minimum_filter(x, footprint=footprint, mode="constant",
                                             cval=np.inf))


def morphological_gradient(x: ArrayLike) -> F64:
    """3^d box maximum − minimum per ``(n, c)`` image."""
    return _per_image(np.asarray(x, dtype=np.float64),
                      lambda im: _filter(im, maximum=True, cross=False)
                      - _filter(im, maximum=False, cross=False))


def boundary_dice_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: str = "multiclass",
                       from_logits: bool = True, include_background: bool = True,
                       smooth: float = 1e-5, lam: float = 1.0, edge_norm: str = "l1",
                       reduction: str = "mean") -> F64 | np.float64:
    """Dice + ``lam`` · the mean edge difference ``|E(p) − E(g)|`` (l1) or its square
    (l2) per ``(n, c)``, ``E`` the morphological gradient."""
    p, g = _probabilities_and_targets(y_pred, y_true, mode, from_logits)
    dice = np.asarray(oracle.dice_loss(y_pred, y_true, mode=mode, from_logits=from_logits,
                                       smooth=smooth, reduction="none"))
    diff = morphological_gradient(p) - morphological_gradient(g)
    edges = np.abs(diff) if edge_norm == "l1" else diff**2
    return _reduce(dice + lam * _spatial_mean(edges), mode=mode,
                   include_background=include_background, reduction=reduction)


def hausdorff_dt_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: str = "multiclass",
                      from_logits: bool = True, include_background: bool = False,
                      alpha: float = 2.0, spacing: Sequence[float] | None = None,
                      reduction: str = "mean") -> F64 | np.float64:
    """Karimi & Salcudean 2019 (MONAI ``HausdorffDTLoss``): per ``(n, c)``
    ``mean((p − g)² · (d_p^α + d_g^α))``, ``d`` the distance fields of ``p > 0.5`` and
    ``g > 0.5``."""
    p, g = _probabilities_and_targets(y_pred, y_true, mode, from_logits)
    weight = distance_field(p, spacing) ** alpha + distance_field(g, spacing) ** alpha
    return _reduce(_spatial_mean((p - g) ** 2 * weight), mode=mode,
                   include_background=include_background, reduction=reduction)


def soft_skeleton(x: ArrayLike, iterations: int) -> F64:
    """Shit et al.'s soft skeleton per ``(n, c)`` image (MONAI ``soft_skel``)."""
    def erode(im: F64) -> F64:
        return _filter(im, maximum=False, cross=True)

    def opened(im: F64) -> F64:
        return _filter(erode(im), maximum=True, cross=False)

    def one(im: F64) -> F64:
        skel = np.maximum(im - opened(im), 0.0)
        for _ in range(iterations):
            im = erode(im)
            delta = np.maximum(im - opened(im), 0.0)
            skel = skel + np.maximum(delta - skel * delta, 0.0)
        return skel
    return _per_image(np.asarray(x, dtype=np.float64), one)


def _ratio(num: F64, den: F64, fill: float) -> F64:
    out = np.full(np.shape(num), fill)
    np.divide(num, den, out=out, where=den != 0)
    return out


def cldice_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: str = "multiclass",
                from_logits: bool = True, include_background: bool = True,
                iterations: int = 3, smooth: float = 1.0, alpha: float = 1.0,
                reduction: str = "mean") -> F64 | np.float64:
    """Shit et al. 2021 per ``(n, c)``: ``Tprec = (Σ S_p·g + s)/(Σ S_p + s)``, ``Tsens =
    (Σ S_g·p + s)/(Σ S_g + s)``, clDice ``1 − 2·Tprec·Tsens/(Tprec + Tsens)``; the loss
    ``(1 − α)·dice + α·clDice``. A zero ratio denominator (``s = 0``): Tprec/Tsens 1
    (empty skeleton), the harmonic mean 0."""
    p, g = _probabilities_and_targets(y_pred, y_true, mode, from_logits)
    skel_p, skel_g = soft_skeleton(p, iterations), soft_skeleton(g, iterations)
    tprec = _ratio(_spatial_sum(skel_p * g) + smooth, _spatial_sum(skel_p) + smooth, 1.0)
    tsens = _ratio(_spatial_sum(skel_g * p) + smooth, _spatial_sum(skel_g) + smooth, 1.0)
    cl = 1.0 - _ratio(2.0 * tprec * tsens, tprec + tsens, 0.0)
    table = alpha * cl
    if alpha != 1.0:
        table = table + (1.0 - alpha) * np.asarray(oracle.dice_loss(
            y_pred, y_true, mode=mode, from_logits=from_logits, smooth=smooth,
            reduction="none"))
    return _reduce(table, mode=mode, include_background=include_background,
                   reduction=reduction)
