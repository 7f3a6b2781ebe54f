"""Compound losses: a region term plus a pixel term, and deep supervision.

``dice_ce_loss`` (MONAI's ``DiceCELoss``), ``bce_dice_loss`` (binary cross
entropy + Dice), ``combo_loss`` (Taghanaki et al. 2019) and
``deep_supervision`` (a weighted sum of one loss over the outputs of a
multi-scale network, the target resampled to each output by nearest-neighbour
index selection). The terms are the library's own losses
(:func:`~segloss_xp.region.dice_loss` statistics,
:func:`~segloss_xp.pixel.cross_entropy`,
:func:`~segloss_xp.pixel.balanced_cross_entropy`); nothing is reimplemented.

The two terms of a compound loss have different natural shapes ((N, C) per
image and class for Dice, per element for cross entropy), so compound losses
reduce with ``"mean"`` or ``"sum"`` only (as MONAI's ``DiceCELoss``):
``reduction="none"`` raises ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from . import _checks
from ._inputs import Prepared, prepare
from ._namespace import Array, Namespace, device, get_namespace, is_array
from ._reduce import reduce_table
from ._stats import soft_statistics
from .pixel import _balanced_cross_entropy, _cross_entropy
from .region import region_loss_from_stats

__all__ = ["bce_dice_loss", "combo_loss", "deep_supervision", "dice_ce_loss"]

_COMPOUND_REDUCTIONS = ("mean", "sum")


def _check_reduction(reduction: str, name: str) -> None:
    if reduction not in _COMPOUND_REDUCTIONS:
        raise ValueError(
            f"`reduction` must be 'mean' or 'sum' for {name}, got {reduction!r}; 'none' is "
            "not supported because the Dice term is per (image, class) and the "
            "cross-entropy term per element (call the two losses separately instead)"
        )


def _prepare_both(y_pred: Array, y_true: Array, *, mode: str, from_logits: bool,
                  class_axis: int, ignore_index: int | None,
                  class_weights: Sequence[float] | None) -> Prepared:
    """One validation and layout pass shared by the Dice and the cross-entropy terms."""
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits,
                       class_axis=class_axis, ignore_index=ignore_index)
    if class_weights is not None:
        _checks.check_class_weights(class_weights, prepared.num_classes, mode)
    return prepared


def _dice_term(prepared: Prepared, *, class_weights: Sequence[float] | None,
               include_background: bool, smooth: float, squared: bool, batch: bool,
               soft_label: bool, reduction: str) -> Array:
    """``dice_loss`` with its ``"mean"``/``"sum"`` reduction, on prepared inputs."""
    stats = soft_statistics(prepared, squared=squared, soft_label=soft_label,
                            batch_pooled=batch)
    return region_loss_from_stats(
        stats, kind="dice", smooth=smooth, class_weights=class_weights,
        include_background=include_background or prepared.mode == "binary",
        reduction=reduction)


def dice_ce_loss(
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
    pos_weight: float | Sequence[float] | None = None,
    label_smoothing: float = 0.0,
    lambda_dice: float = 1.0,
    lambda_ce: float = 1.0,
    reduction: str = "mean",
) -> Array:
    """Dice + cross entropy, ``λ_dice · dice_loss + λ_ce · cross_entropy`` (MONAI ``DiceCELoss``).

    Parameters
    ----------
    y_pred : array
        Real floating scores ``(N, C, *spatial)`` (class axis at ``class_axis``);
        binary mode also accepts ``(N, *spatial)``. Logits unless ``from_logits=False``.
    y_true : array
        Multiclass: integer class ids ``(N, *spatial)`` or a one-hot / soft-label float
        array of ``y_pred``'s shape. Binary / multilabel: ``y_pred``'s shape, values in
        [0, 1].
    mode : {"multiclass", "binary", "multilabel"}
        Multiclass: softmax Dice + softmax cross entropy. Binary / multilabel: sigmoid
        Dice + binary cross entropy with logits.
    from_logits : bool
        ``False`` means ``y_pred`` are probabilities (the CE then uses their logarithm).
    class_axis : int
        Class axis of ``y_pred`` (``-1`` for channels-last data).
    ignore_index : int, optional
        Elements with this label count in neither term (MONAI's ``DiceCELoss`` has no
        ``ignore_index``).
    class_weights : sequence of float, optional
        **Full length C** (background included) in every case. The CE uses all C
        (torch ``weight``: the weighted mean divides by the sum of the targets'
        weights); the Dice term multiplies each class's loss and, with
        ``include_background=False``, drops entry 0 together with class 0. This is
        MONAI ``DiceCELoss``'s rule; MONAI's plain ``DiceLoss`` instead wants C−1
        weights without background (MONAI#7729) — we have one convention everywhere.
    include_background : bool
        If False, class 0 is dropped from the Dice term only; the CE always covers
        every class (MONAI).
    smooth : float
        Dice smoothing, added once to numerator and denominator (MONAI
        ``smooth_nr = smooth_dr = smooth``).
    squared, batch, soft_label : bool
        Passed to the Dice term (see :func:`~segloss_xp.region.dice_loss`; MONAI
        ``squared_pred``, ``batch``; ``soft_label`` is not in MONAI's ``DiceCELoss``).
    pos_weight : float or sequence of float, optional
        Binary / multilabel only: multiplies the positive term of the BCE (torch
        ``pos_weight``). See Notes for MONAI's binary ``weight``.
    label_smoothing : float
        Passed to the CE (torch semantics, ``q(1 − ε) + ε/C``; binary ``y(1 − ε) + ε/2``).
    lambda_dice, lambda_ce : float
        Non-negative weights of the two terms.
    reduction : {"mean", "sum"}
        Applied to each term before they are added. ``"none"`` raises ``ValueError``
        (the terms have different shapes, as in MONAI).

    Returns
    -------
    array
        Scalar, float32 for half/single precision and float64 for float64 inputs, in
        the input's namespace and device.

    Raises
    ------
    ValueError
        ``reduction="none"``, negative ``lambda_*``, wrong ``class_weights`` length,
        and the input errors of :func:`~segloss_xp.region.dice_loss`.

    Notes
    -----
    Keyword mapping to MONAI 1.6 ``DiceCELoss`` (multiclass, integer labels ``y``):
    ``DiceCELoss(softmax=True, to_onehot_y=True, include_background=ib,
    smooth_nr=s, smooth_dr=s, squared_pred=sq, batch=b, weight=w, lambda_dice=ld,
    lambda_ce=lc, label_smoothing=ε, reduction=r)(x, y[:, None])`` equals
    ``dice_ce_loss(x, y, include_background=ib, smooth=s, squared=sq, batch=b,
    class_weights=w, lambda_dice=ld, lambda_ce=lc, label_smoothing=ε, reduction=r)``.
    Binary (one channel): MONAI passes ``weight`` to the BCE as ``pos_weight`` *and*
    multiplies the Dice by it; we keep the two meanings apart (``class_weights``
    multiplies, in both terms; ``pos_weight`` weighs positives in the BCE), so MONAI's
    binary ``weight=w`` is not one keyword here (it is ``dice_loss(class_weights=[w])
    + cross_entropy(pos_weight=w)``). Without weights the two agree.

    References
    ----------
    MONAI ``DiceCELoss``; Isensee et al., "nnU-Net: a self-configuring method for
    deep learning-based biomedical image segmentation", Nature Methods 2021 (Dice + CE).

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[[[4.0, -4.0]], [[-4.0, 4.0]]]])  # (N=1, C=2, 1, 2)
    >>> labels = np.array([[[0, 1]]])
    >>> round(float(dice_ce_loss(logits, labels)), 6)
    0.000671
    """
    _check_reduction(reduction, "dice_ce_loss")
    lambda_dice = _checks.check_nonnegative("lambda_dice", lambda_dice)
    lambda_ce = _checks.check_nonnegative("lambda_ce", lambda_ce)
    prepared = _prepare_both(y_pred, y_true, mode=mode, from_logits=from_logits,
                             class_axis=class_axis, ignore_index=ignore_index,
                             class_weights=class_weights)
    dice = _dice_term(prepared, class_weights=class_weights,
                      include_background=include_background, smooth=smooth, squared=squared,
                      batch=batch, soft_label=soft_label, reduction=reduction)
    ce = _cross_entropy(prepared, y_pred, class_weights=class_weights, pos_weight=pos_weight,
                        label_smoothing=label_smoothing, pixel_weights=None,
                        reduction=reduction)
    return lambda_dice * dice + lambda_ce * ce


def bce_dice_loss(
    y_pred: Array,
    y_true: Array,
    *,
    mode: str = "binary",
    from_logits: bool = True,
    class_axis: int = 1,
    ignore_index: int | None = None,
    class_weights: Sequence[float] | None = None,
    include_background: bool = True,
    smooth: float = 1e-5,
    pos_weight: float | Sequence[float] | None = None,
    lambda_bce: float = 1.0,
    lambda_dice: float = 1.0,
    reduction: str = "mean",
) -> Array:
    """Binary cross entropy + soft Dice, ``λ_bce · BCE + λ_dice · dice_loss``.

    The "BCE-Dice" of the seed repositories and Kaggle kernels, for one foreground
    channel (``mode="binary"``) or independent channels (``mode="multilabel"``); for
    softmax outputs use :func:`dice_ce_loss`.

    Parameters
    ----------
    y_pred : array
        Real floating logits (or probabilities with ``from_logits=False``),
        ``(N, 1, *spatial)`` or ``(N, *spatial)`` (binary), ``(N, C, *spatial)``
        (multilabel; class axis at ``class_axis``).
    y_true : array
        ``y_pred``'s shape, values in [0, 1] (bool, int or float; soft labels allowed).
    mode : {"binary", "multilabel"}
        ``"multiclass"`` raises ``ValueError`` (use :func:`dice_ce_loss`).
    from_logits : bool
        Sigmoid inside (BCE in its stable log-space form); ``False``: probabilities.
    class_axis : int
        Class axis of ``y_pred`` (multilabel, ``-1`` for channels-last data).
    ignore_index : int, optional
        Target value marking elements that count in neither term (not 0 or 1).
    class_weights : sequence of float, optional
        Length C; multiply each channel's BCE and Dice (Dice drops entry 0 with
        channel 0 when ``include_background=False``).
    include_background : bool
        Multilabel: drop channel 0 from the Dice term (the BCE keeps every channel).
    smooth : float
        Dice smoothing, added once to numerator and denominator.
    pos_weight : float or sequence of float, optional
        Weight of the positive term of the BCE (torch ``pos_weight``; the seeds' WCE β).
    lambda_bce, lambda_dice : float
        Non-negative weights of the two terms.
    reduction : {"mean", "sum"}
        Applied to each term before adding; ``"none"`` raises ``ValueError``.

    Returns
    -------
    array
        Scalar in the input's namespace and device (float32, or float64 for float64).

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[[3.0, -3.0, 3.0]]])  # (N=1, C=1, S=3)
    >>> target = np.array([[[1.0, 0.0, 1.0]]])
    >>> round(float(bce_dice_loss(logits, target)), 6)
    0.084583
    """
    if mode not in ("binary", "multilabel"):
        raise ValueError(
            f"bce_dice_loss takes mode='binary' or 'multilabel' (sigmoid outputs), got "
            f"mode={mode!r}; for softmax outputs use dice_ce_loss"
        )
    _check_reduction(reduction, "bce_dice_loss")
    lambda_bce = _checks.check_nonnegative("lambda_bce", lambda_bce)
    lambda_dice = _checks.check_nonnegative("lambda_dice", lambda_dice)
    prepared = _prepare_both(y_pred, y_true, mode=mode, from_logits=from_logits,
                             class_axis=class_axis, ignore_index=ignore_index,
                             class_weights=class_weights)
    dice = _dice_term(prepared, class_weights=class_weights,
                      include_background=include_background, smooth=smooth, squared=False,
                      batch=False, soft_label=False, reduction=reduction)
    bce = _cross_entropy(prepared, y_pred, class_weights=class_weights, pos_weight=pos_weight,
                         label_smoothing=0.0, pixel_weights=None, reduction=reduction)
    return lambda_bce * bce + lambda_dice * dice


def combo_loss(
    y_pred: Array,
    y_true: Array,
    *,
    mode: str = "binary",
    from_logits: bool = True,
    class_axis: int = 1,
    ignore_index: int | None = None,
    alpha: float = 0.5,
    beta: float = 0.5,
    smooth: float = 1.0,
    reduction: str = "mean",
) -> Array:
    """Combo loss (Taghanaki et al. 2019): ``α · L_mbce − (1 − α) · Dice``.

    ``L_mbce = −(1/M) Σ_i [β t_i ln p_i + (1 − β)(1 − t_i) ln(1 − p_i)]`` is the
    β-weighted ("modified") binary cross entropy over the M counted elements
    (:func:`~segloss_xp.pixel.balanced_cross_entropy`) and ``Dice`` the soft Dice
    *score* ``(2I + s)/(P + G + s)``, so the loss lies in ``[−(1 − α), ∞)`` and is
    minimal (``−(1 − α)``, up to smoothing) at a perfect prediction.

    Parameters
    ----------
    y_pred : array
        Real floating scores (logits unless ``from_logits=False``): binary
        ``(N, 1, *spatial)`` or ``(N, *spatial)``; multilabel ``(N, C, *spatial)`` with
        the class axis at ``class_axis``.
    y_true : array
        ``y_pred``'s shape, values in [0, 1] (bool, int or float).
    mode : {"binary", "multilabel"}
        Sigmoid outputs, as in the paper's released code. For several organs use
        ``"multilabel"`` with one-hot targets (one sigmoid channel per organ);
        ``"multiclass"`` raises ``ValueError`` (the β-weighted BCE is not defined on
        softmax outputs here).
    from_logits : bool
        Activation inside, logs in log space (no clipping needed); ``False``:
        probabilities.
    class_axis : int
        Class axis of ``y_pred`` (``-1`` for channels-last data).
    ignore_index : int, optional
        Elements with this label (target value) count in neither term.
    alpha : float in [0, 1]
        Weight of the cross entropy; ``1 − α`` weighs the Dice score (paper: α = 0.5
        in the released code).
    beta : float in [0, 1]
        Weight of the positive (false-negative) term of the cross entropy; β < 0.5
        penalises false positives more (paper).
    smooth : float
        Dice smoothing added once to numerator and denominator; default 1, the value
        of the authors' released Keras code (``smooth = 1``).
    reduction : {"mean", "sum"}
        ``"mean"``: mean cross entropy over counted elements and mean Dice score over
        (image, class); ``"sum"``: the sums. ``"none"`` raises ``ValueError``.

    Returns
    -------
    array
        Scalar in the input's namespace and device (float32, or float64 for float64).

    Notes
    -----
    * The paper's Eq. (3) sums the Dice over the K classes; we average over (image,
      class), identical for one binary image and independent of K and N otherwise.
      Statistics are per image, where the released code pools the whole batch into one
      Dice.
    * The paper prints ``β(t_i − ln p_i)`` for the positive term (a typo for
      ``β t_i ln p_i``). The released code computes
      ``−β (t ln p + (1 − β)(1 − t) ln(1 − p))``, i.e. it weighs negatives by
      ``β(1 − β)`` instead of ``1 − β``, and clips p to ``[1e-7, 1 − 1e-7]``; we follow
      the paper's formula, with exact log-space logs.

    References
    ----------
    Taghanaki et al., "Combo loss: handling input and output imbalance in multi-organ
    segmentation", Computerized Medical Imaging and Graphics 75:24-33, 2019
    (arXiv 1805.02798); code: github.com/asgsaeid/ComboLoss.

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[[0.9, 0.2, 0.7]]])  # (N=1, C=1, S=3)
    >>> target = np.array([[[1.0, 0.0, 1.0]]])
    >>> round(float(combo_loss(probs, target, from_logits=False)), 6)
    -0.380402
    """
    if mode not in ("binary", "multilabel"):
        raise ValueError(
            f"combo_loss takes mode='binary' or 'multilabel' (sigmoid outputs), got "
            f"mode={mode!r}; for several classes use mode='multilabel' with one-hot targets")
    _check_reduction(reduction, "combo_loss")
    alpha = _checks.check_nonnegative("alpha", alpha)
    beta = _checks.check_nonnegative("beta", beta)
    for name, value in (("alpha", alpha), ("beta", beta)):
        if value > 1:
            raise ValueError(f"`{name}` must lie in [0, 1], got {value!r}")
    smooth = _checks.check_nonnegative("smooth", smooth)
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits,
                       class_axis=class_axis, ignore_index=ignore_index)
    table = region_loss_from_stats(soft_statistics(prepared), kind="dice", smooth=smooth,
                                   reduction="none")
    dice = reduce_table(1 - table, reduction, prepared.xp)
    mbce = _balanced_cross_entropy(prepared, beta=beta, reduction=reduction)
    return alpha * mbce - (1 - alpha) * dice


# --------------------------------------------------------------------------- deep supervision


_SAMPLINGS = ("nearest", "nearest-exact")


def _source_indices(size_in: int, size_out: int, sampling: str, xp: Namespace,
                    dev: Any) -> Array:
    """int64 indices ``(size_out,)`` into an axis of length ``size_in`` (exact integers)."""
    i = xp.arange(size_out, dtype=xp.int64, device=dev)
    if sampling == "nearest":  # floor(i · in / out): torch "nearest", x[::k] for ratio k
        return (i * size_in) // size_out
    # floor((i + ½) · in / out), clipped: torch "nearest-exact" (MONAI, the block centre)
    # (2·out − 1)·in // (2·out) <= in − 1: no clipping needed
    return ((2 * i + 1) * size_in) // (2 * size_out)


def _resample_target(y_true: Array, pred: Array, class_axis: int, sampling: str,
                     scale: int, xp: Namespace) -> Array:
    """``y_true`` brought to ``pred``'s spatial shape by nearest-neighbour index selection."""
    pred_shape, true_shape = tuple(pred.shape), tuple(y_true.shape)
    if y_true.ndim == pred.ndim:
        want = pred_shape  # same layout: class axes already agree
    elif y_true.ndim == pred.ndim - 1:  # label map: y_pred's layout without its class axis
        if isinstance(class_axis, bool) or not isinstance(class_axis, int) or not (
                -pred.ndim <= class_axis < pred.ndim):
            raise ValueError(f"`class_axis`={class_axis!r} is out of range for prediction "
                             f"{scale} of shape {pred_shape}")
        axis = class_axis % pred.ndim
        want = pred_shape[:axis] + pred_shape[axis + 1:]
    else:
        raise ValueError(
            f"deep_supervision: `y_true` of shape {true_shape} fits neither prediction "
            f"{scale} of shape {pred_shape} (same rank) nor its class-less layout (one "
            "axis fewer)")
    if want[0] != true_shape[0]:
        raise ValueError(
            f"deep_supervision: prediction {scale} has batch size {want[0]} but `y_true` "
            f"has {true_shape[0]} (shapes {pred_shape} and {true_shape})")
    out = y_true
    for axis in range(1, len(want)):
        size_in, size_out = true_shape[axis], want[axis]
        if size_in == size_out:
            continue
        if size_out > size_in:
            raise ValueError(
                f"deep_supervision: prediction {scale} of shape {pred_shape} is larger than "
                f"`y_true` of shape {true_shape} on axis {axis} ({size_out} > {size_in}); "
                "targets are only downsampled (give the highest-resolution target)")
        index = _source_indices(size_in, size_out, sampling, xp, device(y_true))
        out = xp.take(out, index, axis=axis)
    return out


