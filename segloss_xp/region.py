"""Region (overlap) losses: formulas over the soft confusion statistics.

Every loss here is ``inputs -> soft statistics (I, P, G) -> formula ->
reduction``; adding a loss is adding a formula. For each image ``n`` and
class ``c`` (sums over spatial elements, ignored elements excluded):
``I = Σ p·g``, ``P = Σ p^k``, ``G = Σ g^k`` (``k = 2`` with ``squared=True``),
``FP = P − I``, ``FN = G − I``. ``smooth`` goes once into numerator and
denominator (MONAI's ``smooth_nr = smooth_dr``). A denominator that is exactly
0 (only with ``smooth=0``: empty target and empty prediction) gives score 1 /
loss 0, with a finite gradient.

The statistics are public (:func:`soft_confusion`) and every loss can be
computed back from them (:func:`region_loss_from_stats`, or e.g.
``dice_loss.from_stats``), so that data-parallel training can all-reduce
``(I, P, G)`` across devices before the ratio (a global Dice).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from . import _checks
from ._inputs import prepare
from ._math import safe_divide, safe_pow
from ._namespace import Array, Namespace, get_namespace
from ._reduce import apply_class_weights, reduce_elements, reduce_table, select_classes
from ._stats import soft_statistics

__all__ = [
    "dice_loss",
    "exp_log_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "region_loss_from_stats",
    "soft_confusion",
    "tversky_loss",
]

Stats = tuple[Array, Array, Array]

_COMMON = """y_pred : array
        Real floating scores, ``(N, C, *spatial)`` (class axis at ``class_axis``);
        binary mode also accepts ``(N, *spatial)``. Logits unless ``from_logits=False``.
    y_true : array
        Multiclass: integer class ids ``(N, *spatial)`` or a one-hot / soft-label float
        array of ``y_pred``'s shape. Binary / multilabel: ``y_pred``'s shape, values in
        [0, 1] (bool, int or float).
    mode : {"multiclass", "binary", "multilabel"}
        Softmax over classes, or elementwise sigmoid.
    from_logits : bool
        Apply the activation of ``mode``; ``False`` means ``y_pred`` are probabilities.
    class_axis : int
        Class axis of ``y_pred`` (``-1`` for channels-last data).
    ignore_index : int, optional
        Elements whose label (binary/multilabel: target value) equals it count in no sum."""

_REDUCTION = """include_background : bool
        If False, class 0 is dropped (multiclass and multilabel; ignored in binary mode).
    class_weights : sequence of float, optional
        One weight per class (length C, background included even when it is
        dropped), multiplying each class's loss before the plain mean (MONAI).
    batch : bool
        Pool the sums over the batch too ("batch dice"): one value per class.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the ``(N, C)`` table (``(C,)`` with ``batch=True``)."""


def _doc(func: Callable[..., Any]) -> Callable[..., Any]:
    func.__doc__ = (func.__doc__ or "").replace("{common}", _COMMON).replace(
        "{reduction}", _REDUCTION)
    return func


# --------------------------------------------------------------------------- formulas


def dice_score(inter: Array, pred: Array, true: Array, smooth: float, xp: Namespace) -> Array:
    """Sørensen–Dice ``(2I + s) / (P + G + s)``."""
    return safe_divide(2 * inter + smooth, pred + true + smooth, 1.0, xp)


def jaccard_score(inter: Array, pred: Array, true: Array, smooth: float,
                  xp: Namespace) -> Array:
    """Jaccard / IoU ``(I + s) / (P + G − I + s)``."""
    return safe_divide(inter + smooth, pred + true - inter + smooth, 1.0, xp)


def tversky_index(inter: Array, pred: Array, true: Array, smooth: float, alpha: float,
                  beta: float, xp: Namespace) -> Array:
    """Tversky ``(I + s) / (I + α·FP + β·FN + s)``, ``FP = P − I``, ``FN = G − I``."""
    den = inter + alpha * (pred - inter) + beta * (true - inter) + smooth
    return safe_divide(inter + smooth, den, 1.0, xp)


def generalized_dice_score(inter: Array, pred: Array, true: Array, smooth: float,
                           weight_type: str, xp: Namespace) -> Array:
    """Sudre et al.'s ``(2 Σ_c w_c I_c + s) / (Σ_c w_c (P_c + G_c) + s)`` over the last axis.

    ``w_c = 1/G_c²`` ("square"), ``1/G_c`` ("simple") or 1 ("uniform"). A class
    absent from the target (infinite weight) takes the largest finite weight of
    its image; all classes absent gives all weights 0 (MONAI's convention).
    """
    if weight_type == "uniform":
        weights = xp.ones_like(true)
    else:
        present = true > 0
        safe = xp.where(present, true, xp.ones_like(true))
        inv = 1 / (safe * safe) if weight_type == "square" else 1 / safe
        weights = xp.where(present, inv, xp.zeros_like(inv))
        largest = xp.max(weights, axis=-1, keepdims=True)
        weights = xp.where(present, weights, xp.broadcast_to(largest, weights.shape))
    num = 2 * xp.sum(weights * inter, axis=-1) + smooth
    den = xp.sum(weights * (pred + true), axis=-1) + smooth
    return safe_divide(num, den, 1.0, xp)


# --------------------------------------------------------------------------- statistics


@_doc
def soft_confusion(
    y_pred: Array,
    y_true: Array,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    class_axis: int = 1,
    ignore_index: int | None = None,
    squared: bool = False,
    soft_label: bool = False,
    batch: bool = False,
) -> Stats:
    """Soft confusion statistics ``(I, P, G)`` per image and class.

    ``I = Σ p·g`` (soft intersection, "soft TP"), ``P = Σ p^k`` and ``G = Σ g^k``
    over the spatial elements, ``k = 2`` when ``squared``; ``FP = P − I`` and
    ``FN = G − I``. Sum them over devices/shards and pass them to
    :func:`region_loss_from_stats` to get a global region loss.

    Parameters
    ----------
    {common}
    squared : bool
        ``P = Σ p²``, ``G = Σ g²`` (V-Net denominator, Milletari et al. 2016).
    soft_label : bool
        ``I = (Σp + Σg − Σ|p − g|)/2`` (identical for hard targets; minimal at
        ``p = g`` for soft targets, MONAI's ``soft_label``). With ``squared`` the
        L2 form ``(Σp² + Σg² − Σ(p − g)²)/2`` applies, which is ``Σ p·g`` itself.
    batch : bool
        Also sum over the batch axis (shapes become ``(1, C)``).

    Returns
    -------
    (I, P, G) : tuple of arrays
        Each ``(N, C)`` (``(1, C)`` with ``batch=True``), float32 for half/single
        precision inputs, float64 for float64, in the input's namespace and device.

    Examples
    --------
    >>> import numpy as np
    >>> y_pred = np.array([[[0.9, 0.2], [0.1, 0.8]]])  # (N=1, C=2, S=2) probabilities
    >>> y_true = np.array([[0, 1]])
    >>> inter, pred, true = soft_confusion(y_pred, y_true, from_logits=False)
    >>> inter.tolist(), pred.tolist(), true.tolist()
    ([[0.9, 0.8]], [[1.1, 0.9]], [[1.0, 1.0]])
    """
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits,
                       class_axis=class_axis, ignore_index=ignore_index)
    return soft_statistics(prepared, squared=squared, soft_label=soft_label,
                           batch_pooled=batch)


_KINDS = ("dice", "jaccard", "tversky", "focal_tversky", "generalized_dice")
_WEIGHT_TYPES = ("square", "simple", "uniform")


def _score_table(stats: Stats, kind: str, smooth: float, alpha: float, beta: float,
                 weight_type: str, xp: Namespace) -> Array:
    inter, pred, true = stats
    if kind == "dice":
        return dice_score(inter, pred, true, smooth, xp)
    if kind == "jaccard":
        return jaccard_score(inter, pred, true, smooth, xp)
    if kind in ("tversky", "focal_tversky"):
        return tversky_index(inter, pred, true, smooth, alpha, beta, xp)
    return generalized_dice_score(inter, pred, true, smooth, weight_type, xp)


def region_loss_from_stats(
    stats: Stats,
    *,
    kind: str = "dice",
    smooth: float = 1e-5,
    alpha: float | None = None,
    beta: float | None = None,
    gamma: float | None = None,
    weight_type: str = "square",
    class_weights: Sequence[float] | None = None,
    include_background: bool = True,
    reduction: str = "mean",
) -> Array:
    """A region loss from (possibly all-reduced) statistics ``(I, P, G)``.

    Parameters
    ----------
    stats : tuple of arrays
        ``(I, P, G)`` of the same shape ``(..., C)``, e.g. from
        :func:`soft_confusion`, summed across devices.
    kind : {"dice", "jaccard", "tversky", "focal_tversky", "generalized_dice"}
        The formula; the rest of the keywords are those of the matching loss.
        ``alpha``/``beta``/``gamma`` default to that loss's defaults
        (Tversky 0.5/0.5, focal Tversky 0.3/0.7/0.75).
    include_background : bool
        Drop the first class (last axis) when False.
    reduction : {"mean", "sum", "none"}
        ``"none"`` gives the ``(..., C')`` table (``(...)`` for generalized dice).

    Returns
    -------
    array
        The loss, in the statistics' namespace, dtype and device.

    Examples
    --------
    >>> import numpy as np
    >>> stats = (np.array([[0.9, 0.8]]), np.array([[1.1, 0.9]]), np.array([[1.0, 1.0]]))
    >>> round(float(region_loss_from_stats(stats, kind="dice", smooth=0.0)), 6)
    0.150376
    """
    _checks.check_choice("kind", kind, _KINDS)
    _checks.check_choice("reduction", reduction, _checks.REDUCTIONS)
    _checks.check_choice("weight_type", weight_type, _WEIGHT_TYPES)
    smooth = _checks.check_nonnegative("smooth", smooth)
    focal = kind == "focal_tversky"
    alpha = _checks.check_nonnegative("alpha", (0.3 if focal else 0.5) if alpha is None else alpha)
    beta = _checks.check_nonnegative("beta", (0.7 if focal else 0.5) if beta is None else beta)
    gamma = _checks.check_positive("gamma", 0.75 if gamma is None else gamma)
    if len(stats) != 3:
        raise ValueError(f"`stats` must be the triple (I, P, G), got {len(stats)} arrays")
    xp = get_namespace(*stats, names=("I", "P", "G"))
    shapes = {tuple(s.shape) for s in stats}
    if len(shapes) != 1 or stats[0].ndim < 1:
        raise ValueError(f"`stats` arrays must share one shape (..., C), got {sorted(shapes)}")
    num_classes = stats[0].shape[-1]
    stats = tuple(select_classes(s, include_background) for s in stats)  # type: ignore[assignment]
    score = _score_table(stats, kind, smooth, alpha, beta, weight_type, xp)
    loss = 1 - score
    if focal:
        loss = safe_pow(loss, gamma, xp)
    if kind == "generalized_dice":
        if class_weights is not None:
            raise TypeError("generalized dice weights classes itself; `class_weights` "
                            "is not supported (use weight_type)")
    else:
        loss = apply_class_weights(loss, class_weights, include_background, num_classes,
                                   "from_stats", xp)
    return reduce_table(loss, reduction, xp)


# --------------------------------------------------------------------------- losses


def _region_loss(kind: str, y_pred: Array, y_true: Array, *, mode: str, from_logits: bool,
                 class_axis: int, ignore_index: int | None,
                 class_weights: Sequence[float] | None, include_background: bool,
                 batch: bool, reduction: str, squared: bool = False,
                 soft_label: bool = False, **formula: Any) -> Array:
    _checks.check_choice("reduction", reduction, _checks.REDUCTIONS)
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits,
                       class_axis=class_axis, ignore_index=ignore_index)
    if class_weights is not None:
        _checks.check_class_weights(class_weights, prepared.num_classes, mode)
    stats = soft_statistics(prepared, squared=squared, soft_label=soft_label,
                            batch_pooled=batch)
    loss = region_loss_from_stats(
        stats, kind=kind, class_weights=class_weights,
        include_background=include_background or mode == "binary",
        reduction=reduction, **formula)
    if reduction == "none" and batch and kind != "generalized_dice":
        loss = loss[0, ...]
    return loss


def _with_from_stats(kind: str) -> Callable[[Callable[..., Array]], Callable[..., Array]]:
    def attach(func: Callable[..., Array]) -> Callable[..., Array]:
        func.from_stats = functools.partial(region_loss_from_stats, kind=kind)  # type: ignore[attr-defined]
        return _doc(func)
    return attach


@_with_from_stats("dice")
def dice_loss(
    y_pred: Array,
    y_true: Array,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    class_axis: int = 1,
    ignore_index: int | None = None,
    class_weights: Sequence[float] | None = None,
    include_background: bool = True,
    smooth: float = 1e-5,
    squared: bool = False,
    batch: bool = False,
    soft_label: bool = False,
    reduction: str = "mean",
) -> Array:
    """Soft Dice loss ``1 − (2I + s)/(P + G + s)`` per image and class.

    Parameters
    ----------
    {common}
    {reduction}
    smooth : float
        Added once to numerator and denominator (MONAI ``smooth_nr = smooth_dr``;
        smp 0.6 and optax effectively add ``2·smooth``).
    squared : bool
        V-Net denominator ``Σp² + Σg²`` (Milletari et al. 2016).
    soft_label : bool
        ``I = (Σp + Σg − Σ|p − g|)/2``, so the loss is minimal at ``p = g`` for
        soft targets too (identical for hard targets). With ``squared`` the L2
        form ``(Σp² + Σg² − Σ(p − g)²)/2 = Σ p·g`` applies (MONAI's ``ord=2``).

    Returns
    -------
    array
        Scalar for "mean"/"sum"; ``(N, C)`` (``(C,)`` with ``batch``) for "none".
        float32 for half/single precision, float64 for float64; input namespace/device.

    Raises
    ------
    TypeError
        Integer/bool ``y_pred``, mixed namespaces, wrong option types.
    ValueError
        Shape mismatch, ``mode="multiclass"`` with one channel, labels out of range,
        probabilities outside [0, 1], non-finite input.

    Notes
    -----
    Statistics are per image (MONAI, optax), never silently pooled over the batch
    (smp); ``batch=True`` pools them on request. An empty class with an empty
    prediction scores ``s/s = 1`` (loss 0); with an empty target but a non-empty
    prediction the loss is ≈ 1.

    References
    ----------
    Milletari, Navab & Ahmadi, "V-Net", 3DV 2016. Sudre et al., "Generalised Dice
    overlap as a deep learning loss function", DLMIA 2017.

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[[[4.0, -4.0]], [[-4.0, 4.0]]]])  # (N=1, C=2, 1, 2)
    >>> labels = np.array([[[0, 1]]])
    >>> round(float(dice_loss(logits, labels)), 6)
    0.000335
    """
    return _region_loss("dice", y_pred, y_true, mode=mode, from_logits=from_logits,
                        class_axis=class_axis, ignore_index=ignore_index,
                        class_weights=class_weights, include_background=include_background,
                        batch=batch, reduction=reduction, squared=squared,
                        soft_label=soft_label, smooth=smooth)


@_with_from_stats("jaccard")
def jaccard_loss(
    y_pred: Array,
    y_true: Array,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    class_axis: int = 1,
    ignore_index: int | None = None,
    class_weights: Sequence[float] | None = None,
    include_background: bool = True,
    smooth: float = 1e-5,
    batch: bool = False,
    soft_label: bool = False,
    reduction: str = "mean",
) -> Array:
    """Soft Jaccard (IoU) loss ``1 − (I + s)/(P + G − I + s)`` per image and class.

    Parameters
    ----------
    {common}
    {reduction}
    smooth : float
        Added once to numerator and denominator. (MONAI's ``DiceLoss(jaccard=True)``
        doubles the numerator, which halves its effective smoothing.)
    soft_label : bool
        L1 form of the intersection (see :func:`dice_loss`).

    Returns
    -------
    array
        Scalar, or ``(N, C)`` / ``(C,)`` for ``reduction="none"``.

    References
    ----------
    Rahman & Wang, "Optimizing intersection-over-union in deep neural networks for
    image segmentation", ISVC 2016.

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[[0.5, 0.5], [0.5, 0.5]]])  # (N=1, C=2, S=2)
    >>> round(float(jaccard_loss(probs, np.array([[0, 1]]), from_logits=False, smooth=0)), 6)
    0.666667
    """
    return _region_loss("jaccard", y_pred, y_true, mode=mode, from_logits=from_logits,
                        class_axis=class_axis, ignore_index=ignore_index,
                        class_weights=class_weights, include_background=include_background,
                        batch=batch, reduction=reduction, soft_label=soft_label,
                        smooth=smooth)


@_with_from_stats("tversky")
def tversky_loss(
    y_pred: Array,
    y_true: Array,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    class_axis: int = 1,
    ignore_index: int | None = None,
    class_weights: Sequence[float] | None = None,
    include_background: bool = True,
    alpha: float = 0.5,
    beta: float = 0.5,
    smooth: float = 1e-5,
    batch: bool = False,
    soft_label: bool = False,
    reduction: str = "mean",
) -> Array:
    """Tversky loss ``1 − (I + s)/(I + α·FP + β·FN + s)`` per image and class.

    Parameters
    ----------
    {common}
    {reduction}
    alpha : float
        Weight of false positives ``FP = P − I`` (Salehi et al.; MONAI, optax).
        Keras 3.15 swaps α and β (keras#23322); we do not.
    beta : float
        Weight of false negatives ``FN = G − I``. ``alpha = beta = 0.5`` is Dice,
        ``alpha = beta = 1`` is Jaccard.
    smooth : float
        Added once to numerator and denominator.
    soft_label : bool
        L1 form of the intersection (see :func:`dice_loss`).

    Returns
    -------
    array
        Scalar, or ``(N, C)`` / ``(C,)`` for ``reduction="none"``.

    References
    ----------
    Salehi, Erdogmus & Gholipour, "Tversky loss function for image segmentation
    using 3D fully convolutional deep networks", MLMI 2017.

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[[0.5, 0.5], [0.5, 0.5]]])
    >>> round(float(tversky_loss(probs, np.array([[0, 1]]), from_logits=False, smooth=0)), 6)
    0.5
    """
    return _region_loss("tversky", y_pred, y_true, mode=mode, from_logits=from_logits,
                        class_axis=class_axis, ignore_index=ignore_index,
                        class_weights=class_weights, include_background=include_background,
                        batch=batch, reduction=reduction, soft_label=soft_label,
                        smooth=smooth, alpha=alpha, beta=beta)


@_with_from_stats("focal_tversky")
def focal_tversky_loss(
    y_pred: Array,
    y_true: Array,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    class_axis: int = 1,
    ignore_index: int | None = None,
    class_weights: Sequence[float] | None = None,
    include_background: bool = True,
    alpha: float = 0.3,
    beta: float = 0.7,
    gamma: float = 0.75,
    smooth: float = 1e-5,
    batch: bool = False,
    soft_label: bool = False,
    reduction: str = "mean",
) -> Array:
    """Focal Tversky loss ``(1 − T)^γ`` per image and class, T the Tversky index.

    Parameters
    ----------
    {common}
    {reduction}
    alpha, beta : float
        Tversky weights of FP and FN (paper: 0.3, 0.7).
    gamma : float
        Focal exponent applied per class. Abraham & Khan write ``(1 − T)^(1/γ)``
        with ``γ = 4/3``; our ``gamma`` is the exponent itself, 0.75. At ``T = 1``
        the gradient is taken as 0 (the subgradient) instead of the infinite
        ``γ(1 − T)^(γ−1)``.
    smooth : float
        Added once to numerator and denominator.
    soft_label : bool
        L1 form of the intersection (see :func:`dice_loss`).

    Returns
    -------
    array
        Scalar, or ``(N, C)`` / ``(C,)`` for ``reduction="none"``.

    Notes
    -----
    smp's ``TverskyLoss(gamma)`` and SegLossOdyssey raise the *class mean* to γ;
    we follow the paper (per class, then the mean).

    References
    ----------
    Abraham & Khan, "A novel focal Tversky loss function with improved attention
    U-Net for lesion segmentation", ISBI 2019.

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[[0.5, 0.5], [0.5, 0.5]]])
    >>> y = np.array([[0, 1]])
    >>> round(float(focal_tversky_loss(probs, y, from_logits=False, smooth=0, gamma=1.0)), 6)
    0.5
    """
    return _region_loss("focal_tversky", y_pred, y_true, mode=mode, from_logits=from_logits,
                        class_axis=class_axis, ignore_index=ignore_index,
                        class_weights=class_weights, include_background=include_background,
                        batch=batch, reduction=reduction, soft_label=soft_label,
                        smooth=smooth, alpha=alpha, beta=beta, gamma=gamma)


@_with_from_stats("generalized_dice")
def generalized_dice_loss(
    y_pred: Array,
    y_true: Array,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    class_axis: int = 1,
    ignore_index: int | None = None,
    include_background: bool = True,
    weight_type: str = "square",
    smooth: float = 1e-5,
    batch: bool = False,
    soft_label: bool = False,
    reduction: str = "mean",
) -> Array:
    """Generalized Dice loss: one weighted ratio over the classes of each image.

    ``1 − (2 Σ_c w_c I_c + s)/(Σ_c w_c (P_c + G_c) + s)``.

    Parameters
    ----------
    {common}
    include_background : bool
        If False, class 0 is left out of both sums (multiclass and multilabel).
    weight_type : {"square", "simple", "uniform"}
        ``w_c = 1/G_c²``, ``1/G_c`` or 1. A class absent from an image's target
        (infinite weight) gets the largest finite weight of that image (MONAI's
        convention); with every class absent all weights are 0 and the loss is 0.
    smooth : float
        Added once to numerator and denominator.
    batch : bool
        Pool the statistics (and so the weights) over the batch: one ratio.
    soft_label : bool
        L1 form of the intersection (see :func:`dice_loss`).
    reduction : {"mean", "sum", "none"}
        ``"none"`` gives shape ``(N,)`` (``(1,)`` with ``batch=True``).

    Returns
    -------
    array
        Scalar, or ``(N,)`` for ``reduction="none"``.

    References
    ----------
    Sudre et al., "Generalised Dice overlap as a deep learning loss function for
    highly unbalanced segmentations", DLMIA 2017.

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[[0.5, 0.5], [0.5, 0.5]]])
    >>> loss = generalized_dice_loss(probs, np.array([[0, 1]]), from_logits=False, smooth=0)
    >>> round(float(loss), 6)
    0.5
    """
    return _region_loss("generalized_dice", y_pred, y_true, mode=mode,
                        from_logits=from_logits, class_axis=class_axis,
                        ignore_index=ignore_index, class_weights=None,
                        include_background=include_background, batch=batch,
                        reduction=reduction, soft_label=soft_label, smooth=smooth,
                        weight_type=weight_type)


# --------------------------------------------------------------------------- exp-log


def exp_log_loss(
    y_pred: Array,
    y_true: Array,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    class_axis: int = 1,
    ignore_index: int | None = None,
    include_background: bool = True,
    gamma_dice: float = 0.3,
    gamma_ce: float = 0.3,
    w_dice: float = 0.8,
    w_ce: float = 0.2,
    smooth: float = 1.0,
    reduction: str = "mean",
) -> Array:
    """Exponential logarithmic loss (Wong et al. 2018) for very unbalanced classes.

    ``L = w_dice · mean_{n,c}((−ln Dice_{n,c})^γ_dice) + w_ce · mean_x(w_l · (−ln p_l(x))^γ_ce)``

    with ``Dice_{n,c} = (2I + s)/(P + G + s)`` per image and class (the soft
    statistics of :func:`soft_confusion`), ``l`` the true label of element ``x``,
    ``p_l`` its softmax probability and the label weight ``w_l = (Σ_k f_k / f_l)^0.5``,
    ``f_k`` the number of (non-ignored) elements labelled ``k`` in the batch.

    Parameters
    ----------
    y_pred : array
        Real floating scores ``(N, C, *spatial)`` (class axis at ``class_axis``),
        logits unless ``from_logits=False``.
    y_true : array
        Integer class ids ``(N, *spatial)`` or a one-hot / soft-label float array of
        ``y_pred``'s shape.
    mode : {"multiclass"}
        The paper's softmax formulation; other modes raise ``ValueError``.
    from_logits : bool
        Softmax inside (``−ln p`` from log-probabilities, exact for large logits);
        ``False`` means ``y_pred`` are probabilities.
    class_axis : int
        Class axis of ``y_pred`` (``-1`` for channels-last data).
    ignore_index : int, optional
        Elements with this label count in neither term (nor in the frequencies ``f_k``).
    include_background : bool
        If False, class 0 is dropped from the Dice term. The cross-entropy term always
        covers every element (as in MONAI's ``DiceCELoss``).
    gamma_dice, gamma_ce : float
        Exponents of the two terms (paper: 0.3); ``γ = 1`` gives ``−ln Dice`` and the
        weighted cross entropy.
    w_dice, w_ce : float
        Weights of the two terms (paper: 0.8 and 0.2).
    smooth : float
        Pseudocount added to numerator and denominator of each Dice (paper: ε = 1).
    reduction : {"mean", "sum"}
        ``"mean"``: the means above; ``"sum"``: ``w_dice·Σ_{n,c} + w_ce·Σ_x`` (sums of
        each term's entries). ``"none"`` is not supported: the two terms have
        different shapes ((N, C) and (N, *spatial)).

    Returns
    -------
    array
        Scalar, float32 for half/single precision and float64 for float64 inputs, in
        the input's namespace and device.

    Raises
    ------
    ValueError
        A mode other than "multiclass", ``reduction="none"``, negative weights or
        exponents, and the input errors of :func:`dice_loss`.

    Notes
    -----
    * The label weights are computed from the batch at hand with counts (static
      shapes; the paper computes ``f_k`` over the training set). A label absent from
      the batch weighs nothing (no element carries it). They are constants: with
      integer labels they carry no gradient; with soft targets they are a function of
      the target only.
    * Dense (one-hot / soft) targets ``q`` generalise the CE term to
      ``Σ_k q_k w_k (−ln p_k)^γ_ce`` with ``f_k = Σ_x q_k(x)`` (identical for one-hot).
    * ``(·)^γ`` with ``γ < 1`` has an infinite derivative at 0 (``p_l = 1`` or
      ``Dice = 1``); the subgradient 0 is used there, so gradients stay finite. Rounding
      that puts ``−ln Dice`` a hair below 0 gives 0.
    * The "mean" of the CE term is over the non-ignored elements (torch's convention for
      ``ignore_index``); an all-ignored batch gives 0.

    References
    ----------
    Wong, Moradi, Tang & Syeda-Mahmood, "3D segmentation with exponential logarithmic
    loss for highly unbalanced object sizes", MICCAI 2018 (arXiv 1809.00076).

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[[0.9, 0.2], [0.1, 0.8]]])  # (N=1, C=2, S=2)
    >>> labels = np.array([[0, 1]])
    >>> round(float(exp_log_loss(probs, labels, from_logits=False, gamma_dice=1.0,
    ...                          gamma_ce=1.0)), 6)
    0.13085
    """
    if mode != "multiclass":
        raise ValueError(
            f"exp_log_loss is defined for mode='multiclass' (softmax over classes), got "
            f"mode={mode!r}; for one foreground channel use two channels (background, "
            "foreground) with mode='multiclass'"
        )
    if reduction not in ("mean", "sum"):
        raise ValueError(
            f"`reduction` must be 'mean' or 'sum' for exp_log_loss, got {reduction!r} "
            "('none' is not supported: the Dice term is (N, C), the CE term per element)"
        )
    gamma_dice = _checks.check_nonnegative("gamma_dice", gamma_dice)
    gamma_ce = _checks.check_nonnegative("gamma_ce", gamma_ce)
    w_dice = _checks.check_nonnegative("w_dice", w_dice)
    w_ce = _checks.check_nonnegative("w_ce", w_ce)
    smooth = _checks.check_nonnegative("smooth", smooth)
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits,
                       class_axis=class_axis, ignore_index=ignore_index)
    xp = prepared.xp

    # Dice term: (−ln Dice)^γ per image and class
    inter, pred, true = soft_statistics(prepared)
    dice = select_classes(dice_score(inter, pred, true, smooth, xp), include_background)
    dice_term = reduce_table(safe_pow(-xp.log(dice), gamma_dice, xp), reduction, xp)

    # CE term: w_l (−ln p_l)^γ per element, w_l from the label counts of the batch
    neg_log = -prepared.log_probs()
    zeros = xp.zeros_like(neg_log)
    # label frequencies f_k of the batch: G (masked target sums) pooled over the images,
    # already computed for the Dice term
    freq = xp.sum(true, axis=0)
    label_weight = xp.sqrt(safe_divide(xp.sum(freq) + xp.zeros_like(freq), freq, 0.0, xp))
    label_weight = xp.reshape(label_weight, (1, prepared.num_classes, 1))
    if prepared.labels is not None:
        hit = prepared.label_indicator()
        nll = xp.sum(xp.where(hit, neg_log, zeros), axis=1)
        weight = xp.sum(xp.where(hit, label_weight, zeros), axis=1)
        pixel = weight * safe_pow(nll, gamma_ce, xp)
    else:
        target = prepared.target
        assert target is not None
        present = target > 0
        pixel = xp.sum(xp.where(
            present, target * label_weight * safe_pow(xp.where(present, neg_log, zeros),
                                                      gamma_ce, xp), zeros), axis=1)
    mask = None if prepared.mask is None else prepared.mask[:, 0, :]
    ce_term = reduce_elements(pixel, mask, reduction, xp)
    return w_dice * dice_term + w_ce * ce_term
