"""Lovász losses (Berman, Rannen Triki & Blaschko, CVPR 2018).

The Lovász extension of the Jaccard loss is a convex surrogate that is
evaluated by sorting the per-element errors of one class in descending order
and taking their dot product with the increments of the Jaccard loss of the
growing prefix sets (the paper's Algorithm 1)::

    order = argsort(errors, descending)
    inter = Σg − cumsum(g_sorted),  union = Σg + k − cumsum(g_sorted)  (k = 1, 2, …)
    J     = 1 − inter / union,      grad = (J_1, J_2 − J_1, …, J_S − J_{S−1})
    loss  = Σ errors_sorted · grad

Unlike the authors' reference (one sort per class and per image in a Python
loop), every class and every image is sorted in **one** batched ``argsort``
over an ``(B, C, S)`` array, so the loss traces into a single graph under
``jax.jit`` and ``torch.compile``. Ignored elements are not dropped (that
would need boolean indexing, a data-dependent shape) but get error 0 and
ground truth 0: errors are non-negative, so a stable descending sort puts them
after every positive error, where every term of the sum has a zero error, and
the prefixes before them are unchanged. The sum is therefore exactly the one
over the kept elements.

The loss is linear in the sorted errors, so its gradient in ``errors_i`` is
``grad`` at the rank of element ``i``. On torch and JAX the extension is a
closed-form kernel (``_kernels.Kernel``): the forward moves ``grad`` back to the
elements' own order and the backward multiplies it by the cotangent, so autograd
keeps one ``(B, C, S)`` array instead of the permutation, the sorted errors and
``grad``. On the CPU, float32 errors are ordered on the host by NumPy's vectorised
sort (``_dispatch.sort_order``), several times faster than torch's and XLA's sorts.

Dask is not supported: it has no ``take_along_axis`` (dask/dask#3663) to sort with.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Literal

from . import _checks
from ._capabilities import declare
from ._checks import Reduction, SigmoidMode
from ._dispatch import cumulative_sum, sort_order, take_order, unsort
from ._inputs import Prepared, prepare
from ._kernels import Kernel, run
from ._math import safe_divide
from ._namespace import Array, Namespace, device, get_namespace
from ._reduce import reduce_table

__all__ = ["lovasz_grad", "lovasz_hinge_loss", "lovasz_softmax_loss"]


def lovasz_grad(gt_sorted: Array) -> Array:
    """Gradient of the Lovász extension of the Jaccard loss along the last axis.

    For ground truth ``g`` (0/1, any real dtype) already sorted by decreasing
    error: ``J_k = 1 − (Σg − Σ_{i≤k} g_i) / (Σg + Σ_{i≤k} (1 − g_i))`` and the
    result is ``(J_1, J_2 − J_1, …)`` (Berman et al. 2018, Algorithm 1). Every
    leading axis is an independent problem.

    Parameters
    ----------
    gt_sorted : array
        Real floating ground truth ``(..., S)`` in sorted order.

    Returns
    -------
    array
        ``(..., S)``, same namespace, dtype and device.

    Examples
    --------
    >>> import numpy as np
    >>> lovasz_grad(np.array([1.0, 0.0, 1.0, 0.0])).tolist()
    [0.5, 0.16666666666666663, 0.33333333333333337, 0.0]
    """
    xp = get_namespace(gt_sorted, names=("gt_sorted",))
    return _jaccard_increments(gt_sorted, xp=xp)


def _jaccard_increments(gt: Array, *, dtype: Any = None, xp: Namespace) -> Array:
    """``ΔJ`` of ``gt`` (0/1 real, or bool counted in ``dtype``) sorted along the last axis.

    With ``s_k = Σ_{i≤k} g_i`` and ``G = s_S``: ``J_k = 1 − (G − s_k)/(G + k − s_k)``
    ``= k/(G + k − s_k)``, one division whose denominator is ``>= k >= 1`` for any
    ``g`` in [0, 1]. Each temporary is released as soon as it is used (W3D: each is a
    full ``(B, C, S)`` array).
    """
    seen = cumulative_sum(gt, axis=-1, dtype=dtype, xp=xp)
    position = xp.arange(1, gt.shape[-1] + 1, dtype=seen.dtype, device=device(gt))
    union = (position + seen[..., -1:]) - seen
    del seen
    jaccard = position / union
    del union
    return xp.concat([jaccard[..., :1], jaccard[..., 1:] - jaccard[..., :-1]], axis=-1)


def _extension_forward(errors: Array, truth: Array, *, config: None,
                       xp: Namespace) -> tuple[tuple[Array], tuple[Array]]:
    """``(B, K)`` Lovász values of ``(B, K, S)`` errors and bool truth; residual: the
    gradient ``ΔJ`` at each element's rank, in the elements' own order.

    The extension is linear in the sorted errors, so its gradient is ``ΔJ`` moved back
    to where each error came from (``unsort``): the backward keeps one ``(B, K, S)``
    array instead of the permutation, the sorted errors and ``ΔJ``.
    """
    order = sort_order(errors, xp=xp)
    grad = _jaccard_increments(take_order(truth, order, xp=xp), dtype=errors.dtype, xp=xp)
    loss = xp.sum(take_order(errors, order, xp=xp) * grad, axis=-1)
    return (loss,), (unsort(grad, order, xp=xp),)


def _extension_backward(residuals: tuple[Array], cotangents: tuple[Array | None], *,
                        config: None, xp: Namespace) -> tuple[Array | None, None]:
    (d_errors,), (d_loss,) = residuals, cotangents
    return (None if d_loss is None else d_loss[..., None] * d_errors), None


# One stable descending sort for all B·K problems (_dispatch.sort_order), then the
# closed-form backward: one saved (B, K, S) array, not the permutation, the sorted
# errors and ΔJ that autograd through the gathers keeps (./dev bench W3D lovasz peak
# memory ÷ smp 1.10× -> 0.67×, 2026-12-01 -> 12-02, with the host sort)
EXTENSION = Kernel("lovasz_extension", _extension_forward, _extension_backward)


def _lovasz_extension(errors: Array, truth: Array, *, xp: Namespace) -> Array:
    """``(B, K, S)`` non-negative errors and bool truth -> ``(B, K)`` Lovász values."""
    return run(EXTENSION, errors, truth, config=None, xp=xp)[0]


def _pool_batch(x: Array, *, xp: Namespace) -> Array:
    """``(N, C, S)`` -> ``(1, C, N·S)``: the images laid end to end (reference order)."""
    n, c, s = x.shape
    return xp.reshape(xp.permute_dims(x, (1, 0, 2)), (1, c, n * s))


def _check_classes(classes: object, num_classes: int) -> str | tuple[int, ...]:
    if isinstance(classes, str):
        _checks.check_choice("classes", classes, ("present", "all"))
        return classes
    try:
        ids = tuple(operator.index(c) for c in classes)  # type: ignore[attr-defined]
    except TypeError as exc:
        raise TypeError(
            "`classes` must be 'present', 'all' or a sequence of integer class ids, "
            f"got {classes!r}"
        ) from exc
    if not ids:
        raise ValueError("`classes` is an empty sequence; list at least one class id")
    bad = [c for c in ids if not 0 <= c < num_classes]
    if bad:
        raise ValueError(
            f"`classes` holds ids {bad} outside [0, {num_classes}) for a `y_pred` with "
            f"{num_classes} classes (mode='multiclass')"
        )
    return ids


def _class_truth(prepared: Prepared) -> Array:
    """Bool ``(N, C, S)``: element belongs to class c and is not ignored."""
    xp = prepared.xp
    if prepared.labels is not None:
        return prepared.label_indicator()
    # dense (one-hot / soft) targets: the class of an element is the argmax, as
    # in the reference, which only takes labels
    target = prepared.target
    assert target is not None
    return prepared.indicator(xp.argmax(target, axis=1))


_NO_DASK = ("dask has no `take_along_axis` (dask/dask#3663), which the sorted Lovász "
            "extension needs; compute the arrays (`.compute()`) first")


@declare("lovasz", dask=_NO_DASK)
def lovasz_softmax_loss(
    y_pred: Array, y_true: Array, *, mode: Literal["multiclass"] = "multiclass",
    from_logits: bool = True, class_axis: int = 1, ignore_index: int | None = None,
    classes: Literal["present", "all"] | Sequence[int] = "present", per_image: bool = False,
    reduction: Reduction = "mean",
) -> Array:
    """Lovász-Softmax loss, the convex surrogate of the mean Jaccard (IoU) loss.

    For each class ``c`` the errors ``e_i = |1[y_i = c] − p_{i,c}|`` are sorted in
    decreasing order and ``loss_c = Σ_k e_(k) · ΔJ_k`` with ``ΔJ`` the increments of
    the Jaccard loss of the growing prefixes (:func:`lovasz_grad`, Algorithm 1 of the
    paper). The loss averages ``loss_c`` over the classes chosen by ``classes``.
    This is the authors' reference ``lovasz_softmax`` (and smp's ``LovaszLoss`` in
    multiclass mode), computed with one batched sort for all classes and images.

    Parameters
    ----------
    y_pred : array
        Real floating scores ``(N, C, *spatial)`` with ``C >= 2`` (class axis at
        ``class_axis``). Logits unless ``from_logits=False``.
    y_true : array
        Integer class ids ``(N, *spatial)``, or a one-hot / soft float array of
        ``y_pred``'s shape, reduced to class ids by argmax over the class axis
        (Lovász-Softmax is defined for hard labels).
    mode : {"multiclass"}
        Only softmax probabilities; for binary or multilabel problems use
        :func:`lovasz_hinge_loss` (as the paper and smp do).
    %(from_logits)s
    %(class_axis)s
    %(ignore_index)s
    classes : "present", "all" or sequence of int
        ``"present"`` (default): mean over the classes that occur in the
        (non-ignored) target; ``"all"``: over all ``C`` classes, an absent class
        contributing its largest error; a sequence: over those class ids
        (duplicates count twice, as in the reference). No present class gives 0.
    per_image : bool
        False (default, the reference's): one loss over the whole batch, the
        images laid end to end. True: the loss of each image, then the plain mean
        over images; an image with nothing to average (all ignored) contributes
        0 and still counts in the mean, as in the reference.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the loss per image ``(N,)`` with ``per_image=True``, and
        the batch loss as a ``(1,)`` array otherwise; ``"mean"``/``"sum"`` reduce
        that array (``"sum"`` with ``per_image`` sums the per-image losses).

    %(returns_lovasz)s

    Raises
    ------
    TypeError
        Dask arrays (no ``take_along_axis``), mixed namespaces, non-float ``y_pred``,
        ``classes`` neither a known string nor a sequence of ints.
    ValueError
        ``mode`` other than "multiclass", shape mismatches, class ids in ``classes``
        or (on concrete arrays) labels outside ``[0, C)``.

    Notes
    -----
    Berman's reference takes probabilities; smp's ``LovaszLoss("multiclass")``
    applies the softmax itself (our ``from_logits=True``). The same numbers as the
    reference in float64 (to 1e-10), including ``ignore_index``: ignored elements
    get error 0 and ground truth 0, which leaves every Lovász sum unchanged.

    References
    ----------
    M. Berman, A. Rannen Triki, M. B. Blaschko, "The Lovász-Softmax loss: A
    tractable surrogate for the optimization of the intersection-over-union
    measure in neural networks", CVPR 2018. Reference code:
    github.com/bermanmaxim/LovaszSoftmax (``pytorch/lovasz_losses.py``).

    Examples
    --------
    >>> import numpy as np
    >>> y_pred = np.array([[[0.9, 0.2, 0.6], [0.1, 0.8, 0.4]]])  # (N=1, C=2, S=3)
    >>> y_true = np.array([[0, 1, 1]])
    >>> round(float(lovasz_softmax_loss(y_pred, y_true, from_logits=False)), 6)
    0.383333
    >>> lovasz_softmax_loss(y_pred, y_true, from_logits=False, per_image=True,
    ...                     reduction="none").shape
    (1,)
    """
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction,
                       caller="lovasz_softmax_loss", modes=("multiclass",),
                       alternative="use lovasz_hinge_loss for binary and multilabel logits")
    _checks.check_bool("per_image", per_image)
    xp = prepared.xp
    chosen = _check_classes(classes, prepared.num_classes)

    probs = prepared.probs()
    truth = _class_truth(prepared)
    errors = xp.where(truth, 1 - probs, probs)
    if prepared.mask is not None:
        errors = xp.where(prepared.mask, errors, xp.zeros_like(errors))
    if not isinstance(chosen, str):
        ids = xp.asarray(chosen, device=device(errors))
        errors = xp.take(errors, ids, axis=1)
        truth = xp.take(truth, ids, axis=1)
    if not per_image:
        errors, truth = _pool_batch(errors, xp=xp), _pool_batch(truth, xp=xp)

    per_class = _lovasz_extension(errors, truth, xp=xp)  # (B, K)
    if chosen == "present":
        present = xp.astype(xp.any(truth, axis=-1), per_class.dtype)
        loss = safe_divide(xp.sum(per_class * present, axis=-1),
                           xp.sum(present, axis=-1), fill=0.0, xp=xp)
    else:
        loss = xp.mean(per_class, axis=-1)
    return prepared.poison(reduce_table(loss, reduction, xp=xp))


@declare("lovasz", dask=_NO_DASK)
def lovasz_hinge_loss(
    y_pred: Array, y_true: Array, *, mode: SigmoidMode = "binary", class_axis: int = 1,
    ignore_index: int | None = None, per_image: bool = True, reduction: Reduction = "mean",
) -> Array:
    """Binary Lovász hinge loss on logits, the convex surrogate of the Jaccard loss.

    With signs ``s = 2y − 1`` the hinge errors ``e_i = max(1 − x_i·s_i, 0)`` are
    sorted in decreasing order and ``loss = Σ_k e_(k) · ΔJ_k`` with ``ΔJ`` the
    increments of the Jaccard loss of the growing prefixes (:func:`lovasz_grad`).
    This is the authors' reference ``lovasz_hinge`` (smp's ``LovaszLoss`` in
    binary mode), computed with one batched sort for all images (and channels).

    Parameters
    ----------
    y_pred : array
        Real floating logits: binary ``(N, 1, *spatial)`` or ``(N, *spatial)``;
        multilabel ``(N, C, *spatial)`` (class axis at ``class_axis``).
    y_true : array
        Targets of ``y_pred``'s shape with values in {0, 1} (bool, int or float),
        apart from ``ignore_index``.
    mode : {"binary", "multilabel"}
        ``"multilabel"`` treats every channel as its own binary problem (its own
        sort), per image or over the batch; the loss averages the channels.
        (smp's multilabel ``LovaszLoss`` instead sorts all channels together.)
    %(class_axis)s
    %(ignore_index)s
    per_image : bool
        True (default, the reference's): the loss of each image, then the plain mean
        over images (an all-ignored image contributes 0 and still counts). False:
        one loss over the whole batch, the images laid end to end (smp's default).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns ``(N,)`` with ``per_image`` and ``(1,)`` without (binary),
        ``(N, C)`` / ``(1, C)`` in multilabel mode; "mean"/"sum" reduce every entry.

    %(returns_lovasz)s

    Raises
    ------
    TypeError
        Dask arrays (no ``take_along_axis``), mixed namespaces, non-float ``y_pred``.
    ValueError
        ``mode="multiclass"`` (use :func:`lovasz_softmax_loss`), shape mismatches, or
        (on concrete arrays) targets outside {0, 1} that are not ``ignore_index``.

    References
    ----------
    M. Berman, A. Rannen Triki, M. B. Blaschko, "The Lovász-Softmax loss", CVPR 2018;
    J. Yu, M. B. Blaschko, "Learning submodular losses with the Lovász hinge",
    ICML 2015. Reference code: github.com/bermanmaxim/LovaszSoftmax.

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[2.0, -1.0, 0.5, -3.0]])  # (N=1, S=4)
    >>> target = np.array([[1.0, 0.0, 0.0, 1.0]])
    >>> float(lovasz_hinge_loss(logits, target))
    2.25
    """
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=True, class_axis=class_axis,
                       ignore_index=ignore_index, reduction=reduction, caller="lovasz_hinge_loss",
                       modes=_checks.SIGMOID_MODES,
                       alternative="use lovasz_softmax_loss for multiclass scores")
    _checks.check_bool("per_image", per_image)
    xp = prepared.xp
    target = prepared.target
    assert target is not None
    soft = (target != 0) & (target != 1)
    prepared.checks.require(
        xp.any(soft), f"lovasz_hinge_loss needs hard targets in {{0, 1}} (mode={mode!r}, "
        f"ignore_index={ignore_index}); `y_true` holds other values (soft labels?)",
        lambda: f"; found {float(xp.max(xp.where(soft, target, xp.zeros_like(target))))!r}")

    x = prepared.scores
    truth = target == 1
    hinge = 1 - x * (2 * target - 1)
    # where(e > 0, e, 0), not maximum(e, 0): gradient 0 at e == 0 like the
    # reference's relu (maximum splits it), and masked elements get error 0
    keep = hinge > 0
    if prepared.mask is not None:
        keep = keep & prepared.mask
    errors = xp.where(keep, hinge, xp.zeros_like(hinge))
    if not per_image:
        errors, truth = _pool_batch(errors, xp=xp), _pool_batch(truth, xp=xp)

    loss = _lovasz_extension(errors, truth, xp=xp)  # (B, C)
    if mode == "binary":
        loss = loss[:, 0]
    return prepared.poison(reduce_table(loss, reduction, xp=xp))
