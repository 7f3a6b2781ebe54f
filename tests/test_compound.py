"""Compound losses (DESIGN §7) and the exponential logarithmic loss (DESIGN §3), every backend.

Expected values come from the float64 oracle (``conformance/oracle.py``), from
combinations of its public pieces written out here, or from hand computations;
never from the code under test. The oracle is channels-first and wants binary data
as ``(N, 1, *spatial)``; the tests move axes on the NumPy side before calling it.
Target downsampling for ``deep_supervision`` is recomputed here with NumPy
(``np.floor`` of float index arithmetic / slicing), independently of the library's
integer arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from conformance import helpers, oracle
from conformance.helpers import one_hot, softmax
from segloss_xp.compound import bce_dice_loss, combo_loss, deep_supervision, dice_ce_loss
from segloss_xp.region import dice_loss, exp_log_loss
from segloss_xp.testing import Backend, assert_matches

RTOL = 1e-10  # float64 against the float64 oracle: only summation-order rounding
# The compound family, and exp_log_loss (family "region", but a mix of a Dice and a
# cross-entropy term, tested here)
COMPOUND = [*helpers.public_functions("compound"), "exp_log_loss"]


# ----------------------------------------------------------------------------- data


def _data(seed: int = 0, shape: tuple[int, ...] = (2, 3, 4, 5)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, c, *sp = shape
    labels = rng.integers(0, c, size=(n, *sp))
    return {
        "logits": 2.0 * rng.normal(size=shape),
        "labels": labels,
        "onehot": one_hot(labels, c),
        "soft": softmax(rng.normal(size=shape)),
        "blogits": 2.0 * rng.normal(size=(n, 1, *sp)),
        "bmask": (rng.random(size=(n, 1, *sp)) < 0.4).astype(np.float64),
        "mlogits": 2.0 * rng.normal(size=shape),
        "mmask": (rng.random(size=shape) < 0.4).astype(np.float64),
    }


def _run(backend: Backend, fn: Any, x: np.ndarray, y: np.ndarray, **kw: Any) -> tuple[Any, Any]:
    xb = backend.asarray(x)
    return fn(xb, backend.asarray(y), **kw), xb


# ----------------------------------------------------------------------------- dice_ce_loss,
#                                                                               dice_focal_loss

# (name, x key, y key, mode, keywords for both, channels_last)
DICE_CE_CASES = [
    ("mc_labels", "logits", "labels", "multiclass", {}, False),
    ("mc_onehot_weights", "logits", "onehot", "multiclass",
     {"class_weights": (0.5, 1.0, 2.0), "include_background": False,
      "label_smoothing": 0.1, "reduction": "sum"}, False),
    ("mc_labels_weights", "logits", "labels", "multiclass",
     {"class_weights": (0.5, 1.0, 2.0), "lambda_dice": 0.3, "lambda_ce": 1.7}, False),
    ("mc_soft_squared_batch", "logits", "soft", "multiclass",
     {"squared": True, "batch": True, "soft_label": True, "smooth": 0.5}, False),
    ("mc_labels_ignore", "logits", "labels_ignored", "multiclass",
     {"ignore_index": -1, "include_background": False}, False),
    ("mc_channels_last", "logits", "labels", "multiclass", {"label_smoothing": 0.2}, True),
    ("binary_pos_weight", "blogits", "bmask", "binary",
     {"pos_weight": 2.5, "smooth": 0.0}, False),
    ("multilabel_weights", "mlogits", "mmask", "multilabel",
     {"class_weights": (1.0, 0.2, 3.0), "include_background": False,
      "reduction": "sum"}, False),
]


DICE_FOCAL_CASES = [
    ("mc_labels", "logits", "labels", "multiclass", {}, False),
    ("mc_labels_weights_alpha", "logits", "labels", "multiclass",
     {"class_weights": (0.5, 1.0, 2.0), "alpha": (0.2, 0.5, 0.8), "gamma": 1.5,
      "lambda_dice": 0.3, "lambda_focal": 1.7}, False),
    ("mc_onehot_nobg_sum", "logits", "onehot", "multiclass",
     {"include_background": False, "alpha": 0.25, "reduction": "sum"}, False),
    ("mc_labels_ignore", "logits", "labels_ignored", "multiclass",
     {"ignore_index": -1, "squared": True, "batch": True, "smooth": 0.5}, False),
    ("mc_channels_last", "logits", "labels", "multiclass", {"gamma": 0.5}, True),
    ("binary_weights", "blogits", "bmask", "binary",
     {"class_weights": (2.5,), "alpha": 0.25, "smooth": 0.0}, False),
    ("multilabel_nobg", "mlogits", "mmask", "multilabel",
     {"class_weights": (1.0, 0.2, 3.0), "alpha": (0.3, 0.6, 0.9), "include_background": False,
      "reduction": "sum"}, False),
]
ORACLE_CASES = ([("dice_ce_loss", case) for case in DICE_CE_CASES]
                + [("dice_focal_loss", case) for case in DICE_FOCAL_CASES])


def _dice_ce_inputs(name: str, xkey: str, ykey: str) -> tuple[np.ndarray, np.ndarray]:
    d = _data(1)
    y = d["labels"].copy()
    if ykey == "labels_ignored":
        y[0, 0, :] = -1
        return d[xkey], y
    return d[xkey], d[ykey]


@pytest.mark.parametrize(("loss", "case"), ORACLE_CASES,
                         ids=[f"{loss}-{case[0]}" for loss, case in ORACLE_CASES])
def test_dice_ce_and_dice_focal_match_oracle(backend: Backend, loss: str, case: tuple) -> None:
    name, xkey, ykey, mode, kw, channels_last = case
    x, y = _dice_ce_inputs(name, xkey, ykey)
    expected = getattr(oracle, loss)(x, y, mode=mode, **kw)
    if channels_last:
        x = np.moveaxis(x, 1, -1)
        y = np.moveaxis(y, 1, -1) if y.ndim == x.ndim else y
        kw = {**kw, "class_axis": -1}
    out, xb = _run(backend, getattr(sx, loss), x, y, mode=mode, **kw)
    assert_matches(out, expected, backend, dtype="float64", rtol=RTOL, ref=xb)


def test_dice_ce_is_sum_of_its_terms() -> None:
    """λ_d·dice + λ_ce·CE, the terms being the oracle's dice_loss and cross_entropy."""
    d = _data(2)
    kw = {"class_weights": (0.2, 1.0, 4.0), "include_background": False}
    expected = (0.7 * oracle.dice_loss(d["logits"], d["labels"], **kw)
                + 1.3 * oracle.cross_entropy(d["logits"], d["labels"],
                                             class_weights=kw["class_weights"]))
    got = dice_ce_loss(d["logits"], d["labels"], lambda_dice=0.7, lambda_ce=1.3, **kw)
    np.testing.assert_allclose(float(got), expected, rtol=RTOL)


