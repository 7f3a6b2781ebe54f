"""Segmentation metrics on hard masks: overlap counts and surface distances (DESIGN §8).

Every metric is ``hard masks -> per image and class table (N, C) -> reduction``.
Inputs are made hard once (:func:`_hard_masks`): a bool or integer ``y_pred`` is
hard already, a float one is made hard by ``argmax`` over the class axis
(multiclass) or ``> threshold`` (binary/multilabel). The counting metrics are
ratios of the counts ``tp, fp, fn`` (the same ratio functions as the region
losses, so ``dice_score == 1 − dice_loss(smooth=0)`` holds exactly on hard
inputs). The surface metrics measure distances between the surfaces
``mask & ~erode(mask)`` (cross-shaped element, outside = background, MONAI's
edges) with :func:`~segloss_xp.distance_transform_edt` and summarise them per
image and class without boolean indexing (a percentile is an order statistic of
the sorted distances, non-surface elements sorted last). Concrete
NumPy and torch CPU arrays take a host path instead (SciPy's KD-tree over the
surface points, as MONAI does on the CPU): the same numbers without a dense
transform of the whole volume.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from . import _checks, _values
from ._capabilities import declare, require
from ._dispatch import host_arrays
from ._formulas import dice_ratio, jaccard_ratio
from ._inputs import _check_devices, _pred_layout, _target_layout
from ._morphology import surface
from ._namespace import Array, Namespace, as_like, device, get_namespace, is_concrete
from ._values import ValueChecks
from .distance import distance_transform_edt

__all__ = [
    "ConfusionCounts",
    "average_surface_distance",
    "confusion_counts",
    "dice_score",
    "hausdorff_distance",
    "iou_score",
    "normalized_surface_dice",
]

MetricReduction = Literal["mean", "sum", "none"]
CountReduction = Literal["none", "sum"]
Empty = Literal["one", "nan", "ignore"]
EMPTY = ("one", "nan", "ignore")
Spacing = float | Sequence[float] | None

_NO_GRAD = "a metric of hard masks: no gradient"
# a distance within this relative margin of the tolerance counts as within it: a lattice
# distance equal to the tolerance (2.0 = |(2·0.8, 1.2)|) comes out 2.0000000000000004
_TIE = 1e-6
_NO_COMPILE = "a metric on hard masks, evaluated eagerly (host path on the CPU)"
_DISTANCE_DASK = ("surface distances need the distance transform and a sort with "
                  "take_along_axis, which dask lacks; compute the arrays first")


class ConfusionCounts(NamedTuple):
    """Hard confusion counts per image and class, each an integer array ``(N, C)``."""

    tp: Array
    fp: Array
    fn: Array
    tn: Array


# --------------------------------------------------------------------------- hard inputs


@dataclass
class _Masks:
    """Hard ``(N, C, *spatial)`` bool masks of prediction and target, and the call's checks."""

    xp: Namespace
    pred: Array
    true: Array
    dtype: Any  # float dtype of the results
    checks: ValueChecks

    @property
    def spatial_axes(self) -> tuple[int, ...]:
        return tuple(range(2, self.pred.ndim))


def _hard_masks(y_pred: Array, y_true: Array, *, mode: str, num_classes: int | None,
                threshold: float, include_background: bool, caller: str) -> _Masks:
    """Check the shared metric keywords and bring both inputs to hard class masks."""
    xp = get_namespace(y_pred, y_true, names=("y_pred", "y_true"))
    if y_true is None:
        raise TypeError("`y_true` must be an array, got None")
    require(caller, xp=xp)
    _checks.check_mode(mode, allowed=_checks.MODES, caller=caller)
    _checks.check_number("threshold", threshold)
    _checks.check_bool("include_background", include_background)
    for name, array in (("y_pred", y_pred), ("y_true", y_true)):
        if not (xp.isdtype(array.dtype, ("bool", "integral", "real floating"))):
            raise TypeError(f"`{name}` must be bool, integer or real floating, got dtype "
                            f"{array.dtype} (mode={mode!r})")
    checks = ValueChecks(y_pred, y_true, xp=xp)
    if mode == "multiclass" and xp.isdtype(y_pred.dtype, "integral"):
        classes = _check_num_classes(num_classes, None, mode=mode, required=True)
        pred = _indicator(_checked_labels("y_pred", y_pred, classes, checks), classes, xp=xp)
        true = _multiclass_target(y_true, classes, pred_shape=tuple(pred.shape),
                                  checks=checks, xp=xp)
    else:
        layout, axis = _pred_layout(y_pred, mode=mode, class_axis=1, xp=xp)
        classes = _check_num_classes(num_classes, layout.shape[1], mode=mode, required=False)
        aligned = _target_layout(y_pred, y_true, mode=mode, axis=axis, xp=xp)
        pred = _hard_prediction(layout, mode=mode, threshold=threshold, checks=checks, xp=xp)
        if mode == "multiclass":
            true = _multiclass_target(aligned, classes, pred_shape=tuple(layout.shape),
                                      checks=checks, xp=xp)
        else:
            true = _binary_target(aligned, checks=checks, xp=xp)
    _check_devices(y_pred, y_true)
    if not include_background and mode != "binary":
        if pred.shape[1] < 2:
            raise ValueError("include_background=False would drop the only class; it applies "
                             "to multiclass/multilabel inputs with at least 2 classes")
        pred, true = pred[:, 1:, ...], true[:, 1:, ...]
    dtype = xp.float64 if xp.float64 in (y_pred.dtype, y_true.dtype) else xp.float32
    return _Masks(xp=xp, pred=pred, true=true, dtype=dtype, checks=checks)


