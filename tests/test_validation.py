"""The bad-input matrix (DESIGN §2): every region loss rejects bad input clearly.

Structural errors (types, shapes, options) are always raised; value errors
(label range, probabilities in [0, 1], non-finite input) only on concrete arrays
while ``options(validate=True)``. Messages are checked with ``match=``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from segloss_xp.testing import load_backend

LOSSES = {
    "dice": sx.dice_loss,
    "jaccard": sx.jaccard_loss,
    "tversky": sx.tversky_loss,
    "focal_tversky": sx.focal_tversky_loss,
    "generalized_dice": sx.generalized_dice_loss,
    "soft_confusion": sx.soft_confusion,
}
REGION_LOSSES = [n for n in LOSSES if n != "soft_confusion"]
ALL = pytest.mark.parametrize("name", list(LOSSES))
ONLY_LOSSES = pytest.mark.parametrize("name", REGION_LOSSES)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 3, 4, 5))  # multiclass / multilabel logits (N, C, H, W)
LABELS = RNG.integers(0, 3, size=(2, 4, 5))
BX = RNG.normal(size=(2, 1, 4, 5))  # binary logits
BY = (RNG.random(size=(2, 1, 4, 5)) < 0.5).astype(np.float64)
ML = (RNG.random(size=(2, 3, 4, 5)) < 0.5).astype(np.float64)


def both(*words: str) -> str:
    """A regex that needs every word somewhere in the message (any order)."""
    return "".join(f"(?=[\\s\\S]*{re.escape(w)})" for w in words)


# ----------------------------------------------------------------------------- dtypes


@ALL
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_integer_and_bool_y_pred_raise_type_error(name: str, dtype: Any) -> None:
    fn = LOSSES[name]
    with pytest.raises(TypeError, match=both("`y_pred` must be a real floating",
                                             "mode='multiclass'")):
        fn((X > 0).astype(dtype), LABELS)
    with pytest.raises(TypeError, match="`y_pred` must be a real floating"):
        fn((BX > 0).astype(dtype), BY, mode="binary")


@ALL
def test_float_labels_with_label_map_shape_raise_type_error(name: str) -> None:
    with pytest.raises(TypeError, match=both("mode='multiclass'", "integer", "(2, 4, 5)")):
        LOSSES[name](X, LABELS.astype(np.float64))


@ALL
def test_integer_one_hot_in_multiclass_raises_type_error(name: str) -> None:
    one_hot = np.stack([LABELS == c for c in range(3)], axis=1).astype(np.int64)
    with pytest.raises(TypeError, match=both("one-hot", "integer class ids", "(2, 4, 5)")):
        LOSSES[name](X, one_hot)


# ----------------------------------------------------------------------------- namespaces


@ALL
def test_mixed_torch_numpy_raise_type_error_naming_both(name: str) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    fn = LOSSES[name]
    msg = both("mixed namespaces", "torch", "numpy", "`y_pred`", "`y_true`")
    with pytest.raises(TypeError, match=msg):
        fn(torch.asarray(X), LABELS)
    with pytest.raises(TypeError, match=msg):
        fn(X, torch.asarray(LABELS))


@ALL
def test_mixed_jax_numpy_raise_type_error_naming_both(name: str) -> None:
    jnp = pytest.importorskip("jax.numpy", reason="jax is not installed")
    fn = LOSSES[name]
    msg = both("mixed namespaces", "jax", "numpy")
    with pytest.raises(TypeError, match=msg):
        fn(jnp.asarray(X), LABELS)
    with pytest.raises(TypeError, match=msg):
        fn(X, jnp.asarray(LABELS))


@ALL
def test_non_array_inputs_raise_type_error(name: str) -> None:
    fn = LOSSES[name]
    with pytest.raises(TypeError, match="`y_true` must be an array"):
        fn(X, LABELS.tolist())
    with pytest.raises(TypeError, match="`y_true` must be an array"):
        fn(X, None)
    with pytest.raises(TypeError, match="`y_pred` must be an array"):
        fn(X.tolist(), LABELS)


# ----------------------------------------------------------------------------- shapes


SHAPE_CASES = [
    # (y_pred, y_true, mode)
    (X, LABELS[:, :3], "multiclass"),  # label map with the wrong spatial shape
    (X, LABELS[:1], "multiclass"),  # wrong batch size
    (X, np.zeros((2, 4, 4, 5)), "multiclass"),  # dense target with the wrong C
    (BX, BY[..., :4], "binary"),
    (BX[:, 0], BY, "binary"),  # (N, *sp) prediction, (N, 1, *sp) target
    (X, ML[:, :2], "multilabel"),
    (X, ML[:, 0], "multilabel"),  # multilabel needs y_pred's shape
]


@ALL
@pytest.mark.parametrize("case", range(len(SHAPE_CASES)))
def test_shape_mismatch_prints_both_shapes_and_mode(name: str, case: int) -> None:
    y_pred, y_true, mode = SHAPE_CASES[case]
    msg = both("shape mismatch", f"mode={mode!r}", str(tuple(y_pred.shape)),
               str(tuple(y_true.shape)))
    with pytest.raises(ValueError, match=msg):
        LOSSES[name](y_pred, y_true, mode=mode)


@ALL
def test_multiclass_with_one_channel_suggests_binary(name: str) -> None:
    with pytest.raises(ValueError, match=both("at least 2 classes", "(2, 1, 4, 5)",
                                              "mode='binary'")):
        LOSSES[name](BX, BY, mode="multiclass")
    with pytest.raises(ValueError, match="mode='binary'"):
        LOSSES[name](BX, BY[:, 0].astype(np.int64))


@ALL
def test_y_pred_without_class_axis_raises(name: str) -> None:
    with pytest.raises(ValueError, match=both("batch axis", "(5,)")):
        LOSSES[name](X[0, 0, 0], LABELS[0, 0])


@ALL
@pytest.mark.parametrize("axis", [0, -4, 4, -5, 7])
def test_bad_class_axis_raises(name: str, axis: int) -> None:
    match = "batch axis 0" if axis in (0, -4) else "out of range"
    with pytest.raises(ValueError, match=both("`class_axis`", match)):
        LOSSES[name](X, LABELS, class_axis=axis)


@ALL
def test_non_int_class_axis_raises_type_error(name: str) -> None:
    with pytest.raises(TypeError, match="`class_axis` must be an int"):
        LOSSES[name](X, LABELS, class_axis=1.0)


# ----------------------------------------------------------------------------- values


@ALL
@pytest.mark.parametrize("bad", [3, -1, 255])
def test_labels_out_of_range_name_the_label(name: str, bad: int) -> None:
    labels = LABELS.copy()
    labels[1, 2, 3] = bad
    with pytest.raises(ValueError, match=both(f"label {bad}", "[0, 3)", "ignore_index=None")):
        LOSSES[name](X, labels)


@pytest.mark.parametrize("backend_name", ["numpy", "strict", "torch", "jax"])
@pytest.mark.parametrize("bad", [7, 255])
def test_unsigned_labels_out_of_range_name_the_label(backend_name: str, bad: int) -> None:
    # uint8 label maps are common; the message must name the label, not overflow or wrap
    backend, reason = load_backend(backend_name)
    if backend is None:
        pytest.skip(reason)
    labels = LABELS.astype(np.uint8)
    labels[1, 2, 3] = bad
    with backend.context():
        x, y = backend.asarray(X), backend.asarray(labels)
        for fn in LOSSES.values():
            with pytest.raises(ValueError, match=both(f"label {bad}", "[0, 3)")):
                fn(x, y)


@ALL
def test_out_of_range_labels_allowed_only_as_ignore_index(name: str) -> None:
    labels = LABELS.copy()
    labels[1, 2, 3] = 255
    labels[0, 0, 0] = 3
    LOSSES[name](X, np.where(labels == 3, 0, labels), ignore_index=255)  # fine
    with pytest.raises(ValueError, match=both("label 3", "ignore_index=255")):
        LOSSES[name](X, labels, ignore_index=255)


@ALL
@pytest.mark.parametrize("value", [1.5, -0.25])
def test_probabilities_outside_unit_interval_raise(name: str, value: float) -> None:
    probs = np.full(X.shape, 1 / 3)
    probs[0, 1, 2, 3] = value
    with pytest.raises(ValueError, match=both("`y_pred`", "probabilities", "[0, 1]",
                                              repr(value))):
        LOSSES[name](probs, LABELS, from_logits=False)
    # with from_logits=True the same numbers are fine logits
    LOSSES[name](probs, LABELS)


@ALL
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_y_pred_raises(name: str, value: float) -> None:
    x = X.copy()
    x[1, 0, 0, 0] = value
    with pytest.raises(ValueError, match=both("`y_pred`", "non-finite")):
        LOSSES[name](x, LABELS)
    bx = BX.copy()
    bx[0, 0, 1, 1] = value
    with pytest.raises(ValueError, match="non-finite"):
        LOSSES[name](bx, BY, mode="binary")


@ALL
@pytest.mark.parametrize("mode", ["binary", "multilabel"])
@pytest.mark.parametrize("value", [2.0, -1.0])
def test_targets_outside_unit_interval_raise(name: str, mode: str, value: float) -> None:
    x, y = (BX, BY.copy()) if mode == "binary" else (X, ML.copy())
    y[0, 0, 0, 0] = value
    with pytest.raises(ValueError, match=both("`y_true`", "[0, 1]", repr(value))):
        LOSSES[name](x, y, mode=mode)


# ----------------------------------------------------------------------------- options


@ALL
def test_unknown_mode_lists_choices(name: str) -> None:
    with pytest.raises(ValueError, match=both("`mode`", "'multiclass', 'binary', 'multilabel'",
                                              "'multi-class'")):
        LOSSES[name](X, LABELS, mode="multi-class")


@ONLY_LOSSES
def test_unknown_reduction_lists_choices(name: str) -> None:
    with pytest.raises(ValueError, match=both("`reduction`", "'mean', 'sum', 'none'",
                                              "'avg'")):
        LOSSES[name](X, LABELS, reduction="avg")


def test_unknown_weight_type_lists_choices() -> None:
    with pytest.raises(ValueError, match=both("`weight_type`", "'square', 'simple', 'uniform'",
                                              "'sqrt'")):
        sx.generalized_dice_loss(X, LABELS, weight_type="sqrt")


def test_region_loss_from_stats_rejects_bad_options() -> None:
    stats = sx.soft_confusion(X, LABELS)
    with pytest.raises(ValueError, match=both("`kind`", "'dice'", "'generalized_dice'",
                                              "'lovasz'")):
        sx.region_loss_from_stats(stats, kind="lovasz")
    with pytest.raises(ValueError, match="`reduction`"):
        sx.region_loss_from_stats(stats, reduction="avg")
    with pytest.raises(ValueError, match=r"`stats` must be \(I, P, G\)"):
        sx.region_loss_from_stats(stats[:2])
    with pytest.raises(ValueError, match="share one shape"):
        sx.region_loss_from_stats((stats[0], stats[1][:1], stats[2]))
    with pytest.raises(ValueError, match=both("`class_weights`", "expected 3", "got 2")):
        sx.region_loss_from_stats(stats, class_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="`smooth` must be >= 0"):
        sx.region_loss_from_stats(stats, smooth=-1.0)


@pytest.mark.parametrize("name", ["dice", "jaccard", "tversky", "focal_tversky"])
@pytest.mark.parametrize("weights", [[1.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
def test_class_weights_wrong_length(name: str, weights: list[float]) -> None:
    msg = both("`class_weights`", "expected 3", f"got {len(weights)}", "background included")
    with pytest.raises(ValueError, match=msg):
        LOSSES[name](X, LABELS, class_weights=weights)
    # length C even when the background is dropped: C - 1 entries is an error
    with pytest.raises(ValueError, match=msg):
        LOSSES[name](X, LABELS, class_weights=weights, include_background=False)


@pytest.mark.parametrize("name", ["dice", "jaccard", "tversky", "focal_tversky"])
def test_class_weights_negative_or_not_numbers(name: str) -> None:
    with pytest.raises(ValueError, match="finite and >= 0"):
        LOSSES[name](X, LABELS, class_weights=[1.0, -2.0, 1.0])
    with pytest.raises(TypeError, match="`class_weights` must be a sequence"):
        LOSSES[name](X, LABELS, class_weights=2.0)


def test_generalized_dice_has_no_class_weights() -> None:
    with pytest.raises(TypeError, match="class_weights"):
        sx.generalized_dice_loss(X, LABELS, class_weights=[1.0, 1.0, 1.0])


@ONLY_LOSSES
def test_negative_smooth_raises(name: str) -> None:
    with pytest.raises(ValueError, match=both("`smooth` must be >= 0", "-0.1")):
        LOSSES[name](X, LABELS, smooth=-0.1)
    with pytest.raises(ValueError, match="`smooth` must be finite"):
        LOSSES[name](X, LABELS, smooth=float("nan"))


@pytest.mark.parametrize("name", ["tversky", "focal_tversky"])
@pytest.mark.parametrize("param", ["alpha", "beta"])
def test_negative_alpha_beta_raise(name: str, param: str) -> None:
    with pytest.raises(ValueError, match=both(f"`{param}` must be >= 0", "-0.5")):
        LOSSES[name](X, LABELS, **{param: -0.5})


@pytest.mark.parametrize("gamma", [0.0, -1.0])
def test_non_positive_gamma_raises(gamma: float) -> None:
    with pytest.raises(ValueError, match="`gamma` must be > 0"):
        sx.focal_tversky_loss(X, LABELS, gamma=gamma)


@ALL
@pytest.mark.parametrize("mode", ["binary", "multilabel"])
@pytest.mark.parametrize("ignore_index", [0, 1])
def test_ignore_index_0_or_1_in_binary_modes(name: str, mode: str, ignore_index: int) -> None:
    x, y = (BX, BY) if mode == "binary" else (X, ML)
    with pytest.raises(ValueError, match=both(f"`ignore_index`={ignore_index}",
                                              f"mode={mode!r}", "-1")):
        LOSSES[name](x, y, mode=mode, ignore_index=ignore_index)


@ALL
def test_ignore_index_must_be_int(name: str) -> None:
    with pytest.raises(TypeError, match="`ignore_index` must be an int"):
        LOSSES[name](X, LABELS, ignore_index=255.0)


@ALL
def test_from_logits_must_be_bool(name: str) -> None:
    with pytest.raises(TypeError, match="`from_logits` must be a bool"):
        LOSSES[name](X, LABELS, from_logits=1)


@pytest.mark.parametrize("name", ["dice", "jaccard", "tversky", "focal_tversky"])
def test_include_background_false_with_binary_is_fine_but_one_class_stats_raise(
        name: str) -> None:
    LOSSES[name](BX, BY, mode="binary", include_background=False)  # ignored in binary mode
    stats = sx.soft_confusion(BX, BY, mode="binary")
    with pytest.raises(ValueError, match="drop the only class"):
        sx.region_loss_from_stats(stats, kind=name, include_background=False)


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
