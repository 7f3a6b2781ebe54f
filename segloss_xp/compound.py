"""Compound losses: a region term plus a pixel term, and deep supervision.

``dice_ce_loss`` (MONAI's ``DiceCELoss``), ``dice_focal_loss`` (MONAI's
``DiceFocalLoss``), ``bce_dice_loss`` (binary cross entropy + Dice),
``combo_loss`` (Taghanaki et al. 2019) and ``deep_supervision`` (a weighted sum
of one loss over the outputs of a multi-scale network, the target resampled to
each output by nearest-neighbour index selection). The terms are the library's
own (``region.region_term``, ``pixel.cross_entropy_term``, ``pixel.focal_term``,
``pixel.balanced_cross_entropy_term``) on one shared ``prepare``; nothing is
reimplemented.

The two terms of a compound loss have different natural shapes ((N, C) per
image and class for Dice, per element for cross entropy), so compound losses
reduce with ``"mean"`` or ``"sum"`` only (as MONAI's ``DiceCELoss``):
``reduction="none"`` raises ``ValueError``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

from . import _checks
from ._capabilities import declare
from ._checks import ClassWeights, Mode, ScalarReduction, SigmoidMode, Weights
from ._formulas import dice_ratio
from ._inputs import Prepared, prepare
from ._namespace import Array, Namespace, device, get_namespace, is_array
from ._reduce import reduce_table
from ._stats import soft_statistics
from .pixel import balanced_cross_entropy_term, cross_entropy_term, focal_term
from .region import region_term

__all__ = ["bce_dice_loss", "combo_loss", "deep_supervision", "dice_ce_loss",
           "dice_focal_loss"]


def _compound(y_pred: Array, y_true: Array, *, mode: str, from_logits: bool,
              class_axis: int, ignore_index: int | None, reduction: str, caller: str,
              modes: Sequence[str] = _checks.MODES, alternative: str = "",
              **lambdas: float) -> tuple[Prepared, list[float]]:
    """One ``prepare`` for both terms (scalar reductions only) and the checked term weights."""
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits,
                       class_axis=class_axis, ignore_index=ignore_index, reduction=reduction,
                       caller=caller, modes=modes, reductions=_checks.SCALAR_REDUCTIONS,
                       alternative=alternative)
    return prepared, [_checks.check_nonnegative(k, v) for k, v in lambdas.items()]


@declare("compound")
def dice_ce_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, class_weights: ClassWeights = None,
    include_background: bool = True, smooth: float = 1e-5,
    squared: bool = False, batch: bool = False, soft_label: bool = False,
    pos_weight: Weights = None, label_smoothing: float = 0.0, lambda_dice: float = 1.0,
    lambda_ce: float = 1.0, reduction: ScalarReduction = "mean",
) -> Array:
    """Dice + cross entropy, ``λ_dice · dice_loss + λ_ce · cross_entropy`` (MONAI ``DiceCELoss``).

    %(inputs)s
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
    %(smooth)s
    %(squared)s
    %(batch)s
    %(soft_label)s
    pos_weight : float or sequence of float, optional
        Binary / multilabel only: multiplies the positive term of the BCE (torch
        ``pos_weight``). See Notes for MONAI's binary ``weight``.
    label_smoothing : float
        Passed to the CE (torch semantics, ``q(1 − ε) + ε/C``; binary ``y(1 − ε) + ε/2``).
    lambda_dice, lambda_ce : float
        Non-negative weights of the two terms.
    %(compound_result)s

    Notes
    -----
    Keyword mapping to MONAI 1.6 ``DiceCELoss`` (multiclass, integer labels ``y``):
    ``DiceCELoss(softmax=True, to_onehot_y=True, include_background=ib,
    smooth_nr=s, smooth_dr=s, squared_pred=sq, batch=b, weight=w, lambda_dice=ld,
    lambda_ce=lc, label_smoothing=ε, reduction=r)(x, y[:, None])`` equals
    ``dice_ce_loss(x, y, include_background=ib, smooth=s, squared=sq, batch=b,
    class_weights=w, lambda_dice=ld, lambda_ce=lc, label_smoothing=ε, reduction=r)``.
    Binary (one channel): MONAI passes ``weight`` to the BCE as ``pos_weight``, and its
    ``DiceLoss`` ignores ``weight`` when there is one channel, so
    ``DiceCELoss(weight=[w], sigmoid=True)`` is
    ``dice_ce_loss(x, y, mode="binary", pos_weight=w)`` (1.445239 on MONAI's own test
    case 6; ``conformance/witnesses/test_mappings.py`` checks it).

    References
    ----------
    MONAI ``DiceCELoss``; Isensee et al., "nnU-Net: a self-configuring method for
    deep learning-based biomedical image segmentation", Nature Methods 2021 (Dice + CE).

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[[4.0, -4.0], [-4.0, 4.0]]])  # (N=1, C=2, S=2)
    >>> round(float(dice_ce_loss(logits, np.array([[0, 1]]))), 6)
    0.000671
    """
    prepared, (l_dice, l_ce) = _compound(
        y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
        ignore_index=ignore_index, reduction=reduction, caller="dice_ce_loss",
        lambda_dice=lambda_dice, lambda_ce=lambda_ce)
    dice = region_term(prepared, "dice", class_weights=class_weights, batch=batch,
                       include_background=include_background, squared=squared,
                       soft_label=soft_label, smooth=smooth)
    ce = cross_entropy_term(prepared, class_weights=class_weights, pos_weight=pos_weight,
                            label_smoothing=label_smoothing, pixel_weights=None)
    return l_dice * dice + l_ce * ce


@declare("compound")
def dice_focal_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, class_weights: ClassWeights = None,
    include_background: bool = True, smooth: float = 1e-5, squared: bool = False,
    batch: bool = False, gamma: float = 2.0,
    alpha: Weights = None, lambda_dice: float = 1.0, lambda_focal: float = 1.0,
    reduction: ScalarReduction = "mean",
) -> Array:
    """Dice + focal, ``λ_dice · dice_loss + λ_focal · focal_loss`` (MONAI ``DiceFocalLoss``).

    %(inputs)s
    class_weights : sequence of float, optional
        Length C (background included), multiplying each class's loss in both terms;
        the Dice term drops entry 0 with class 0 when ``include_background=False``.
    include_background : bool
        If False, class 0 is left out of both terms (MONAI): the Dice term drops it; the
        multiclass focal term weights class 0 by 0 (the softmax still runs over every
        class and the mean over every counted pixel), the multilabel focal term drops
        channel 0 (its mean runs over the other channels). No effect in binary mode.
    %(smooth)s
    %(squared)s
    %(batch)s
    gamma : float
        Focusing exponent of the focal term (``γ >= 0``).
    alpha : float or sequence of float, optional
        The focal term's α (see :func:`~segloss_xp.pixel.focal_loss`).
    lambda_dice, lambda_focal : float
        Non-negative weights of the two terms.
    %(compound_result)s

    Notes
    -----
    The focal term is the softmax focal in multiclass mode and the sigmoid focal in
    binary/multilabel mode. MONAI's ``DiceFocalLoss`` always uses the sigmoid focal,
    even with ``softmax=True``: ``DiceFocalLoss(softmax=True, to_onehot_y=True)`` is
    ``dice_loss(x, y) + focal_loss(x, one_hot(y), mode="multilabel")``. MONAI's softmax
    focal divides its mean by ``N·C·spatial`` (ours by the counted pixels) and, without
    background, renormalises the softmax over the foreground classes; a sequence
    ``alpha`` in sigmoid mode is MONAI's ``pos_weight``-like weight of positives only,
    ours is α for positives and 1 − α for negatives. The witness tests state each
    keyword mapping.

    References
    ----------
    MONAI ``DiceFocalLoss``; Zhu et al., "AnatomyNet", Medical Physics 2019 (Dice +
    focal); Lin et al., "Focal loss for dense object detection", ICCV 2017.

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[[1.0, -2.0, 0.5], [-1.0, 2.0, 1.5]]])  # (N=1, C=2, S=3)
    >>> round(float(dice_focal_loss(logits, np.array([[0, 1, 1]]), gamma=1.0)), 6)
    0.1799
    """
    prepared, (l_dice, l_focal) = _compound(
        y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
        ignore_index=ignore_index, reduction=reduction,
        caller="dice_focal_loss", lambda_dice=lambda_dice, lambda_focal=lambda_focal)
    dice = region_term(prepared, "dice", class_weights=class_weights, batch=batch,
                       include_background=include_background, squared=squared, smooth=smooth)
    return l_dice * dice + l_focal * focal_term(
        prepared, gamma=gamma, alpha=alpha, class_weights=class_weights, pos_weight=None,
        include_background=include_background)


@declare("compound")
def bce_dice_loss(
    y_pred: Array, y_true: Array, *, mode: SigmoidMode = "binary", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, class_weights: ClassWeights = None,
    include_background: bool = True, smooth: float = 1e-5,
    pos_weight: Weights = None, lambda_bce: float = 1.0,
    lambda_dice: float = 1.0, reduction: ScalarReduction = "mean",
) -> Array:
    """Binary cross entropy + soft Dice, ``λ_bce · BCE + λ_dice · dice_loss``.

    The "BCE-Dice" of the seed repositories and Kaggle kernels, for one foreground
    channel (``mode="binary"``) or independent channels (``mode="multilabel"``); for
    softmax outputs use :func:`dice_ce_loss`.

    %(inputs_sigmoid)s
    class_weights : sequence of float, optional
        Length C; multiply each channel's BCE and Dice (Dice drops entry 0 with
        channel 0 when ``include_background=False``).
    include_background : bool
        Multilabel: drop channel 0 from the Dice term (the BCE keeps every channel).
    %(smooth)s
    pos_weight : float or sequence of float, optional
        Weight of the positive term of the BCE (torch ``pos_weight``; the seeds' WCE β).
    lambda_bce, lambda_dice : float
        Non-negative weights of the two terms.
    %(reduction_compound)s

    %(returns_scalar)s

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[[3.0, -3.0, 3.0]]])  # (N=1, C=1, S=3)
    >>> target = np.array([[[1.0, 0.0, 1.0]]])
    >>> round(float(bce_dice_loss(logits, target)), 6)
    0.084583
    """
    prepared, (l_bce, l_dice) = _compound(
        y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
        ignore_index=ignore_index, reduction=reduction, caller="bce_dice_loss",
        modes=_checks.SIGMOID_MODES, alternative="for softmax outputs use dice_ce_loss",
        lambda_bce=lambda_bce, lambda_dice=lambda_dice)
    dice = region_term(prepared, "dice", class_weights=class_weights, batch=False,
                       include_background=include_background, smooth=smooth)
    bce = cross_entropy_term(prepared, class_weights=class_weights, pos_weight=pos_weight,
                             label_smoothing=0.0, pixel_weights=None)
    return l_bce * bce + l_dice * dice


@declare("compound")
def combo_loss(
    y_pred: Array, y_true: Array, *, mode: SigmoidMode = "binary", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, alpha: float = 0.5,
    beta: float = 0.5, smooth: float = 1.0, reduction: ScalarReduction = "mean",
) -> Array:
    """Combo loss (Taghanaki et al. 2019): ``α · L_mbce − (1 − α) · Dice``.

    ``L_mbce = −(1/M) Σ_i [β t_i ln p_i + (1 − β)(1 − t_i) ln(1 − p_i)]`` is the
    β-weighted ("modified") binary cross entropy over the M counted elements
    (:func:`~segloss_xp.pixel.balanced_cross_entropy`) and ``Dice`` the soft Dice
    *score* ``(2I + s)/(P + G + s)``, so the loss lies in ``[−(1 − α), ∞)`` and is
    minimal (``−(1 − α)``, up to smoothing) at a perfect prediction.

    %(inputs_sigmoid)s
    alpha : float in [0, 1]
        Weight of the cross entropy; ``1 − α`` weighs the Dice score (paper: α = 0.5
        in the released code).
    beta : float in [0, 1]
        Weight of the positive (false-negative) term of the cross entropy; β < 0.5
        penalises false positives more (paper).
    smooth : float
        Dice smoothing added once to numerator and denominator; default 1, the value
        of the authors' released Keras code (``smooth = 1``).
    %(reduction_compound)s

    %(returns_scalar)s

    Notes
    -----
    * For several organs use ``mode="multilabel"`` with one-hot targets (one sigmoid
      channel per organ), as the paper's released code does.
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
    alpha = _checks.check_unit("alpha", alpha)
    prepared, _ = _compound(
        y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
        ignore_index=ignore_index, reduction=reduction, caller="combo_loss",
        modes=_checks.SIGMOID_MODES, alternative="for several classes use "
        "mode='multilabel' with one-hot targets")
    inter, pred, true = soft_statistics(prepared)
    score = dice_ratio(inter, pred, true, smooth=_checks.check_nonnegative("smooth", smooth),
                       xp=prepared.xp)
    dice = reduce_table(score, reduction, xp=prepared.xp)
    mbce = balanced_cross_entropy_term(prepared, beta=beta)
    return alpha * mbce - (1 - alpha) * dice


