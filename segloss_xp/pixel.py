"""Pixel (distribution) losses: cross entropy, balanced cross entropy, focal, conservative.

Every loss here is a per-element formula on log-probabilities followed by the
shared masked reduction: ``inputs -> log p (and log(1 − p)) -> formula ->
reduce_elements``. Logs are taken in log space from the logits (exact for
logits of magnitude 1e4); with ``from_logits=False`` they are ``log`` of the
given probabilities clamped at ``−100``, as ``torch.nn.functional.binary_cross_entropy``
does, so a probability of exactly 0 or 1 gives a finite loss and gradient.

With integer labels the label's log-probability is picked with a gather
(``_dispatch.take_labels``; ignored labels clamped to class 0 first): no C-fold
one-hot is built. Dask has no ``take_along_axis``; there the pick is the exact sum
``Σ_c [y == c] · v_c`` (a single non-zero term), C-fold work but the same numbers.
From logits, the multiclass term with integer labels and the sigmoid BCE are the
closed-form gradient kernels of ``_kernels`` (``LABEL_TERM``, ``BINARY_TERM``).

``reduction="mean"`` divides by the number of counted (non-ignored) elements:
pixels in multiclass mode, elements ``(n, c, pixel)`` in binary/multilabel mode;
the one exception is :func:`cross_entropy` with integer labels and
``class_weights`` (and no ``pixel_weights``), which divides by the sum of the
target classes' weights (torch's weighted mean). An all-ignored input gives 0
(torch gives NaN). ``reduction="none"`` gives the per-element map with 0 at
ignored elements: ``(N, *spatial)`` in multiclass mode, ``y_pred``'s own shape
(and layout) in binary/multilabel mode.

The ``*_term`` functions compute a loss on prepared inputs; the compound losses
share them (one ``prepare`` for both terms).
"""

from __future__ import annotations

import math

from . import _checks
from ._capabilities import declare
from ._checks import ClassWeights, Mode, Reduction, SigmoidMode, Weights
from ._dispatch import native, take_labels
from ._inputs import Prepared, prepare
from ._kernels import BINARY_TERM, LABEL_TERM, LabelConfig, run
from ._math import safe_pow
from ._namespace import Array, Namespace, device, get_namespace
from ._reduce import reduce_elements

__all__ = ["balanced_cross_entropy", "conservative_loss", "cross_entropy", "focal_loss"]

# --------------------------------------------------------------------------- helpers


def _label_index(prepared: Prepared) -> Array:
    """Integer labels ``(N, S)`` usable as indices: ignored labels set to class 0."""
    xp, labels = prepared.xp, prepared.labels
    assert labels is not None
    if prepared.mask is not None:
        labels = xp.where(prepared.mask[:, 0, :], labels, xp.zeros_like(labels))
    return labels


def _pick(values: Array, index: Array, prepared: Prepared) -> Array:
    """``values[n, y[n, s], s]`` -> ``(N, S)``; ``values`` is ``(N, C, S)`` or ``(1, C, 1)``."""
    xp = prepared.xp
    shape = (index.shape[0], values.shape[1], index.shape[1])
    if values.shape != shape:
        values = xp.broadcast_to(values, shape)
    return take_labels(values, index, xp=xp)


def _label_term(prepared: Prepared, index: Array, *, alpha: Array | None,
                weights: Array | None, gamma: float, epsilon: float) -> Array:
    """The softmax label term ``(N, S)`` from logits (``_kernels.LABEL_TERM``).

    ``alpha`` and ``weights``: ``(1, C, 1)`` class vectors or None; ``index`` from
    :func:`_label_index`. Cross entropy too: on torch the term's plain chain
    (``log_softmax``, a gather) ties with ``F.cross_entropy`` forward+backward in ./dev
    bench (W2D ÷ ``F.cross_entropy`` 1.05×/1.08× with it, 1.10×/1.06× without, side by
    side), so one path serves every configuration.
    """
    xp = prepared.xp
    n, c = prepared.scores.shape[:2]

    def rows(vector: Array | None) -> Array | None:
        return None if vector is None else xp.broadcast_to(xp.reshape(vector, (1, c)), (n, c))
    (loss,) = run(LABEL_TERM, prepared.scores, index, rows(alpha), rows(weights),
                  config=LabelConfig(gamma=gamma, epsilon=epsilon), xp=xp)
    return loss


