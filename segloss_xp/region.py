"""Region (overlap) losses: formulas over the soft confusion statistics.

Every loss here is ``inputs -> soft statistics (I, P, G) -> formula ->
reduction``; the formulas are one table (``_formulas.FORMULAS``), so adding a
loss is adding a formula. For each image ``n`` and class ``c`` (sums over
spatial elements, ignored elements excluded): ``I = Σ p·g``, ``P = Σ p^k``,
``G = Σ g^k`` (``k = 2`` with ``squared=True``), ``FP = P − I``, ``FN = G − I``.
``smooth`` goes once into numerator and denominator (MONAI's ``smooth_nr =
smooth_dr``). A denominator that is exactly 0 (only with ``smooth=0``: empty
target and empty prediction) gives score 1 / loss 0, with a finite gradient.

The statistics are public (:func:`soft_confusion`) and every loss can be
computed back from them (:func:`region_loss_from_stats` with ``kind=``), so that
data-parallel training can all-reduce ``(I, P, G)`` across devices before the
ratio (a global Dice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from . import _checks
from ._capabilities import declare
from ._checks import ClassWeights, Mode, Reduction, ScalarReduction
from ._formulas import FORMULAS, Formula, dice_ratio, resolve_parameters
from ._inputs import Prepared, prepare
from ._math import safe_divide, safe_pow
from ._namespace import Array, Namespace, get_namespace, is_array
from ._reduce import apply_class_weights, reduce_elements, reduce_table, select_classes
from ._stats import Stats, soft_statistics

__all__ = [
    "dice_loss",
    "exp_log_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "mcc_loss",
    "region_loss_from_stats",
    "soft_confusion",
    "tversky_loss",
]

Kind = Literal["dice", "jaccard", "tversky", "focal_tversky", "generalized_dice", "mcc"]


# --------------------------------------------------------------------------- statistics


@declare("region")
def soft_confusion(
    y_pred: Array,
    y_true: Array,
    *,
    mode: Mode = "multiclass",
    from_logits: bool = True,
    class_axis: int = 1,
    ignore_index: int | None = None,
    squared: bool = False,
    soft_label: bool = False,
    batch: bool = False,
    count: bool = False,
) -> Stats:
    """Soft confusion statistics ``(I, P, G)`` per image and class.

    ``I = Σ p·g`` (soft intersection, "soft TP"), ``P = Σ p^k`` and ``G = Σ g^k``
    over the spatial elements, ``k = 2`` when ``squared``; ``FP = P − I`` and
    ``FN = G − I``. Sum them over devices/shards and pass them to
    :func:`region_loss_from_stats` to get a global region loss.

    Parameters
    ----------
    %(y_pred)s
    %(y_true)s
    %(mode)s
    %(from_logits)s
    %(class_axis)s
    %(ignore_index)s
    %(squared)s
    %(soft_label)s
    batch : bool
        Also sum over the batch axis (shapes become ``(C,)``, the statistics of the
        pooled batch: ``region_loss_from_stats`` then gives what the loss gives with
        ``batch=True``).
    count : bool
        Also return ``S``, the number of counted (non-ignored) elements per image and
        class, which formulas with true negatives need (``kind="mcc"``).

    Returns
    -------
    tuple of arrays
        ``(I, P, G)`` (``(I, P, G, S)`` with ``count``), each ``(N, C)`` (``(C,)`` with
        ``batch=True``), float32 for half/single precision inputs, float64 for float64,
        in the input's namespace and device.

    %(raises)s

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
                       class_axis=class_axis, ignore_index=ignore_index, reduction="none",
                       caller="soft_confusion")
    for name, flag in (("squared", squared), ("soft_label", soft_label), ("batch", batch),
                       ("count", count)):
        _checks.check_bool(name, flag)
    stats = soft_statistics(prepared, squared=squared, soft_label=soft_label,
                            batch_pooled=batch, count=count)
    return tuple(prepared.poison(s) for s in stats)


