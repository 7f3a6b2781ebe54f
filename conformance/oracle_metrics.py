"""Independent float64 oracle of the segmentation metrics (``segloss_xp.metrics``).

Plain NumPy and SciPy, written from the definitions with explicit loops over images
and classes and boolean indexing where that reads most clearly; it never imports
``segloss_xp``. Conventions (DESIGN.md §8):

* Hard masks: an integer multiclass ``y_pred`` is a label map ``(N, *spatial)``; a float
  one is made hard by the argmax over axis 1 (multiclass) or ``> threshold``; bool
  masks are hard already. Float binary/multilabel targets are binarised at 0.5, float
  one-hot multiclass targets by their argmax.
* Surfaces ``∂M = M & ~binary_erosion(M)`` with the connectivity-1 cross and
  ``border_value=0`` (outside the image is background), MONAI's edges.
* Distances: ``scipy.ndimage.distance_transform_edt(~∂B, sampling=spacing)`` read at
  the points of ``∂A`` (the distance of each point of ``∂A`` to the nearest point of
  ``∂B``); percentiles with ``np.percentile`` (linear interpolation).
* Empty surfaces: both empty NaN; one empty ``inf`` (distances) or 0 (surface Dice).
* Reduction as MONAI's ``do_metric_reduction``: ``"mean"`` averages each image over its
  non-NaN classes, then the images that have one (NaN if none); ``"sum"`` adds the
  non-NaN entries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = [
    "average_surface_distance", "confusion_counts", "dice_score", "directed_distances",
    "hard_masks", "hausdorff_distance", "iou_score", "normalized_surface_dice", "reduce",
    "surface",
]

Masks = tuple[NDArray[np.bool_], NDArray[np.bool_]]


def hard_masks(y_pred: NDArray, y_true: NDArray, *, mode: str = "multiclass",
               num_classes: int | None = None, threshold: float = 0.5,
               include_background: bool = True) -> Masks:
    """Bool ``(N, C, *spatial)`` prediction and target masks (class 0 dropped on request)."""
    y_pred, y_true = np.asarray(y_pred), np.asarray(y_true)
    if mode == "multiclass":
        if np.issubdtype(y_pred.dtype, np.integer):
            assert num_classes is not None
            classes = num_classes
            pred = np.stack([y_pred == c for c in range(classes)], axis=1)
        elif y_pred.dtype == np.bool_:
            classes, pred = y_pred.shape[1], y_pred
        else:
            classes = y_pred.shape[1]
            pred = np.stack([y_pred.argmax(axis=1) == c for c in range(classes)], axis=1)
        if np.issubdtype(y_true.dtype, np.integer):
            true = np.stack([y_true == c for c in range(classes)], axis=1)
        elif y_true.dtype == np.bool_:
            true = y_true
        else:
            true = np.stack([y_true.argmax(axis=1) == c for c in range(classes)], axis=1)
    else:
        if y_pred.dtype == np.bool_ or np.issubdtype(y_pred.dtype, np.integer):
            pred = y_pred != 0
        else:
            pred = y_pred > threshold
        true = y_true > 0.5 if np.issubdtype(y_true.dtype, np.floating) else y_true != 0
        if mode == "binary" and pred.ndim == true.ndim and not (
                pred.ndim >= 3 and pred.shape[1] == 1):
            pred, true = pred[:, None], true[:, None]
    if not include_background and mode != "binary":
        pred, true = pred[:, 1:], true[:, 1:]
    return pred, true


def confusion_counts(y_pred: NDArray, y_true: NDArray, **kw: object) -> tuple[NDArray, ...]:
    """``(tp, fp, fn, tn)``, each int64 ``(N, C)``."""
    pred, true = hard_masks(y_pred, y_true, **kw)  # type: ignore[arg-type]
    n, c = pred.shape[:2]
    out = np.zeros((4, n, c), dtype=np.int64)
    for i in range(n):
        for j in range(c):
            p, g = pred[i, j], true[i, j]
            out[:, i, j] = (np.sum(p & g), np.sum(p & ~g), np.sum(~p & g), np.sum(~p & ~g))
    return tuple(out)


def reduce(table: NDArray, reduction: str) -> NDArray:
    """MONAI's NaN-aware reduction (a mean over nothing is NaN)."""
    table = np.asarray(table, dtype=np.float64)
    if reduction == "none":
        return table
    if reduction == "sum":
        return np.float64(np.sum(table[~np.isnan(table)]))
    image_means = [row[~np.isnan(row)].mean() for row in table if (~np.isnan(row)).any()]
    return np.float64(np.mean(image_means)) if image_means else np.float64(np.nan)


def _overlap(y_pred: NDArray, y_true: NDArray, score: Callable[[int, int, int], float], *,
             empty: str, reduction: str, **kw: object) -> NDArray:
    tp, fp, fn, _ = confusion_counts(y_pred, y_true, **kw)
    table = np.empty(tp.shape)
    for idx in np.ndindex(tp.shape):
        t, p, n = int(tp[idx]), int(fp[idx]), int(fn[idx])
        if empty == "ignore" and t + n == 0:
            table[idx] = np.nan
        elif t + p + n == 0:
            table[idx] = 1.0 if empty == "one" else np.nan
        else:
            table[idx] = score(t, p, n)
    return reduce(table, reduction)