# --------------------------------------------------------------------------- deep supervision


_SAMPLINGS = ("nearest", "nearest-exact")


def _source_indices(size_in: int, size_out: int, sampling: str, *, dev: Any,
                    xp: Namespace) -> Array:
    """int64 indices ``(size_out,)`` into an axis of length ``size_in`` (exact integers)."""
    i = xp.arange(size_out, dtype=xp.int64, device=dev)
    if sampling == "nearest":  # floor(i · in / out): torch "nearest", x[::k] for ratio k
        return (i * size_in) // size_out
    # floor((i + ½) · in / out), clipped: torch "nearest-exact" (MONAI, the block centre)
    # (2·out − 1)·in // (2·out) <= in − 1: no clipping needed
    return ((2 * i + 1) * size_in) // (2 * size_out)


def _class_axis(class_axis: object, ndim: int, scale: int, shape: tuple[int, ...]) -> int:
    """The normalised class axis of prediction ``scale`` (an int, not the batch axis)."""
    if isinstance(class_axis, bool) or not isinstance(class_axis, int):
        raise TypeError(f"`class_axis` must be an int, got {type(class_axis).__name__}")
    if not -ndim <= class_axis < ndim:
        raise ValueError(f"`class_axis`={class_axis!r} is out of range for prediction "
                         f"{scale} of shape {shape}")
    if class_axis % ndim == 0:
        raise ValueError(f"`class_axis` cannot be the batch axis 0 (prediction {scale} of "
                         f"shape {shape}); use 1 for channels-first or -1 for channels-last")
    return class_axis % ndim