def _loss_from_stats(stats: Stats, formula: Formula, parameters: dict[str, Any], *,
                     class_weights: Sequence[float] | None, include_background: bool,
                     reduction: str, mode: str, xp: Namespace) -> Array:
    """The formula's loss table, classes selected and weighted, reduced."""
    weights = None
    if class_weights is not None:
        if not formula.per_class:
            raise TypeError(f"kind={formula.name!r} weights the classes itself; "
                            "`class_weights` is not supported (use weight_type)")
        weights = _checks.class_vector("class_weights", class_weights, stats[0].shape[-1],
                                       mode=mode, like=stats[0], xp=xp)
    kept = tuple(select_classes(s, include_background) for s in stats)
    loss = formula.loss(kept, xp=xp, **parameters)
    loss = apply_class_weights(loss, weights, include_background=include_background)
    return reduce_table(loss, reduction, xp=xp)


@declare("region")
def region_loss_from_stats(
    stats: Stats,
    *,
    kind: Kind = "dice",
    class_weights: ClassWeights = None,
    include_background: bool = True, reduction: Reduction = "mean",
    **parameters: Any,
) -> Array:
    """A region loss from (possibly all-reduced) statistics ``(I, P, G)``.

    Parameters
    ----------
    stats : tuple of arrays
        ``(I, P, G)`` of the same shape ``(..., C)``, e.g. from :func:`soft_confusion`,
        summed across devices; ``(I, P, G, S)`` for ``kind="mcc"``
        (``soft_confusion(..., count=True)``).
    kind : {"dice", "jaccard", "tversky", "focal_tversky", "generalized_dice", "mcc"}
        The formula: that of ``dice_loss``, ``jaccard_loss``, ... ``mcc_loss``.
    class_weights : sequence of float, optional
        One weight per class (length C of the statistics), multiplying each class's
        loss; not for ``"generalized_dice"``.
    include_background : bool
        Drop the first class (last axis) when False.
    reduction : {"mean", "sum", "none"}
        ``"none"`` gives the ``(..., C')`` table (``(...)`` for generalized dice).
    **parameters
        The formula's own keywords, defaulting to those of the matching loss:
        ``smooth`` (all but mcc), ``alpha``, ``beta`` (Tversky 0.5/0.5, focal Tversky
        0.3/0.7), ``gamma`` (focal Tversky, 0.75), ``weight_type`` (generalized dice),
        ``eps`` (mcc).

    Returns
    -------
    array
        The loss, in the statistics' namespace, dtype and device.

    Raises
    ------
    TypeError
        A parameter the formula does not take, ``class_weights`` with generalized dice.
    ValueError
        Unknown ``kind``/``reduction``, statistics of different shapes or the wrong
        number of them, invalid parameter values.

    Examples
    --------
    >>> import numpy as np
    >>> stats = (np.array([[0.9, 0.8]]), np.array([[1.1, 0.9]]), np.array([[1.0, 1.0]]))
    >>> round(float(region_loss_from_stats(stats, kind="dice", smooth=0.0)), 6)
    0.150376
    """
    _checks.check_choice("kind", kind, tuple(FORMULAS))
    _checks.check_choice("reduction", reduction, _checks.REDUCTIONS)
    _checks.check_bool("include_background", include_background)
    formula = FORMULAS[kind]
    resolved = resolve_parameters(formula, parameters)
    if len(stats) != formula.num_stats:
        names = "(I, P, G, S)" if formula.needs_count else "(I, P, G)"
        raise ValueError(f"`stats` must be {names} for kind={kind!r}, got {len(stats)} "
                         "arrays")
    entries = ("I", "P", "G", "S")[:len(stats)]
    for name, stat in zip(entries, stats, strict=True):
        if not is_array(stat):
            raise TypeError(f"`stats` entry `{name}` must be an array, got "
                            f"{type(stat).__name__}")
    xp = get_namespace(*stats, names=entries)
    for name, stat in zip(entries, stats, strict=True):
        if not xp.isdtype(stat.dtype, "real floating"):
            raise TypeError(f"`stats` entry `{name}` must be real floating, got dtype "
                            f"{stat.dtype}")
    shapes = {tuple(s.shape) for s in stats}
    if len(shapes) != 1 or stats[0].ndim < 1:
        raise ValueError(f"`stats` arrays must share one shape (..., C), got {sorted(shapes)}")
    return _loss_from_stats(stats, formula, resolved, class_weights=class_weights,
                            include_background=include_background, reduction=reduction,
                            mode="from_stats", xp=xp)


# --------------------------------------------------------------------------- losses