def _check_num_classes(num_classes: object, channels: int | None, *, mode: str,
                       required: bool) -> int:
    """``num_classes``: required for label maps, else optional and equal to the channels."""
    if num_classes is None:
        if required:
            raise ValueError("`num_classes` is required when `y_pred` is an integer label map "
                             "(N, *spatial) in mode='multiclass', got None")
        assert channels is not None
        return channels
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(f"`num_classes` must be an int or None, got "
                        f"{type(num_classes).__name__} {num_classes!r}")
    if num_classes < (2 if mode == "multiclass" else 1):
        raise ValueError(f"`num_classes` must be >= 2 in mode={mode!r}, got {num_classes}")
    if channels is not None and num_classes != channels:
        raise ValueError(f"`num_classes`={num_classes} does not match the {channels} channels "
                         f"of `y_pred` (mode={mode!r})")
    return num_classes


def _checked_labels(name: str, labels: Array, num_classes: int, checks: ValueChecks) -> Array:
    """Integer labels, value-checked to lie in ``[0, num_classes)``."""
    if math.prod(labels.shape) == 0 or labels.ndim < 2:
        raise ValueError(f"`{name}` label map must have shape (N, *spatial) with no zero-size "
                         f"axis, got shape {tuple(labels.shape)} (mode='multiclass')")
    flat = checks.xp.reshape(labels, (labels.shape[0], -1))
    if name == "y_true":
        _values.check_labels(flat, num_classes, None, checks)
        return labels
    xp = checks.xp
    invalid = (flat < 0) | (flat >= num_classes)

    def offending() -> str:
        zeros = xp.zeros_like(flat)
        high = int(xp.max(xp.where(invalid, flat, zeros)))
        bad = high if high >= num_classes else int(xp.min(xp.where(invalid, flat, zeros)))
        return f"; found label {bad} (num_classes={num_classes})"

    checks.require(xp.any(invalid), f"`{name}` holds labels outside [0, {num_classes})",
                   offending)
    return labels


def _indicator(labels: Array, num_classes: int, *, xp: Namespace) -> Array:
    """Bool ``(N, C, *spatial)``: ``labels (N, *spatial) == c``."""
    ids = xp.arange(num_classes, dtype=labels.dtype, device=device(labels))
    ids = xp.reshape(ids, (1, num_classes) + (1,) * (labels.ndim - 1))
    return xp.expand_dims(labels, axis=1) == ids


def _hard_prediction(layout: Array, *, mode: str, threshold: float, checks: ValueChecks,
                     xp: Namespace) -> Array:
    """``(N, C, *spatial)`` bool from scores (argmax / threshold) or from hard masks."""
    if layout.dtype == xp.bool:
        return layout
    if xp.isdtype(layout.dtype, "integral"):  # binary/multilabel 0/1 masks
        _values.check_unit_interval("y_pred", xp.astype(layout, xp.float32), checks,
                                    what="hard mask values")
        return layout != 0
    _values.check_prediction(layout, checks, from_logits=True, class_sums=None)
    if mode == "multiclass":
        return _indicator(xp.argmax(layout, axis=1), layout.shape[1], xp=xp)
    return layout > threshold