def dice_score(y_pred: NDArray, y_true: NDArray, *, empty: str = "one",
               reduction: str = "mean", **kw: object) -> NDArray:
    """``2 tp / (2 tp + fp + fn)`` per image and class."""
    return _overlap(y_pred, y_true, lambda t, p, n: 2 * t / (2 * t + p + n), empty=empty,
                    reduction=reduction, **kw)


def iou_score(y_pred: NDArray, y_true: NDArray, *, empty: str = "one",
              reduction: str = "mean", **kw: object) -> NDArray:
    """``tp / (tp + fp + fn)`` per image and class."""
    return _overlap(y_pred, y_true, lambda t, p, n: t / (t + p + n), empty=empty,
                    reduction=reduction, **kw)


def surface(mask: NDArray) -> NDArray[np.bool_]:
    """``mask & ~binary_erosion(mask)``, cross element, outside = background."""
    mask = np.asarray(mask, dtype=bool)
    cross = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure=cross, border_value=0)


def _sampling(spacing: float | Sequence[float] | None, ndim: int) -> tuple[float, ...]:
    if spacing is None:
        return (1.0,) * ndim
    if np.isscalar(spacing):
        return (float(spacing),) * ndim  # type: ignore[arg-type]
    return tuple(float(s) for s in spacing)  # type: ignore[union-attr]


def directed_distances(a: NDArray, b: NDArray, spacing: Sequence[float]) -> NDArray:
    """Distances from each surface point of ``a`` to the surface of ``b`` (both non-empty)."""
    sa, sb = surface(a), surface(b)
    return ndimage.distance_transform_edt(~sb, sampling=spacing)[sa]


def _surface_table(y_pred: NDArray, y_true: NDArray,
                   value: Callable[[NDArray, NDArray, NDArray, NDArray, int], float], *,
                   spacing: float | Sequence[float] | None, one_empty: float,
                   **kw: object) -> NDArray:
    """Per image and class ``value(d_PG, d_GP, ∂P, ∂G, class)``, or the empty convention."""
    pred, true = hard_masks(y_pred, y_true, **kw)  # type: ignore[arg-type]
    sampling = _sampling(spacing, pred.ndim - 2)
    table = np.empty(pred.shape[:2])
    for i, j in np.ndindex(*pred.shape[:2]):
        p, g = pred[i, j], true[i, j]
        if not p.any() and not g.any():
            table[i, j] = np.nan
        elif not p.any() or not g.any():
            table[i, j] = one_empty
        else:
            table[i, j] = value(directed_distances(p, g, sampling),
                                directed_distances(g, p, sampling), surface(p), surface(g), j)
    return table


def hausdorff_distance(y_pred: NDArray, y_true: NDArray, *, percentile: float | None = None,
                       directed: bool = False, spacing: float | Sequence[float] | None = None,
                       reduction: str = "mean", **kw: object) -> NDArray:
    """``max`` of the two directed maxima / ``percentile``-th percentiles."""
    def summary(d: NDArray) -> float:
        return float(d.max() if percentile is None else np.percentile(d, percentile))

    def value(d_pg: NDArray, d_gp: NDArray, *_: object) -> float:
        return summary(d_pg) if directed else max(summary(d_pg), summary(d_gp))

    return reduce(_surface_table(y_pred, y_true, value, spacing=spacing, one_empty=np.inf,
                                 **kw), reduction)


def average_surface_distance(y_pred: NDArray, y_true: NDArray, *, symmetric: bool = True,
                             spacing: float | Sequence[float] | None = None,
                             reduction: str = "mean", **kw: object) -> NDArray:
    """Mean of the concatenated distances of both directions, or of ``d(P → G)``."""
    def value(d_pg: NDArray, d_gp: NDArray, *_: object) -> float:
        return float(np.concatenate([d_pg, d_gp]).mean() if symmetric else d_pg.mean())

    return reduce(_surface_table(y_pred, y_true, value, spacing=spacing, one_empty=np.inf,
                                 **kw), reduction)


def normalized_surface_dice(y_pred: NDArray, y_true: NDArray, *,
                            tolerance: float | Sequence[float],
                            spacing: float | Sequence[float] | None = None,
                            reduction: str = "mean", **kw: object) -> NDArray:
    """Share of both surfaces within ``tolerance`` (per class, background included)."""
    pred, _ = hard_masks(y_pred, y_true, **{**kw, "include_background": True})  # type: ignore
    classes = pred.shape[1]
    tolerances = [float(tolerance)] * classes if np.isscalar(tolerance) else list(tolerance)
    if not kw.get("include_background", True) and kw.get("mode", "multiclass") != "binary":
        tolerances = tolerances[1:]

    def value(d_pg: NDArray, d_gp: NDArray, sp: NDArray, sg: NDArray, j: int) -> float:
        tau = tolerances[j]
        # ties: a lattice distance equal to tau counts whatever its rounding (1e-6 relative)
        within = np.sum(d_pg <= tau * (1 + 1e-6)) + np.sum(d_gp <= tau * (1 + 1e-6))
        return float(within / (sp.sum() + sg.sum()))

    return reduce(_surface_table(y_pred, y_true, value, spacing=spacing, one_empty=0.0,
                                 **kw), reduction)