def region_term(prepared: Prepared, kind: Kind, *, class_weights: Sequence[float] | None,
                include_background: bool, batch: bool, squared: bool = False,
                soft_label: bool = False, **parameters: Any) -> Array:
    """The region loss ``kind`` on prepared inputs (shared with the compound losses)."""
    for name, flag in (("include_background", include_background), ("batch", batch),
                       ("squared", squared), ("soft_label", soft_label)):
        _checks.check_bool(name, flag)
    formula = FORMULAS[kind]
    resolved = resolve_parameters(formula, parameters)
    stats = soft_statistics(prepared, squared=squared, soft_label=soft_label,
                            batch_pooled=batch, count=formula.needs_count)
    loss = _loss_from_stats(stats, formula, resolved, class_weights=class_weights,
                            include_background=include_background or prepared.mode == "binary",
                            reduction=prepared.reduction, mode=prepared.mode, xp=prepared.xp)
    return prepared.poison(loss)


@declare("region")
def dice_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, class_weights: ClassWeights = None,
    include_background: bool = True, smooth: float = 1e-5, squared: bool = False,
    batch: bool = False, soft_label: bool = False,
    reduction: Reduction = "mean",
) -> Array:
    """Soft Dice loss ``1 − (2I + s)/(P + G + s)`` per image and class.

    %(inputs_region)s
    %(smooth)s
    %(squared)s
    %(region_result)s

    %(raises)s

    Notes
    -----
    Statistics are per image (MONAI, optax), never silently pooled over the batch
    (smp); ``batch=True`` pools them on request. An empty class with an empty
    prediction scores ``s/s = 1`` (loss 0); with an empty target but a non-empty
    prediction the loss is ≈ 1. From statistics:
    ``region_loss_from_stats(stats, kind="dice")``.

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
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction, caller="dice_loss")
    return region_term(prepared, "dice", class_weights=class_weights, batch=batch,
                       include_background=include_background, squared=squared,
                       soft_label=soft_label, smooth=smooth)


@declare("region")
def jaccard_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, class_weights: ClassWeights = None,
    include_background: bool = True, smooth: float = 1e-5, batch: bool = False,
    soft_label: bool = False, reduction: Reduction = "mean",
) -> Array:
    """Soft Jaccard (IoU) loss ``1 − (I + s)/(P + G − I + s)`` per image and class.

    %(inputs_region)s
    %(smooth)s
    %(region_result)s

    Notes
    -----
    MONAI's ``DiceLoss(jaccard=True)`` doubles the numerator, which halves its
    effective smoothing. From statistics: ``region_loss_from_stats(stats,
    kind="jaccard")``.

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
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction, caller="jaccard_loss")
    return region_term(prepared, "jaccard", class_weights=class_weights,
                       include_background=include_background,
                       batch=batch, soft_label=soft_label, smooth=smooth)


@declare("region")
def tversky_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, class_weights: ClassWeights = None,
    include_background: bool = True, alpha: float = 0.5, beta: float = 0.5, smooth: float = 1e-5,
    batch: bool = False, soft_label: bool = False, reduction: Reduction = "mean",
) -> Array:
    """Tversky loss ``1 − (I + s)/(I + α·FP + β·FN + s)`` per image and class.

    %(inputs_region)s
    alpha : float
        Weight of false positives ``FP = P − I`` (Salehi et al.; MONAI, optax).
        Keras 3.15 swaps α and β (keras#23322); we do not.
    beta : float
        Weight of false negatives ``FN = G − I``. ``alpha = beta = 0.5`` is Dice,
        ``alpha = beta = 1`` is Jaccard.
    %(smooth)s
    %(region_result)s

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
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction, caller="tversky_loss")
    return region_term(prepared, "tversky", class_weights=class_weights, batch=batch,
                       include_background=include_background,
                       soft_label=soft_label, smooth=smooth, alpha=alpha, beta=beta)


@declare("region")
def focal_tversky_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, class_weights: ClassWeights = None,
    include_background: bool = True, alpha: float = 0.3, beta: float = 0.7, gamma: float = 0.75,
    smooth: float = 1e-5, batch: bool = False, soft_label: bool = False,
    reduction: Reduction = "mean",
) -> Array:
    """Focal Tversky loss ``(1 − T)^γ`` per image and class, T the Tversky index.

    %(inputs_region)s
    alpha, beta : float
        Tversky weights of FP and FN (paper: 0.3, 0.7).
    gamma : float
        Focal exponent applied per class. Abraham & Khan write ``(1 − T)^(1/γ)``
        with ``γ = 4/3``; our ``gamma`` is the exponent itself, 0.75. At ``T = 1``
        the gradient is taken as 0 (the subgradient) instead of the infinite
        ``γ(1 − T)^(γ−1)``.
    %(smooth)s
    %(region_result)s

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
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction,
                       caller="focal_tversky_loss")
    return region_term(prepared, "focal_tversky", class_weights=class_weights,
                       include_background=include_background, soft_label=soft_label,
                       smooth=smooth, alpha=alpha, beta=beta, gamma=gamma, batch=batch)