def _library_reduces(prepared: Prepared, pixel_weights: Array | None) -> bool:
    """Whether a fused binary cross entropy from logits may reduce the loss map itself.

    Its mean is ours only where no element is masked or weighted per element (torch's
    mean of an all-ignored input is NaN, ours 0); its backward then scales in place
    instead of reading a per-element map.
    """
    return (prepared.from_logits and prepared.mask is None and pixel_weights is None
            and prepared.reduction != "none")


def _log_mix(y: Array, log_a: Array, log_b: Array, *, xp: Namespace) -> Array:
    """``log(y·a + (1 − y)·b)`` from ``log a``, ``log b``; exact for ``y ∈ {0, 1}``.

    Hard targets select ``log a`` / ``log b`` directly (no ``log 0`` anywhere);
    soft targets use ``logaddexp(log y + log a, log(1 − y) + log b)``. The
    untaken branches stay finite, so no NaN gradient leaks through ``where``.
    """
    one = y == 1
    zero = y == 0
    soft = ~(one | zero)
    ys = xp.where(soft, y, xp.full_like(y, 0.5))
    mixed = xp.logaddexp(xp.log(ys) + log_a, xp.log1p(-ys) + log_b)
    return xp.where(one, log_a, xp.where(zero, log_b, mixed))


def _bce(y: Array, log_p: Array, log_q: Array, pos_weight: Array | None) -> Array:
    """``−(pw·y·log p + (1 − y)·log(1 − p))`` (torch BCEWithLogits with pos_weight)."""
    positive = y * log_p
    if pos_weight is not None:
        positive = pos_weight * positive
    return -(positive + (1 - y) * log_q)


def _binary_ce(prepared: Prepared, y: Array, pos_weight: Array | None) -> Array:
    """Elementwise BCE ``(N, C, S)``: the closed-form kernel from logits, else from
    the clamped logs of the given probabilities."""
    if prepared.from_logits:
        (loss,) = run(BINARY_TERM, prepared.scores, y, pos_weight, config=None,
                      xp=prepared.xp)
        return loss
    return _bce(y, prepared.log_probs(), prepared.log_one_minus_probs(), pos_weight)


def _soft_ce(q: Array, log_p: Array, weights: Array | None, *, xp: Namespace) -> Array:
    """``−Σ_c w_c q_c log p_c`` over the class axis 1 -> ``(N, S)``."""
    term = q * log_p
    if weights is not None:
        term = weights * term
    return -xp.sum(term, axis=1)


def _class_vector(name: str, values: Weights, prepared: Prepared, *, scalar: bool = False,
                  upper: float | None = None) -> Array | None:
    """A checked length-C vector as ``(1, C, 1)`` in the compute dtype (None stays None)."""
    if values is None:
        return None
    vector = _checks.class_vector(name, values, prepared.num_classes, mode=prepared.mode,
                                  like=prepared.scores, xp=prepared.xp, scalar=scalar,
                                  upper=upper)
    return prepared.xp.reshape(vector, (1, prepared.num_classes, 1))


def _finish(loss: Array, prepared: Prepared, denominator: Array | None = None) -> Array:
    """Masked reduction; ``"none"`` goes back to ``(N, *spatial)`` / ``y_pred``'s layout."""
    out = prepared.poison(reduce_elements(loss, prepared.element_mask(), prepared.reduction,
                                          xp=prepared.xp, denominator=denominator))
    if prepared.reduction != "none":
        return out
    if out.ndim == 2:  # multiclass (N, S)
        return prepared.unflatten(out, channels=False)
    return prepared.restore_layout(out)