def _multiclass_target(true: Array, num_classes: int, *, pred_shape: tuple[int, ...],
                       checks: ValueChecks, xp: Namespace) -> Array:
    """Integer labels or a one-hot (bool/float) target -> bool ``(N, C, *spatial)``."""
    if tuple(true.shape) == pred_shape[:1] + pred_shape[2:]:
        if not xp.isdtype(true.dtype, "integral"):
            raise TypeError(f"in mode='multiclass' a `y_true` of shape {tuple(true.shape)} "
                            f"holds class ids and must have an integer dtype, got {true.dtype}")
        return _indicator(_checked_labels("y_true", true, num_classes, checks), num_classes,
                          xp=xp)
    if tuple(true.shape) != pred_shape:
        raise ValueError(f"shape mismatch in mode='multiclass': `y_true` has shape "
                         f"{tuple(true.shape)}; expected integer class ids of shape "
                         f"{pred_shape[:1] + pred_shape[2:]} or a one-hot array of shape "
                         f"{pred_shape}")
    if xp.isdtype(true.dtype, "integral"):
        raise TypeError(f"in mode='multiclass' a one-hot `y_true` of shape {pred_shape} must "
                        f"be bool or float, got dtype {true.dtype}; integer class ids must "
                        f"have shape {pred_shape[:1] + pred_shape[2:]}")
    values = xp.astype(true, xp.float64 if true.dtype == xp.float64 else xp.float32)
    flat = xp.reshape(values, (pred_shape[0], pred_shape[1], -1))
    if true.dtype != xp.bool:
        _values.check_unit_interval("y_true", flat, checks, what="target values")
    _values.check_class_sums(flat, None, checks, axis=1, given_dtype=true.dtype)
    if true.dtype == xp.bool:
        return true
    return _indicator(xp.argmax(values, axis=1), num_classes, xp=xp)


def _binary_target(true: Array, *, checks: ValueChecks, xp: Namespace) -> Array:
    """A binary/multilabel target (bool, or 0/1 int/float) -> bool, binarised at 0.5."""
    if true.dtype == xp.bool:
        return true
    values = xp.astype(true, xp.float64 if true.dtype == xp.float64 else xp.float32)
    _values.check_unit_interval("y_true", values, checks, what="target values")
    return values > 0.5


# --------------------------------------------------------------------------- reduction


def _reduce(table: Array, reduction: str, *, xp: Namespace) -> Array:
    """MONAI's ``do_metric_reduction``, NaN-aware; a mean over nothing is NaN, not 0.

    ``"mean"``: per image the mean over its non-NaN classes, then the mean over the
    images with at least one; ``"sum"``: the sum of the non-NaN entries.
    """
    if reduction == "none":
        return table
    valid = ~xp.isnan(table)
    values = xp.where(valid, table, xp.zeros_like(table))
    if reduction == "sum":
        return xp.sum(values)
    counts = xp.astype(xp.count_nonzero(valid, axis=1), table.dtype)
    per_image = xp.sum(values, axis=1) / xp.where(counts > 0, counts, xp.ones_like(counts))
    images = counts > 0
    total = xp.sum(xp.where(images, per_image, xp.zeros_like(per_image)))
    n = xp.astype(xp.count_nonzero(images), table.dtype)
    return xp.where(n > 0, total / xp.where(n > 0, n, xp.ones_like(n)),
                    xp.full_like(total, math.nan))


def _check_reduction(reduction: object, choices: Sequence[str]) -> None:
    _checks.check_choice("reduction", reduction, choices)


# --------------------------------------------------------------------------- counting


def _counts(masks: _Masks) -> ConfusionCounts:
    xp, p, t = masks.xp, masks.pred, masks.true
    axes = masks.spatial_axes

    def count(x: Array) -> Array:
        return xp.count_nonzero(x, axis=axes)

    return ConfusionCounts(count(p & t), count(p & ~t), count(~p & t), count(~p & ~t))


def _overlap_score(y_pred: Array, y_true: Array, ratio: Callable[..., Array], *, caller: str,
                   mode: str, num_classes: int | None, threshold: float,
                   include_background: bool, empty: str, reduction: str) -> Array:
    """``ratio(I, P, G)`` per image and class from the counts, ``empty`` policy, reduced."""
    _checks.check_choice("empty", empty, EMPTY)
    _check_reduction(reduction, _checks.REDUCTIONS)
    masks = _hard_masks(y_pred, y_true, mode=mode, num_classes=num_classes,
                        threshold=threshold, include_background=include_background,
                        caller=caller)
    xp = masks.xp
    tp, fp, fn, _ = _counts(masks)
    inter, pred, true = (xp.astype(v, masks.dtype) for v in (tp, tp + fp, tp + fn))
    score = ratio(inter, pred, true, smooth=0.0, xp=xp)  # 1 where P + G == 0
    if empty == "nan":
        score = xp.where(pred + true == 0, xp.full_like(score, math.nan), score)
    elif empty == "ignore":
        score = xp.where(true == 0, xp.full_like(score, math.nan), score)
    return masks.checks.poison(_reduce(score, reduction, xp=xp))


def _poison_counts(counts: ConfusionCounts, checks: ValueChecks, *,
                   xp: Namespace) -> ConfusionCounts:
    """Counts of ``-1`` where a traced value check failed (an integer cannot be NaN)."""
    flag = xp.isnan(checks.poison(xp.zeros((), dtype=xp.float32, device=device(counts.tp))))
    return ConfusionCounts(*(xp.where(flag, xp.full_like(c, -1), c) for c in counts))