# ----------------------------------------------------------------------------- bce_dice_loss


@pytest.mark.parametrize("case", ["binary", "binary_nochannel", "multilabel"])
def test_bce_dice_matches_oracle(backend: Backend, case: str) -> None:
    d = _data(4)
    if case == "multilabel":
        x, y = d["mlogits"], d["mmask"]
        kw = {"class_weights": (1.0, 0.5, 2.0), "include_background": False,
              "pos_weight": (1.0, 2.0, 0.5), "smooth": 1.0}
        expected = (0.4 * oracle.cross_entropy(x, y, mode="multilabel",
                                               class_weights=kw["class_weights"],
                                               pos_weight=kw["pos_weight"], reduction="sum")
                    + 2.0 * oracle.dice_loss(x, y, mode="multilabel", smooth=1.0,
                                             class_weights=kw["class_weights"],
                                             include_background=False, reduction="sum"))
        out, xb = _run(backend, bce_dice_loss, x, y, mode="multilabel", lambda_bce=0.4,
                       lambda_dice=2.0, reduction="sum", **kw)
    else:
        x, y = d["blogits"], d["bmask"]
        y = y.copy()
        y[0, 0, 0, :2] = 255  # ignored elements
        expected = oracle.bce_dice_loss(x, y, mode="binary", pos_weight=3.0, ignore_index=255)
        if case == "binary_nochannel":
            x, y = x[:, 0], y[:, 0]
        out, xb = _run(backend, bce_dice_loss, x, y, pos_weight=3.0, ignore_index=255)
    assert_matches(out, expected, backend, dtype="float64", rtol=RTOL, ref=xb)


