"""Boundary losses: distance maps, edges and skeletons of prediction and target.

Each loss here is a table per image and class ``(N, C)`` (a mean over the spatial
elements, or a ratio of spatial sums), reduced like the region losses:
``include_background=False`` drops class 0 (no effect in binary mode), ``"mean"`` is
the plain mean over images and included classes, ``"sum"`` the sum, ``"none"`` the
``(N, C')`` table itself.

* :func:`boundary_loss` (Kervadec et al. 2019): ``mean_x p_c(x)·φ_c(x)`` with
  precomputed signed distance maps ``φ``.
* :func:`boundary_dice_loss`: ``dice_loss`` plus ``lam`` times the mean difference of
  the morphological gradients (3^d max − min) of prediction and target.
* :func:`hausdorff_dt_loss` (Karimi & Salcudean 2019, MONAI ``HausdorffDTLoss``):
  ``mean((p − g)²·(d_p^α + d_g^α))``, ``d`` the distance fields of the thresholded
  prediction and of the target.
* :func:`cldice_loss` (Shit et al. 2021, MONAI ``SoftclDiceLoss``): the soft skeleton
  by iterated soft erosion and dilation, ``1 − 2·Tprec·Tsens/(Tprec + Tsens)``.

Neighbourhoods are written with padded shifts (``_morphology``) and distances with
:func:`~segloss_xp.distance_transform_edt`, so every loss runs on every namespace and
under ``jax.jit``. Distance maps carry no gradient: the given ``dist_maps`` of
:func:`boundary_loss` are detached (``torch.Tensor.detach`` / ``jax.lax.stop_gradient``)
and the distance fields of :func:`hausdorff_dt_loss` are computed from hard (bool)
masks. No loss here takes ``ignore_index``: edges, distances and skeletons read each
element's neighbours, so an ignored element would still shape its neighbours' terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from . import _checks
from ._capabilities import declare
from ._checks import Mode, Reduction
from ._dispatch import stop_gradient
from ._inputs import Prepared, prepare
from ._math import safe_divide
from ._morphology import morphological_gradient, soft_dilate, soft_erode
from ._namespace import Array, Namespace, get_namespace
from ._reduce import reduce_table, select_classes
from .distance import distance_transform_edt
from .region import region_term

__all__ = ["boundary_dice_loss", "boundary_loss", "cldice_loss", "hausdorff_dt_loss"]

EdgeNorm = Literal["l1", "l2"]
EDGE_NORMS = ("l1", "l2")


# --------------------------------------------------------------------------- helpers


def _spatial(prepared: Prepared, x: Array) -> Array:
    """A ``(N, C, S)`` array back to ``(N, C, *spatial)`` (class axis at 1)."""
    return prepared.unflatten(x, channels=True)


def _spatial_axes(prepared: Prepared) -> tuple[int, ...]:
    return tuple(range(2, 2 + len(prepared.spatial_shape)))


def _targets(prepared: Prepared) -> Array:
    """The target as floats ``(N, C, S)`` in the compute dtype (labels as their indicator)."""
    if prepared.labels is not None:
        return prepared.xp.astype(prepared.label_indicator(), prepared.dtype)
    assert prepared.target is not None
    return prepared.target


def _finish(table: Array, prepared: Prepared, include_background: bool) -> Array:
    """Drop class 0 unless kept (always kept in binary mode), reduce, poison."""
    _checks.check_bool("include_background", include_background)
    kept = select_classes(table, include_background or prepared.mode == "binary")
    return prepared.poison(reduce_table(kept, prepared.reduction, xp=prepared.xp))


def _prepare_maps(y_pred: Array, dist_maps: Array, *, mode: str, from_logits: bool,
                  class_axis: int, reduction: str) -> Prepared:
    """``prepare`` with ``dist_maps`` (any real values) in the place of a target.

    The shared gate brings ``dist_maps`` to ``(N, C, S)`` exactly as it would a dense
    target of ``y_pred``'s shape; with ``target_values="real"`` it checks the maps
    finite instead of as probabilities.
    """
    if dist_maps is None:
        raise TypeError("`dist_maps` must be an array, got None")
    xp = get_namespace(y_pred, dist_maps, names=("y_pred", "dist_maps"))
    if tuple(dist_maps.shape) != tuple(y_pred.shape):
        raise ValueError(
            f"shape mismatch in mode={mode!r}: `dist_maps` must have `y_pred`'s shape "
            f"{tuple(y_pred.shape)} (one map per class), got {tuple(dist_maps.shape)}")
    if not xp.isdtype(dist_maps.dtype, "real floating"):
        raise TypeError(f"`dist_maps` must be a real floating array (signed distances), got "
                        f"dtype {dist_maps.dtype} (mode={mode!r})")
    return prepare(y_pred, dist_maps, mode=mode, from_logits=from_logits,
                   class_axis=class_axis, ignore_index=None, reduction=reduction,
                   caller="boundary_loss", target_values="real", target_name="dist_maps")


# --------------------------------------------------------------------------- losses


@declare("boundary")
def boundary_loss(
    y_pred: Array, dist_maps: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, include_background: bool = False, reduction: Reduction = "mean",
) -> Array:
    """Boundary loss ``mean_x p_c(x)·φ_c(x)`` on signed distance maps (Kervadec et al.).

    Parameters
    ----------
    %(y_pred)s
    dist_maps : array
        Real floating signed distance maps of the target, ``y_pred``'s shape and layout
        (one map per class, class axis at ``class_axis``), negative inside the object,
        positive outside: :func:`~segloss_xp.signed_distance_map` of the target. They
        carry no gradient (detached).
    %(mode)s
    %(from_logits)s
    %(class_axis)s
    %(include_background)s
    %(reduction_region)s

    %(returns_region)s

    Raises
    ------
    TypeError
        Integer/bool ``y_pred``, non-floating ``dist_maps``, mixed namespaces, wrong
        option types.
    ValueError
        ``dist_maps`` of another shape than ``y_pred``, unknown ``mode``/``reduction``,
        ``mode="multiclass"`` with one channel, and on concrete arrays probabilities
        outside [0, 1] or non-finite ``y_pred``/``dist_maps``.

    Notes
    -----
    Per image ``n`` and class ``c``: ``L_{n,c} = (1/|Ω|) Σ_x p_{n,c}(x)·φ_{n,c}(x)``, ``p``
    the softmax (multiclass) or sigmoid probabilities. Minimal when the prediction
    covers exactly the region where ``φ < 0``; negative values are normal. The paper
    (and MONAI's ``BoundaryLoss``) pair it with a region loss, ``α·dice + (1 − α)·boundary``
    with α decreasing over training. ``include_background=False`` by default (Kervadec
    et al. use the foreground classes; MONAI's default is True).

    Distance maps are computed from the target, so they need no gradient; compute them
    once per sample in the data loader (NumPy, SciPy's transform), or on the fly on the
    device with the generic exact transform (torch, JAX; also under ``jax.jit``)::

        maps = signed_distance_map(labels, num_classes=C)   # loader or device
        loss = dice_loss(logits, labels) + 0.01 * boundary_loss(logits, maps)

    MONAI ``BoundaryLoss(softmax=True, to_onehot_y=True)`` computes the same loss with the
    maps of its own (Kervadec's ``−(d_in − 1)`` inside, ``d_out`` outside) from the target
    on every call, on the CPU.

    References
    ----------
    H. Kervadec et al., "Boundary loss for highly unbalanced segmentation", MIDL 2019
    (Medical Image Analysis 67, 2021).

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[[[0.9, 0.1, 0.2]]]])  # binary (N=1, 1, 1, 3)
    >>> maps = np.array([[[[-1.0, 0.0, 1.0]]]])  # inside, boundary, outside
    >>> round(float(boundary_loss(probs, maps, mode="binary", from_logits=False)), 6)
    -0.233333
    """
    prepared = _prepare_maps(y_pred, dist_maps, mode=mode, from_logits=from_logits,
                             class_axis=class_axis, reduction=reduction)
    xp = prepared.xp
    assert prepared.target is not None
    maps = stop_gradient(prepared.target, xp=xp)
    table = xp.mean(prepared.probs() * maps, axis=2)
    return _finish(table, prepared, include_background)


@declare("boundary")
def boundary_dice_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, include_background: bool = True, smooth: float = 1e-5,
    lam: float = 1.0, edge_norm: EdgeNorm = "l1", reduction: Reduction = "mean",
) -> Array:
    """Dice loss plus an edge loss on morphological gradients, ``dice + λ·edge``.

    %(inputs_boundary)s
    %(smooth)s
    lam : float
        Weight ``λ >= 0`` of the edge term (0 gives ``dice_loss``).
    edge_norm : {"l1", "l2"}
        The edge difference per element: ``|E(p) − E(g)|`` or ``(E(p) − E(g))²``.
    %(reduction_region)s

    %(returns_region)s

    %(raises)s

    Notes
    -----
    Per image ``n`` and class ``c``: ``dice_{n,c} + λ·(1/|Ω|) Σ_x |E(p)(x) − E(g)(x)|^k``
    (``k = 1`` for ``"l1"``, 2 for ``"l2"``), ``dice`` the per-class term of
    :func:`~segloss_xp.dice_loss` (same ``smooth``) and ``E(x) = max_{3^d} x − min_{3^d} x``
    the morphological gradient over the spatial 3^d box (the image border is neutral:
    an object touching it has no edge there), of the probabilities and of the target.
    Both terms are ``(N, C)`` tables, so ``reduction`` applies to their sum.

    References
    ----------
    F. Milletari, N. Navab and S.-A. Ahmadi, "V-Net", 3DV 2016 (the Dice term).
    P. Soille, "Morphological Image Analysis", Springer 2003 (the morphological
    gradient).

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[[[0.0, 1.0, 1.0, 0.0]]]])  # binary (N=1, 1, 1, 4)
    >>> target = np.array([[[[0.0, 1.0, 1.0, 0.0]]]])
    >>> float(boundary_dice_loss(probs, target, mode="binary", from_logits=False))
    0.0
    """
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=None, reduction=reduction, caller="boundary_dice_loss")
    lam = _checks.check_nonnegative("lam", lam)
    _checks.check_choice("edge_norm", edge_norm, EDGE_NORMS)
    xp, axes = prepared.xp, _spatial_axes(prepared)
    dice = region_term(prepared, "dice", class_weights=None, batch=False,
                       include_background=include_background, smooth=smooth)
    if lam == 0:
        return dice
    edge_p = morphological_gradient(_spatial(prepared, prepared.probs()), axes=axes, xp=xp)
    edge_g = morphological_gradient(_spatial(prepared, _targets(prepared)), axes=axes, xp=xp)
    diff = edge_p - edge_g
    per_element = xp.abs(diff) if edge_norm == "l1" else diff * diff
    edges = xp.mean(xp.reshape(per_element, prepared.scores.shape), axis=2)
    return dice + lam * _finish(edges, prepared, include_background)


def _distance_field(mask: Array, *, spacing: tuple[float, ...], axes: tuple[int, ...],
                    dtype: object, xp: Namespace) -> Array:
    """``EDT(m) + EDT(¬m)`` per image and class, 0 where ``m`` is empty or full (MONAI).

    The masks go to the transform as 0/1 in ``dtype``, so that the distances have the
    loss's compute dtype (a bool mask would give the namespace's default float).
    """
    inside = xp.astype(mask, dtype)
    field = (distance_transform_edt(inside, spacing=spacing, axes=axes)
             + distance_transform_edt(1 - inside, spacing=spacing, axes=axes))
    interface = xp.any(mask, axis=axes, keepdims=True) & ~xp.all(mask, axis=axes, keepdims=True)
    return xp.where(interface, field, xp.zeros_like(field))


@declare("boundary")
def hausdorff_dt_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, include_background: bool = False, alpha: float = 2.0,
    spacing: float | Sequence[float] | None = None, reduction: Reduction = "mean",
) -> Array:
    """Hausdorff distance loss, distance-transform form (Karimi & Salcudean 2019).

    %(inputs_boundary)s
    alpha : float
        Exponent ``α > 0`` of the distances (paper and MONAI: 2).
    %(spacing)s
    %(reduction_region)s

    %(returns_region)s

    %(raises)s

    Notes
    -----
    Per image ``n`` and class ``c``:
    ``L_{n,c} = (1/|Ω|) Σ_x (p(x) − g(x))²·(d_p(x)^α + d_g(x)^α)``, with ``d_m = EDT(m) +
    EDT(¬m)`` the distance of every element to the boundary of the hard mask ``m``
    (0 when ``m`` is empty or fills the image), ``m = p > 0.5`` for the prediction (per
    class, also after a softmax) and ``g > 0.5`` for the target. The distance fields are
    computed from bool masks and carry no gradient; the gradient flows through
    ``(p − g)²``. On NumPy they come from SciPy, elsewhere from the generic exact
    transform on the array's device (also under ``jax.jit``).

    MONAI ``HausdorffDTLoss(alpha=α, include_background=b, softmax=True,
    to_onehot_y=True)`` (multiclass logits and labels; ``sigmoid=True`` for
    binary/multilabel, neither for probabilities) with ``reduction="mean"``/``"sum"``
    computes the same numbers (its ``"none"`` keeps two trailing singleton axes);
    MONAI has no ``spacing``.

    References
    ----------
    D. Karimi and S. E. Salcudean, "Reducing the Hausdorff distance in medical image
    segmentation with convolutional neural networks", IEEE TMI 39(2), 2019.

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[[[0.9, 0.6, 0.1, 0.1]]]])  # binary (N=1, 1, 1, 4)
    >>> target = np.array([[[[1.0, 0.0, 0.0, 0.0]]]])
    >>> round(float(hausdorff_dt_loss(probs, target, mode="binary", from_logits=False)), 6)
    0.2375
    """
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=None, reduction=reduction, caller="hausdorff_dt_loss")
    alpha = _checks.check_positive("alpha", alpha)
    xp, axes = prepared.xp, _spatial_axes(prepared)
    sampling = _checks.check_spacing(spacing, len(axes))
    p, g = prepared.probs(), _targets(prepared)
    d_p, d_g = (_distance_field(_spatial(prepared, v) > 0.5, spacing=sampling, axes=axes,
                                dtype=p.dtype, xp=xp) for v in (p, g))
    weight = d_p**alpha + d_g**alpha
    error = (p - g) ** 2
    table = xp.mean(error * xp.reshape(weight, p.shape), axis=2)
    return _finish(table, prepared, include_background)


def _soft_skeleton(x: Array, *, iterations: int, axes: tuple[int, ...], xp: Namespace) -> Array:
    """Shit et al.'s soft skeleton (MONAI ``soft_skel``): iterated erosion and opening."""
    zero = xp.zeros_like(x)

    def opened(image: Array) -> Array:
        return soft_dilate(soft_erode(image, axes=axes, xp=xp), axes=axes, xp=xp)

    skeleton = xp.maximum(x - opened(x), zero)
    for _ in range(iterations):
        x = soft_erode(x, axes=axes, xp=xp)
        delta = xp.maximum(x - opened(x), zero)
        skeleton = skeleton + xp.maximum(delta - skeleton * delta, zero)
    return skeleton