@declare("metrics", autograd=_NO_GRAD)
def confusion_counts(
    y_pred: Array, y_true: Array, *, mode: _checks.Mode = "multiclass",
    num_classes: int | None = None, threshold: float = 0.5, include_background: bool = True,
    reduction: CountReduction = "none",
) -> ConfusionCounts:
    """Hard confusion counts ``(tp, fp, fn, tn)`` per image and class.

    %(inputs_metric)s
    reduction : {"none", "sum"}
        ``"none"``: ``(N, C)`` per image and class; ``"sum"``: summed over the images,
        ``(C,)`` (the counts of the pooled batch, for a dataset-level score).

    Returns
    -------
    ConfusionCounts
        A named tuple ``(tp, fp, fn, tn)`` of integer arrays (the namespace's default
        integer dtype), each ``(N, C)`` (``(C,)`` with ``"sum"``), in the input's
        namespace and device. Under ``jax.jit`` and on dask an invalid value (a label
        out of range) gives counts of ``-1`` (dask: an error when computed).

    %(raises_metric)s

    Notes
    -----
    ``tp = Σ p·g``, ``fp = Σ p·(1 − g)``, ``fn = Σ (1 − p)·g``, ``tn = Σ (1 − p)(1 − g)``
    over the spatial elements of each image, with ``p``, ``g`` the hard masks of class
    ``c``; ``tp + fp + fn + tn`` is the number of elements of an image.

    References
    ----------
    Taha & Hanbury, "Metrics for evaluating 3D medical image segmentation: analysis,
    selection, and tool", BMC Medical Imaging 15 (2015).

    Examples
    --------
    >>> import numpy as np
    >>> pred = np.array([[[0, 1, 1, 0]]])  # (N=1, 1, 4) label map
    >>> true = np.array([[[0, 1, 0, 0]]])
    >>> counts = confusion_counts(pred, true, num_classes=2)
    >>> counts.tp.tolist(), counts.fp.tolist(), counts.fn.tolist(), counts.tn.tolist()
    ([[2, 1]], [[0, 1]], [[1, 0]], [[1, 2]])
    """
    _check_reduction(reduction, ("none", "sum"))
    masks = _hard_masks(y_pred, y_true, mode=mode, num_classes=num_classes,
                        threshold=threshold, include_background=include_background,
                        caller="confusion_counts")
    xp = masks.xp
    counts = _counts(masks)
    if reduction == "sum":
        counts = ConfusionCounts(*(xp.sum(c, axis=0) for c in counts))
    return _poison_counts(counts, masks.checks, xp=xp)


@declare("metrics", autograd=_NO_GRAD)
def dice_score(
    y_pred: Array, y_true: Array, *, mode: _checks.Mode = "multiclass",
    num_classes: int | None = None, threshold: float = 0.5, include_background: bool = True,
    empty: Empty = "one", reduction: MetricReduction = "mean",
) -> Array:
    """Dice coefficient ``2·tp / (2·tp + fp + fn)`` of hard masks, per image and class.

    %(inputs_metric)s
    %(overlap_result)s

    Notes
    -----
    ``D = 2|P ∩ G| / (|P| + |G|)``, the ratio of the region losses with ``smooth = 0``:
    on hard inputs ``dice_score(..., reduction="none") == 1 − dice_loss(...,
    smooth=0, from_logits=False, reduction="none")`` exactly, both-empty case included
    (score 1, loss 0). MONAI ``DiceMetric(ignore_empty=True)`` (its default) is
    ``empty="ignore"``; ``ignore_empty=False`` is ``empty="one"``.

    References
    ----------
    Dice, "Measures of the amount of ecologic association between species", Ecology
    26 (1945).

    Examples
    --------
    >>> import numpy as np
    >>> pred = np.array([[[0, 1, 1, 0]]])
    >>> true = np.array([[[0, 1, 0, 0]]])
    >>> score = dice_score(pred, true, num_classes=2, reduction="none")  # float32
    >>> np.round(score.astype(np.float64), 4).tolist()
    [[0.8, 0.6667]]
    """
    return _overlap_score(y_pred, y_true, dice_ratio, caller="dice_score", mode=mode,
                          num_classes=num_classes, threshold=threshold,
                          include_background=include_background, empty=empty,
                          reduction=reduction)


