"""Inputs: validate, move the class axis, flatten space, activations, targets, ignore mask.

Every loss starts with :func:`prepare`, which returns a :class:`Prepared`
holding the scores as ``(N, C, S)`` (``S`` = product of the spatial sizes) in
the compute dtype, and the target either as integer labels ``(N, S)`` (never
expanded into a float one-hot) or as a float array ``(N, C, S)``, plus the
ignore mask. Activations are computed on demand (call each once and keep the result).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import _checks
from ._math import clamped_log, clamped_log1m, log_sigmoid, log_softmax, sigmoid, softmax
from ._namespace import Array, Namespace, compute_dtype, device, get_namespace

__all__ = ["Prepared", "prepare"]


@dataclass
class Prepared:
    """Canonical form of a ``(y_pred, y_true)`` pair (see module docstring)."""

    xp: Namespace
    mode: str
    from_logits: bool
    scores: Array  # (N, C, S), compute dtype
    labels: Array | None  # (N, S) integer class ids (multiclass), or None
    target: Array | None  # (N, C, S) float in [0, 1] (one-hot/soft/binary), or None
    mask: Array | None  # bool, (N, 1, S) or (N, C, S): True = element counts; None = all
    spatial_shape: tuple[int, ...]
    pred_layout: tuple[int, ...]  # shape of y_pred with the class axis at 1
    class_axis: int  # normalised class axis of the original y_pred (-1 if binary added one)

    @property
    def num_classes(self) -> int:
        return self.scores.shape[1]

    @property
    def dtype(self) -> Any:
        return self.scores.dtype

    def probs(self) -> Array:
        """Probabilities ``(N, C, S)``: softmax (multiclass) or sigmoid, or the input."""
        xp, x = self.xp, self.scores
        if not self.from_logits:
            return x
        return softmax(x, 1, xp) if self.mode == "multiclass" else sigmoid(x, xp)

    def log_probs(self) -> Array:
        """``log p`` ``(N, C, S)``, in log space when from logits (exact at ±1e4).

        From probabilities: ``log p`` floored at −100 (torch's BCE convention), with a
        finite gradient at ``p == 0``.
        """
        xp, x = self.xp, self.scores
        if not self.from_logits:
            return clamped_log(x, xp)
        return log_softmax(x, 1, xp) if self.mode == "multiclass" else log_sigmoid(x, xp)

    def log_one_minus_probs(self) -> Array:
        """``log(1 − p)`` ``(N, C, S)`` for binary/multilabel (``log σ(−x)``)."""
        xp, x = self.xp, self.scores
        return log_sigmoid(-x, xp) if self.from_logits else clamped_log1m(x, xp)

    def class_ids(self) -> Array:
        """``arange(C)`` shaped ``(1, C, 1)`` on the labels' device (for label == class)."""
        xp, labels = self.xp, self.labels
        assert labels is not None
        ids = xp.arange(self.num_classes, dtype=labels.dtype, device=device(labels))
        return xp.reshape(ids, (1, self.num_classes, 1))

    def label_indicator(self) -> Array:
        """Bool ``(N, C, S)``: ``labels == c`` and not ignored (no float one-hot)."""
        assert self.labels is not None
        eq = self.labels[:, None, :] == self.class_ids()
        return eq if self.mask is None else eq & self.mask

    def unflatten(self, x: Array, channels: bool) -> Array:
        """Reshape a ``(N, [C,] S)`` map back to ``(N, [C,] *spatial)`` (class axis at 1)."""
        n = self.scores.shape[0]
        shape = (n, x.shape[1], *self.spatial_shape) if channels else (n, *self.spatial_shape)
        return self.xp.reshape(x, shape)


def _normalise_axis(axis: int, ndim: int, shape: tuple[int, ...]) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"`class_axis` must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"`class_axis`={axis} is out of range for `y_pred` of shape {shape}")
    axis %= ndim
    if axis == 0:
        raise ValueError(
            f"`class_axis` cannot be the batch axis 0 (y_pred shape {shape}); "
            "use 1 for channels-first or -1 for channels-last data"
        )
    return axis


def _shape_error(mode: str, y_pred: Array, y_true: Array, expected: str) -> ValueError:
    return ValueError(
        f"shape mismatch in mode={mode!r}: `y_pred` has shape {tuple(y_pred.shape)}, "
        f"`y_true` has shape {tuple(y_true.shape)}; expected {expected}"
    )


def prepare(
    y_pred: Array,
    y_true: Array,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    class_axis: int = 1,
    ignore_index: int | None = None,
) -> Prepared:
    """Validate a ``(y_pred, y_true)`` pair and bring it to canonical form.

    See DESIGN §2 for the accepted layouts. Raises ``TypeError`` for mixed
    namespaces and wrong dtypes and ``ValueError`` for shapes, options and
    (on concrete arrays) out-of-range values.
    """
    xp = get_namespace(y_pred, y_true, names=("y_pred", "y_true"))
    if y_true is None:
        raise TypeError("`y_true` must be an array, got None")
    _checks.check_choice("mode", mode, _checks.MODES)
    if not isinstance(from_logits, bool):
        raise TypeError(f"`from_logits` must be a bool, got {type(from_logits).__name__}")
    _checks.check_pred_dtype(y_pred, xp, mode)
    _checks.check_ignore_index(ignore_index, mode)
    shape = tuple(y_pred.shape)
    ndim = len(shape)
    if ndim < 2:
        raise ValueError(
            f"`y_pred` must have a batch axis and at least one more axis, got shape {shape} "
            f"(mode={mode!r})"
        )
    if xp.isdtype(y_true.dtype, "complex floating"):
        raise TypeError(f"`y_true` must be real, got dtype {y_true.dtype}")
    dtype = compute_dtype(xp, y_pred.dtype)
    true_shape = tuple(y_true.shape)

    # -- y_pred: class axis to 1 (binary without a channel axis gets one) --
    if mode == "binary" and not (ndim >= 3 and shape[class_axis % ndim] == 1):
        axis = -1
        pred = xp.expand_dims(y_pred, axis=1)
        if true_shape != shape:
            raise _shape_error(mode, y_pred, y_true, "`y_true` of the same shape as `y_pred`")
        true = xp.expand_dims(y_true, axis=1)
    else:
        axis = _normalise_axis(class_axis, ndim, shape)
        pred = y_pred if axis == 1 else xp.moveaxis(y_pred, axis, 1)
        true = y_true
        num_classes = shape[axis]
        if mode == "multiclass" and num_classes == 1:
            raise ValueError(
                f"mode='multiclass' needs at least 2 classes on axis {axis} but `y_pred` "
                f"has shape {shape}; for a single foreground channel use mode='binary'"
            )
        no_class = shape[:axis] + shape[axis + 1:]
        if true_shape == shape:
            true = true if axis == 1 else xp.moveaxis(true, axis, 1)
            if mode == "multiclass" and not (
                    xp.isdtype(true.dtype, "real floating") or true.dtype == xp.bool):
                raise TypeError(
                    f"in mode='multiclass' a `y_true` of `y_pred`'s shape {shape} must be a "
                    f"float (or bool) one-hot / soft-label array, got dtype {true.dtype}; "
                    f"integer class ids must have shape {no_class}"
                )
        elif true_shape == no_class and (mode == "binary" or (
                mode == "multiclass" and xp.isdtype(true.dtype, "integral"))):
            if mode == "binary":
                true = xp.expand_dims(true, axis=1)
        else:
            if mode == "multiclass":
                expected = (f"integer class ids of shape {no_class} or a one-hot/soft "
                            f"array of shape {shape}")
                if true_shape == no_class:
                    raise TypeError(
                        f"in mode='multiclass' a `y_true` of shape {no_class} holds class ids "
                        f"and must have an integer dtype, got {true.dtype}"
                    )
            else:
                expected = f"`y_true` of the same shape as `y_pred`, {shape}"
            raise _shape_error(mode, y_pred, y_true, expected)

    layout = tuple(pred.shape)
    n, c = layout[0], layout[1]
    spatial = layout[2:]
    s = math.prod(spatial)
    check_values = _checks.should_check_values(y_pred, y_true)
    if check_values:
        _checks.check_finite_input("y_pred", y_pred, xp)
        if not from_logits:
            _checks.check_unit_interval("y_pred", y_pred, xp, what="probabilities "
                                        "(from_logits=False)")

    scores = xp.reshape(xp.astype(pred, dtype, copy=False), (n, c, s))
    labels = target = mask = None
    if true.ndim == pred.ndim - 1:  # integer class ids (multiclass)
        labels = xp.reshape(true, (n, s))
        if check_values:
            _checks.check_labels_in_range(labels, c, ignore_index, xp)
        if ignore_index is not None:
            mask = (labels != ignore_index)[:, None, :]
    else:
        raw = xp.reshape(true, (n, c, s))
        if check_values and true.dtype != xp.bool:
            _checks.check_unit_interval("y_true", xp.astype(raw, dtype), xp,
                                        what="target values", ignore_index=ignore_index)
        target = xp.astype(raw, dtype, copy=False)
        if ignore_index is not None:
            if mode != "multiclass":
                mask = raw != ignore_index
            elif 0 <= ignore_index < c:
                mask = (target[:, ignore_index:ignore_index + 1, :] != 1)
            else:
                mask = xp.sum(target, axis=1, keepdims=True) != 0
            target = xp.where(mask, target, xp.zeros_like(target))
    return Prepared(xp=xp, mode=mode, from_logits=from_logits, scores=scores, labels=labels,
                    target=target, mask=mask, spatial_shape=spatial, pred_layout=layout,
                    class_axis=axis)