def _pixel_weights(pixel_weights: Array | None, prepared: Prepared) -> Array | None:
    """Validate ``pixel_weights`` ``(N, *spatial)`` -> ``(N, S)`` in the compute dtype."""
    if pixel_weights is None:
        return None
    xp = prepared.xp
    get_namespace(prepared.scores, pixel_weights, names=("y_pred", "pixel_weights"))
    n = prepared.scores.shape[0]
    expected = (n, *prepared.spatial_shape)
    if tuple(pixel_weights.shape) != expected:
        raise ValueError(
            f"`pixel_weights` must have shape (N, *spatial) = {expected} "
            f"(mode={prepared.mode!r}, class axis removed), got {tuple(pixel_weights.shape)}")
    if not (xp.isdtype(pixel_weights.dtype, "real floating")
            or xp.isdtype(pixel_weights.dtype, "integral") or pixel_weights.dtype == xp.bool):
        raise TypeError(f"`pixel_weights` must be a real array, got dtype {pixel_weights.dtype}")
    weights = xp.astype(pixel_weights, prepared.dtype)
    bad = ~(xp.isfinite(weights) & (weights >= 0))
    if _checks.should_check_values(pixel_weights) and bool(xp.any(bad)):
        found = float(xp.min(xp.where(bad, weights, xp.zeros_like(weights))))
        found = found if found < 0 else math.nan if bool(xp.any(xp.isnan(weights))) else \
            float(xp.max(xp.where(bad, weights, xp.zeros_like(weights))))
        raise ValueError(f"`pixel_weights` must be finite and >= 0, found {found!r} "
                         f"(mode={prepared.mode!r})")
    return xp.reshape(weights, (n, math.prod(prepared.spatial_shape)))


# --------------------------------------------------------------------------- terms


def cross_entropy_term(prepared: Prepared, *, class_weights: Weights, pos_weight: Weights,
                       label_smoothing: float, pixel_weights: Array | None) -> Array:
    """:func:`cross_entropy` on prepared inputs (shared with the compound losses)."""
    xp = prepared.xp
    eps = _checks.check_unit("label_smoothing", label_smoothing)
    weights = _class_vector("class_weights", class_weights, prepared)
    pix = _pixel_weights(pixel_weights, prepared)
    denominator = None
    if prepared.mode == "multiclass":
        if pos_weight is not None:
            raise ValueError("`pos_weight` applies to mode='binary' or 'multilabel' only "
                             "(it weights the positive term of a sigmoid BCE); got "
                             "mode='multiclass', use `class_weights`")
        num_classes = prepared.num_classes
        if prepared.labels is not None:
            index = _label_index(prepared)
            if weights is not None and pix is None:
                label_weight = _pick(weights, index, prepared)
                denominator = xp.sum(reduce_elements(label_weight, prepared.element_mask(),
                                                     "none", xp=xp))
            if prepared.from_logits:
                loss = _label_term(prepared, index, alpha=weights, weights=weights,
                                   gamma=0.0, epsilon=eps)
            else:
                log_p = prepared.log_probs()
                loss = -_pick(log_p, index, prepared)
                if weights is not None:
                    loss = _pick(weights, index, prepared) * loss
                if eps > 0:
                    smooth = _soft_ce(xp.ones_like(log_p), log_p, weights, xp=xp)
                    loss = (1 - eps) * loss + (eps / num_classes) * smooth
        else:
            q = prepared.target
            assert q is not None
            if eps > 0:
                q = q * (1 - eps) + eps / num_classes
            loss = _soft_ce(q, prepared.log_probs(), weights, xp=xp)
    else:
        y = prepared.target
        assert y is not None
        if eps > 0:
            y = y * (1 - eps) + eps / 2
        pw = _class_vector("pos_weight", pos_weight, prepared, scalar=True)
        fused = native("binary_cross_entropy", xp=xp)
        if fused is not None and weights is None and _library_reduces(prepared, pix):
            # torch's own mean over the N·C·S elements (./dev bench WBIN binary CE ÷
            # binary_cross_entropy_with_logits: 1.24× -> 1.08×, 2026-12-01 -> 12-02)
            return prepared.poison(fused(prepared.scores, y, pw, prepared.reduction))
        loss = _binary_ce(prepared, y, pw)
        if weights is not None:
            loss = weights * loss
    if pix is not None:
        loss = loss * (pix if loss.ndim == 2 else pix[:, None, :])
    return _finish(loss, prepared, denominator)


def balanced_cross_entropy_term(prepared: Prepared, *, beta: float) -> Array:
    """:func:`balanced_cross_entropy` on prepared binary/multilabel inputs."""
    beta = _checks.check_unit("beta", beta)
    y = prepared.target
    assert y is not None
    loss = -(beta * (y * prepared.log_probs())
             + (1 - beta) * ((1 - y) * prepared.log_one_minus_probs()))
    return _finish(loss, prepared)