@declare("metrics", autograd=_NO_GRAD)
def iou_score(
    y_pred: Array, y_true: Array, *, mode: _checks.Mode = "multiclass",
    num_classes: int | None = None, threshold: float = 0.5, include_background: bool = True,
    empty: Empty = "one", reduction: MetricReduction = "mean",
) -> Array:
    """Intersection over union (Jaccard index) ``tp / (tp + fp + fn)`` of hard masks.

    %(inputs_metric)s
    %(overlap_result)s

    Notes
    -----
    ``J = |P ∩ G| / |P ∪ G|``, the ratio of ``jaccard_loss`` with ``smooth = 0``
    (``iou_score == 1 − jaccard_loss(smooth=0)`` on hard inputs). MONAI
    ``MeanIoU(ignore_empty=True)`` (its default) is ``empty="ignore"``,
    ``ignore_empty=False`` is ``empty="one"``.

    References
    ----------
    Jaccard, "The distribution of the flora in the alpine zone", New Phytologist 11
    (1912).

    Examples
    --------
    >>> import numpy as np
    >>> pred = np.array([[[0, 1, 1, 0]]])
    >>> true = np.array([[[0, 1, 0, 0]]])
    >>> score = iou_score(pred, true, num_classes=2, reduction="none")  # float32
    >>> np.round(score.astype(np.float64), 4).tolist()
    [[0.6667, 0.5]]
    """
    return _overlap_score(y_pred, y_true, jaccard_ratio, caller="iou_score", mode=mode,
                          num_classes=num_classes, threshold=threshold,
                          include_background=include_background, empty=empty,
                          reduction=reduction)


# --------------------------------------------------------------------------- surfaces


@dataclass(frozen=True)
class _Summary:
    """What one direction of surface distances is reduced to, per image and class.

    ``kind``: ``"max"``, ``"percentile"`` (``q`` in [0, 100], linear interpolation
    as ``np.percentile``), ``"sum"``, or ``"within"`` (how many distances are
    ``<= tolerance[c]``).
    """

    kind: str
    q: float = 100.0
    tolerance: tuple[float, ...] = ()


def _dense_summary(summary: _Summary, distances: Array, points: Array, count: Array, *,
                   xp: Namespace) -> Array:
    """``summary`` of the distances at the ``points`` (bool, ``(N, C, *spatial)``)."""
    n, c = points.shape[:2]
    flat = xp.reshape(distances, (n, c, -1))
    on = xp.reshape(points, (n, c, -1))
    zero = xp.zeros_like(flat)
    if summary.kind == "max":
        return xp.max(xp.where(on, flat, zero), axis=-1)
    if summary.kind == "sum":
        return xp.sum(xp.where(on, flat, zero), axis=-1)
    if summary.kind == "within":
        tolerance = xp.reshape(as_like(summary.tolerance, flat, xp=xp), (1, c, 1))
        within = on & (flat <= tolerance * (1 + _TIE))
        return xp.astype(xp.count_nonzero(within, axis=-1), flat.dtype)
    # non-surface elements sort last; the largest finite value keeps the arithmetic
    # finite where a surface is empty (the empty policy replaces that entry)
    ordered = xp.sort(xp.where(on, flat, xp.full_like(flat, xp.finfo(flat.dtype).max)),
                      axis=-1)
    last = xp.maximum(count - 1, xp.zeros_like(count))
    position = xp.astype(last, flat.dtype) * (summary.q / 100)
    # the namespace's indexing dtype: int64 (torch's take_along_axis needs it), int32 on
    # JAX without x64 (an int64 request would warn there)
    index = xp.__array_namespace_info__().default_dtypes(device=device(flat))["indexing"]
    low = xp.astype(xp.floor(position), index)
    low = xp.minimum(low, last)  # position rounds below `last` + 1
    high = xp.minimum(low + 1, last)
    below = xp.take_along_axis(ordered, low[..., None], axis=-1)[..., 0]
    above = xp.take_along_axis(ordered, high[..., None], axis=-1)[..., 0]
    fraction = position - xp.astype(low, flat.dtype)
    return below + (above - below) * fraction


def _host_summary(summary: _Summary, distances: Any, c: int) -> float:
    """``summary`` of a 1-D NumPy array of the distances of one image and class."""
    import numpy as np

    if summary.kind == "max":
        return float(np.max(distances))
    if summary.kind == "sum":
        return float(np.sum(distances))
    if summary.kind == "within":
        return float(np.count_nonzero(distances <= summary.tolerance[c] * (1 + _TIE)))
    return float(np.percentile(distances, summary.q))


def _host_arrays(*arrays: Array) -> list[Any] | None:
    """NumPy views of concrete host arrays (NumPy, torch CPU) when SciPy is installed."""
    if not is_concrete(*arrays) or importlib.util.find_spec("scipy") is None:
        return None
    return host_arrays(*arrays, xp=get_namespace(*arrays))


Tables = tuple[Any, Any, Any, Any]  # forward, backward (None when directed), |∂P|, |∂G|