# ----------------------------------------------------------------------------- combo_loss


@pytest.mark.parametrize("case", ["binary_default", "binary_probs", "multilabel", "sum"])
def test_combo_matches_oracle(backend: Backend, case: str) -> None:
    d = _data(5)
    if case == "binary_default":
        x, y, mode, kw = d["blogits"], d["bmask"], "binary", {}
        expected = oracle.combo_loss(x, y, mode="binary", smooth=1.0)  # our default smooth
    elif case == "binary_probs":
        x = 1.0 / (1.0 + np.exp(-d["blogits"]))
        y, mode = d["bmask"], "binary"
        kw = {"from_logits": False, "alpha": 0.3, "beta": 0.8, "smooth": 1e-5}
        expected = oracle.combo_loss(x, y, mode=mode, **kw)
    elif case == "multilabel":
        x, y, mode = d["mlogits"], d["mmask"].copy(), "multilabel"
        y[1, 2, 0, :] = -1
        kw = {"alpha": 0.7, "beta": 0.2, "smooth": 0.5, "ignore_index": -1}
        expected = oracle.combo_loss(x, y, mode=mode, **kw)
    else:  # reduction="sum": α·Σ mbce − (1 − α)·Σ_{n,c} Dice, from the oracle's pieces
        x, y, mode = d["mlogits"], d["mmask"], "multilabel"
        kw = {"alpha": 0.6, "beta": 0.3, "reduction": "sum"}
        mbce = oracle.balanced_cross_entropy(x, y, mode=mode, beta=0.3, reduction="sum")
        dice_sum = x.shape[0] * x.shape[1] - oracle.dice_loss(x, y, mode=mode, smooth=1.0,
                                                              reduction="sum")
        expected = 0.6 * mbce - 0.4 * dice_sum
    out, xb = _run(backend, combo_loss, x, y, mode=mode, **kw)
    assert_matches(out, expected, backend, dtype="float64", rtol=RTOL, ref=xb)


def test_combo_hand_value() -> None:
    """One image, three elements, probabilities; β-BCE and Dice written out."""
    p = np.array([0.9, 0.2, 0.7])
    t = np.array([1.0, 0.0, 1.0])
    alpha, beta, s = 0.4, 0.7, 1.0
    mbce = -np.mean(beta * t * np.log(p) + (1 - beta) * (1 - t) * np.log(1 - p))
    dice = (2 * np.sum(p * t) + s) / (np.sum(p) + np.sum(t) + s)
    got = combo_loss(p[None, None], t[None, None], from_logits=False, alpha=alpha, beta=beta)
    np.testing.assert_allclose(float(got), alpha * mbce - (1 - alpha) * dice, rtol=1e-12)


# ----------------------------------------------------------------------------- exp_log_loss


@pytest.mark.parametrize("case", ["labels", "onehot", "soft", "ignore", "probs",
                                  "channels_last", "absent_class"])