def _focal_alpha(alpha: Weights, prepared: Prepared) -> Array | None:
    """α as ``(1, C, 1)``; multiclass: a float means ``[1 − α, α, …, α]`` (MONAI, kornia)."""
    if isinstance(alpha, int | float) and not isinstance(alpha, bool):
        a = _checks.check_unit("alpha", alpha)
        c = prepared.num_classes
        alpha = (1 - a,) + (a,) * (c - 1) if prepared.mode == "multiclass" else (a,) * c
    # sigmoid modes: α for positives, 1 − α for negatives, so α <= 1
    upper = None if prepared.mode == "multiclass" else 1.0
    return _class_vector("alpha", alpha, prepared, upper=upper)


def focal_term(prepared: Prepared, *, gamma: float, alpha: Weights, class_weights: Weights,
               pos_weight: Weights, include_background: bool = True) -> Array:
    """:func:`focal_loss` on prepared inputs (shared with the compound losses).

    ``include_background=False`` (MONAI ``FocalLoss``): multiclass, class 0's term is
    weighted 0 (the softmax still runs over every class, the mean over every pixel);
    multilabel, channel 0 is left out of the loss and of the mean.
    """
    xp = prepared.xp
    gamma = _checks.check_nonnegative("gamma", gamma)
    alphas = _focal_alpha(alpha, prepared)
    weights = _class_vector("class_weights", class_weights, prepared)
    drop_background = not include_background and prepared.mode != "binary"
    if drop_background and prepared.mode == "multiclass":
        first = xp.reshape(xp.arange(prepared.num_classes, device=device(prepared.scores)),
                           (1, prepared.num_classes, 1)) == 0
        weights = xp.where(first, xp.zeros_like(prepared.scores[:1, :, :1]),
                           xp.ones_like(prepared.scores[:1, :, :1]) if weights is None
                           else weights)
    if prepared.mode == "multiclass":
        if pos_weight is not None:
            raise ValueError("`pos_weight` applies to mode='binary' or 'multilabel' only; got "
                             "mode='multiclass', use `class_weights` or `alpha`")
        if weights is not None:
            alphas = weights if alphas is None else alphas * weights
        if prepared.labels is not None and prepared.from_logits:
            index = _label_index(prepared)
            return _finish(_label_term(prepared, index, alpha=alphas, weights=None,
                                       gamma=gamma, epsilon=0.0), prepared)
    if prepared.mode == "multiclass":
        log_p = prepared.log_probs()
        if prepared.labels is not None:
            index = _label_index(prepared)
            log_pt = _pick(log_p, index, prepared)
            loss = -log_pt
            if gamma != 0:
                loss = safe_pow(-xp.expm1(log_pt), gamma, xp=xp) * loss
            if alphas is not None:
                loss = _pick(alphas, index, prepared) * loss
        else:
            q = prepared.target
            assert q is not None
            if gamma != 0:
                q = q * safe_pow(-xp.expm1(log_p), gamma, xp=xp)
            loss = _soft_ce(q, log_p, alphas, xp=xp)
        return _finish(loss, prepared)
    y = prepared.target
    assert y is not None
    loss = _binary_ce(prepared, y, _class_vector("pos_weight", pos_weight, prepared,
                                                 scalar=True))
    if gamma != 0:
        log_q = prepared.log_one_minus_probs()
        loss = xp.exp(gamma * _log_mix(y, log_q, prepared.log_probs(), xp=xp)) * loss
    if alphas is not None:
        loss = (alphas * y + (1 - alphas) * (1 - y)) * loss
    if weights is not None:
        loss = weights * loss
    if drop_background:
        mask = None if prepared.mask is None else prepared.mask[:, 1:, :]
        return prepared.poison(reduce_elements(loss[:, 1:, :], mask, prepared.reduction, xp=xp))
    return _finish(loss, prepared)