def _host_tables(pred: Any, true: Any, sampling: tuple[float, ...], summary: _Summary,
                 directed: bool) -> Tables:
    """The surface tables on the host: SciPy's erosion, then a KD-tree per surface.

    The same surfaces as ``_morphology.surface`` (``binary_erosion`` with the cross over
    the spatial axes only, ``border_value=0``) and exact distances from a KD-tree over
    the other surface's points (MONAI's CPU path), without a transform of the volume.
    Entries with an empty surface are left 0 for the caller's empty policy.
    """
    import numpy as np
    from scipy import ndimage
    from scipy.spatial import cKDTree

    cross = ndimage.generate_binary_structure(pred.ndim - 2, 1)[None, None]
    surfaces = [m & ~ndimage.binary_erosion(m, structure=cross, border_value=0)
                for m in (pred, true)]
    counts = [np.count_nonzero(s, axis=tuple(range(2, s.ndim))) for s in surfaces]
    scale = np.asarray(sampling, dtype=np.float64)
    forward, backward = np.zeros(counts[0].shape), np.zeros(counts[0].shape)
    for i, j in zip(*np.nonzero((counts[0] > 0) & (counts[1] > 0)), strict=True):
        points = [np.argwhere(s[i, j]) * scale for s in surfaces]
        trees = [cKDTree(p, leafsize=32) for p in points[::-1][: 1 if directed else 2]]
        forward[i, j] = _host_summary(summary, trees[0].query(points[0], k=1)[0], j)
        if not directed:
            backward[i, j] = _host_summary(summary, trees[1].query(points[1], k=1)[0], j)
    return forward, None if directed else backward, counts[0], counts[1]


def _generic_tables(masks: _Masks, sampling: tuple[float, ...], summary: _Summary,
                    directed: bool) -> Tables:
    """The surface tables with array-API operations only (static shapes, jit-safe).

    Both directions in one transform: the sources ``(∂P, ∂G)`` and targets ``(∂G, ∂P)``
    stacked along the batch axis (``2N`` images; ``N`` when ``directed``).
    """
    xp, axes = masks.xp, masks.spatial_axes
    pred, true = (surface(m, axes=axes, xp=xp) for m in (masks.pred, masks.true))
    sources, targets = (pred, true) if directed else (
        xp.concat([pred, true], axis=0), xp.concat([true, pred], axis=0))
    source_count, target_count = (xp.count_nonzero(s, axis=axes) for s in (sources, targets))
    distances = xp.astype(distance_transform_edt(~targets, spacing=sampling, axes=axes),
                          masks.dtype)
    # an empty target surface has no distances: zeros keep the arithmetic finite, the
    # empty policy replaces the entry afterwards
    empty = xp.reshape(target_count == 0, tuple(target_count.shape) + (1,) * len(axes))
    distances = xp.where(empty, xp.zeros_like(distances), distances)
    table = _dense_summary(summary, distances, sources, source_count, xp=xp)
    n = pred.shape[0]
    return (table[:n, ...], None if directed else table[n:, ...], source_count[:n, ...],
            target_count[:n, ...])


def _surface_metric(masks: _Masks, spacing: Spacing, summary: _Summary, *, directed: bool,
                    combine: Callable[..., Array], one_empty: float) -> Array:
    """The ``(N, C)`` table of a surface metric.

    ``combine(forward, backward, count_pred, count_true)`` makes the value from the
    two directed summaries (``backward`` is None when ``directed``). Both surfaces
    empty gives NaN, one empty ``one_empty``.
    """
    xp = masks.xp
    sampling = _checks.check_spacing(spacing, len(masks.spatial_axes))
    host = _host_arrays(masks.pred, masks.true)
    tables = (_generic_tables(masks, sampling, summary, directed) if host is None else
              _host_tables(host[0], host[1], sampling, summary, directed))
    forward, backward, k_pred, k_true = (
        None if t is None else xp.astype(xp.asarray(t, device=device(masks.pred)), masks.dtype)
        for t in tables)
    value = combine(forward, backward, k_pred, k_true)
    value = xp.where((k_pred == 0) | (k_true == 0), xp.full_like(value, one_empty), value)
    return xp.where((k_pred == 0) & (k_true == 0), xp.full_like(value, math.nan), value)


def _check_percentile(percentile: object) -> float | None:
    if percentile is None:
        return None
    value = _checks.check_number("percentile", percentile)
    if not 0 <= value <= 100:
        raise ValueError(f"`percentile` must lie in [0, 100] (or be None for the maximum), "
                         f"got {percentile!r}")
    return value


def _surface_masks(y_pred: Array, y_true: Array, *, mode: str, num_classes: int | None,
                   threshold: float, include_background: bool, reduction: str,
                   caller: str) -> _Masks:
    _check_reduction(reduction, _checks.REDUCTIONS)
    masks = _hard_masks(y_pred, y_true, mode=mode, num_classes=num_classes,
                        threshold=threshold, include_background=include_background,
                        caller=caller)
    if masks.pred.ndim < 3:
        raise ValueError(f"{caller} needs at least one spatial axis: `y_pred` has shape "
                         f"{tuple(y_pred.shape)} (mode={mode!r})")
    return masks