def _resample_target(y_true: Array, pred: Array, class_axis: int, sampling: str,
                     scale: int, *, binary: bool, xp: Namespace) -> Array:
    """``y_true`` brought to ``pred``'s spatial shape by nearest-neighbour index selection."""
    pred_shape, true_shape = tuple(pred.shape), tuple(y_true.shape)
    axis = _class_axis(class_axis, pred.ndim, scale, pred_shape)
    if y_true.ndim == pred.ndim:
        want = pred_shape  # same layout: class axes must agree, never resampled
        if (not binary or pred_shape[axis] == 1) and true_shape[axis] != pred_shape[axis]:
            raise ValueError(
                f"deep_supervision: `y_true` has {true_shape[axis]} classes on `class_axis` "
                f"{class_axis} but prediction {scale} has {pred_shape[axis]} (shapes "
                f"{true_shape} and {pred_shape})")
    elif y_true.ndim == pred.ndim - 1:  # label map: y_pred's layout without its class axis
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
        index = _source_indices(size_in, size_out, sampling, dev=device(y_true), xp=xp)
        out = xp.take(out, index, axis=axis)
    return out


@declare("compound")
def deep_supervision(
    loss_fn: Callable[..., Array],
    preds: Sequence[Array],
    y_true: Array,
    *,
    weights: Sequence[float] | None = None,
    sampling: Literal["nearest", "nearest-exact"] = "nearest",
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
            f"scale, got a single array of shape {tuple(getattr(preds, 'shape', ()))}; wrap "
            "it as [pred]")
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
            if isinstance(weights, str | bytes):
                raise TypeError(weights)
            scale_weights = [float(w) for w in weights]
        except (TypeError, ValueError) as exc:
            raise TypeError("`weights` must be a sequence of numbers, one per prediction, "
                            f"got {type(weights).__name__}") from exc
        if len(scale_weights) != len(preds):
            raise ValueError(f"`weights` must have one entry per prediction: {len(preds)} "
                             f"predictions, {len(scale_weights)} weights")
        if not all(math.isfinite(w) and w >= 0 for w in scale_weights):
            raise ValueError(f"`weights` must be finite and >= 0, got {scale_weights}")
    class_axis = kwargs.get("class_axis", 1)
    mode = kwargs.get("mode", getattr(inspect.signature(loss_fn).parameters.get("mode"),
                                      "default", None))
    binary = mode == "binary"
    total_loss = None
    for i, (pred, weight) in enumerate(zip(preds, scale_weights, strict=True)):
        target = _resample_target(y_true, pred, class_axis, sampling, i, binary=binary, xp=xp)
        loss = loss_fn(pred, target, **kwargs)
        if getattr(loss, "ndim", 0) != 0:
            raise ValueError(
                f"deep_supervision needs a scalar loss per scale, but loss_fn returned shape "
                f"{tuple(loss.shape)} for prediction {i} (use reduction='mean' or 'sum')")
        term = weight * loss
        total_loss = term if total_loss is None else total_loss + term
    return total_loss