@declare("pixel")
def cross_entropy(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None,
    class_weights: ClassWeights = None, pos_weight: Weights = None,
    label_smoothing: float = 0.0, pixel_weights: Array | None = None,
    reduction: Reduction = "mean",
) -> Array:
    """Cross entropy (softmax) or binary cross entropy (sigmoid), per element.

    Multiclass, per pixel: ``l = −Σ_c w_c q_c log p_c`` with ``q`` the one-hot
    (integer labels) or the given soft target, label-smoothed to
    ``q(1 − ε) + ε/C``, ``p = softmax(y_pred)``. Binary / multilabel, per element:
    ``l = −w_c [pw_c·y·log σ(x) + (1 − y)·log σ(−x)]`` (BCE with logits; for
    ``pos_weight=None`` this is ``softplus(x) − x·y``), ``y`` smoothed to
    ``y(1 − ε) + ε/2``.

    %(inputs)s
    class_weights : sequence of float, optional
        One non-negative weight per class (length C). Multiclass: ``w_c`` as in
        ``torch.nn.functional.cross_entropy(weight=)``; with integer labels the mean
        divides by ``Σ w_{y}`` over the counted pixels (torch's weighted mean), with
        soft/one-hot targets by the number of counted pixels (torch's
        probability-target semantics). Binary/multilabel: per-channel weights
        multiplying the loss (plain mean over elements).
    pos_weight : float or sequence of float, optional
        Binary/multilabel only: multiplies the positive term, as
        ``BCEWithLogitsLoss(pos_weight=)`` (the seeds' weighted-CE β). A sequence has
        one entry per channel and applies along the *class axis* (torch broadcasts
        ``pos_weight`` against the trailing axis: for ``(N, C, H, W)`` pass torch
        ``pos_weight.view(C, 1, 1)`` to compare).
    label_smoothing : float
        ``ε`` in [0, 1]: multiclass ``q(1 − ε) + ε/C`` (torch), binary/multilabel
        ``y(1 − ε) + ε/2`` (Keras ``BinaryCrossentropy``).
    pixel_weights : array, optional
        Non-negative weight map ``(N, *spatial)`` (e.g. a U-Net border weight map)
        multiplying the per-pixel loss (every channel of a pixel in
        binary/multilabel mode). With it, ``"mean"`` divides by the number of counted
        pixels (elements), never by a weight sum, even with ``class_weights``.
    %(reduction_pixel)s

    %(returns_pixel)s

    Raises
    ------
    ValueError
        ``pos_weight`` in multiclass mode; ``label_smoothing`` outside [0, 1];
        weights of the wrong length or negative; ``pixel_weights`` of the wrong shape;
        and the input checks of every loss (shapes, label range, probabilities).
    TypeError
        Integer ``y_pred``, mixed namespaces, non-array ``pixel_weights``.

    Notes
    -----
    Torch semantics throughout: with integer labels, ``class_weights`` and label
    smoothing, the loss is ``(1 − ε)·nll + ε/C·Σ_c w_c(−log p_c)`` with both parts
    divided by ``Σ w_{y}``. With ``from_logits=False`` the logs are clamped at
    −100 like ``torch.nn.functional.binary_cross_entropy``. An all-ignored input
    gives 0, not torch's NaN.

    References
    ----------
    ``torch.nn.functional.cross_entropy`` and ``binary_cross_entropy_with_logits``;
    Szegedy et al., "Rethinking the Inception architecture for computer vision",
    CVPR 2016 (label smoothing).

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[[[2.0, -1.0]], [[0.0, 1.0]]]])  # (N=1, C=2, 1, 2)
    >>> labels = np.array([[[0, 1]]])
    >>> round(float(cross_entropy(logits, labels)), 6)
    0.126928
    >>> round(float(cross_entropy(logits[:, :1], labels[:, None] * 1.0, mode="binary")), 6)
    1.720095
    """
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction, caller="cross_entropy")
    return cross_entropy_term(prepared, class_weights=class_weights, pos_weight=pos_weight,
                              label_smoothing=label_smoothing, pixel_weights=pixel_weights)