@declare("metrics", autograd=_NO_GRAD, compile=_NO_COMPILE, dask=_DISTANCE_DASK)
def hausdorff_distance(
    y_pred: Array, y_true: Array, *, mode: _checks.Mode = "multiclass",
    num_classes: int | None = None, threshold: float = 0.5, include_background: bool = True,
    reduction: MetricReduction = "mean", percentile: float | None = None,
    directed: bool = False, spacing: Spacing = None,
) -> Array:
    """Hausdorff distance between the surfaces of prediction and target (HD, HD95).

    %(inputs_metric)s
    %(reduction_metric)s
    percentile : float, optional
        ``None``: the maximum (the Hausdorff distance); a number in [0, 100]: that
        percentile of each directed set of distances, linearly interpolated like
        ``np.percentile`` (95 gives HD95).
    directed : bool
        Only the distances from the prediction's surface to the target's
        (``d(P → G)``); by default the larger of the two directions.
    %(spacing)s

    %(metric_result)s

    Notes
    -----
    ``HD_p = max(P_p{d(x, ∂G) : x ∈ ∂P}, P_p{d(y, ∂P) : y ∈ ∂G})`` with ``P_p`` the
    p-th percentile (the maximum without ``percentile``) and ``∂M = M ∧ ¬erode(M)``
    (cross-shaped element, outside the array counts as background): the larger of the
    two directed percentiles, as MONAI's ``compute_hausdorff_distance`` and DeepMind's
    ``surface-distance`` define it, not the percentile of the pooled distances.
    Empty surfaces: one empty gives ``inf``, both empty NaN (MONAI's convention for the
    maximum; ``"mean"`` then skips the NaN and keeps the ``inf``). MONAI's percentile
    of one empty mask is NaN (``torch.quantile`` of its all-``inf`` distances), ours
    ``inf``; MONAI reads ``percentile=0`` as the maximum (a falsy test), ours is the
    minimum. MONAI's default is
    ``include_background=False``. Distances via
    :func:`~segloss_xp.distance_transform_edt`, or, for concrete NumPy / torch CPU
    arrays with SciPy installed, SciPy's KD-tree over the surface points.

    References
    ----------
    Huttenlocher, Klanderman & Rucklidge, "Comparing images using the Hausdorff
    distance", IEEE TPAMI 15 (1993). Nikolov et al., "Clinically applicable
    segmentation of head and neck anatomy for radiotherapy", JMIR 23 (2021)
    (``surface-distance``).

    Examples
    --------
    >>> import numpy as np
    >>> true = np.zeros((1, 1, 5, 5), dtype=bool)
    >>> true[0, 0, 1:4, 1:4] = True
    >>> pred = np.zeros_like(true)
    >>> pred[0, 0, 1:4, 1:3] = True
    >>> float(hausdorff_distance(pred, true, mode="binary"))
    1.0
    """
    q = _check_percentile(percentile)
    _checks.check_bool("directed", directed)
    masks = _surface_masks(y_pred, y_true, mode=mode, num_classes=num_classes,
                           threshold=threshold, include_background=include_background,
                           reduction=reduction, caller="hausdorff_distance")
    xp = masks.xp
    summary = _Summary("max") if q is None else _Summary("percentile", q=q)

    def combine(forward: Array, backward: Array | None, *_: Array) -> Array:
        return forward if backward is None else xp.maximum(forward, backward)

    table = _surface_metric(masks, spacing, summary, directed=directed, combine=combine,
                            one_empty=math.inf)
    return masks.checks.poison(_reduce(table, reduction, xp=xp))


