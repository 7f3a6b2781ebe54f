"""Inputs: the one gate for shared keywords, layouts, activations, targets, ignore mask.

Every public loss calls :func:`prepare` exactly once with its shared keywords
(``mode``, ``from_logits``, ``class_axis``, ``ignore_index``, ``reduction``);
it is the only place that checks them. It returns a :class:`Prepared` holding
the scores as ``(N, C, S)`` (``S`` = product of the spatial sizes) in the
compute dtype, and the target either as integer labels ``(N, S)`` (never
expanded into a float one-hot) or as a float array ``(N, C, S)``, plus the
ignore mask and the reduction. Activations are computed on demand (call each
once and keep the result).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import _checks, _values
from ._capabilities import declare, require
from ._dispatch import label_hits, log_sigmoid, log_softmax, sigmoid, softmax
from ._math import clamped_log, clamped_log1m
from ._namespace import (
    Array,
    Namespace,
    compute_dtype,
    device,
    get_namespace,
    is_concrete,
    library,
)
from ._options import options
from ._values import ValueChecks

__all__ = ["Prepared", "check_inputs", "prepare"]


@dataclass
class Prepared:
    """Canonical form of a ``(y_pred, y_true)`` pair (see module docstring)."""

    xp: Namespace
    mode: str
    from_logits: bool
    reduction: str
    scores: Array  # (N, C, S), compute dtype
    labels: Array | None  # (N, S) integer class ids (multiclass), or None
    target: Array | None  # (N, C, S) float in [0, 1] (one-hot/soft/binary), or None
    mask: Array | None  # bool, (N, 1, S) or (N, C, S): True = element counts; None = all
    spatial_shape: tuple[int, ...]
    class_axis: int  # normalised class axis of the original y_pred (-1 if binary added one)
    checks: ValueChecks  # value checks of this call (traced ones poison the result)

    def poison(self, result: Array) -> Array:
        """``result``, NaN if a value check could not raise (traced/lazy) and failed."""
        return self.checks.poison(result)

    @property
    def num_classes(self) -> int:
        return int(self.scores.shape[1])

    @property
    def dtype(self) -> Any:
        return self.scores.dtype

    def probs(self) -> Array:
        """Probabilities ``(N, C, S)``: softmax (multiclass) or sigmoid, or the input."""
        xp, x = self.xp, self.scores
        if not self.from_logits:
            return x
        return softmax(x, axis=1, xp=xp) if self.mode == "multiclass" else sigmoid(x, xp=xp)

    def log_probs(self) -> Array:
        """``log p`` ``(N, C, S)``, in log space when from logits (exact at ±1e4).

        From probabilities: ``log p`` floored at −100 (torch's BCE convention), with a
        finite gradient at ``p == 0``.
        """
        xp, x = self.xp, self.scores
        if not self.from_logits:
            return clamped_log(x, xp=xp)
        if self.mode == "multiclass":
            return log_softmax(x, axis=1, xp=xp)
        return log_sigmoid(x, xp=xp)

    def log_one_minus_probs(self) -> Array:
        """``log(1 − p)`` ``(N, C, S)`` for binary/multilabel (``log σ(−x)``)."""
        xp, x = self.xp, self.scores
        return log_sigmoid(-x, xp=xp) if self.from_logits else clamped_log1m(x, xp=xp)

    def indicator(self, labels: Array) -> Array:
        """Bool ``(N, C, S)``: ``labels (N, S) == c`` and not ignored (no float one-hot)."""
        eq = label_hits(labels, self.num_classes, xp=self.xp)
        return eq if self.mask is None else eq & self.mask

    def label_indicator(self) -> Array:
        """:meth:`indicator` of the integer labels."""
        assert self.labels is not None
        return self.indicator(self.labels)

    def element_mask(self) -> Array | None:
        """The mask of a per-element loss: ``(N, S)`` multiclass, ``(N, C, S)`` otherwise."""
        if self.mask is None or self.mode != "multiclass":
            return self.mask
        return self.mask[:, 0, :]

    def unflatten(self, x: Array, channels: bool) -> Array:
        """Reshape a ``(N, [C,] S)`` map back to ``(N, [C,] *spatial)`` (class axis at 1)."""
        n = self.scores.shape[0]
        shape = (n, x.shape[1], *self.spatial_shape) if channels else (n, *self.spatial_shape)
        return self.xp.reshape(x, shape)

    def restore_layout(self, x: Array) -> Array:
        """A ``(N, C, S)`` map in ``y_pred``'s own shape and class axis."""
        out = self.unflatten(x, channels=True)
        if self.class_axis == -1:  # binary input without a channel axis
            return out[:, 0, ...]
        return out if self.class_axis == 1 else self.xp.moveaxis(out, 1, self.class_axis)


# --------------------------------------------------------------------------- the gate


def prepare(
    y_pred: Array,
    y_true: Array,
    *,
    mode: str,
    from_logits: bool,
    class_axis: int,
    ignore_index: int | None,
    reduction: str,
    caller: str,
    modes: Sequence[str] = _checks.MODES,
    reductions: Sequence[str] = _checks.REDUCTIONS,
    alternative: str = "",
    target_values: str = "probabilities",
    target_name: str = "y_true",
) -> Prepared:
    """Check the shared keywords, validate ``(y_pred, y_true)``, bring them to canonical form.

    ``caller`` names the public function in messages (and its declared capabilities
    decide whether ``y_pred``'s library is supported); ``modes`` and ``reductions`` are
    those it is defined for, ``alternative`` what to use instead for another mode.
    ``target_values="real"``: a dense ``y_true`` holds real values (signed distance
    maps), checked finite instead of in [0, 1] and summing to 1; ``target_name`` names
    it in that message.
    Raises ``TypeError`` for mixed namespaces and wrong dtypes and ``ValueError`` for
    shapes, options and (on concrete arrays) out-of-range values.
    """
    xp = get_namespace(y_pred, y_true, names=("y_pred", "y_true"))
    if y_true is None:
        raise TypeError("`y_true` must be an array, got None")
    require(caller, xp=xp)
    _check_options(mode=mode, from_logits=from_logits, class_axis=class_axis,
                   ignore_index=ignore_index, reduction=reduction, caller=caller,
                   modes=modes, reductions=reductions, alternative=alternative)
    _checks.check_pred_dtype(y_pred, mode=mode, xp=xp)
    if xp.isdtype(y_true.dtype, "complex floating"):
        raise TypeError(f"`y_true` must be real, got dtype {y_true.dtype}")
    pred, axis = _pred_layout(y_pred, mode=mode, class_axis=class_axis, xp=xp)
    true = _target_layout(y_pred, y_true, mode=mode, axis=axis, xp=xp)
    _check_devices(y_pred, y_true)
    n, c, *spatial = pred.shape
    s = math.prod(spatial)
    checks = ValueChecks(y_pred, y_true, xp=xp)
    dtype = compute_dtype(y_pred.dtype, xp=xp)
    scores = xp.reshape(xp.astype(pred, dtype, copy=False), (n, c, s))
    _values.check_prediction(y_pred, checks, from_logits=from_logits, class_sums=(
        (lambda: xp.sum(scores, axis=1)) if mode == "multiclass" else None))
    if ignore_index is not None and not _representable(ignore_index, true.dtype, xp=xp):
        ignore_index = None  # no element can equal it (uint8 labels, ignore_index=-1)
    if true.ndim == pred.ndim - 1:
        labels = xp.reshape(true, (n, s))
        _values.check_labels(labels, c, ignore_index, checks)
        mask = None if ignore_index is None else (labels != ignore_index)[:, None, :]
        if not checks.eager:
            # unchecked labels (traced, lazy or validate=False) are clipped into [0, C), so
            # that the label gathers stay in bounds: one elementwise pass, where a mask
            # would send every kernel down its masked path (validate=False was 37 % slower
            # than the checked call on W2D dice). A traced call with a bad label is NaN, a
            # lazy one raises when computed; validate=False trusts the labels.
            labels = xp.clip(labels, 0, c - 1)
        target = None
    else:
        labels = None
        if target_values == "real":
            target, mask = xp.astype(xp.reshape(true, (n, c, s)), dtype, copy=False), None
            _values.check_finite(target_name, target, checks)
        else:
            if axis == -1 and y_true.ndim >= 4:
                _values.check_not_one_hot(y_true, checks)
            target, mask = _dense_target(xp.reshape(true, (n, c, s)), mode=mode, dtype=dtype,
                                         ignore_index=ignore_index, checks=checks, axis=axis)
    return Prepared(xp=xp, mode=mode, from_logits=from_logits, reduction=reduction,
                    scores=scores, labels=labels, target=target, mask=mask,
                    spatial_shape=tuple(spatial), class_axis=axis, checks=checks)


def _representable(value: int, dtype: Any, *, xp: Namespace) -> bool:
    """``value`` fits an integer ``dtype`` (always True for float and bool dtypes)."""
    if not xp.isdtype(dtype, "integral"):
        return True
    info = xp.iinfo(dtype)
    return bool(info.min <= value <= info.max)


def _check_devices(y_pred: Array, y_true: Array) -> None:
    """Both arrays on one device (a traced array's device is None and passes)."""
    pred_device, true_device = device(y_pred), device(y_true)
    if pred_device is not None and true_device is not None and pred_device != true_device:
        raise ValueError(f"`y_pred` is on device {pred_device} but `y_true` on {true_device}; "
                         "move them to one device first")


def _check_options(*, mode: str, from_logits: bool, class_axis: int,
                   ignore_index: int | None, reduction: str, caller: str,
                   modes: Sequence[str], reductions: Sequence[str], alternative: str) -> None:
    """The shared keywords, checked here and nowhere else."""
    _checks.check_mode(mode, allowed=modes, caller=caller, alternative=alternative)
    why = ("" if tuple(reductions) == _checks.REDUCTIONS else
           f" ({caller} reduces its terms to scalars; 'none' would mix shapes)")
    _checks.check_choice("reduction", reduction, reductions, why=why)
    _checks.check_bool("from_logits", from_logits)
    if isinstance(class_axis, bool) or not isinstance(class_axis, int):
        raise TypeError(f"`class_axis` must be an int, got {type(class_axis).__name__}")
    _checks.check_ignore_index(ignore_index, mode=mode)


def _pred_layout(y_pred: Array, *, mode: str, class_axis: int,
                 xp: Namespace) -> tuple[Array, int]:
    """``y_pred`` with the class axis at 1, and its normalised class axis (-1: added)."""
    shape = tuple(y_pred.shape)
    ndim = len(shape)
    if ndim < 2:
        raise ValueError(
            f"`y_pred` must have a batch axis and at least one more axis, got shape {shape} "
            f"(mode={mode!r})")
    if math.prod(shape) == 0:
        raise ValueError(f"`y_pred` has a zero-size axis, shape {shape} (mode={mode!r}): "
                         "a loss needs at least one image and one element")
    if not -ndim <= class_axis < ndim:
        raise ValueError(f"`class_axis`={class_axis} is out of range for `y_pred` of "
                         f"shape {shape}")
    axis = class_axis % ndim
    if axis == 0:
        raise ValueError(
            f"`class_axis` cannot be the batch axis 0 (y_pred shape {shape}); "
            "use 1 for channels-first or -1 for channels-last data")
    if mode == "binary" and not (ndim >= 3 and shape[axis] == 1):
        return xp.expand_dims(y_pred, axis=1), -1  # (N, *spatial): no channel axis
    if mode == "multiclass" and shape[axis] == 1:
        raise ValueError(
            f"mode='multiclass' needs at least 2 classes on axis {axis} but `y_pred` "
            f"has shape {shape}; for a single foreground channel use mode='binary'")
    return (y_pred if axis == 1 else xp.moveaxis(y_pred, axis, 1)), axis


def _target_layout(y_pred: Array, y_true: Array, *, mode: str, axis: int,
                   xp: Namespace) -> Array:
    """``y_true`` laid out like the prediction: ``(N, C, *spatial)`` or labels ``(N, *spatial)``."""
    shape, true_shape = tuple(y_pred.shape), tuple(y_true.shape)
    if axis == -1:
        if true_shape != shape:
            raise _shape_error(mode, shape, true_shape, "`y_true` of the same shape as `y_pred`")
        return xp.expand_dims(y_true, axis=1)
    no_class = shape[:axis] + shape[axis + 1:]
    if true_shape == shape:
        true = y_true if axis == 1 else xp.moveaxis(y_true, axis, 1)
        if mode == "multiclass" and not (
                xp.isdtype(true.dtype, "real floating") or true.dtype == xp.bool):
            raise TypeError(
                f"in mode='multiclass' a `y_true` of `y_pred`'s shape {shape} must be a "
                f"float (or bool) one-hot / soft-label array, got dtype {true.dtype}; "
                f"integer class ids must have shape {no_class}")
        return true
    if true_shape == no_class and mode == "binary":
        return xp.expand_dims(y_true, axis=1)
    if true_shape == no_class and mode == "multiclass":
        if not xp.isdtype(y_true.dtype, "integral"):
            raise TypeError(
                f"in mode='multiclass' a `y_true` of shape {no_class} holds class ids "
                f"and must have an integer dtype, got {y_true.dtype}")
        return y_true
    expected = (f"integer class ids of shape {no_class} or a one-hot/soft array of shape "
                f"{shape}" if mode == "multiclass" else
                f"`y_true` of the same shape as `y_pred`, {shape}")
    if axis == 1 and len(shape) >= 3 and true_shape in (shape[:-1], shape):
        expected += "; for channels-last data pass class_axis=-1"
    raise _shape_error(mode, shape, true_shape, expected)


def _shape_error(mode: str, shape: tuple[int, ...], true_shape: tuple[int, ...],
                 expected: str) -> ValueError:
    return ValueError(
        f"shape mismatch in mode={mode!r}: `y_pred` has shape {shape}, "
        f"`y_true` has shape {true_shape}; expected {expected}")


def _dense_target(raw: Array, *, mode: str, dtype: Any, ignore_index: int | None,
                  checks: ValueChecks, axis: int) -> tuple[Array, Array | None]:
    """A ``(N, C, S)`` one-hot/soft/binary target in ``dtype``, zero where ignored, and the mask."""
    xp = checks.xp
    target = xp.astype(raw, dtype, copy=False)
    if raw.dtype != xp.bool:
        _values.check_unit_interval("y_true", target, checks, what="target values",
                                    ignore_index=ignore_index)
    mask = None
    if ignore_index is not None:
        c = target.shape[1]
        if mode != "multiclass":
            mask = raw != ignore_index
        elif 0 <= ignore_index < c:
            mask = target[:, ignore_index:ignore_index + 1, :] != 1
        else:
            mask = xp.sum(target, axis=1, keepdims=True) != 0
        target = xp.where(mask, target, xp.zeros_like(target))
    if mode == "multiclass":
        _values.check_class_sums(target, mask, checks, axis=axis, given_dtype=raw.dtype)
    return target, mask


# --------------------------------------------------------------------------- check_inputs


_SHARED = ("mode", "from_logits", "class_axis", "ignore_index")


@declare("utility", jit="reads values: call it on concrete arrays, outside jax.jit",
         compile="reads values: call it outside torch.compile",
         autograd="a check, not a loss")
def check_inputs(y_pred: Array, y_true: Array, *, loss: Callable[..., Any] | None = None,
                 **loss_kwargs: Any) -> None:
    """Run every check of a loss call eagerly, value checks included.

    Under ``jax.jit``, ``torch.compile`` and on dask the value checks cannot raise while
    the loss is traced: there an invalid input makes the loss NaN (dask: raises when
    computed). Call ``check_inputs`` on the first batch of a jitted training loop, with
    the keywords of your loss, to get the error with the offending value instead.

    Parameters
    ----------
    y_pred, y_true : array
        Concrete (not traced) arrays, as passed to the loss; dask arrays are computed.
    loss : callable, optional
        The loss to check for (its own keyword checks included, e.g. hard targets for
        ``lovasz_hinge_loss``). Without it, the shared keywords are checked.
    **loss_kwargs
        The loss's keywords (``mode``, ``class_axis``, ``ignore_index``, ``from_logits``,
        ``class_weights``, ...); without ``loss`` only the shared ones are accepted.

    Raises
    ------
    ValueError
        The first failing check, naming the argument and the offending value.
    TypeError
        Traced arrays (call it outside ``jax.jit``/``torch.compile``), or a keyword that
        needs ``loss=``.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([[0, 1, 7]])  # 7 is not a class of the 2-class logits below
    >>> check_inputs(np.zeros((1, 2, 3)), labels)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: `y_true` holds label 7 outside [0, 2) for a `y_pred` with 2 classes ...
    """
    xp = get_namespace(y_pred, y_true, names=("y_pred", "y_true"))
    if loss is not None and not callable(loss):
        raise TypeError(f"`loss` must be a loss function (callable), got "
                        f"{type(loss).__name__} {loss!r}")
    if library(xp) == "dask":  # compute, then check the values with their messages
        y_pred, y_true = y_pred.compute(), y_true.compute()
    elif not is_concrete(y_pred, y_true):
        raise TypeError("check_inputs reads values: call it on concrete arrays, outside "
                        "jax.jit / jax.vmap / torch.compile")
    if loss is None:
        unknown = sorted(set(loss_kwargs) - set(_SHARED))
        if unknown:
            raise TypeError(f"check_inputs without `loss` takes the shared keywords "
                            f"{_SHARED}; pass loss=<your loss> to check {unknown}")
        from .region import soft_confusion  # the statistics: the shared keywords and defaults

        loss = soft_confusion
    with options(validate=True):
        loss(y_pred, y_true, **loss_kwargs)