@declare("pixel")
def balanced_cross_entropy(
    y_pred: Array, y_true: Array, *, mode: SigmoidMode = "binary", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, beta: float = 0.5,
    reduction: Reduction = "mean",
) -> Array:
    """Balanced (β-weighted) binary cross entropy, per element.

    ``l = −(β·y·log p + (1 − β)(1 − y)·log(1 − p))`` with ``p = σ(y_pred)``, in log
    space (``log σ(x)``, ``log σ(−x)``). ``β > 0.5`` weights the positives more,
    ``β < 0.5`` penalises false positives more; ``β = 0.5`` is half the BCE.
    Binary/multilabel only: ``mode="multiclass"`` raises ValueError (use
    :func:`cross_entropy` with ``class_weights`` for softmax outputs).

    %(inputs_sigmoid)s
    beta : float
        Weight of the positive term in [0, 1].
    %(reduction_pixel)s

    %(returns_pixel)s

    References
    ----------
    Xie & Tu, "Holistically-nested edge detection", ICCV 2015 (class-balanced CE);
    Taghanaki et al., "Combo loss", CMIG 2019 (the β-weighted CE of the Combo loss).

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[[0.0, 2.0]]])  # (N=1, C=1, S=2)
    >>> target = np.array([[[0.0, 1.0]]])
    >>> round(float(balanced_cross_entropy(logits, target, beta=0.7)), 6)
    0.148397
    """
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction,
                       caller="balanced_cross_entropy", modes=_checks.SIGMOID_MODES,
                       alternative="for softmax outputs use cross_entropy with class_weights")
    return balanced_cross_entropy_term(prepared, beta=beta)


@declare("pixel")
def focal_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, gamma: float = 2.0,
    alpha: Weights = None, class_weights: ClassWeights = None,
    pos_weight: Weights = None, reduction: Reduction = "mean",
) -> Array:
    """Focal loss ``−α_t (1 − p_t)^γ log p_t`` (sigmoid or true softmax focal).

    Binary / multilabel (per element, sigmoid): ``l = α_t (1 − p_t)^γ · BCE`` with
    ``BCE = −[y log p + (1 − y) log(1 − p)]``, ``1 − p_t = y(1 − p) + (1 − y)p`` and
    ``α_t = α·y + (1 − α)(1 − y)``. Multiclass (per pixel, softmax):
    ``l = −Σ_c α_c q_c (1 − p_c)^γ log p_c``, i.e. ``−α_y (1 − p_y)^γ log p_y`` for
    integer labels — the softmax focal, never one-vs-rest sigmoids.

    %(inputs)s
    gamma : float
        Focusing exponent ``γ >= 0``; ``γ = 0`` without ``alpha`` is exactly
        :func:`cross_entropy` (same values, same mean denominators).
    alpha : float or sequence of float, optional
        Binary/multilabel: a float in [0, 1], α for positives and 1 − α for negatives
        (Lin et al. used 0.25), or one such α per channel (length C). Multiclass: one
        weight per class, or a float meaning ``[1 − α, α, …, α]`` (class 0 is
        background; MONAI ``use_softmax`` and kornia). None: no weighting.
    class_weights : sequence of float, optional
        One non-negative weight per class/channel (length C) multiplying its loss
        (MONAI ``FocalLoss(weight=)``); the mean is not renormalised by the weights
        (unlike :func:`cross_entropy`'s torch-style weighted mean).
    pos_weight : float or sequence of float, optional
        Binary/multilabel only: multiplies the positive term of the cross entropy inside
        the focal form (torch ``BCEWithLogitsLoss(pos_weight=)``), per channel.
    %(reduction_pixel)s

    %(returns_pixel)s

    Raises
    ------
    ValueError
        ``gamma < 0``; ``alpha`` outside [0, 1], a sequence in binary/multilabel mode,
        or a sequence whose length is not C.

    Notes
    -----
    The modulating factor is computed from log-probabilities.
    Binary/multilabel: ``(1 − p_t)^γ = exp(γ·log(1 − p_t))``, with
    ``log(1 − p_t) = log σ(−x)`` for ``y = 1`` and ``log σ(x)`` for ``y = 0`` (MONAI's
    ``logsigmoid(−x(2y − 1))``) and, for a soft ``y``,
    ``logaddexp(log y + log σ(−x), log(1 − y) + log σ(x))`` — optax's
    ``sigmoid_focal_loss`` definition of ``p_t = p·y + (1 − p)(1 − y)`` (MONAI's
    ``exp(γ·logsigmoid(−x(2y − 1)))`` differs for soft targets). Multiclass:
    ``1 − p_t = −expm1(log p_t)`` raised with a guarded power whose gradient at 0 is
    0. Gradients are finite for ``γ ∈ (0, 1)`` at saturated logits (±1e4), where a
    plain ``(1 − p)**γ`` gives NaN (kornia#918).

    References
    ----------
    Lin, Goyal, Girshick, He & Dollár, "Focal loss for dense object detection",
    ICCV 2017.

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[[[2.0, -1.0]], [[0.0, 1.0]]]])  # (N=1, C=2, 1, 2)
    >>> labels = np.array([[[0, 1]]])
    >>> round(float(focal_loss(logits, labels, gamma=2.0)), 6)
    0.001804
    >>> bool(focal_loss(logits, labels, gamma=0.0) == cross_entropy(logits, labels))
    True
    """
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction, caller="focal_loss")
    return focal_term(prepared, gamma=gamma, alpha=alpha, class_weights=class_weights,
                      pos_weight=pos_weight)