@declare("metrics", autograd=_NO_GRAD, compile=_NO_COMPILE, dask=_DISTANCE_DASK)
def average_surface_distance(
    y_pred: Array, y_true: Array, *, mode: _checks.Mode = "multiclass",
    num_classes: int | None = None, threshold: float = 0.5, include_background: bool = True,
    reduction: MetricReduction = "mean", symmetric: bool = True, spacing: Spacing = None,
) -> Array:
    """Average surface distance (ASSD when symmetric) between prediction and target.

    %(inputs_metric)s
    %(reduction_metric)s
    symmetric : bool
        The mean over the distances of both directions pooled (ASSD); ``False``: the
        mean distance from the prediction's surface to the target's only.
    %(spacing)s

    %(metric_result)s

    Notes
    -----
    Symmetric: ``(Σ_{x∈∂P} d(x, ∂G) + Σ_{y∈∂G} d(y, ∂P)) / (|∂P| + |∂G|)``, the mean of
    the concatenated distances, which is MONAI's ``compute_average_surface_distance(
    symmetric=True)`` (not the mean of the two directed means). Directed:
    ``Σ_{x∈∂P} d(x, ∂G) / |∂P|`` (MONAI's default, ``symmetric=False``). Surfaces and
    empty masks as in :func:`hausdorff_distance`: one empty gives ``inf``, both NaN.

    References
    ----------
    Heimann et al., "Comparison and evaluation of methods for liver segmentation from
    CT datasets", IEEE TMI 28 (2009).

    Examples
    --------
    >>> import numpy as np
    >>> true = np.zeros((1, 1, 5, 5), dtype=bool)
    >>> true[0, 0, 1:4, 1:4] = True
    >>> pred = np.zeros_like(true)
    >>> pred[0, 0, 1:4, 1:3] = True
    >>> round(float(average_surface_distance(pred, true, mode="binary")), 4)  # (1 + 3) / 14
    0.2857
    """
    _checks.check_bool("symmetric", symmetric)
    masks = _surface_masks(y_pred, y_true, mode=mode, num_classes=num_classes,
                           threshold=threshold, include_background=include_background,
                           reduction=reduction, caller="average_surface_distance")
    xp = masks.xp

    def combine(forward: Array, backward: Array | None, k_pred: Array, k_true: Array) -> Array:
        total, count = (forward, k_pred) if backward is None else (forward + backward,
                                                                   k_pred + k_true)
        return total / xp.where(count > 0, count, xp.ones_like(count))

    table = _surface_metric(masks, spacing, _Summary("sum"), directed=not symmetric,
                            combine=combine, one_empty=math.inf)
    return masks.checks.poison(_reduce(table, reduction, xp=xp))


@declare("metrics", autograd=_NO_GRAD, compile=_NO_COMPILE, dask=_DISTANCE_DASK)
def normalized_surface_dice(
    y_pred: Array, y_true: Array, *, mode: _checks.Mode = "multiclass",
    num_classes: int | None = None, threshold: float = 0.5, include_background: bool = True,
    reduction: MetricReduction = "mean", tolerance: float | Sequence[float],
    spacing: Spacing = None,
) -> Array:
    """Normalized surface Dice: the share of both surfaces within ``tolerance`` of the other.

    %(inputs_metric)s
    %(reduction_metric)s
    tolerance : float or sequence of float
        The distance (in units of ``spacing``) up to which a surface point counts as
        matched: one number for every class, or one per class (length C, background
        included, also when it is dropped: MONAI's ``class_thresholds`` then omit the
        background's entry); finite and >= 0. Required.
    %(spacing)s

    %(metric_result)s

    Notes
    -----
    ``NSD = (|{x ∈ ∂P : d(x, ∂G) ≤ τ}| + |{y ∈ ∂G : d(y, ∂P) ≤ τ}|) / (|∂P| + |∂G|)``
    over the surface points, MONAI's ``compute_surface_dice(class_thresholds=[τ_c],
    use_subvoxels=False)`` (DeepMind's ``surface-distance`` weighs surface elements by
    their area instead). A distance equal to ``τ`` up to a relative ``1e-6`` counts as
    within: a distance of exactly ``τ`` on the voxel lattice (``2.0 = |(2·0.8, 1.2)|``)
    would otherwise depend on rounding (MONAI's float32 distances include such ties).
    Both surfaces empty give NaN, one empty 0.

    References
    ----------
    Nikolov et al., "Clinically applicable segmentation of head and neck anatomy for
    radiotherapy", JMIR 23 (2021).

    Examples
    --------
    >>> import numpy as np
    >>> true = np.zeros((1, 1, 5, 5), dtype=bool)
    >>> true[0, 0, 1:4, 1:4] = True
    >>> pred = np.zeros_like(true)
    >>> pred[0, 0, 1:4, 1:3] = True
    >>> round(float(normalized_surface_dice(pred, true, mode="binary", tolerance=0.5)), 4)
    0.7143
    """
    masks = _surface_masks(y_pred, y_true, mode=mode, num_classes=num_classes,
                           threshold=threshold, include_background=include_background,
                           reduction=reduction, caller="normalized_surface_dice")
    xp = masks.xp
    classes = masks.pred.shape[1] + (0 if include_background or mode == "binary" else 1)
    tolerances = _checks.check_class_vector("tolerance", tolerance, classes, mode=mode,
                                            scalar=True)
    if not include_background and mode != "binary":
        tolerances = tolerances[1:]

    def combine(forward: Array, backward: Array | None, k_pred: Array, k_true: Array) -> Array:
        assert backward is not None
        count = k_pred + k_true
        return (forward + backward) / xp.where(count > 0, count, xp.ones_like(count))

    table = _surface_metric(masks, spacing, _Summary("within", tolerance=tolerances),
                            directed=False, combine=combine, one_empty=0.0)
    return masks.checks.poison(_reduce(table, reduction, xp=xp))