def _check_iterations(iterations: object) -> int:
    if isinstance(iterations, bool) or not isinstance(iterations, int):
        raise TypeError(f"`iterations` must be an int, got {type(iterations).__name__} "
                        f"{iterations!r}")
    if iterations < 0:
        raise ValueError(f"`iterations` must be >= 0, got {iterations}")
    return iterations


@declare("boundary")
def cldice_loss(
    y_pred: Array, y_true: Array, *, mode: Mode = "multiclass", from_logits: bool = True,
    class_axis: int = 1, include_background: bool = True, iterations: int = 3,
    smooth: float = 1.0, alpha: float = 1.0, reduction: Reduction = "mean",
) -> Array:
    """Soft clDice loss (Shit et al. 2021), optionally mixed with Dice.

    %(inputs_boundary)s
    iterations : int
        Soft skeleton iterations (``>= 0``; MONAI ``iter_``, 3), about the largest
        radius of the structures whose centre line is found.
    smooth : float
        Added to the numerator and denominator of ``Tprec`` and ``Tsens`` (MONAI
        ``smooth_nr = smooth_dr``, 1), and to those of the Dice term.
    alpha : float
        Weight of clDice in ``(1 − α)·dice + α·clDice``, in [0, 1]. 1 (default) is the
        pure clDice of MONAI's ``SoftclDiceLoss``; 0.5 the mix of its
        ``SoftDiceclDiceLoss``.
    %(reduction_region)s

    %(returns_region)s

    %(raises)s

    Notes
    -----
    Soft skeleton ``S(x)``: ``skel = relu(x − open(x))`` and, ``iterations`` times,
    ``x ← erode(x)``, ``δ = relu(x − open(x))``, ``skel ← skel + relu(δ − skel·δ)``, with
    ``erode`` the minimum over the cross-shaped neighbourhood, ``open(x) =
    dilate(erode(x))`` and ``dilate`` the maximum over the 3^d box (the border is
    neutral). Per image ``n`` and class ``c``:
    ``Tprec = (Σ S(p)·g + s)/(Σ S(p) + s)``, ``Tsens = (Σ S(g)·p + s)/(Σ S(g) + s)``,
    ``clDice = 1 − 2·Tprec·Tsens/(Tprec + Tsens)`` (with ``s = 0``: an empty skeleton
    gives a ratio of 1, ``Tprec = Tsens = 0`` a clDice of 1); the loss is
    ``(1 − α)·dice_{n,c} + α·clDice_{n,c}``, ``dice`` the per-class term of
    :func:`~segloss_xp.dice_loss` with the same ``smooth``.

    Against MONAI: ``SoftclDiceLoss(iter_=k, smooth_nr=s, smooth_dr=s, softmax=True,
    to_onehot_y=True)`` adds ``smooth=1e-4`` to the harmonic mean's denominator (we add
    nothing) and pools the sums over all channels of an image into one ratio per image
    (we keep one per class, like every region loss here; the two agree with one
    channel, e.g. binary). Its ``include_background=True`` default keeps class 0, as
    ours does.

    References
    ----------
    S. Shit et al., "clDice - a novel topology-preserving loss function for tubular
    structure segmentation", CVPR 2021.

    Examples
    --------
    >>> import numpy as np
    >>> vessel = np.zeros((1, 1, 5, 5))
    >>> vessel[0, 0, 2, :] = 1.0  # a horizontal line
    >>> float(cldice_loss(vessel, vessel, mode="binary", from_logits=False))
    0.0
    """
    prepared = prepare(y_pred, y_true, mode=mode, from_logits=from_logits, class_axis=class_axis,
                       ignore_index=None, reduction=reduction, caller="cldice_loss")
    iterations = _check_iterations(iterations)
    smooth = _checks.check_nonnegative("smooth", smooth)
    alpha = _checks.check_unit("alpha", alpha)
    xp, axes = prepared.xp, _spatial_axes(prepared)
    p, g = prepared.probs(), _targets(prepared)
    skel_p = xp.reshape(_soft_skeleton(_spatial(prepared, p), iterations=iterations, axes=axes,
                                       xp=xp), p.shape)
    skel_g = xp.reshape(_soft_skeleton(_spatial(prepared, g), iterations=iterations, axes=axes,
                                       xp=xp), p.shape)
    tprec = safe_divide(xp.sum(skel_p * g, axis=2) + smooth, xp.sum(skel_p, axis=2) + smooth,
                        fill=1.0, xp=xp)
    tsens = safe_divide(xp.sum(skel_g * p, axis=2) + smooth, xp.sum(skel_g, axis=2) + smooth,
                        fill=1.0, xp=xp)
    table = alpha * (1 - safe_divide(2 * tprec * tsens, tprec + tsens, fill=0.0, xp=xp))
    loss = _finish(table, prepared, include_background)
    if alpha == 1:
        return loss
    dice = region_term(prepared, "dice", class_weights=None, batch=False,
                       include_background=include_background, smooth=smooth)
    return loss + (1 - alpha) * dice