@declare("pixel")
def conservative_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, ignore_index: int | None = None, lam: float = 5.0,
    base: float = math.e, eps: float = 1e-6, reduction: Reduction = "mean",
) -> Array:
    """Conservative loss ``λ (1 + log_a p_t)² · log_a(−log_a p_t)`` (Zhu et al. 2018).

    ``p_t`` is the probability of the true class: ``p_y`` (integer labels),
    ``Σ_c q_c p_c`` (soft/one-hot multiclass targets), ``y·p + (1 − y)(1 − p)``
    (binary/multilabel), clipped to ``[eps, 1 − eps]``; ``log_a`` is the logarithm
    in base ``a = base``. The loss is 0 at ``p_t = 1/a``, positive below and
    negative above: it penalises both the worst and the most confident ("top
    performing") pixels, which the paper uses to keep features domain-invariant.

    %(inputs)s
    lam : float
        Scale ``λ > 0``.
    base : float
        Base ``a > 1`` of the logarithms.
    eps : float
        Clip of ``p_t`` to ``[eps, 1 − eps]``, ``0 < eps < 0.5`` (the loss tends to
        −∞ as ``p_t → 1``). The clip is applied in log space
        (``log p_t ∈ [log eps, log1p(−eps)]``), so it holds in float32 too.
    %(reduction_pixel)s

    %(returns_pixel)s

    Raises
    ------
    ValueError
        ``lam <= 0``, ``base <= 1``, ``eps`` outside ``(0, 0.5)``.

    References
    ----------
    Zhu, Zhou, Yang, Shi & Lin, "Penalizing top performers: conservative loss for
    semantic segmentation adaptation", ECCV 2018 (arXiv:1809.00903).

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[[0.2, 0.9], [0.8, 0.1]]])  # (N=1, C=2, S=2)
    >>> labels = np.array([[1, 0]])
    >>> round(float(conservative_loss(probs, labels, from_logits=False)), 6)
    -6.765928
    """
    lam = _checks.check_positive("lam", lam)
    base = _checks.check_number("base", base)
    if base <= 1:
        raise ValueError(f"`base` must be > 1 (the base of log_a), got {base!r}")
    eps = _checks.check_number("eps", eps)
    if not 0 < eps < 0.5:
        raise ValueError(f"`eps` must lie in (0, 0.5) (p_t is clipped to [eps, 1 − eps]), "
                         f"got {eps!r}")
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction, caller="conservative_loss")
    xp = prepared.xp
    log_p = prepared.log_probs()
    if prepared.mode != "multiclass":
        y = prepared.target
        assert y is not None
        log_pt = _log_mix(y, log_p, prepared.log_one_minus_probs(), xp=xp)
    elif prepared.labels is not None:
        log_pt = _pick(log_p, _label_index(prepared), prepared)
    else:
        q = prepared.target
        assert q is not None
        log_pt = xp.log(xp.clip(xp.sum(q * xp.exp(log_p), axis=1), eps, 1.0))
    log_pt = xp.clip(log_pt, math.log(eps), math.log1p(-eps))
    ln_a = math.log(base)
    log_a = log_pt / ln_a
    return _finish(lam * (1 + log_a) ** 2 * (xp.log(-log_a) / ln_a), prepared)