def test_exp_log_matches_oracle(backend: Backend, case: str) -> None:
    d = _data(6)
    x, y, kw = d["logits"], d["labels"], {}
    if case == "onehot":
        y = d["onehot"]
    elif case == "soft":
        y, kw = d["soft"], {"gamma_dice": 0.5, "gamma_ce": 1.5, "w_dice": 0.3, "w_ce": 0.7}
    elif case == "ignore":
        y = y.copy()
        y[1, :2] = 7
        kw = {"ignore_index": 7, "smooth": 0.1}
    elif case == "probs":
        x, kw = softmax(x), {"from_logits": False}
    elif case == "absent_class":
        y = np.where(y == 2, 0, y)  # class 2 absent from the batch: weight 0, Dice ≈ small
    expected = oracle.exp_log_loss(x, y, **kw)
    if case == "channels_last":
        x, kw = np.moveaxis(x, 1, -1), {"class_axis": -1}
    out, xb = _run(backend, exp_log_loss, x, y, **kw)
    assert_matches(out, expected, backend, dtype="float64", rtol=RTOL, ref=xb)


def _exp_log_pieces(x: np.ndarray, y: np.ndarray, smooth: float, gamma: float
                    ) -> tuple[np.ndarray, float, int]:
    """(−ln Dice)^γ table (N, C), the CE term's mean (γ_ce = 0.3), the pixel count."""
    inter, pred, true = oracle.soft_confusion(x, y)
    table = (-np.log((2 * inter + smooth) / (pred + true + smooth))) ** gamma
    ce_mean = oracle.exp_log_loss(x, y, w_dice=0.0, w_ce=1.0, smooth=smooth)
    return table, float(ce_mean), y.size


def test_exp_log_sum_and_background(backend: Backend) -> None:
    d = _data(7)
    x, y = d["logits"], d["labels"]
    table, ce_mean, count = _exp_log_pieces(x, y, 1.0, 0.3)
    expected_sum = 0.8 * table.sum() + 0.2 * ce_mean * count
    out, xb = _run(backend, exp_log_loss, x, y, reduction="sum")
    assert_matches(out, expected_sum, backend, dtype="float64", rtol=RTOL, ref=xb)
    expected_nobg = 0.8 * table[:, 1:].mean() + 0.2 * ce_mean
    out, xb = _run(backend, exp_log_loss, x, y, include_background=False)
    assert_matches(out, expected_nobg, backend, dtype="float64", rtol=RTOL, ref=xb)


