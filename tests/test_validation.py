"""Input validation beyond the bad-input matrix: what stays accepted, and validate=False.

The bad-input matrix itself (every public function x every backend: ranks, shapes,
dtypes, namespaces, options, weights, hyper-parameters, label and probability ranges,
non-finite inputs; DESIGN §2) is ``tests/test_bad_inputs.py``. This file keeps the
checks around it: values that look out of range but are valid (an ``ignore_index``
label, the same numbers as logits, ``include_background=False`` in binary mode), a
keyword a function does not take, and the ``options(validate=...)`` switch, which turns
the value checks off and leaves the structural ones on.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import segloss_xp as sx

LOSSES = {
    "dice": sx.dice_loss,
    "jaccard": sx.jaccard_loss,
    "tversky": sx.tversky_loss,
    "focal_tversky": sx.focal_tversky_loss,
    "generalized_dice": sx.generalized_dice_loss,
    "soft_confusion": sx.soft_confusion,
}
ALL = pytest.mark.parametrize("name", list(LOSSES))

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 3, 4, 5))  # multiclass / multilabel logits (N, C, H, W)
LABELS = RNG.integers(0, 3, size=(2, 4, 5))
BX = RNG.normal(size=(2, 1, 4, 5))  # binary logits
BY = (RNG.random(size=(2, 1, 4, 5)) < 0.5).astype(np.float64)


# ----------------------------------------------------------------------------- accepted


@ALL
def test_out_of_range_label_is_fine_as_ignore_index(name: str) -> None:
    # the error for a label outside [0, C) that is not ignore_index is in the matrix
    labels = LABELS.copy()
    labels[1, 2, 3] = 255
    LOSSES[name](X, labels, ignore_index=255)


@ALL
@pytest.mark.parametrize("value", [1.5, -0.25])
def test_numbers_outside_unit_interval_are_fine_logits(name: str, value: float) -> None:
    # the same numbers with from_logits=False are rejected (the matrix)
    probs = np.full(X.shape, 1 / 3)
    probs[0, 1, 2, 3] = value
    LOSSES[name](probs, LABELS)


def test_generalized_dice_has_no_class_weights() -> None:
    with pytest.raises(TypeError, match="class_weights"):
        sx.generalized_dice_loss(X, LABELS, class_weights=[1.0, 1.0, 1.0])


@pytest.mark.parametrize("name", ["dice", "jaccard", "tversky", "focal_tversky"])
def test_include_background_false_with_binary_is_fine(name: str) -> None:
    # ignored in binary mode; from one-class statistics it is an error (the matrix)
    LOSSES[name](BX, BY, mode="binary", include_background=False)


# ----------------------------------------------------------------------------- validate=False


def _bad_value_inputs() -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    labels = LABELS.copy()
    labels[0, 1, 1] = 7
    probs = np.full(X.shape, 1 / 3)
    probs[0, 0, 0, 0] = 1.5
    nan_x = X.copy()
    nan_x[0, 0, 0, 0] = np.nan
    by = BY.copy()
    by[0, 0, 0, 0] = 3.0
    return [
        ("label 7", (X, labels), {}),
        ("probabilities", (probs, LABELS), {"from_logits": False}),
        ("non-finite", (nan_x, LABELS), {}),
        ("`y_true` must hold target values", (BX, by), {"mode": "binary"}),
    ]


@ALL
def test_validate_false_skips_value_checks_but_not_shape_checks(name: str) -> None:
    fn = LOSSES[name]
    cases = _bad_value_inputs()
    for match, args, kw in cases:
        with pytest.raises(ValueError, match=re.escape(match)):
            fn(*args, **kw)
    with sx.options(validate=False):
        for _, args, kw in cases:
            fn(*args, **kw)  # value checks are off: no raise
        with pytest.raises(ValueError, match="shape mismatch"):
            fn(X, LABELS[:, :3])
        with pytest.raises(ValueError, match="mode='binary'"):
            fn(BX, BY)
        with pytest.raises(TypeError, match="real floating"):
            fn(LABELS[:, None].astype(np.int64) * np.ones((1, 3, 1, 1), np.int64), LABELS)
        with pytest.raises(ValueError, match="`mode`"):
            fn(X, LABELS, mode="nope")
    assert sx.get_option("validate") is True
    for match, args, kw in cases:  # back on after the block
        with pytest.raises(ValueError, match=re.escape(match)):
            fn(*args, **kw)


def test_validate_false_plain_call_then_restore() -> None:
    match, args, kw = _bad_value_inputs()[0]
    previous = sx.get_option("validate")
    try:
        sx.options(validate=False)
        for fn in LOSSES.values():
            fn(*args, **kw)
        with pytest.raises(ValueError, match="shape mismatch"):
            sx.dice_loss(X, LABELS[:, :3])
    finally:
        sx.options(validate=previous)
    with pytest.raises(ValueError, match=match):
        sx.dice_loss(*args, **kw)


def test_unknown_option_name() -> None:
    with pytest.raises(KeyError, match="validate"):
        sx.get_option("speed")
    with pytest.raises(TypeError):
        sx.options(fast=True)  # type: ignore[call-arg]