def deep_supervision(
    loss_fn: Callable[..., Array],
    preds: Sequence[Array],
    y_true: Array,
    *,
    weights: Sequence[float] | None = None,
    sampling: str = "nearest",
    **kwargs: Any,
) -> Array:
    """Deep-supervision (pyramid) loss: ``Σ_i w_i · loss_fn(preds[i], y_true↓i, **kwargs)``.

    ``y_true↓i`` is the target brought to the spatial shape of ``preds[i]`` by
    nearest-neighbour *index selection* along each spatial axis (no interpolation:
    labels stay labels, one-hot stays one-hot, soft labels keep their values), with
    static index arrays, so it runs under ``jax.jit`` and ``torch.compile``.

    Parameters
    ----------
    loss_fn : callable
        Any loss of this library (or one with the same call form) returning a scalar,
        e.g. :func:`~segloss_xp.region.dice_loss` or :func:`dice_ce_loss`.
    preds : sequence of arrays
        The network's outputs, highest resolution first (the order only matters for
        the default weights). Each has ``y_pred``'s layout for ``loss_fn`` (same batch,
        classes and class axis) and spatial sizes no larger than the target's; ratios
        need not be integers.
    y_true : array
        The full-resolution target: integer labels ``(N, *spatial)``, or an array of the
        predictions' layout (one-hot / soft labels, binary / multilabel masks). The
        class axis is located through ``kwargs["class_axis"]`` (default 1), so
        channels-last works.
    weights : sequence of float, optional
        One non-negative weight per prediction, **used as given** (not normalised, so
        MONAI's ``DeepSupervisionLoss(weights=...)`` maps one to one). Default: halving
        per scale, ``2^−i``, normalised to sum 1 (nnU-Net's scheme, without its zero
        weight for the coarsest output).
    sampling : {"nearest", "nearest-exact"}
        Source index of output index ``i`` along an axis of ``in → out`` elements:
        ``floor(i·in/out)`` ("nearest": torch's legacy ``mode="nearest"``, ``y[::k]`` for
        an integer ratio k, the centre of a stride-k convolution with padding k//2)
        or ``floor((i + ½)·in/out)`` ("nearest-exact": torch's ``"nearest-exact"``,
        which MONAI's ``DeepSupervisionLoss`` uses).
    **kwargs
        Passed to ``loss_fn`` for every scale (``mode``, ``class_axis``, ...).

    Returns
    -------
    array
        Scalar, the weighted sum, in ``loss_fn``'s output namespace, dtype and device.

    Raises
    ------
    TypeError
        ``preds`` is a single array instead of a sequence, or ``loss_fn`` not callable.
    ValueError
        Empty ``preds``, ``weights`` of another length or negative, a prediction larger
        than the target or with another batch size, a non-scalar per-scale loss
        (``reduction="none"``), unknown ``sampling``.

    Notes
    -----
    MONAI's ``DeepSupervisionLoss(weight_mode="exp")`` uses ``max(0.5^i, 1/16)``
    unnormalised; pass those as ``weights`` (with ``sampling="nearest-exact"``) to
    reproduce it.

    References
    ----------
    Lee et al., "Deeply-supervised nets", AISTATS 2015; Isensee et al., nnU-Net, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from segloss_xp.region import dice_loss
    >>> labels = np.zeros((1, 4, 4), dtype=np.int64)
    >>> labels[:, :2, :2] = 1
    >>> logits = [np.zeros((1, 2, 4, 4)), np.zeros((1, 2, 2, 2))]
    >>> round(float(deep_supervision(dice_loss, logits, labels, smooth=0.0)), 6)
    0.533333
    """
    if not callable(loss_fn):
        raise TypeError(f"`loss_fn` must be callable, got {type(loss_fn).__name__}")
    if is_array(preds):
        raise TypeError(
            "deep_supervision: `preds` must be a sequence (list/tuple) of arrays, one per "
            f"scale, got a single array of shape {tuple(preds.shape)}; wrap it as [pred]")
    preds = list(preds)
    if not preds:
        raise ValueError("deep_supervision: `preds` is empty; give at least one prediction")
    _checks.check_choice("sampling", sampling, _SAMPLINGS)
    names = (*(f"preds[{i}]" for i in range(len(preds))), "y_true")
    xp = get_namespace(*preds, y_true, names=names)
    if y_true is None:
        raise TypeError("`y_true` must be an array, got None")
    if weights is None:
        raw = [0.5**i for i in range(len(preds))]
        total = math.fsum(raw)
        scale_weights = [w / total for w in raw]
    else:
        try:
            scale_weights = [float(w) for w in weights]
        except TypeError as exc:
            raise TypeError("`weights` must be a sequence of numbers, one per prediction, "
                            f"got {type(weights).__name__}") from exc
        if len(scale_weights) != len(preds):
            raise ValueError(f"`weights` must have one entry per prediction: {len(preds)} "
                             f"predictions, {len(scale_weights)} weights")
        if not all(math.isfinite(w) and w >= 0 for w in scale_weights):
            raise ValueError(f"`weights` must be finite and >= 0, got {scale_weights}")
    class_axis = kwargs.get("class_axis", 1)
    total_loss = None
    for i, (pred, weight) in enumerate(zip(preds, scale_weights, strict=True)):
        target = _resample_target(y_true, pred, class_axis, sampling, i, xp)
        loss = loss_fn(pred, target, **kwargs)
        if getattr(loss, "ndim", 0) != 0:
            raise ValueError(
                f"deep_supervision needs a scalar loss per scale, but loss_fn returned shape "
                f"{tuple(loss.shape)} for prediction {i} (use reduction='mean' or 'sum')")
        term = weight * loss
        total_loss = term if total_loss is None else total_loss + term
    return total_loss