def test_exp_log_hand_value() -> None:
    """N=1, C=2, two pixels, γ = 1: −ln Dice and the frequency-weighted −ln p by hand."""
    probs = np.array([[[0.9, 0.2, 0.3], [0.1, 0.8, 0.7]]])  # (1, 2, 3)
    labels = np.array([[0, 1, 1]])
    s = 1.0
    dice0 = (2 * 0.9 + s) / (1.4 + 1 + s)
    dice1 = (2 * 1.5 + s) / (1.6 + 2 + s)
    w0, w1 = (3 / 1) ** 0.5, (3 / 2) ** 0.5
    ce = (w0 * -np.log(0.9) + w1 * -np.log(0.8) + w1 * -np.log(0.7)) / 3
    expected = 0.8 * (-np.log(dice0) - np.log(dice1)) / 2 + 0.2 * ce
    got = exp_log_loss(probs, labels, from_logits=False, gamma_dice=1.0, gamma_ce=1.0)
    np.testing.assert_allclose(float(got), expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("name", [n for n in COMPOUND if n in helpers.losses()
                                  and "multiclass" in helpers.modes(getattr(sx, n))])
def test_float32_and_half(backend: Backend, name: str, dtype: str) -> None:
    """float32 in, float32 out; half precision (float16, bfloat16) in, float32 accumulation
    and out; on every backend that has the dtype, against the oracle on the rounded input."""
    if not hasattr(backend.xp, dtype):
        pytest.skip(f"{backend.name} has no {dtype}")
    if dtype == "bfloat16" and backend.name == "dask":
        pytest.skip("dask arrays are built from numpy, which has no bfloat16")
    d = _data(8)
    fn, ref = getattr(sx, name), getattr(oracle, name)
    xb = backend.asarray(d["logits"], dtype)
    # what the library sees: the logits rounded to dtype (bfloat16 comes back as float32)
    x_seen = backend.to_numpy(xb).astype(np.float64)
    assert not np.array_equal(x_seen, d["logits"])  # the rounding happened
    expected = ref(x_seen, d["labels"])
    out = fn(xb, backend.asarray(d["labels"]))
    assert_matches(out, expected, backend, dtype="float32", rtol=1e-5, ref=xb)


# ----------------------------------------------------------------------------- deep supervision


def _indices(size_in: int, size_out: int, sampling: str) -> np.ndarray:
    i = np.arange(size_out, dtype=np.float64)
    offset = 0.5 if sampling == "nearest-exact" else 0.0
    return np.minimum(np.floor((i + offset) * size_in / size_out).astype(np.int64), size_in - 1)


def _downsample(y: np.ndarray, axes: tuple[int, ...], shape: tuple[int, ...],
                sampling: str) -> np.ndarray:
    for axis, size in zip(axes, shape, strict=True):
        y = np.take(y, _indices(y.shape[axis], size, sampling), axis=axis)
    return y


DS_CASES = ["2d_labels", "2d_onehot", "3d_labels", "2d_channels_last", "2d_binary_weights",
            "2d_nonint_exact", "3d_onehot_dice_ce"]


@pytest.mark.parametrize("case", DS_CASES)
def test_deep_supervision_matches_oracle(backend: Backend, case: str) -> None:
    rng = np.random.default_rng(9)
    three_d = case.startswith("3d")
    full = (6, 8, 4) if three_d else (8, 10)
    scales = [full, (3, 4, 2), (2, 2, 1)] if three_d else [full, (4, 5), (2, 3)]
    n, c = 2, 3
    sampling = "nearest-exact" if "exact" in case else "nearest"
    if case == "2d_nonint_exact":
        scales = [(8, 10), (5, 7), (3, 3)]
    labels = rng.integers(0, c, size=(n, *full))
    if "binary" in case:
        c = 1
        target = (rng.random(size=(n, 1, *full)) < 0.4).astype(np.float64)
    elif "onehot" in case:
        target = one_hot(labels, c)
    else:
        target = labels
    preds = [rng.normal(size=(n, c, *s)) for s in scales]
    mode = "binary" if c == 1 else "multiclass"
    loss_fn, oracle_fn = (dice_ce_loss, oracle.dice_ce_loss) if "dice_ce" in case else \
        (dice_loss, oracle.dice_loss)
    weights = [0.2, 1.0, 3.0] if "weights" in case else None
    default = [1.0, 0.5, 0.25]
    w = weights if weights is not None else [v / sum(default) for v in default]
    spatial_axes = tuple(range(target.ndim - len(full), target.ndim))
    expected = sum(
        wi * oracle_fn(p, _downsample(target, spatial_axes, p.shape[2:], sampling), mode=mode,
                       smooth=1e-3)
        for wi, p in zip(w, preds, strict=True))
    kw: dict[str, Any] = {"mode": mode, "smooth": 1e-3}
    if case.endswith("channels_last"):
        preds = [np.moveaxis(p, 1, -1) for p in preds]
        kw["class_axis"] = -1
    xb = [backend.asarray(p) for p in preds]
    out = deep_supervision(loss_fn, xb, backend.asarray(target), weights=weights,
                           sampling=sampling, **kw)
    assert_matches(out, expected, backend, dtype="float64", rtol=RTOL, ref=xb[0])


def test_deep_supervision_indices_by_hand() -> None:
    """'nearest' is y[::2] for ratio 2; 'nearest-exact' picks the block centres (odd rows)."""
    y = np.arange(2 * 4 * 6).reshape(2, 4, 6)
    seen: list[np.ndarray] = []

    def record(pred: Any, target: Any, **_: Any) -> Any:
        seen.append(np.asarray(target))
        return np.float64(0.0)

    deep_supervision(record, [np.zeros((2, 3, 4, 6)), np.zeros((2, 3, 2, 3))], y)
    np.testing.assert_array_equal(seen[0], y)
    np.testing.assert_array_equal(seen[1], y[:, ::2, ::2])
    deep_supervision(record, [np.zeros((2, 3, 2, 3))], y, sampling="nearest-exact")
    np.testing.assert_array_equal(seen[2], y[:, 1::2, 1::2])
    deep_supervision(record, [np.zeros((2, 3, 3, 4))], y)  # 4 -> 3: 0, 1, 2; 6 -> 4: 0,1,3,4
    np.testing.assert_array_equal(seen[3], y[:, [0, 1, 2], :][:, :, [0, 1, 3, 4]])


def test_deep_supervision_default_weights() -> None:
    """Default weights 2^−i normalised: three constant 'losses' 1, 2, 4 -> (1 + 1 + 1)/1.75."""
    values = iter([1.0, 2.0, 4.0])

    def fake(pred: Any, target: Any, **_: Any) -> Any:
        return np.float64(next(values))

    preds = [np.zeros((1, 2, 8, 8)), np.zeros((1, 2, 4, 4)), np.zeros((1, 2, 2, 2))]
    got = deep_supervision(fake, preds, np.zeros((1, 8, 8), dtype=np.int64))
    np.testing.assert_allclose(float(got), 3.0 / 1.75, rtol=1e-15)
    values = iter([1.0, 2.0, 4.0])
    got = deep_supervision(fake, preds, np.zeros((1, 8, 8), dtype=np.int64),
                           weights=[1.0, 1.0, 1.0])
    np.testing.assert_allclose(float(got), 7.0, rtol=1e-15)  # explicit weights as given


# ----------------------------------------------------------------------------- bad inputs


def test_bad_inputs() -> None:
    d = _data(10)
    x, y = d["logits"], d["labels"]
    bx, by = d["blogits"], d["bmask"]
    with pytest.raises(ValueError, match="reduction"):
        dice_ce_loss(x, y, reduction="none")
    with pytest.raises(ValueError, match="mode"):
        dice_ce_loss(x, y, mode="softmax")
    with pytest.raises(ValueError, match="class_weights"):
        dice_ce_loss(x, y, class_weights=(1.0, 2.0))  # C-1 weights: full C required
    with pytest.raises(ValueError, match="lambda_ce"):
        dice_ce_loss(x, y, lambda_ce=-1.0)
    with pytest.raises(ValueError, match="multiclass"):
        bce_dice_loss(x, y, mode="multiclass")
    with pytest.raises(ValueError, match="reduction"):
        bce_dice_loss(bx, by, reduction="none")
    with pytest.raises(ValueError, match="multiclass"):
        combo_loss(x, y, mode="multiclass")
    with pytest.raises(ValueError, match="alpha"):
        combo_loss(bx, by, alpha=1.5)
    with pytest.raises(ValueError, match="binary"):
        exp_log_loss(bx, by, mode="binary")
    with pytest.raises(ValueError, match="reduction"):
        exp_log_loss(x, y, reduction="none")
    with pytest.raises(ValueError, match="gamma_ce"):
        exp_log_loss(x, y, gamma_ce=-0.3)
    small = np.zeros((2, 3, 2, 2))
    with pytest.raises(ValueError, match="empty"):
        deep_supervision(dice_loss, [], y)
    with pytest.raises(TypeError, match="sequence"):
        deep_supervision(dice_loss, x, y)
    with pytest.raises(ValueError, match="one entry per prediction"):
        deep_supervision(dice_loss, [x, small], y, weights=[1.0])
    with pytest.raises(ValueError, match=">= 0"):
        deep_supervision(dice_loss, [x, small], y, weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="larger than"):
        deep_supervision(dice_loss, [np.zeros((2, 3, 8, 5))], y)
    with pytest.raises(ValueError, match="batch size"):
        deep_supervision(dice_loss, [np.zeros((1, 3, 2, 2))], y)
    with pytest.raises(ValueError, match="scalar"):
        deep_supervision(dice_loss, [x], y, reduction="none")
    with pytest.raises(ValueError, match="sampling"):
        deep_supervision(dice_loss, [x], y, sampling="bilinear")
    with pytest.raises(ValueError, match="fits neither"):
        deep_supervision(dice_loss, [x], y[:, 0])
    with pytest.raises(TypeError, match="mixed namespaces"):
        import torch

        deep_supervision(dice_loss, [torch.asarray(x)], y)


# ----------------------------------------------------------------------------- jit / compile


def _loss_and_inputs(name: str, d: dict[str, np.ndarray]
                     ) -> tuple[Any, np.ndarray, np.ndarray]:
    """A scalar loss of (prediction, target) and its inputs: multiclass logits and labels
    where the function takes them, else binary logits and mask."""
    if name == "deep_supervision":  # a wrapper: around dice_ce_loss on two scales
        return (lambda p, t: deep_supervision(dice_ce_loss, [p, p[:, :, ::2, ::2]], t),
                d["logits"], d["labels"])
    fn = getattr(sx, name)
    if "multiclass" in helpers.modes(fn):
        return fn, d["logits"], d["labels"]
    return fn, d["blogits"], d["bmask"]


@pytest.mark.parametrize("name", COMPOUND)
def test_jax_jit_and_grad(name: str) -> None:
    jax = pytest.importorskip("jax", reason="jax is not installed")
    helpers.require_capability(name, "jit", "jax")
    jnp = jax.numpy
    fn, x, y = _loss_and_inputs(name, _data(11))
    eager = fn(jnp.asarray(x), jnp.asarray(y))
    jitted = jax.jit(fn)(jnp.asarray(x), jnp.asarray(y))
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-12)
    for scale in (1.0, 1e4):  # saturated logits: finite gradients (safe_pow at p_l = 1)
        grad = jax.jit(jax.grad(fn))(jnp.asarray(np.sign(x) * scale), jnp.asarray(y))
        assert np.all(np.isfinite(np.asarray(grad))), f"{name}: non-finite gradient at {scale}"