@declare("region")
def generalized_dice_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, include_background: bool = True,
    weight_type: Literal["square", "simple", "uniform"] = "square", smooth: float = 1e-5,
    batch: bool = False, soft_label: bool = False, reduction: Reduction = "mean",
) -> Array:
    """Generalized Dice loss: one weighted ratio over the classes of each image.

    ``1 − (2 Σ_c w_c I_c + s)/(Σ_c w_c (P_c + G_c) + s)``.

    %(inputs)s
    %(include_background)s
    weight_type : {"square", "simple", "uniform"}
        ``w_c = 1/G_c²``, ``1/G_c`` or 1. A class whose weight is infinite (absent
        from an image's target, or ``1/G_c²`` overflowing the dtype) gets the largest
        finite weight of that image (MONAI's convention); with every class absent all
        weights are 0 and the loss is 0.
    %(smooth)s
    batch : bool
        Pool the statistics (and so the weights) over the batch: one ratio.
    %(soft_label)s
    reduction : {"mean", "sum", "none"}
        ``"none"`` gives shape ``(N,)`` (``()`` with ``batch=True``: one ratio).

    Returns
    -------
    array
        Scalar, or ``(N,)`` for ``reduction="none"`` (0-d with ``batch=True``); float32
        (float64 for float64 input), in the input's namespace and device.

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
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction,
                       caller="generalized_dice_loss")
    return region_term(prepared, "generalized_dice", class_weights=None, smooth=smooth,
                       include_background=include_background, soft_label=soft_label,
                       weight_type=weight_type, batch=batch, squared=False)


@declare("region")
def mcc_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, class_weights: ClassWeights = None,
    include_background: bool = True, eps: float = 1e-5,
    batch: bool = False, reduction: Reduction = "mean",
) -> Array:
    """Soft Matthews correlation coefficient (MCC) loss ``1 − MCC`` per image and class.

    ``MCC = (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN) + eps)`` with the soft
    counts ``TP = I``, ``FP = P − I``, ``FN = G − I``, ``TN = S − P − G + I``, ``S`` the
    number of counted (non-ignored) elements.

    %(inputs_region)s
    eps : float
        Added under the square root (``>= 0``). With ``eps = 0`` a zero denominator
        gives MCC 0 (loss 1) with a finite gradient.
    batch : bool
        Pool the counts over the batch too (smp's ``MCCLoss`` pools the whole batch).
    %(reduction_region)s

    %(returns_region)s

    Notes
    -----
    Unlike the overlap losses, MCC rewards true negatives: a class absent from both
    the target and the prediction has MCC 0 (loss 1), not a perfect score, since the
    correlation of two constant masks is undefined. From statistics:
    ``region_loss_from_stats(soft_confusion(..., count=True), kind="mcc")``.

    References
    ----------
    Abhishek & Hamarneh, "Matthews correlation coefficient loss for deep
    convolutional networks: application to skin lesion segmentation", ISBI 2021.

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[[0.9, 0.2, 0.1, 0.7]]])  # (N=1, C=1, S=4)
    >>> mask = np.array([[[1.0, 0.0, 0.0, 1.0]]])
    >>> round(float(mcc_loss(probs, mask, mode="binary", from_logits=False)), 6)
    0.349186
    """
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction, caller="mcc_loss")
    return region_term(prepared, "mcc", eps=eps, class_weights=class_weights,
                       include_background=include_background, batch=batch)


@declare("region")
def exp_log_loss(
    y_pred: Array, y_true: Array, *, mode: Literal["multiclass"] = "multiclass",
    from_logits: bool = True, class_axis: int = 1, ignore_index: int | None = None,
    include_background: bool = True, gamma_dice: float = 0.3, gamma_ce: float = 0.3,
    w_dice: float = 0.8, w_ce: float = 0.2, smooth: float = 1.0,
    reduction: ScalarReduction = "mean",
) -> Array:
    """Exponential logarithmic loss (Wong et al. 2018) for very unbalanced classes.

    ``L = w_dice · mean_{n,c}((−ln Dice_{n,c})^γ_dice) + w_ce · mean_x(w_l · (−ln p_l(x))^γ_ce)``

    with ``Dice_{n,c} = (2I + s)/(P + G + s)`` per image and class (the soft
    statistics of :func:`soft_confusion`), ``l`` the true label of element ``x``,
    ``p_l`` its softmax probability and the label weight ``w_l = (Σ_k f_k / f_l)^0.5``,
    ``f_k`` the number of (non-ignored) elements labelled ``k`` in the batch.

    %(inputs_softmax)s
    include_background : bool
        If False, class 0 is dropped from the Dice term. The cross-entropy term always
        covers every element (as in MONAI's ``DiceCELoss``).
    gamma_dice, gamma_ce : float
        Exponents of the two terms (paper: 0.3); ``γ = 1`` gives ``−ln Dice`` and the
        weighted cross entropy.
    w_dice, w_ce : float
        Weights of the two terms (paper: 0.8 and 0.2).
    smooth : float
        Pseudocount added to numerator and denominator of each Dice (paper: ε = 1);
        must be > 0 (with 0 a class predicted but absent from the target has Dice 0
        and ``−ln 0 = ∞``).
    reduction : {"mean", "sum"}
        ``"mean"``: the means above; ``"sum"``: ``w_dice·Σ_{n,c} + w_ce·Σ_x`` (sums of
        each term's entries). ``"none"`` is not supported: the two terms have
        different shapes (``(N, C)`` and ``(N, *spatial)``).

    %(returns_scalar)s

    %(raises)s

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
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction, caller="exp_log_loss",
                       modes=("multiclass",), reductions=_checks.SCALAR_REDUCTIONS,
                       alternative="for one foreground channel use two channels "
                       "(background, foreground) with mode='multiclass'")
    _checks.check_bool("include_background", include_background)
    gamma_dice, gamma_ce, w_dice, w_ce = (
        _checks.check_nonnegative(name, value) for name, value in (
            ("gamma_dice", gamma_dice), ("gamma_ce", gamma_ce), ("w_dice", w_dice),
            ("w_ce", w_ce)))
    # smooth = 0 would give −ln 0 = inf for a class predicted but absent from the target
    smooth = _checks.check_positive("smooth", smooth)
    xp = prepared.xp

    # Dice term: (−ln Dice)^γ per image and class
    inter, pred, true = soft_statistics(prepared)
    dice = select_classes(dice_ratio(inter, pred, true, smooth=smooth, xp=xp),
                          include_background)
    dice_term = reduce_table(safe_pow(-xp.log(dice), gamma_dice, xp=xp), reduction, xp=xp)

    # CE term: w_l (−ln p_l)^γ per element, w_l from the label counts of the batch
    neg_log = -prepared.log_probs()
    zeros = xp.zeros_like(neg_log)
    # label frequencies f_k of the batch: G (masked target sums) pooled over the images,
    # already computed for the Dice term
    freq = xp.sum(true, axis=0)
    label_weight = xp.sqrt(safe_divide(xp.sum(freq) + xp.zeros_like(freq), freq, fill=0.0,
                                       xp=xp))
    label_weight = xp.reshape(label_weight, (1, prepared.num_classes, 1))
    if prepared.labels is not None:
        hit = prepared.label_indicator()
        nll = xp.sum(xp.where(hit, neg_log, zeros), axis=1)
        weight = xp.sum(xp.where(hit, label_weight, zeros), axis=1)
        pixel = weight * safe_pow(nll, gamma_ce, xp=xp)
    else:
        target = prepared.target
        assert target is not None
        present = target > 0
        pixel = xp.sum(xp.where(
            present, target * label_weight * safe_pow(xp.where(present, neg_log, zeros),
                                                      gamma_ce, xp=xp), zeros), axis=1)
    ce_term = reduce_elements(pixel, prepared.element_mask(), reduction, xp=xp)
    return prepared.poison(w_dice * dice_term + w_ce * ce_term)
