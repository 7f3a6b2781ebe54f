"""Independent float64 reference implementation ("oracle") of the segloss_xp losses.

Everything here is plain NumPy in float64, written straight from the papers' formulas
with explicit loops over images and classes where that reads more clearly. It never
imports ``segloss_xp``: the conformance tests compare the library (on every backend)
against these numbers, so the two must not share code.

Conventions (DESIGN.md sections 2-5 and 7):

* ``y_pred`` is channels-first, ``(N, C, *spatial)``; binary mode is ``(N, 1, *spatial)``.
* ``y_true`` is an integer label map ``(N, *spatial)`` (multiclass only) or a float/bool
  array of ``y_pred``'s shape (one-hot, soft labels, binary or multilabel masks).
* ``mode`` is ``"multiclass"`` (softmax over axis 1), ``"binary"`` or ``"multilabel"``
  (elementwise sigmoid). ``from_logits=False`` means ``y_pred`` already holds probabilities.
* Ignored elements (``ignore_index``) contribute to no term; masked means divide by the
  number of valid elements. A mean over zero valid elements is defined here as 0 (torch
  would give NaN).
* Logarithms of *given* probabilities (``from_logits=False``) are clamped at −100:
  ``log p`` is ``max(log p, −100)`` and ``log(1 − p)`` is ``max(log1p(−p), −100)``, so
  ``log 0 = −100`` exactly. This is torch's convention
  (``torch.nn.functional.binary_cross_entropy`` clamps both logs at −100; the multiclass
  analogue is ``nll_loss(log(p).clamp(min=-100), y)``) and the library's: a probability
  of exactly 0 on a true class costs 100 per element instead of ``inf``, and every
  loss built on these logs (cross entropy, balanced CE, focal, the CE term of
  exp_log_loss and of the compound losses) inherits the clamp. From logits the logs
  are exact (``log_softmax`` / ``log_sigmoid``), never clamped. The probabilities
  themselves (region losses, the focal modulating factor) are used unclamped.
* ``0 * log(0)`` is taken as 0 wherever a target weight is exactly zero (the ``xlogy``
  convention), so a confident *right* prediction (p = 1 on the target, p = 0
  elsewhere) costs exactly 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "LOG_FLOOR", "balanced_cross_entropy", "bce_dice_loss", "combo_loss", "conservative_loss",
    "cross_entropy", "dice_ce_loss", "dice_focal_loss", "dice_loss", "exp_log_loss",
    "focal_loss", "focal_tversky_loss", "generalized_dice_loss", "jaccard_loss",
    "log_one_minus_probabilities", "log_probabilities", "log_sigmoid", "lovasz_grad",
    "lovasz_hinge_loss", "lovasz_softmax_loss", "mcc_loss", "probabilities", "soft_confusion",
    "targets_one_hot", "tversky_loss", "valid_mask",
]

F64 = NDArray[np.float64]
Mode = Literal["multiclass", "binary", "multilabel"]
Reduction = Literal["mean", "sum", "none"]
WeightType = Literal["square", "simple", "uniform"]

_MODES = ("multiclass", "binary", "multilabel")
_REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _class_vector(values: float | Sequence[float] | ArrayLike | None, num_classes: int,
                  name: str) -> F64:
    """A length-C float64 vector; ``None`` gives ones, a scalar is broadcast."""
    if values is None:
        return np.ones(num_classes, dtype=np.float64)
    vector = np.asarray(values, dtype=np.float64)
    if vector.ndim == 0:
        return np.full(num_classes, float(vector), dtype=np.float64)
    if vector.shape != (num_classes,):
        raise ValueError(f"{name} must have length C={num_classes}, got shape {vector.shape}")
    return vector


def _channel_view(vector: F64, ndim: int) -> F64:
    """Reshape a length-C vector to (1, C, 1, ..., 1) for broadcasting over (N, C, *sp)."""
    return vector.reshape((1, vector.shape[0]) + (1,) * (ndim - 2))


def _masked_mean(total: float, count: float) -> np.float64:
    """total / count, with 0 for an empty selection (every element ignored)."""
    if count == 0:
        return np.float64(0.0)
    return np.float64(total / count)


def _xlogy(weight: F64, log_value: F64) -> F64:
    """weight * log_value with the convention 0 * (-inf) = 0."""
    safe_log = np.where(weight == 0, 0.0, log_value)
    return np.where(weight == 0, 0.0, weight * safe_log)


# --------------------------------------------------------------------------------------
# Activations in float64
# --------------------------------------------------------------------------------------


def log_sigmoid(x: ArrayLike) -> F64:
    """Stable ``log(sigmoid(x)) = -log(1 + exp(-x)) = -logaddexp(0, -x)``.

    Exact for logits of magnitude 1e4: ``log_sigmoid(-1e4) == -1e4``,
    ``log_sigmoid(1e4) == -0.0``.
    """
    x = np.asarray(x, dtype=np.float64)
    return -np.logaddexp(0.0, -x)


def _logsumexp(x: F64, axis: int) -> F64:
    """``log(sum(exp(x)))`` along ``axis`` (kept), with the max subtracted first."""
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    return peak + np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True))


def _log_softmax(x: F64) -> F64:
    """``x - logsumexp(x)`` over the class axis 1."""
    return x - _logsumexp(x, axis=1)


def probabilities(y_pred: ArrayLike, mode: Mode = "multiclass", from_logits: bool = True) -> F64:
    """Class probabilities of ``y_pred`` (N, C, *spatial) in float64.

    multiclass: ``softmax`` over axis 1, computed as ``exp(x - logsumexp(x))``;
    binary/multilabel: elementwise ``sigmoid = exp(log_sigmoid(x))``.
    With ``from_logits=False`` the input is returned (as float64) unchanged.
    """
    _check_mode(mode)
    x = np.asarray(y_pred, dtype=np.float64)
    if not from_logits:
        return x.copy()
    return np.exp(log_probabilities(x, mode, from_logits=True))


# torch's binary_cross_entropy: "clamps its log function outputs to be greater than or
# equal to -100", so that a probability of exactly 0 or 1 gives a finite loss
LOG_FLOOR = -100.0


def log_probabilities(y_pred: ArrayLike, mode: Mode = "multiclass",
                      from_logits: bool = True) -> F64:
    """``log p`` computed in log space: ``log_softmax`` or ``log_sigmoid``.

    With ``from_logits=False``: ``max(log(y_pred), −100)`` (−100 where a probability
    is 0; :data:`LOG_FLOOR`, torch's convention).
    """
    _check_mode(mode)
    x = np.asarray(y_pred, dtype=np.float64)
    if not from_logits:
        with np.errstate(divide="ignore"):
            return np.maximum(np.log(x), LOG_FLOOR)
    if mode == "multiclass":
        return _log_softmax(x)
    return log_sigmoid(x)


def log_one_minus_probabilities(y_pred: ArrayLike, mode: Mode = "multiclass",
                                from_logits: bool = True) -> F64:
    """``log(1 - p)`` computed without cancellation.

    binary/multilabel: ``log(1 - sigmoid(x)) = log_sigmoid(-x)``.
    multiclass: ``log(1 - p_c) = logsumexp_{k != c}(x_k) - logsumexp_k(x_k)``.
    With ``from_logits=False``: ``max(log1p(−p), −100)`` (−100 where p is 1).
    """
    _check_mode(mode)
    x = np.asarray(y_pred, dtype=np.float64)
    if not from_logits:
        with np.errstate(divide="ignore"):
            return np.maximum(np.log1p(-x), LOG_FLOOR)
    if mode != "multiclass":
        return log_sigmoid(-x)
    total = _logsumexp(x, axis=1)
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        others = np.delete(x, c, axis=1)
        out[:, c] = (_logsumexp(others, axis=1) - total)[:, 0]
    return out


# --------------------------------------------------------------------------------------
# Targets and masks
# --------------------------------------------------------------------------------------


def _is_label_map(y_true: np.ndarray, mode: str, pred_ndim: int | None) -> bool:
    """Whether ``y_true`` is an integer class-index map (multiclass only)."""
    if mode != "multiclass":
        return False
    if pred_ndim is not None:
        return y_true.ndim == pred_ndim - 1
    return np.issubdtype(y_true.dtype, np.integer)


def targets_one_hot(y_true: ArrayLike, num_classes: int, mode: Mode = "multiclass", *,
                    pred_ndim: int | None = None) -> F64:
    """Class-indicator targets (N, C, *spatial) in float64.

    An integer label map (N, *spatial) becomes its one-hot encoding; labels outside
    ``[0, C)`` (ignore labels such as 255 or -100) give an all-zero column. Float/bool
    targets are returned as float64 unchanged. ``pred_ndim`` (``y_pred.ndim``) decides
    label map vs. dense target by shape; without it an integer dtype means a label map.
    """
    _check_mode(mode)
    raw = np.asarray(y_true)
    if _is_label_map(raw, mode, pred_ndim):
        labels = raw.astype(np.int64)
        out = np.zeros((labels.shape[0], num_classes, *labels.shape[1:]), dtype=np.float64)
        for c in range(num_classes):
            out[:, c] = labels == c
        return out
    dense = np.asarray(raw, dtype=np.float64)
    if dense.ndim < 2 or dense.shape[1] != num_classes:
        raise ValueError(f"dense targets need C={num_classes} on axis 1, got {dense.shape}")
    return dense


def valid_mask(y_true: ArrayLike, num_classes: int, mode: Mode = "multiclass",
               ignore_index: int | None = None, *, pred_ndim: int | None = None) -> F64:
    """Float mask of the non-ignored elements, broadcastable to (N, C, *spatial).

    * multiclass label map: ``label != ignore_index``, shape (N, 1, *spatial);
    * multiclass dense targets: if ``0 <= ignore_index < C`` the pixels with
      ``y_true[:, ignore_index] == 1`` are ignored, otherwise pixels whose target sums
      to 0 (MONAI's convention); shape (N, 1, *spatial);
    * binary/multilabel: elementwise ``y_true != ignore_index``, shape of ``y_true``.

    ``ignore_index=None`` gives all ones.
    """
    _check_mode(mode)
    raw = np.asarray(y_true)
    if mode != "multiclass":
        target = np.asarray(raw, dtype=np.float64)
        if ignore_index is None:
            return np.ones_like(target)
        return (target != ignore_index).astype(np.float64)
    if _is_label_map(raw, mode, pred_ndim):
        labels = raw.astype(np.int64)
        keep = np.ones(labels.shape, dtype=bool) if ignore_index is None else labels != ignore_index
        return keep[:, None].astype(np.float64)
    dense = np.asarray(raw, dtype=np.float64)
    if ignore_index is None:
        keep = np.ones(dense.shape[:1] + dense.shape[2:], dtype=bool)
    elif 0 <= ignore_index < num_classes:
        keep = dense[:, ignore_index] != 1
    else:
        keep = dense.sum(axis=1) != 0
    return keep[:, None].astype(np.float64)


def _prepare(y_pred: ArrayLike, y_true: ArrayLike, mode: str, ignore_index: int | None
             ) -> tuple[F64, F64, F64, NDArray[np.int64] | None]:
    """Validate shapes and values; return (x, g, m, labels).

    x: y_pred as float64 (N, C, *sp); g: class-indicator targets with ignored elements
    set to 0; m: valid mask broadcast to x.shape; labels: the int64 label map (ignored
    pixels keep their raw label) or None for dense targets.
    """
    _check_mode(mode)
    x = np.asarray(y_pred, dtype=np.float64)
    raw = np.asarray(y_true)
    if x.ndim < 2:
        raise ValueError(f"y_pred must be (N, C, *spatial), got shape {x.shape}")
    num_classes = x.shape[1]
    if mode == "multiclass" and num_classes < 2:
        raise ValueError("multiclass mode needs C >= 2; use mode='binary' for one channel")
    if mode == "binary" and num_classes != 1:
        raise ValueError(f"binary mode needs y_pred of shape (N, 1, *spatial), got {x.shape}")
    label_map = _is_label_map(raw, mode, x.ndim)
    if label_map:
        if raw.shape != x.shape[:1] + x.shape[2:]:
            raise ValueError(f"label map shape {raw.shape} does not fit y_pred {x.shape}")
        if not np.issubdtype(raw.dtype, np.integer):
            raise TypeError("an (N, *spatial) multiclass target must hold integer labels")
    elif raw.shape != x.shape:
        raise ValueError(f"y_true shape {raw.shape} does not match y_pred {x.shape} ({mode})")

    g = targets_one_hot(raw, num_classes, mode, pred_ndim=x.ndim)
    mask = valid_mask(raw, num_classes, mode, ignore_index, pred_ndim=x.ndim)
    m = np.broadcast_to(mask, x.shape).astype(np.float64)

    labels = None
    if label_map:
        labels = raw.astype(np.int64)
        bad = (labels < 0) | (labels >= num_classes)
        if ignore_index is not None:
            bad = bad & (labels != ignore_index)
        if np.any(bad):
            raise ValueError(f"labels outside [0, {num_classes}) that are not ignore_index")
    elif mode != "multiclass":
        kept = g[m == 1]
        if np.any((kept < 0) | (kept > 1)):
            raise ValueError("binary/multilabel targets must lie in [0, 1]")
    g = g * m
    return x, g, m, labels


# --------------------------------------------------------------------------------------
# Region losses: soft statistics and reduction
# --------------------------------------------------------------------------------------


def _pool_batch(a: F64) -> F64:
    """(N, C, *sp) -> (1, C, N*prod(sp)): the images laid end to end."""
    num_classes = a.shape[1]
    return np.moveaxis(a, 1, 0).reshape(num_classes, -1)[None]


def _region_sums(p: F64, g: F64, m: F64, *, squared: bool, batch: bool) -> dict[str, F64]:
    """Per (image, class) sums over space of the masked p and g.

    I = Σ p·g, P = Σ p^k, G = Σ g^k (k = 2 if squared else 1), plus the linear sums
    P1 = Σ p, G1 = Σ g and L1 = Σ |p - g| used by the soft-label intersection.
    """
    pm = p * m
    gm = g * m
    if batch:
        pm = _pool_batch(pm)
        gm = _pool_batch(gm)
    k = 2 if squared else 1
    shape = pm.shape[:2]
    sums = {name: np.zeros(shape, dtype=np.float64)
            for name in ("I", "P", "G", "P1", "G1", "L1", "L2")}
    for n in range(shape[0]):
        for c in range(shape[1]):
            pc = pm[n, c].ravel()
            gc = gm[n, c].ravel()
            sums["I"][n, c] = np.sum(pc * gc)
            sums["P"][n, c] = np.sum(pc**k)
            sums["G"][n, c] = np.sum(gc**k)
            sums["P1"][n, c] = np.sum(pc)
            sums["G1"][n, c] = np.sum(gc)
            sums["L1"][n, c] = np.sum(np.abs(pc - gc))
            sums["L2"][n, c] = np.sum((pc - gc) ** 2)
    sums["squared"] = np.full(shape, float(squared))
    return sums


def _ratio(numerator: F64, denominator: F64) -> F64:
    """numerator / denominator, with 1 where the denominator is exactly 0 (empty rule)."""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, dtype=np.float64),
                                                 np.asarray(denominator, dtype=np.float64))
    out = np.ones(numerator.shape, dtype=np.float64)
    nonzero = denominator != 0
    out[nonzero] = numerator[nonzero] / denominator[nonzero]
    return out


def _reduce_region(loss: F64, *, mode: str, include_background: bool,
                   class_weights: Sequence[float] | ArrayLike | None, reduction: str,
                   batch: bool) -> F64 | np.float64:
    """Drop class 0, weight per class, reduce (MONAI semantics: plain mean of w_c·loss)."""
    num_classes = loss.shape[1]
    weights = _class_vector(class_weights, num_classes, "class_weights")
    if not include_background and mode != "binary":
        loss = loss[:, 1:]
        weights = weights[1:]
    weighted = loss * weights[None, :]
    if reduction == "mean":
        return np.float64(np.mean(weighted)) if weighted.size else np.float64(0.0)
    if reduction == "sum":
        return np.float64(np.sum(weighted))
    return weighted[0] if batch else weighted


def _region_stats(y_pred: ArrayLike, y_true: ArrayLike, *, mode: str, from_logits: bool,
                  ignore_index: int | None, squared: bool, batch: bool) -> dict[str, F64]:
    x, g, m, _ = _prepare(y_pred, y_true, mode, ignore_index)
    p = probabilities(x, mode, from_logits)
    return _region_sums(p, g, m, squared=squared, batch=batch)


def soft_confusion(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
                   from_logits: bool = True, ignore_index: int | None = None,
                   squared: bool = False, batch: bool = False) -> tuple[F64, F64, F64]:
    """Soft confusion statistics per image and class.

    ``I = Σ_x p·g``, ``P = Σ_x p^k``, ``G = Σ_x g^k`` with ``k = 2`` if ``squared`` else 1,
    sums over the spatial elements of each image with ignored elements removed from p
    and g. ``batch=True`` also sums over the images.

    Returns
    -------
    (I, P, G) : each (N, C), or (C,) with ``batch=True`` (the pooled batch).
    """
    sums = _region_stats(y_pred, y_true, mode=mode, from_logits=from_logits,
                         ignore_index=ignore_index, squared=squared, batch=batch)
    stats = sums["I"], sums["P"], sums["G"]
    return tuple(s[0] for s in stats) if batch else stats  # type: ignore[return-value]


def _intersection(sums: dict[str, F64], soft_label: bool) -> F64:
    """I, or the soft-label form (Wang et al., MONAI ``compute_tp_fp_fn``).

    Linear denominators: the L1 identity (|p|₁ + |g|₁ − |p − g|₁)/2. Squared (V-Net)
    denominators: MONAI uses the same identity in the L2 norm,
    (|p|₂² + |g|₂² − |p − g|₂²)/2, so the ratio stays a Dice of the squared form.
    """
    if soft_label:
        if np.all(sums["squared"] == 1.0):
            return (sums["P"] + sums["G"] - sums["L2"]) / 2.0
        return (sums["P1"] + sums["G1"] - sums["L1"]) / 2.0
    return sums["I"]


def dice_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
              from_logits: bool = True, ignore_index: int | None = None, smooth: float = 1e-5,
              squared: bool = False, batch: bool = False, soft_label: bool = False,
              include_background: bool = True,
              class_weights: Sequence[float] | ArrayLike | None = None,
              reduction: Reduction = "mean") -> F64 | np.float64:
    """Soft Dice loss.

    ``loss_{n,c} = 1 − (2 I + s) / (P + G + s)`` with the soft statistics of
    :func:`soft_confusion` (``P``, ``G`` squared when ``squared=True``, V-Net). With
    ``soft_label=True``, ``I = (Σp + Σg − Σ|p − g|)/2`` (linear sums). A zero
    denominator (only with ``smooth=0``) gives score 1, loss 0.

    Reduction: ``include_background=False`` drops class 0 (not in binary mode);
    ``class_weights`` (length C) multiply the per-(n, c) loss; ``"mean"`` is the plain
    mean over the remaining entries, ``"sum"`` the sum, ``"none"`` the (N, C') array
    ((C',) with ``batch=True``).

    References
    ----------
    Milletari et al., "V-Net", 3DV 2016; Sudre et al. 2017; MONAI ``DiceLoss``.
    """
    _check_reduction(reduction)
    sums = _region_stats(y_pred, y_true, mode=mode, from_logits=from_logits,
                         ignore_index=ignore_index, squared=squared, batch=batch)
    intersection = _intersection(sums, soft_label)
    score = _ratio(2.0 * intersection + smooth, sums["P"] + sums["G"] + smooth)
    return _reduce_region(1.0 - score, mode=mode, include_background=include_background,
                          class_weights=class_weights, reduction=reduction, batch=batch)


def jaccard_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
                 from_logits: bool = True, ignore_index: int | None = None,
                 smooth: float = 1e-5, squared: bool = False, batch: bool = False,
                 soft_label: bool = False, include_background: bool = True,
                 class_weights: Sequence[float] | ArrayLike | None = None,
                 reduction: Reduction = "mean") -> F64 | np.float64:
    """Soft Jaccard (IoU) loss: ``1 − (I + s) / (P + G − I + s)``.

    Same statistics, empty rule and reduction as :func:`dice_loss`.

    References
    ----------
    Rahman & Wang, "Optimizing intersection-over-union in deep neural networks", 2016.
    """
    _check_reduction(reduction)
    sums = _region_stats(y_pred, y_true, mode=mode, from_logits=from_logits,
                         ignore_index=ignore_index, squared=squared, batch=batch)
    intersection = _intersection(sums, soft_label)
    score = _ratio(intersection + smooth, sums["P"] + sums["G"] - intersection + smooth)
    return _reduce_region(1.0 - score, mode=mode, include_background=include_background,
                          class_weights=class_weights, reduction=reduction, batch=batch)


def _tversky_index(sums: dict[str, F64], alpha: float, beta: float, smooth: float,
                   soft_label: bool) -> F64:
    """T = (I + s) / (I + α·FP + β·FN + s), FP = ΣP − I, FN = ΣG − I (linear sums)."""
    intersection = _intersection(sums, soft_label)
    false_pos = sums["P1"] - intersection
    false_neg = sums["G1"] - intersection
    return _ratio(intersection + smooth,
                  intersection + alpha * false_pos + beta * false_neg + smooth)


def tversky_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
                 from_logits: bool = True, ignore_index: int | None = None,
                 alpha: float = 0.5, beta: float = 0.5, smooth: float = 1e-5,
                 batch: bool = False, soft_label: bool = False, include_background: bool = True,
                 class_weights: Sequence[float] | ArrayLike | None = None,
                 reduction: Reduction = "mean") -> F64 | np.float64:
    """Tversky loss: ``1 − (I + s) / (I + α·FP + β·FN + s)``, α weights false positives.

    ``FP = Σp − I``, ``FN = Σg − I`` (linear sums). ``α = β = 0.5`` gives Dice.

    References
    ----------
    Salehi et al., "Tversky loss function for image segmentation using 3D fully
    convolutional deep networks", MLMI 2017.
    """
    _check_reduction(reduction)
    sums = _region_stats(y_pred, y_true, mode=mode, from_logits=from_logits,
                         ignore_index=ignore_index, squared=False, batch=batch)
    index = _tversky_index(sums, alpha, beta, smooth, soft_label)
    return _reduce_region(1.0 - index, mode=mode, include_background=include_background,
                          class_weights=class_weights, reduction=reduction, batch=batch)


def focal_tversky_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
                       from_logits: bool = True, ignore_index: int | None = None,
                       alpha: float = 0.3, beta: float = 0.7, gamma: float = 0.75,
                       smooth: float = 1e-5, batch: bool = False, soft_label: bool = False,
                       include_background: bool = True,
                       class_weights: Sequence[float] | ArrayLike | None = None,
                       reduction: Reduction = "mean") -> F64 | np.float64:
    """Focal Tversky loss: ``(1 − T)^gamma`` per (image, class), T the Tversky index.

    The exponent is applied per (n, c) before class averaging (not to the class mean,
    as smp does). ``gamma=0.75`` is Abraham & Khan's ``1/γ`` with ``γ = 4/3``.

    References
    ----------
    Abraham & Khan, "A novel focal Tversky loss function with improved attention U-Net
    for lesion segmentation", ISBI 2019.
    """
    _check_reduction(reduction)
    sums = _region_stats(y_pred, y_true, mode=mode, from_logits=from_logits,
                         ignore_index=ignore_index, squared=False, batch=batch)
    index = _tversky_index(sums, alpha, beta, smooth, soft_label)
    # 1 − T is ≥ 0 mathematically; clip rounding noise so a fractional power stays real.
    loss = np.maximum(1.0 - index, 0.0) ** gamma
    return _reduce_region(loss, mode=mode, include_background=include_background,
                          class_weights=class_weights, reduction=reduction, batch=batch)


def generalized_dice_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
                          from_logits: bool = True, ignore_index: int | None = None,
                          weight_type: WeightType = "square", smooth: float = 1e-5,
                          batch: bool = False, include_background: bool = True,
                          reduction: Reduction = "mean") -> F64 | np.float64:
    """Generalized Dice loss (Sudre et al. 2017), one ratio per image over classes.

    ``score_n = (2 Σ_c w_c I_c + s) / (Σ_c w_c (P_c + G_c) + s)``, ``loss_n = 1 − score_n``
    with ``w_c = 1/G_c²`` (``"square"``), ``1/G_c`` (``"simple"``) or 1 (``"uniform"``).
    A class with an infinite weight (``G_c = 0``, or ``1/G_c²`` overflowing) gets the
    largest finite weight of that image; if every included class is absent all weights
    are 0 (MONAI's convention).
    ``batch=True`` pools the statistics over the images (one ratio).

    Returns
    -------
    ``"none"``: (N,) (``()`` with ``batch=True``: one ratio); ``"mean"``/``"sum"`` over those.

    References
    ----------
    Sudre et al., "Generalised Dice overlap as a deep learning loss function for highly
    unbalanced segmentations", DLMIA 2017.
    """
    _check_reduction(reduction)
    if weight_type not in ("square", "simple", "uniform"):
        raise ValueError(f"weight_type must be square/simple/uniform, got {weight_type!r}")
    sums = _region_stats(y_pred, y_true, mode=mode, from_logits=from_logits,
                         ignore_index=ignore_index, squared=False, batch=batch)
    intersection, pred_sum, target_sum = sums["I"], sums["P"], sums["G"]
    if not include_background and mode != "binary":
        intersection, pred_sum, target_sum = (intersection[:, 1:], pred_sum[:, 1:],
                                              target_sum[:, 1:])
    losses = np.zeros(intersection.shape[0], dtype=np.float64)
    for n in range(intersection.shape[0]):
        weights = np.zeros(intersection.shape[1], dtype=np.float64)
        # an infinite weight (G_c = 0, or 1/G_c² overflowing) marks the class absent
        with np.errstate(divide="ignore", over="ignore"):
            inverse = 1.0 / target_sum[n] ** 2 if weight_type == "square" else 1.0 / target_sum[n]
        present = np.isfinite(inverse) & (target_sum[n] > 0)
        for c in range(intersection.shape[1]):
            if weight_type == "uniform":
                weights[c] = 1.0
            elif present[c]:
                weights[c] = (1.0 / target_sum[n, c] ** 2 if weight_type == "square"
                              else 1.0 / target_sum[n, c])
        if weight_type != "uniform":
            fill = weights[present].max() if present.any() else 0.0
            weights[~present] = fill
        numerator = 2.0 * np.sum(weights * intersection[n]) + smooth
        denominator = np.sum(weights * (pred_sum[n] + target_sum[n])) + smooth
        losses[n] = 1.0 - _ratio(numerator, denominator)
    if reduction == "mean":
        return np.float64(np.mean(losses))
    if reduction == "sum":
        return np.float64(np.sum(losses))
    return losses[0] if batch else losses


def exp_log_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
                 from_logits: bool = True, ignore_index: int | None = None,
                 gamma_dice: float = 0.3, gamma_ce: float = 0.3, w_dice: float = 0.8,
                 w_ce: float = 0.2, smooth: float = 1.0) -> np.float64:
    """Exponential logarithmic loss (Wong et al. 2018), multiclass.

    ``L = w_dice · mean_{n,c}((−ln Dice_{n,c})^γ_dice)
          + w_ce · mean_x(w_l · (−ln p_l(x))^γ_ce)``

    with ``Dice_{n,c} = (2 I + s)/(P + G + s)`` per image and class, ``l`` the true label
    of pixel x and ``w_l = (Σ_k f_k / f_l)^0.5``, ``f_k`` the number of (valid) pixels of
    label k in the whole batch. Dense targets q generalise the CE term to
    ``Σ_k q_k w_k (−ln p_k)^γ_ce`` with ``f_k = Σ_x q_k`` (identical for one-hot).
    ``−ln Dice`` is clipped at 0 so rounding above 1 cannot make the power complex.

    References
    ----------
    Wong et al., "3D segmentation with exponential logarithmic loss for highly
    unbalanced object sizes", MICCAI 2018.
    """
    if mode != "multiclass":
        raise ValueError("exp_log_loss is defined for mode='multiclass'")
    x, g, m, _ = _prepare(y_pred, y_true, mode, ignore_index)
    p = probabilities(x, mode, from_logits)
    sums = _region_sums(p, g, m, squared=False, batch=False)
    dice = _ratio(2.0 * sums["I"] + smooth, sums["P"] + sums["G"] + smooth)
    with np.errstate(divide="ignore"):
        neg_log_dice = np.maximum(-np.log(dice), 0.0)
    dice_term = np.mean(neg_log_dice**gamma_dice)

    logp = log_probabilities(x, mode, from_logits)
    num_classes = x.shape[1]
    freq = np.array([np.sum(g[:, k]) for k in range(num_classes)])
    label_weight = np.zeros(num_classes, dtype=np.float64)
    for k in range(num_classes):
        if freq[k] > 0:
            label_weight[k] = (freq.sum() / freq[k]) ** 0.5
    pixel_loss = np.zeros(x.shape[:1] + x.shape[2:], dtype=np.float64)
    for k in range(num_classes):
        neg_log = np.maximum(-np.where(g[:, k] > 0, logp[:, k], 0.0), 0.0)
        term = np.where(g[:, k] > 0, g[:, k] * label_weight[k] * neg_log**gamma_ce, 0.0)
        pixel_loss = pixel_loss + term
    valid = m[:, 0]
    ce_term = _masked_mean(np.sum(pixel_loss * valid), np.sum(valid))
    return np.float64(w_dice * dice_term + w_ce * ce_term)


def mcc_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
             from_logits: bool = True, ignore_index: int | None = None,
             class_weights: Sequence[float] | ArrayLike | None = None,
             include_background: bool = True, eps: float = 1e-5, batch: bool = False,
             reduction: Reduction = "mean") -> F64 | np.float64:
    """Matthews correlation coefficient loss, per image and class.

    Soft confusion counts over the valid (non-ignored) elements of image n, class c:
    ``TP = Σ p·g``, ``FP = Σ p·(1 − g)``, ``FN = Σ (1 − p)·g``, ``TN = Σ (1 − p)(1 − g)``
    (so ``FP = P − I``, ``FN = G − I``, ``TN = S − P − G + I`` with S the number of valid
    elements), and

    ``loss = 1 − (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN) + eps)``.

    The four marginals are computed as sums of non-negative terms (``TP+FP = Σp``,
    ``TP+FN = Σg``, ``TN+FP = Σ(1−g)``, ``TN+FN = Σ(1−p)``) so an exact 0 stays 0. A zero
    denominator (only with ``eps=0``: a class absent from the target or the prediction,
    or filling it) gives MCC 0, loss 1. With ``eps > 0`` such a class also gives exactly
    MCC 0 (the numerator is 0), so an absent class always scores loss 1 with a zero
    gradient (no "perfect prediction" special case, unlike MONAI's ``MCCLoss``).
    ``batch=True`` pools every count (S too) over the images. Reduction as
    :func:`dice_loss` (``include_background``, ``class_weights`` as a plain product,
    ``"none"`` → (N, C') or (C',)).

    References
    ----------
    Abhishek & Hamarneh, "Matthews correlation coefficient loss for deep convolutional
    networks: application to skin lesion segmentation", ISBI 2021, Eqs. 3-5.
    """
    _check_reduction(reduction)
    x, g, m, _ = _prepare(y_pred, y_true, mode, ignore_index)
    p = probabilities(x, mode, from_logits)
    positive = _region_sums(p, g, m, squared=False, batch=batch)
    negative = _region_sums(1.0 - p, 1.0 - g, m, squared=False, batch=batch)
    tp = positive["I"]
    tn = negative["I"]
    pred_pos, target_pos = positive["P1"], positive["G1"]  # TP + FP, TP + FN
    pred_neg, target_neg = negative["P1"], negative["G1"]  # TN + FN, TN + FP
    false_pos = pred_pos - tp
    false_neg = target_pos - tp
    numerator = tp * tn - false_pos * false_neg
    product = pred_pos * target_pos * pred_neg * target_neg
    denominator = np.sqrt(product + eps)
    mcc = np.zeros(numerator.shape, dtype=np.float64)
    nonzero = denominator != 0
    mcc[nonzero] = numerator[nonzero] / denominator[nonzero]
    return _reduce_region(1.0 - mcc, mode=mode, include_background=include_background,
                          class_weights=class_weights, reduction=reduction, batch=batch)


# --------------------------------------------------------------------------------------
# Pixel losses
# --------------------------------------------------------------------------------------


def _reduce_pixels(loss: F64, count: float, reduction: str) -> F64 | np.float64:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.float64(np.sum(loss))
    return _masked_mean(float(np.sum(loss)), count)


def cross_entropy(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
                  from_logits: bool = True,
                  class_weights: Sequence[float] | ArrayLike | None = None,
                  pos_weight: float | Sequence[float] | ArrayLike | None = None,
                  label_smoothing: float = 0.0, pixel_weights: ArrayLike | None = None,
                  ignore_index: int | None = None,
                  reduction: Reduction = "mean") -> F64 | np.float64:
    """Cross entropy with torch semantics.

    multiclass, per pixel: ``l = −Σ_c w_c q_c log p_c`` with ``q`` the one-hot (label
    map) or dense target, label-smoothed as ``q(1 − ε) + ε/C``. ``"mean"`` with a label
    map and ``class_weights`` divides by ``Σ_pixels w_{y_pixel}`` (torch's weighted mean;
    with label smoothing this equals torch's ``(1−ε)·nll + ε/C·smooth_term``, both parts
    over the same weight sum); with dense targets it divides by the number of valid
    pixels (torch's probability-target semantics). ``"none"``: (N, *spatial), 0 where
    ignored.

    binary/multilabel, per element: BCE with logits
    ``l = −[pw·y·log σ(x) + (1 − y)·log(1 − σ(x))]`` (``pos_weight`` pw scalar or per
    channel), ``y`` smoothed as ``y(1 − ε) + ε/2``, times per-channel ``class_weights``;
    ``"mean"`` over valid elements; ``"none"``: (N, C, *spatial).

    ``pixel_weights`` (N, *spatial) multiply the per-pixel loss; when given, ``"mean"``
    divides by the number of valid pixels (valid elements for binary/multilabel), never
    by a weight sum.

    References
    ----------
    ``torch.nn.functional.cross_entropy`` / ``binary_cross_entropy_with_logits``;
    Szegedy et al. 2016 (label smoothing).
    """
    _check_reduction(reduction)
    x, g, m, labels = _prepare(y_pred, y_true, mode, ignore_index)
    num_classes = x.shape[1]
    eps = float(label_smoothing)
    pix_w = None if pixel_weights is None else np.asarray(pixel_weights, dtype=np.float64)
    if pix_w is not None and pix_w.shape != x.shape[:1] + x.shape[2:]:
        raise ValueError(f"pixel_weights must be (N, *spatial), got {pix_w.shape}")
    weights = _class_vector(class_weights, num_classes, "class_weights")
    logp = log_probabilities(x, mode, from_logits)

    if mode == "multiclass":
        if pos_weight is not None:
            raise ValueError("pos_weight applies to binary/multilabel mode only")
        valid = m[:, 0]
        target = (g * (1.0 - eps) + eps / num_classes) * m
        loss = np.zeros(valid.shape, dtype=np.float64)
        for c in range(num_classes):
            loss = loss - weights[c] * _xlogy(target[:, c], logp[:, c])
        loss = loss * valid
        if pix_w is not None:
            loss = loss * pix_w
        if reduction != "mean":
            return _reduce_pixels(loss, 0.0, reduction)
        if pix_w is None and labels is not None and class_weights is not None:
            # torch: weighted mean over Σ w_{y} of the non-ignored pixels
            count = sum(weights[c] * np.sum((labels == c) & (valid == 1))
                        for c in range(num_classes))
        else:
            count = np.sum(valid)
        return _reduce_pixels(loss, float(count), reduction)

    log_neg = log_one_minus_probabilities(x, mode, from_logits)
    pos = _channel_view(_class_vector(pos_weight, num_classes, "pos_weight"), x.ndim)
    target = g * (1.0 - eps) + eps / 2.0
    loss = -(pos * _xlogy(target, logp) + _xlogy(1.0 - target, log_neg))
    loss = loss * _channel_view(weights, x.ndim) * m
    if pix_w is not None:
        loss = loss * pix_w[:, None]
    return _reduce_pixels(loss, float(np.sum(m)), reduction)


def balanced_cross_entropy(y_pred: ArrayLike, y_true: ArrayLike, *,
                           mode: Mode = "multiclass", from_logits: bool = True,
                           beta: float = 0.5, ignore_index: int | None = None,
                           reduction: Reduction = "mean") -> F64 | np.float64:
    """Balanced (β-weighted) binary cross entropy, elementwise.

    ``l = −(β·y·log p + (1 − β)(1 − y)·log(1 − p))``; ``"mean"`` over valid elements,
    ``"none"``: (N, C, *spatial). In multiclass mode the same elementwise formula is
    applied to the softmax probabilities against the one-hot target (one-vs-rest per
    class, mean over valid pixels × C).

    References
    ----------
    Xie & Tu, "Holistically-nested edge detection", ICCV 2015 (class-balanced CE);
    Taghanaki et al. 2019 (the modified CE of the Combo loss).
    """
    _check_reduction(reduction)
    x, g, m, _ = _prepare(y_pred, y_true, mode, ignore_index)
    logp = log_probabilities(x, mode, from_logits)
    log_neg = log_one_minus_probabilities(x, mode, from_logits)
    loss = -(beta * _xlogy(g, logp) + (1.0 - beta) * _xlogy(1.0 - g, log_neg)) * m
    return _reduce_pixels(loss, float(np.sum(m)), reduction)


def _focal_alpha(alpha: float | Sequence[float] | ArrayLike | None, num_classes: int) -> F64:
    """Per-class α for softmax focal: None → 1, float → [1 − α, α, …, α], sequence as is."""
    if alpha is None:
        return np.ones(num_classes, dtype=np.float64)
    values = np.asarray(alpha, dtype=np.float64)
    if values.ndim == 0:
        out = np.full(num_classes, float(values), dtype=np.float64)
        out[0] = 1.0 - float(values)
        return out
    return _class_vector(values, num_classes, "alpha")


def _check_unit_interval(values: F64, name: str) -> None:
    if np.any((values < 0) | (values > 1)):
        raise ValueError(f"{name} must lie in [0, 1], got {values}")


def focal_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
               from_logits: bool = True, gamma: float = 2.0,
               alpha: float | Sequence[float] | ArrayLike | None = None,
               class_weights: Sequence[float] | ArrayLike | None = None,
               pos_weight: float | Sequence[float] | ArrayLike | None = None,
               ignore_index: int | None = None,
               reduction: Reduction = "mean") -> F64 | np.float64:
    """Focal loss ``FL = −α_t (1 − p_t)^γ log p_t``.

    binary/multilabel (sigmoid per element, soft target y), for channel c:
    ``l = w_c · α_t · (1 − p_t)^γ · (−[pw_c·y·log p + (1 − y)·log(1 − p)])`` with
    ``1 − p_t = y(1 − p) + (1 − y)p`` and ``α_t = α_c·y + (1 − α_c)(1 − y)``. ``alpha``:
    None (α_t = 1), a float (the same α_c = α for every channel) or a length-C sequence;
    ``class_weights`` w (length C, or a float) multiply channel c's loss; ``pos_weight``
    pw (float or length C) multiplies the positive log term inside the focal form, as
    torch's ``binary_cross_entropy_with_logits(pos_weight=...)`` does (``gamma=0`` without
    α is exactly :func:`cross_entropy` with the same ``pos_weight``/``class_weights``).
    ``"none"``: (N, C, *spatial); ``"mean"``: sum over valid elements / their number.

    multiclass (softmax focal): per pixel ``−Σ_c w_c α_c q_c (1 − p_c)^γ log p_c`` with q
    the one-hot or dense target; α None → 1, float → ``[1 − α, α, …, α]``, sequence per
    class; ``class_weights`` w_c multiply class c's term (a plain product, like α: the
    mean is still over valid pixels, not torch CE's weighted mean over Σ w_y).
    ``pos_weight`` is a ValueError. ``"none"``: (N, *spatial); mean over valid pixels.
    ``gamma=0`` without α and weights equals :func:`cross_entropy`.

    References
    ----------
    Lin et al., "Focal loss for dense object detection", ICCV 2017.
    """
    _check_reduction(reduction)
    x, g, m, _ = _prepare(y_pred, y_true, mode, ignore_index)
    num_classes = x.shape[1]
    logp = log_probabilities(x, mode, from_logits)
    log_neg = log_one_minus_probabilities(x, mode, from_logits)
    weights = _class_vector(class_weights, num_classes, "class_weights")

    if mode == "multiclass":
        if pos_weight is not None:
            raise ValueError("pos_weight applies to binary/multilabel focal_loss only")
        alphas = _focal_alpha(alpha, num_classes)
        valid = m[:, 0]
        loss = np.zeros(valid.shape, dtype=np.float64)
        for c in range(num_classes):
            modulating = np.exp(log_neg[:, c]) ** gamma
            loss = loss - weights[c] * alphas[c] * modulating * _xlogy(g[:, c], logp[:, c])
        loss = loss * valid
        return _reduce_pixels(loss, float(np.sum(valid)), reduction)

    prob = np.exp(logp)
    prob_neg = np.exp(log_neg)
    one_minus_pt = g * prob_neg + (1.0 - g) * prob
    pos = _channel_view(_class_vector(pos_weight, num_classes, "pos_weight"), x.ndim)
    bce = -(pos * _xlogy(g, logp) + _xlogy(1.0 - g, log_neg))
    if alpha is None:
        alpha_t: F64 | float = 1.0
    else:
        alphas = _class_vector(alpha, num_classes, "alpha")
        _check_unit_interval(alphas, "alpha")
        a = _channel_view(alphas, x.ndim)
        alpha_t = a * g + (1.0 - a) * (1.0 - g)
    loss = alpha_t * one_minus_pt**gamma * bce * _channel_view(weights, x.ndim) * m
    return _reduce_pixels(loss, float(np.sum(m)), reduction)


def conservative_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
                      from_logits: bool = True, lam: float = 5.0, base: float = math.e,
                      eps: float = 1e-6, ignore_index: int | None = None,
                      reduction: Reduction = "mean") -> F64 | np.float64:
    """Conservative loss ``CL = λ (1 + log_a p_t)² · log_a(−log_a p_t)``.

    ``p_t``: probability of the true class (multiclass; ``Σ_c q_c p_c`` for dense
    targets q), or ``p`` where y = 1 and ``1 − p`` where y = 0 (binary/multilabel;
    ``y·p + (1 − y)(1 − p)`` for soft y), clipped to ``[eps, 1 − eps]``; ``log_a`` is the
    logarithm in base ``base``. Mean over valid pixels (multiclass) / elements.
    ``"none"``: (N, *spatial) or (N, C, *spatial).

    References
    ----------
    Zhu et al., "Penalizing top performers: conservative loss for semantic segmentation
    adaptation", ECCV 2018 (DESIGN §4 cites it as Zhu et al. 2018).
    """
    _check_reduction(reduction)
    x, g, m, _ = _prepare(y_pred, y_true, mode, ignore_index)
    p = probabilities(x, mode, from_logits)
    if mode == "multiclass":
        p_t = np.sum(g * p, axis=1)
        valid = m[:, 0]
    else:
        p_t = g * p + (1.0 - g) * (1.0 - p)
        valid = m
    p_t = np.clip(p_t, eps, 1.0 - eps)
    log_base = math.log(base)
    log_a = np.log(p_t) / log_base
    loss = lam * (1.0 + log_a) ** 2 * (np.log(-log_a) / log_base)
    loss = loss * valid
    return _reduce_pixels(loss, float(np.sum(valid)), reduction)


# --------------------------------------------------------------------------------------
# Lovász losses (Berman et al. 2018, Algorithm 1; reference pytorch/lovasz_losses.py)
# --------------------------------------------------------------------------------------


def lovasz_grad(gt_sorted: ArrayLike) -> F64:
    """Gradient of the Lovász extension of the Jaccard loss w.r.t. sorted errors.

    ``inter = Σgt − cumsum(gt)``, ``union = Σgt + cumsum(1 − gt)``,
    ``J = 1 − inter/union``; ``grad[0] = J[0]``, ``grad[k] = J[k] − J[k−1]``.

    References
    ----------
    Berman, Rannen Triki & Blaschko, "The Lovász-Softmax loss", CVPR 2018, Algorithm 1.
    """
    gt = np.asarray(gt_sorted, dtype=np.float64).ravel()
    total = gt.sum()
    intersection = total - np.cumsum(gt)
    union = total + np.cumsum(1.0 - gt)
    jaccard = 1.0 - intersection / union
    grad = jaccard.copy()
    if gt.size > 1:
        grad[1:] = jaccard[1:] - jaccard[:-1]
    return grad


def _lovasz_softmax_flat(probs: F64, labels: NDArray[np.int64],
                         classes: str | Sequence[int]) -> float:
    """probs (P, C), labels (P,) of valid pixels only; the reference's flat loss."""
    if probs.shape[0] == 0:
        return 0.0
    num_classes = probs.shape[1]
    class_ids = list(range(num_classes)) if isinstance(classes, str) else list(classes)
    losses = []
    for c in class_ids:
        foreground = (labels == c).astype(np.float64)
        if classes == "present" and foreground.sum() == 0:
            continue
        errors = np.abs(foreground - probs[:, c])
        order = np.argsort(-errors, kind="stable")
        losses.append(float(np.dot(errors[order], lovasz_grad(foreground[order]))))
    return float(np.mean(losses)) if losses else 0.0


def lovasz_softmax_loss(y_pred: ArrayLike, y_true: ArrayLike, *,
                        classes: str | Sequence[int] = "present", per_image: bool = False,
                        from_logits: bool = True,
                        ignore_index: int | None = None) -> np.float64:
    """Multiclass Lovász-Softmax loss.

    For each class c: ``e = |1[y = c] − p_c|`` over the valid pixels, sorted
    descending, ``loss_c = <e_sorted, lovasz_grad(1[y = c]_sorted)>``; the class mean
    runs over ``"present"`` classes (in the target), ``"all"``, or the listed ids; no
    class to average gives 0. Ignored pixels are dropped (boolean indexing, as the
    reference). ``per_image=True``: the loss per image, then the plain mean over all
    images (an image with nothing valid contributes 0, as in the reference).
    Dense targets are converted to labels by argmax over axis 1.

    References
    ----------
    Berman et al., CVPR 2018; bermanmaxim/LovaszSoftmax ``lovasz_softmax``.
    """
    if isinstance(classes, str) and classes not in ("present", "all"):
        raise ValueError(f"classes must be 'present', 'all' or a sequence, got {classes!r}")
    x, _, m, labels = _prepare(y_pred, y_true, "multiclass", ignore_index)
    if labels is None:
        labels = np.argmax(np.asarray(y_true, dtype=np.float64), axis=1).astype(np.int64)
    probs = probabilities(x, "multiclass", from_logits)
    valid = m[:, 0] == 1
    num_classes = x.shape[1]

    def flat(p: F64, lab: NDArray[np.int64], keep: NDArray[np.bool_]) -> float:
        p_flat = np.moveaxis(p, 0, -1).reshape(-1, num_classes)
        return _lovasz_softmax_flat(p_flat[keep.ravel()], lab.ravel()[keep.ravel()], classes)

    if per_image:
        return np.float64(np.mean([flat(probs[n], labels[n], valid[n])
                                   for n in range(x.shape[0])]))
    return np.float64(flat(np.moveaxis(probs, 1, 0), labels, valid))


def _lovasz_hinge_flat(logits: F64, labels: F64) -> float:
    if logits.size == 0:
        return 0.0
    signs = 2.0 * labels - 1.0
    errors = 1.0 - logits * signs
    order = np.argsort(-errors, kind="stable")
    return float(np.dot(np.maximum(errors[order], 0.0), lovasz_grad(labels[order])))


def lovasz_hinge_loss(y_pred: ArrayLike, y_true: ArrayLike, *, per_image: bool = True,
                      ignore_index: int | None = None) -> np.float64:
    """Binary Lovász hinge loss on logits.

    ``e = 1 − x·(2y − 1)``, sorted descending, ``loss = <relu(e_sorted),
    lovasz_grad(y_sorted)>``. ``y_pred`` is (N, 1, *spatial) or (N, *spatial) logits,
    ``y_true`` in {0, 1} of either shape; elements equal to ``ignore_index`` are
    dropped. ``per_image=True`` (the reference default): mean over images of the
    per-image loss; otherwise one loss over the flattened batch.

    References
    ----------
    Berman et al., CVPR 2018; bermanmaxim/LovaszSoftmax ``lovasz_hinge``.
    """
    x = np.asarray(y_pred, dtype=np.float64)
    y = np.asarray(y_true, dtype=np.float64)
    if x.size != y.size or x.shape[0] != y.shape[0]:
        raise ValueError(f"shapes {x.shape} and {y.shape} do not match")
    x = x.reshape(x.shape[0], -1)
    y = y.reshape(y.shape[0], -1)
    keep = np.ones(y.shape, dtype=bool) if ignore_index is None else y != ignore_index
    if np.any((y[keep] != 0) & (y[keep] != 1)):
        raise ValueError("lovasz_hinge_loss needs targets in {0, 1}")
    if per_image:
        return np.float64(np.mean([_lovasz_hinge_flat(x[n][keep[n]], y[n][keep[n]])
                                   for n in range(x.shape[0])]))
    return np.float64(_lovasz_hinge_flat(x[keep], y[keep]))


# --------------------------------------------------------------------------------------
# Compound losses
# --------------------------------------------------------------------------------------


def dice_ce_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
                 from_logits: bool = True, lambda_dice: float = 1.0, lambda_ce: float = 1.0,
                 smooth: float = 1e-5, squared: bool = False, batch: bool = False,
                 soft_label: bool = False, include_background: bool = True,
                 class_weights: Sequence[float] | ArrayLike | None = None,
                 pos_weight: float | Sequence[float] | ArrayLike | None = None,
                 label_smoothing: float = 0.0, pixel_weights: ArrayLike | None = None,
                 ignore_index: int | None = None,
                 reduction: Literal["mean", "sum"] = "mean") -> np.float64:
    """``λ_dice · dice_loss + λ_ce · cross_entropy`` (MONAI ``DiceCELoss`` semantics).

    ``class_weights`` (full length C) go to both terms (Dice drops entry 0 with class 0
    when ``include_background=False``, CE always uses all C); ``smooth``, ``squared``,
    ``batch``, ``soft_label``, ``include_background`` go to Dice; ``pos_weight``,
    ``label_smoothing``, ``pixel_weights`` to CE (BCE with logits in binary/multilabel
    mode); ``ignore_index`` to both. ``reduction`` is ``"mean"`` or ``"sum"``, applied to
    each term before adding.

    References
    ----------
    MONAI ``DiceCELoss``; Isensee et al., nnU-Net (Dice + CE).
    """
    if reduction not in ("mean", "sum"):
        raise ValueError("dice_ce_loss supports reduction 'mean' or 'sum'")
    dice = dice_loss(y_pred, y_true, mode=mode, from_logits=from_logits,
                     ignore_index=ignore_index, smooth=smooth, squared=squared, batch=batch,
                     soft_label=soft_label, include_background=include_background,
                     class_weights=class_weights, reduction=reduction)
    ce = cross_entropy(y_pred, y_true, mode=mode, from_logits=from_logits,
                       class_weights=class_weights, pos_weight=pos_weight,
                       label_smoothing=label_smoothing, pixel_weights=pixel_weights,
                       ignore_index=ignore_index, reduction=reduction)
    return np.float64(lambda_dice * dice + lambda_ce * ce)


def dice_focal_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
                    from_logits: bool = True, ignore_index: int | None = None,
                    class_weights: Sequence[float] | ArrayLike | None = None,
                    include_background: bool = True, smooth: float = 1e-5,
                    squared: bool = False, batch: bool = False, gamma: float = 2.0,
                    alpha: float | Sequence[float] | ArrayLike | None = None,
                    lambda_dice: float = 1.0, lambda_focal: float = 1.0,
                    reduction: Literal["mean", "sum"] = "mean") -> np.float64:
    """``λ_dice · dice_loss + λ_focal · focal_loss`` (MONAI ``DiceFocalLoss``, adapted).

    Dice: :func:`dice_loss` with ``smooth``, ``squared``, ``batch``,
    ``include_background``, ``class_weights`` (length C; entry 0 dropped with class 0).
    Focal: :func:`focal_loss` with ``gamma``, ``alpha``, ``class_weights`` — the softmax
    focal in multiclass mode, the sigmoid focal otherwise — and ``include_background``:

    * multiclass: ``False`` removes class 0's term from the per-pixel sum (its weight is
      set to 0); the softmax still runs over all C classes and the mean still divides by
      the number of valid pixels;
    * multilabel: ``False`` drops channel 0 (its elements leave the mean's denominator;
      a sequence ``alpha``/``class_weights`` loses entry 0);
    * binary: ignored (as for Dice).

    ``ignore_index`` goes to both terms. ``reduction`` is ``"mean"`` or ``"sum"``, applied
    to each term before adding (the focal sum runs over pixels/elements).

    References
    ----------
    MONAI ``DiceFocalLoss``; Lin et al. 2017; Milletari et al. 2016.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError("dice_focal_loss supports reduction 'mean' or 'sum'")
    dice = dice_loss(y_pred, y_true, mode=mode, from_logits=from_logits,
                     ignore_index=ignore_index, smooth=smooth, squared=squared, batch=batch,
                     include_background=include_background, class_weights=class_weights,
                     reduction=reduction)
    x = np.asarray(y_pred, dtype=np.float64)
    y = np.asarray(y_true)
    num_classes = x.shape[1] if x.ndim >= 2 else 1
    weights = None if class_weights is None else _class_vector(class_weights, num_classes,
                                                                "class_weights")
    focal_alpha = alpha
    if not include_background and mode == "multiclass":
        weights = np.ones(num_classes) if weights is None else weights.copy()
        weights[0] = 0.0
    elif not include_background and mode == "multilabel":
        x, y = x[:, 1:], y[:, 1:]
        if weights is not None:
            weights = weights[1:]
        if alpha is not None and np.ndim(alpha) != 0:
            focal_alpha = np.asarray(alpha, dtype=np.float64)[1:]
    focal = focal_loss(x, y, mode=mode, from_logits=from_logits, gamma=gamma,
                       alpha=focal_alpha, class_weights=weights, ignore_index=ignore_index,
                       reduction=reduction)
    return np.float64(lambda_dice * dice + lambda_focal * focal)


def bce_dice_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "binary",
                  from_logits: bool = True, smooth: float = 1e-5,
                  pos_weight: float | Sequence[float] | ArrayLike | None = None,
                  ignore_index: int | None = None,
                  reduction: Literal["mean", "sum"] = "mean") -> np.float64:
    """Binary cross entropy (with logits) + soft Dice loss (binary/multilabel mode).

    ``L = BCE(y_pred, y_true) + dice_loss(y_pred, y_true)`` with the defaults of
    :func:`cross_entropy` and :func:`dice_loss`.
    """
    if mode == "multiclass":
        raise ValueError("bce_dice_loss is for mode='binary' or 'multilabel'")
    if reduction not in ("mean", "sum"):
        raise ValueError("bce_dice_loss supports reduction 'mean' or 'sum'")
    bce = cross_entropy(y_pred, y_true, mode=mode, from_logits=from_logits,
                        pos_weight=pos_weight, ignore_index=ignore_index, reduction=reduction)
    dice = dice_loss(y_pred, y_true, mode=mode, from_logits=from_logits,
                     ignore_index=ignore_index, smooth=smooth, reduction=reduction)
    return np.float64(bce + dice)


def combo_loss(y_pred: ArrayLike, y_true: ArrayLike, *, mode: Mode = "multiclass",
               from_logits: bool = True, alpha: float = 0.5, beta: float = 0.5,
               smooth: float = 1e-5, ignore_index: int | None = None) -> np.float64:
    """Combo loss (Taghanaki et al. 2019).

    ``L = α · L_mbce − (1 − α) · Dice`` with the modified (β-weighted) cross entropy
    ``L_mbce = −(1/N) Σ_i [β t_i ln p_i + (1 − β)(1 − t_i) ln(1 − p_i)]``
    (:func:`balanced_cross_entropy`, mean over valid elements) and ``Dice`` the soft
    Dice *score* ``(2I + S)/(P + G + S)``, so the loss can be negative.

    The paper's Eq. (3) writes the Dice term as a sum over the K classes and prints
    ``β(t_i − ln p_i)`` (a typo for ``β t_i ln p_i``, cf. its text: "β < 0.5 penalises
    false positives more"). Here the Dice term is the mean score over (image, class),
    ``1 − dice_loss(reduction="mean")``: identical for one binary image (K = 1) and
    independent of the number of classes otherwise.

    References
    ----------
    Taghanaki et al., "Combo loss: handling input and output imbalance in multi-organ
    segmentation", Computerized Medical Imaging and Graphics 75, 2019 (arXiv 1805.02798).
    """
    mbce = balanced_cross_entropy(y_pred, y_true, mode=mode, from_logits=from_logits,
                                  beta=beta, ignore_index=ignore_index)
    dice_score = 1.0 - dice_loss(y_pred, y_true, mode=mode, from_logits=from_logits,
                                 ignore_index=ignore_index, smooth=smooth)
    return np.float64(alpha * mbce - (1.0 - alpha) * dice_score)
