"""Pixel losses (cross entropy, balanced CE, focal, conservative) on every backend.

Expected values come from the float64 oracle (``conformance/oracle.py``, NumPy,
channels-first), never from the code under test; the library is called in the
layout under test (channels-last, binary without a channel axis) and the
oracle's per-element maps are moved into that layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import segloss_xp.pixel as pixel
from conformance import helpers, oracle
from conformance.helpers import one_hot
from segloss_xp.testing import Backend, assert_matches

PIXEL_LOSSES = list(helpers.losses("pixel"))
MULTICLASS = [name for name in PIXEL_LOSSES
              if "multiclass" in helpers.modes(getattr(pixel, name))]
RNG = np.random.default_rng(4242)
C = 3
W3 = (0.2, 1.0, 3.0)


# Inputs: small, deterministic. Channels-first float64 NumPy.
X_MC = RNG.normal(scale=2.0, size=(2, C, 4, 5))
Y_MC = RNG.integers(0, C, size=(2, 4, 5))
Y_MC_IGN = np.where(RNG.random(Y_MC.shape) < 0.25, 255, Y_MC)
Y_ONEHOT = one_hot(Y_MC, C)
Y_SOFT = np.moveaxis(RNG.dirichlet(np.ones(C), size=(2, 4, 5)), -1, 1)
X_MC3D = RNG.normal(scale=2.0, size=(2, C, 2, 3, 4))
Y_MC3D = RNG.integers(0, C, size=(2, 2, 3, 4))
PROBS_MC = np.moveaxis(RNG.dirichlet(np.ones(C), size=(2, 4, 5)), -1, 1)
PIX_W = RNG.uniform(0.1, 3.0, size=(2, 4, 5))

X_BIN = RNG.normal(scale=2.0, size=(2, 1, 4, 5))
Y_BIN = (RNG.random(X_BIN.shape) < 0.4).astype(np.float64)
Y_BIN_SOFT = RNG.uniform(0.0, 1.0, size=X_BIN.shape)
Y_BIN_IGN = np.where(RNG.random(X_BIN.shape) < 0.25, -1.0, Y_BIN)
PROBS_BIN = RNG.uniform(0.02, 0.98, size=X_BIN.shape)

X_ML = RNG.normal(scale=2.0, size=(2, C, 4, 5))
Y_ML = (RNG.random(X_ML.shape) < 0.3).astype(np.float64)
Y_ML_SOFT = RNG.uniform(0.0, 1.0, size=X_ML.shape)
Y_ML_IGN = np.where(RNG.random(X_ML.shape) < 0.2, 255.0, Y_ML)


def _layout(x: np.ndarray, y: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """Library inputs for ``layout`` ("first", "last", "nochannel") and extra kwargs."""
    if layout == "last":
        xl = np.moveaxis(x, 1, -1)
        yl = np.moveaxis(y, 1, -1) if y.ndim == x.ndim else y
        return np.ascontiguousarray(xl), np.ascontiguousarray(yl), {"class_axis": -1}
    if layout == "nochannel":
        return x[:, 0], y[:, 0], {}
    return x, y, {}


def _expected_layout(expected: Any, x: np.ndarray, layout: str) -> np.ndarray:
    out = np.asarray(expected, dtype=np.float64)
    if out.ndim == x.ndim:  # binary/multilabel per-element map (N, C, *spatial)
        if layout == "last":
            out = np.moveaxis(out, 1, -1)
        elif layout == "nochannel":
            out = out[:, 0]
    return out


def _run(backend: Backend, fn: Callable[..., Any], x: np.ndarray, y: np.ndarray, *,
         layout: str = "first", dtype: str = "float64", **kwargs: Any) -> tuple[Any, Any]:
    xl, yl, extra = _layout(x, y, layout)
    pred = backend.asarray(xl, dtype)
    true = backend.asarray(yl)
    if "pixel_weights" in kwargs and kwargs["pixel_weights"] is not None:
        kwargs = {**kwargs, "pixel_weights": backend.asarray(kwargs["pixel_weights"])}
    return fn(pred, true, **extra, **kwargs), pred


def _check(backend: Backend, name: str, x: np.ndarray, y: np.ndarray, kwargs: dict, *,
           layout: str = "first", dtype: str = "float64") -> None:
    fn = getattr(pixel, name)
    oracle_fn = getattr(oracle, name)
    got, pred = _run(backend, fn, x, y, layout=layout, dtype=dtype, **kwargs)
    if dtype == "float64":
        x_seen, rtol, atol, out_dtype = x, 1e-10, 1e-12, "float64"
    else:
        x_seen = backend.to_numpy(backend.asarray(x, dtype)).astype(np.float64) \
            if dtype == "bfloat16" else x.astype(dtype).astype(np.float64)
        rtol, atol, out_dtype = 2e-5, 2e-6, "float32"
    want = oracle_fn(x_seen, y, **kwargs)
    assert_matches(got, _expected_layout(want, x, layout), backend, dtype=out_dtype, rtol=rtol,
                   atol=atol, ref=pred)


# --------------------------------------------------------------------------- values

# (id, loss, y_pred, y_true, kwargs); "layout" in kwargs is popped.
VALUE_CASES: list[tuple[str, str, np.ndarray, np.ndarray, dict]] = [
    # cross entropy, multiclass, integer labels
    ("ce-labels", "cross_entropy", X_MC, Y_MC, {}),
    ("ce-labels-3d", "cross_entropy", X_MC3D, Y_MC3D, {}),
    ("ce-labels-ignore", "cross_entropy", X_MC, Y_MC_IGN, {"ignore_index": 255}),
    ("ce-labels-ignore0", "cross_entropy", X_MC, Y_MC, {"ignore_index": 0}),
    ("ce-labels-weights", "cross_entropy", X_MC, Y_MC, {"class_weights": W3}),
    ("ce-labels-weights-ignore", "cross_entropy", X_MC, Y_MC_IGN,
     {"class_weights": W3, "ignore_index": 255}),
    ("ce-labels-smooth", "cross_entropy", X_MC, Y_MC, {"label_smoothing": 0.1}),
    ("ce-labels-smooth-weights-ignore", "cross_entropy", X_MC, Y_MC_IGN,
     {"label_smoothing": 0.2, "class_weights": W3, "ignore_index": 255}),
    ("ce-labels-pixw", "cross_entropy", X_MC, Y_MC_IGN,
     {"pixel_weights": PIX_W, "ignore_index": 255}),
    ("ce-labels-pixw-weights", "cross_entropy", X_MC, Y_MC,
     {"pixel_weights": PIX_W, "class_weights": W3}),
    ("ce-labels-sum", "cross_entropy", X_MC, Y_MC_IGN,
     {"ignore_index": 255, "class_weights": W3, "reduction": "sum"}),
    ("ce-labels-none", "cross_entropy", X_MC, Y_MC_IGN,
     {"ignore_index": 255, "label_smoothing": 0.1, "class_weights": W3,
      "reduction": "none"}),
    ("ce-labels-last", "cross_entropy", X_MC, Y_MC_IGN,
     {"ignore_index": 255, "class_weights": W3, "layout": "last"}),
    ("ce-labels-last-none", "cross_entropy", X_MC, Y_MC,
     {"reduction": "none", "layout": "last"}),
    ("ce-labels-probs", "cross_entropy", PROBS_MC, Y_MC, {"from_logits": False}),
    # cross entropy, multiclass, one-hot / soft targets
    ("ce-onehot", "cross_entropy", X_MC, Y_ONEHOT, {}),
    ("ce-onehot-weights-smooth", "cross_entropy", X_MC, Y_ONEHOT,
     {"class_weights": W3, "label_smoothing": 0.1}),
    ("ce-onehot-ignore-in-range", "cross_entropy", X_MC, Y_ONEHOT, {"ignore_index": 1}),
    ("ce-soft", "cross_entropy", X_MC, Y_SOFT, {}),
    ("ce-soft-weights-pixw", "cross_entropy", X_MC, Y_SOFT,
     {"class_weights": W3, "pixel_weights": PIX_W}),
    ("ce-soft-none-last", "cross_entropy", X_MC, Y_SOFT,
     {"reduction": "none", "label_smoothing": 0.3, "layout": "last"}),
    ("ce-soft-probs", "cross_entropy", PROBS_MC, Y_SOFT, {"from_logits": False}),
    # cross entropy, binary / multilabel
    ("bce", "cross_entropy", X_BIN, Y_BIN, {"mode": "binary"}),
    ("bce-nochannel", "cross_entropy", X_BIN, Y_BIN, {"mode": "binary", "layout": "nochannel"}),
    ("bce-nochannel-none", "cross_entropy", X_BIN, Y_BIN,
     {"mode": "binary", "reduction": "none", "layout": "nochannel"}),
    ("bce-posweight", "cross_entropy", X_BIN, Y_BIN, {"mode": "binary", "pos_weight": 3.0}),
    ("bce-smooth", "cross_entropy", X_BIN, Y_BIN, {"mode": "binary", "label_smoothing": 0.1}),
    ("bce-soft", "cross_entropy", X_BIN, Y_BIN_SOFT, {"mode": "binary"}),
    ("bce-ignore-pixw", "cross_entropy", X_BIN, Y_BIN_IGN,
     {"mode": "binary", "ignore_index": -1, "pixel_weights": PIX_W, "pos_weight": 0.5}),
    ("bce-probs", "cross_entropy", PROBS_BIN, Y_BIN, {"mode": "binary", "from_logits": False}),
    ("bce-sum", "cross_entropy", X_BIN, Y_BIN_IGN,
     {"mode": "binary", "ignore_index": -1, "reduction": "sum"}),
    ("ml-ce-weights-posweight", "cross_entropy", X_ML, Y_ML,
     {"mode": "multilabel", "class_weights": W3, "pos_weight": (2.0, 0.5, 1.0)}),
    ("ml-ce-ignore-smooth", "cross_entropy", X_ML, Y_ML_IGN,
     {"mode": "multilabel", "ignore_index": 255, "label_smoothing": 0.2}),
    ("ml-ce-last-none", "cross_entropy", X_ML, Y_ML_IGN,
     {"mode": "multilabel", "ignore_index": 255, "class_weights": W3,
      "pixel_weights": PIX_W, "reduction": "none", "layout": "last"}),
    ("ml-ce-soft", "cross_entropy", X_ML, Y_ML_SOFT, {"mode": "multilabel"}),
    # balanced cross entropy
    ("bal", "balanced_cross_entropy", X_BIN, Y_BIN, {"mode": "binary", "beta": 0.3}),
    ("bal-ignore", "balanced_cross_entropy", X_BIN, Y_BIN_IGN,
     {"mode": "binary", "beta": 0.8, "ignore_index": -1}),
    ("bal-soft-probs", "balanced_cross_entropy", PROBS_BIN, Y_BIN_SOFT,
     {"mode": "binary", "from_logits": False}),
    ("bal-ml-last-none", "balanced_cross_entropy", X_ML, Y_ML_IGN,
     {"mode": "multilabel", "ignore_index": 255, "reduction": "none", "layout": "last"}),
    ("bal-nochannel-sum", "balanced_cross_entropy", X_BIN, Y_BIN,
     {"mode": "binary", "reduction": "sum", "layout": "nochannel"}),
    # focal, multiclass
    ("focal-labels", "focal_loss", X_MC, Y_MC, {}),
    ("focal-labels-half-gamma", "focal_loss", X_MC, Y_MC_IGN,
     {"gamma": 0.5, "ignore_index": 255}),
    ("focal-labels-alpha-float", "focal_loss", X_MC, Y_MC, {"alpha": 0.25}),
    ("focal-labels-alpha-seq-none", "focal_loss", X_MC, Y_MC_IGN,
     {"alpha": W3, "ignore_index": 255, "reduction": "none"}),
    ("focal-labels-last-sum", "focal_loss", X_MC, Y_MC,
     {"gamma": 1.5, "reduction": "sum", "layout": "last"}),
    ("focal-labels-probs", "focal_loss", PROBS_MC, Y_MC, {"from_logits": False}),
    ("focal-onehot-alpha", "focal_loss", X_MC, Y_ONEHOT, {"alpha": 0.75}),
    ("focal-soft-alpha-seq", "focal_loss", X_MC, Y_SOFT, {"alpha": W3, "gamma": 3.0}),
    ("focal-soft-last-none", "focal_loss", X_MC, Y_SOFT,
     {"reduction": "none", "layout": "last"}),
    # focal, binary / multilabel
    ("focal-bin", "focal_loss", X_BIN, Y_BIN, {"mode": "binary"}),
    ("focal-bin-alpha", "focal_loss", X_BIN, Y_BIN_IGN,
     {"mode": "binary", "alpha": 0.25, "ignore_index": -1, "gamma": 0.5}),
    ("focal-bin-soft", "focal_loss", X_BIN, Y_BIN_SOFT,
     {"mode": "binary", "alpha": 0.4, "gamma": 1.5}),
    ("focal-bin-probs", "focal_loss", PROBS_BIN, Y_BIN_SOFT,
     {"mode": "binary", "from_logits": False}),
    ("focal-bin-nochannel-none", "focal_loss", X_BIN, Y_BIN,
     {"mode": "binary", "reduction": "none", "layout": "nochannel"}),
    ("focal-ml-last-none", "focal_loss", X_ML, Y_ML_IGN,
     {"mode": "multilabel", "ignore_index": 255, "reduction": "none", "layout": "last"}),
    # conservative
    ("cons-labels", "conservative_loss", X_MC, Y_MC, {}),
    ("cons-labels-ignore-base2", "conservative_loss", X_MC, Y_MC_IGN,
     {"ignore_index": 255, "base": 2.0, "lam": 2.5}),
    ("cons-labels-probs-eps", "conservative_loss", PROBS_MC, Y_MC,
     {"from_logits": False, "eps": 1e-3}),
    ("cons-labels-last-none", "conservative_loss", X_MC, Y_MC,
     {"reduction": "none", "layout": "last"}),
    ("cons-soft", "conservative_loss", X_MC, Y_SOFT, {"base": 10.0}),
    ("cons-onehot-sum", "conservative_loss", X_MC, Y_ONEHOT, {"reduction": "sum"}),
    ("cons-bin", "conservative_loss", X_BIN, Y_BIN, {"mode": "binary"}),
    ("cons-bin-soft-nochannel", "conservative_loss", X_BIN, Y_BIN_SOFT,
     {"mode": "binary", "layout": "nochannel", "reduction": "none"}),
    ("cons-ml-ignore", "conservative_loss", X_ML, Y_ML_IGN,
     {"mode": "multilabel", "ignore_index": 255}),
]


@pytest.mark.parametrize(("name", "x", "y", "kwargs"), [c[1:] for c in VALUE_CASES],
                         ids=[c[0] for c in VALUE_CASES])
def test_values_match_oracle(backend: Backend, name: str, x: np.ndarray, y: np.ndarray,
                             kwargs: dict) -> None:
    kwargs = dict(kwargs)
    layout = kwargs.pop("layout", "first")
    _check(backend, name, x, y, kwargs, layout=layout)


DTYPE_CASES = [
    ("cross_entropy", X_MC, Y_MC_IGN, {"ignore_index": 255, "class_weights": W3,
                                       "label_smoothing": 0.1}),
    ("cross_entropy", X_ML, Y_ML, {"mode": "multilabel", "pos_weight": 2.0}),
    ("focal_loss", X_MC, Y_MC, {"gamma": 0.5}),
    ("focal_loss", X_BIN, Y_BIN_SOFT, {"mode": "binary", "alpha": 0.25}),
    ("balanced_cross_entropy", X_BIN, Y_BIN, {"mode": "binary", "beta": 0.3}),
    ("conservative_loss", X_MC, Y_SOFT, {}),
]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize(("name", "x", "y", "kwargs"), DTYPE_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(DTYPE_CASES)])
def test_dtype_policy(backend: Backend, dtype: str, name: str, x: np.ndarray, y: np.ndarray,
                      kwargs: dict) -> None:
    """float16/bfloat16/float32 -> float32 result, float64 -> float64 (DESIGN §2)."""
    if dtype == "bfloat16" and not hasattr(backend.xp, "bfloat16"):
        pytest.skip(f"{backend.name} has no bfloat16 dtype")
    if dtype == "float16" and backend.name.startswith("strict"):
        pytest.skip("array_api_strict has no float16 dtype")
    _check(backend, name, x, y, kwargs, dtype=dtype)


# --------------------------------------------------------------------------- identities


GAMMA0_CASES = [
    (X_MC, Y_MC, {}),
    (X_MC, Y_MC_IGN, {"ignore_index": 255}),
    (X_MC, Y_ONEHOT, {}),
    (X_MC, Y_SOFT, {"reduction": "none"}),
    (PROBS_MC, Y_MC, {"from_logits": False, "reduction": "sum"}),
    (X_BIN, Y_BIN_IGN, {"mode": "binary", "ignore_index": -1}),
    (X_BIN, Y_BIN_SOFT, {"mode": "binary", "reduction": "none"}),
    (X_ML, Y_ML, {"mode": "multilabel", "class_axis": 1}),
]


@pytest.mark.parametrize(("x", "y", "kwargs"), GAMMA0_CASES, ids=range(len(GAMMA0_CASES)))
def test_focal_gamma0_is_cross_entropy_exactly(backend: Backend, x: np.ndarray, y: np.ndarray,
                                               kwargs: dict) -> None:
    pred, true = backend.asarray(x), backend.asarray(y)
    focal = backend.to_numpy(pixel.focal_loss(pred, true, gamma=0.0, **kwargs))
    ce = backend.to_numpy(pixel.cross_entropy(pred, true, **kwargs))
    np.testing.assert_array_equal(focal, ce)


def test_every_pixel_loss_has_cases() -> None:
    """A new pixel loss enters every case table (VALUE_CASES rows start with an id)."""
    for cases, column in ((VALUE_CASES, 1), (DTYPE_CASES, 0), (GRAD_CASES, 0),
                          (COMPILE_CASES, 0)):
        names = {case[column] for case in cases}
        assert names == set(PIXEL_LOSSES), sorted(set(PIXEL_LOSSES) ^ names)


@pytest.mark.parametrize("name", PIXEL_LOSSES)
def test_all_ignored_gives_zero(backend: Backend, name: str) -> None:
    """Every element ignored: mean is 0 (torch: NaN), never NaN; also with class weights."""
    fn = getattr(pixel, name)
    if name in MULTICLASS:
        pred, true, ignore = backend.asarray(X_MC), np.full(Y_MC.shape, 255), 255
    else:
        pred, true, ignore = backend.asarray(X_BIN), np.full(Y_BIN.shape, -1.0), -1
    out = fn(pred, backend.asarray(true), ignore_index=ignore)
    assert_matches(out, 0.0, backend, dtype="float64", rtol=0, ref=pred)
    if name in MULTICLASS and helpers.takes(fn, "class_weights"):
        out = fn(pred, backend.asarray(true), ignore_index=ignore, class_weights=W3)
        assert_matches(out, 0.0, backend, dtype="float64", rtol=0, ref=pred)


def test_hand_computed_values() -> None:
    """A few values computed by hand (independent of the oracle)."""
    logits = np.array([[[[2.0, -1.0]], [[0.0, 1.0]]]])
    labels = np.array([[[0, 1]]])
    lse0, lse1 = math.log(math.exp(2) + 1), math.log(math.exp(-1) + math.exp(1))
    ce = ((lse0 - 2) + (lse1 - 1)) / 2
    assert float(pixel.cross_entropy(logits, labels)) == pytest.approx(ce, rel=1e-12)
    # weighted mean: (w0·l0 + w1·l1)/(w0 + w1)
    w = (0.5, 2.0)
    got = float(pixel.cross_entropy(logits, labels, class_weights=w))
    assert got == pytest.approx((0.5 * (lse0 - 2) + 2 * (lse1 - 1)) / 2.5, rel=1e-12)
    # conservative at p_t = 1/e is exactly 0
    p = np.array([[[1 / math.e, 0.5], [1 - 1 / math.e, 0.5]]])
    out = pixel.conservative_loss(p, np.array([[0, 0]]), from_logits=False, reduction="none")
    assert abs(float(out[0, 0])) < 1e-15


# --------------------------------------------------------------------------- gradients

GRAD_CASES = [
    ("cross_entropy", "labels", {}),
    ("cross_entropy", "onehot", {"label_smoothing": 0.1, "class_weights": W3}),
    ("cross_entropy", "binary", {"pos_weight": 2.0}),
    ("focal_loss", "labels", {"gamma": 0.5, "alpha": 0.25}),
    ("focal_loss", "onehot", {"gamma": 0.5}),
    ("focal_loss", "binary", {"gamma": 0.5, "alpha": 0.25}),
    ("focal_loss", "soft_binary", {"gamma": 0.5}),
    ("balanced_cross_entropy", "binary", {"beta": 0.3}),
    ("conservative_loss", "labels", {}),
    ("conservative_loss", "binary", {}),
]


def _saturated(kind: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """Logits ±1e4: half the pixels perfectly right, half perfectly wrong."""
    rng = np.random.default_rng(7)
    if kind in ("labels", "onehot"):
        labels = rng.integers(0, C, size=(2, 3, 4))
        sign = np.where(rng.random((2, 1, 3, 4)) < 0.5, 1.0, -1.0)
        x = 1e4 * sign * (2 * one_hot(labels, C) - 1)
        y = labels if kind == "labels" else one_hot(labels, C)
        return x, y, {"ignore_index": 255} if kind == "labels" else {}
    y = (rng.random((2, 1, 3, 4)) < 0.5).astype(np.float64)
    x = 1e4 * np.where(rng.random(y.shape) < 0.5, 1.0, -1.0)
    if kind == "soft_binary":
        y = np.where(rng.random(y.shape) < 0.5, y, 0.3)
    return x, y, {"mode": "binary"}


@pytest.mark.parametrize(("name", "kind", "kwargs"), GRAD_CASES,
                         ids=[f"{n}-{k}" for n, k, _ in GRAD_CASES])
def test_finite_gradients_saturated(backend: Backend, name: str, kind: str,
                                    kwargs: dict) -> None:
    helpers.require_capability(name, "autograd", backend.name)
    x, y, extra = _saturated(kind)
    true = backend.asarray(y)

    def f(p: Any) -> Any:
        return getattr(pixel, name)(p, true, **extra, **kwargs)

    for dtype in ("float64", "float32"):
        value, grad = helpers.value_and_grad(backend, f, x, dtype=dtype)
        assert np.isfinite(value), f"{name}: loss {value}"
        assert np.all(np.isfinite(grad)), f"{name}/{kind}: non-finite gradient"


def test_gradient_matches_finite_differences_torch() -> None:
    """torch gradcheck (float64) through every loss and its main options."""
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.normal(size=(1, C, 2, 3)), requires_grad=True)
    labels = torch.asarray(rng.integers(0, C, size=(1, 2, 3)))
    soft = torch.asarray(np.moveaxis(rng.dirichlet(np.ones(C), size=(1, 2, 3)), -1, 1))
    xb = torch.tensor(rng.normal(size=(1, 1, 2, 3)), requires_grad=True)
    yb = torch.asarray(rng.uniform(size=(1, 1, 2, 3)))
    checks = [
        (lambda p: pixel.cross_entropy(p, labels, class_weights=W3, label_smoothing=0.1), x),
        (lambda p: pixel.cross_entropy(p, soft, label_smoothing=0.1), x),
        (lambda p: pixel.focal_loss(p, labels, gamma=0.5, alpha=0.25), x),
        (lambda p: pixel.focal_loss(p, soft, gamma=1.5), x),
        (lambda p: pixel.conservative_loss(p, labels), x),
        (lambda p: pixel.conservative_loss(p, soft), x),
        (lambda p: pixel.cross_entropy(p, yb, mode="binary", pos_weight=2.0), xb),
        (lambda p: pixel.focal_loss(p, yb, mode="binary", gamma=0.5, alpha=0.3), xb),
        (lambda p: pixel.balanced_cross_entropy(p, yb, beta=0.3), xb),
        (lambda p: pixel.conservative_loss(p, yb, mode="binary"), xb),
    ]
    for fn, inp in checks:
        assert torch.autograd.gradcheck(fn, (inp,))


# --------------------------------------------------------------------------- compile / jit

COMPILE_CASES = [
    ("cross_entropy", "labels", {"ignore_index": 255, "class_weights": W3,
                                 "label_smoothing": 0.1}),
    ("cross_entropy", "soft", {"pixel_weights": True, "label_smoothing": 0.1}),
    ("cross_entropy", "binary", {"pos_weight": 2.0, "pixel_weights": True, "ignore_index": -1,
                                 "label_smoothing": 0.1}),
    ("balanced_cross_entropy", "binary", {"beta": 0.3, "ignore_index": -1}),
    ("focal_loss", "labels", {"gamma": 0.5, "alpha": 0.25, "ignore_index": 255}),
    ("focal_loss", "soft", {"gamma": 2.0, "alpha": W3}),
    ("focal_loss", "binary", {"gamma": 0.5, "alpha": 0.25, "ignore_index": -1}),
    ("conservative_loss", "labels", {"ignore_index": 255}),
    ("conservative_loss", "soft", {}),
    ("conservative_loss", "binary", {"ignore_index": -1}),
]


def _compile_inputs(kind: str, kwargs: dict, torch: Any) -> tuple[Any, Any, dict]:
    kwargs = dict(kwargs)
    if kwargs.get("pixel_weights"):
        kwargs["pixel_weights"] = torch.asarray(PIX_W)
    if kind == "labels":
        return torch.asarray(X_MC), torch.asarray(Y_MC_IGN), kwargs
    if kind == "soft":
        return torch.asarray(X_MC), torch.asarray(Y_SOFT), kwargs
    return torch.asarray(X_BIN), torch.asarray(Y_BIN_IGN), {"mode": "binary", **kwargs}


@pytest.mark.parametrize(("name", "kind", "kwargs"), COMPILE_CASES,
                         ids=[f"{n}-{k}" for n, k, _ in COMPILE_CASES])
def test_torch_compile_no_graph_breaks(name: str, kind: str, kwargs: dict) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    helpers.require_capability(name, "compile", "torch")
    pred, true, kw = _compile_inputs(kind, kwargs, torch)
    fn = getattr(pixel, name)

    def loss(p: Any, t: Any) -> Any:
        return fn(p, t, **kw)

    torch._dynamo.reset()
    explanation = torch._dynamo.explain(loss)(pred, true)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1


@pytest.mark.parametrize("name", MULTICLASS)
def test_jax_jit_and_vmap(name: str) -> None:
    jax = pytest.importorskip("jax", reason="jax is not installed")
    helpers.require_capability(name, "jit", "jax")
    import jax.numpy as jnp

    fn = getattr(pixel, name)
    pred, true = jnp.asarray(X_MC), jnp.asarray(Y_MC_IGN)
    eager = fn(pred, true, ignore_index=255)
    jitted = jax.jit(lambda p, t: fn(p, t, ignore_index=255))(pred, true)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-12)
    # vmap over an outer axis: each slice is one (N=1) batch
    batched = jax.vmap(lambda p, t: fn(p[None], t[None], ignore_index=255,
                                       reduction="sum"))(pred, true)
    want = [float(fn(pred[i:i + 1], true[i:i + 1], ignore_index=255, reduction="sum"))
            for i in range(pred.shape[0])]
    np.testing.assert_allclose(np.asarray(batched), want, rtol=1e-12)


def test_jax_x64_off_float32(tmp_path: Any) -> None:
    """With x64 off (JAX's default) integer labels pick in int32 and results are float32."""
    np.savez(tmp_path / "data.npz", x=X_MC.astype(np.float32), y=Y_MC_IGN, w=W3)
    helpers.run_with_x64_off(f"""
        import numpy as np
        import jax.numpy as jnp
        import segloss_xp.pixel as pixel
        from conformance import oracle

        data = np.load({str(tmp_path / "data.npz")!r})
        x, y, w = data["x"], data["y"], tuple(data["w"])
        pred, true = jnp.asarray(x), jnp.asarray(y)
        assert true.dtype == jnp.int32
        for name, kw in [(name, {{"ignore_index": 255}}) for name in {MULTICLASS!r}] + [
                ("focal_loss", {{"ignore_index": 255, "gamma": 0.5, "alpha": w}})]:
            out = getattr(pixel, name)(pred, true, **kw)
            assert out.dtype == jnp.float32, (name, out.dtype)
            want = getattr(oracle, name)(x.astype(np.float64), y, **kw)
            np.testing.assert_allclose(float(out), want, rtol=2e-5)
    """)


# --------------------------------------------------------------------------- errors


def test_bad_inputs() -> None:
    x, y = X_MC, Y_MC
    xb, yb = X_BIN, Y_BIN
    with pytest.raises(ValueError, match=r"pos_weight.*multiclass"):
        pixel.cross_entropy(x, y, pos_weight=2.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        pixel.cross_entropy(x, y, label_smoothing=1.5)
    with pytest.raises(ValueError, match="class_weights"):
        pixel.cross_entropy(x, y, class_weights=(1.0, 2.0))
    with pytest.raises(ValueError, match="class_weights"):
        pixel.cross_entropy(x, y, class_weights=(1.0, -2.0, 1.0))
    with pytest.raises(ValueError, match="pos_weight"):
        pixel.cross_entropy(X_ML, Y_ML, mode="multilabel", pos_weight=(1.0, 2.0))
    with pytest.raises(ValueError, match=r"pixel_weights.*\(2, 4, 5\)"):
        pixel.cross_entropy(x, y, pixel_weights=np.ones((2, 1, 4, 5)))
    with pytest.raises(ValueError, match="pixel_weights"):
        pixel.cross_entropy(x, y, pixel_weights=-np.ones((2, 4, 5)))
    with pytest.raises(ValueError, match="reduction"):
        pixel.cross_entropy(x, y, reduction="batchmean")
    with pytest.raises(ValueError, match="multiclass"):
        pixel.balanced_cross_entropy(x, y, mode="multiclass")
    with pytest.raises(ValueError, match="beta"):
        pixel.balanced_cross_entropy(xb, yb, beta=1.2)
    with pytest.raises(ValueError, match="gamma"):
        pixel.focal_loss(x, y, gamma=-1.0)
    with pytest.raises(ValueError, match=r"alpha.*expected 3, got 2"):
        pixel.focal_loss(x, y, alpha=(0.5, 0.5))
    with pytest.raises(ValueError, match="alpha"):
        pixel.focal_loss(x, y, alpha=1.5)
    with pytest.raises(ValueError, match=r"alpha.*expected 1, got 2.*mode='binary'"):
        pixel.focal_loss(xb, yb, mode="binary", alpha=(0.25, 0.5))
    with pytest.raises(ValueError, match=r"alpha.*\[0, 1\].*mode='binary'"):
        pixel.focal_loss(xb, yb, mode="binary", alpha=(1.5,))
    with pytest.raises(ValueError, match="lam"):
        pixel.conservative_loss(x, y, lam=0.0)
    with pytest.raises(ValueError, match="base"):
        pixel.conservative_loss(x, y, base=1.0)
    with pytest.raises(ValueError, match="eps"):
        pixel.conservative_loss(x, y, eps=0.5)
    with pytest.raises(ValueError, match="shape mismatch"):
        pixel.cross_entropy(x, y[:, :3])
    with pytest.raises(ValueError, match="label 7"):
        pixel.focal_loss(x, np.where(y == 0, 7, y))
    with pytest.raises(TypeError, match="y_pred"):
        pixel.conservative_loss(y, y)


def test_mixed_namespaces() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    with pytest.raises(TypeError, match="mixed namespaces"):
        pixel.cross_entropy(torch.asarray(X_MC), Y_MC)
    with pytest.raises(TypeError, match="pixel_weights"):
        pixel.cross_entropy(torch.asarray(X_MC), torch.asarray(Y_MC), pixel_weights=PIX_W)