@pytest.mark.parametrize("name", COMPOUND)
def test_torch_compile_no_graph_breaks(name: str) -> None:
    """Zero graph breaks (``explain``), then a fullgraph compile on the cheap ``aot_eager``
    backend (same Dynamo tracing; Inductor code generation is not what we test) with a
    finite backward."""
    torch = pytest.importorskip("torch", reason="torch is not installed")
    helpers.require_capability(name, "compile", "torch")
    fn, x, y = _loss_and_inputs(name, _data(12))
    xt, yt = torch.asarray(x, requires_grad=True), torch.asarray(y)
    torch._dynamo.reset()
    explained = torch._dynamo.explain(fn)(xt, yt)
    assert explained.graph_break_count == 0, explained.break_reasons
    torch._dynamo.reset()
    out = torch.compile(fn, backend="aot_eager", fullgraph=True)(xt, yt)
    np.testing.assert_allclose(out.detach().numpy(), fn(xt, yt).detach().numpy(), rtol=1e-10)
    out.backward()
    assert torch.all(torch.isfinite(xt.grad))


def test_exp_log_gradient_finite_at_perfect_prediction(backend: Backend) -> None:
    """p_l = 1 exactly (logits ±1e4) and Dice = 1: the γ < 1 powers get subgradient 0."""
    helpers.require_capability("exp_log_loss", "autograd", backend.name)
    labels = np.array([[[0, 1], [1, 0]]])
    logits = 1e4 * (2 * one_hot(labels, 2) - 1)
    y = backend.asarray(labels)
    # smooth must be > 0; any smooth gives Dice = 1 exactly at a perfect prediction
    _, grad = helpers.value_and_grad(backend, lambda z: exp_log_loss(z, y, smooth=1e-9), logits)
    assert np.all(np.isfinite(grad))
