"""Hypothesis property tests of the region losses (numpy and torch backends).

Each example draws a small problem (mode, sizes, then the prediction and target arrays
element by element with ``hypothesis.extra.numpy``, so a failure shrinks to a minimal
array) and checks an identity that must hold for every input: range, perfect
predictions, batch permutation, the Dice/Tversky/Jaccard relations, batch pooling and
soft labels. ``derandomize=True``: every run (CI included) draws the same examples.

Every identity here is exact in exact arithmetic, so it is checked to float64
rounding: 1e-12 relative (``EXACT``; 1e-14 absolute for the O(1e-16) rounding of a
loss near 0), and a loss that must be 0 to 1e-12 absolute (the losses are O(1)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import segloss_xp as sx
from conformance import helpers
from conformance.helpers import one_hot, softmax, takes
from segloss_xp.testing import Backend, load_backend

LOSSES: dict[str, Any] = helpers.region_losses()
# the largest loss: 1 − score with a score in [0, 1]; 1 − MCC with MCC in [−1, 1]
UPPER = {"mcc_loss": 2.0}
# MCC scores an absent (or image-filling) class 1 even when predicted perfectly: the
# correlation of two constant masks is undefined and taken as 0 (mcc_loss Notes)
ZERO_AT_OPTIMUM = [name for name in LOSSES if name != "mcc_loss"]
PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)
EXACT = {"rtol": 1e-12, "atol": 1e-14}  # an identity exact in exact arithmetic

def _mcc_pooling_tolerance(x: np.ndarray, y: np.ndarray, mode: str) -> dict[str, float]:
    """EXACT, widened by MCC's own conditioning on this input.

    The two summation orders round ``I``, ``P``, ``G`` differently, each by at most
    ``S·ε`` of its size; MCC's numerator ``S·I − P·G`` can cancel (to 0 in exact
    arithmetic for a class that fills every image, seen: 1.1e-12 off) while its
    denominator is as small as ``√eps``, so that rounding is divided by the denominator.
    """
    inter, pred, true, count = (np.asarray(s) for s in sx.soft_confusion(
        x, y, mode=mode, count=True))
    den = np.sqrt(pred * true * (count - true) * (count - pred) + 1e-5)
    rounding = 4 * count * np.finfo(np.float64).eps * (count * inter + pred * true) / den
    return {"rtol": EXACT["rtol"], "atol": max(EXACT["atol"], float(np.max(rounding)))}


@pytest.fixture(params=["numpy", "torch"], scope="module")  # stateless: safe to share
def be(request: pytest.FixtureRequest) -> Backend:
    found, reason = load_backend(request.param)
    if found is None:
        pytest.skip(reason)
    return found


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False,
                     allow_subnormal=False)


@st.composite
def problems(draw: st.DrawFn, modes: tuple[str, ...] = ("multiclass", "binary", "multilabel"),
             soft: bool = True, max_n: int = 3) -> dict[str, Any]:
    """A random problem: logits up to ±30 and a hard or soft target, drawn elementwise."""
    mode = draw(st.sampled_from(modes))
    n = draw(st.integers(1, max_n))
    c = 1 if mode == "binary" else draw(st.integers(2, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    shape = (n, c, *spatial)
    kind = draw(st.sampled_from(["hard", "soft"] if soft else ["hard"]))
    x = draw(hnp.arrays(np.float64, shape, elements=_floats(-30.0, 30.0)))
    labels = None
    if mode == "multiclass":
        labels = draw(hnp.arrays(np.int64, (n, *spatial), elements=st.integers(0, c - 1)))
        if kind == "hard":
            y = labels
        else:  # a soft target: the softmax of drawn scores (sums to 1 over classes)
            y = softmax(draw(hnp.arrays(np.float64, shape, elements=_floats(-5.0, 5.0))))
    elif kind == "hard":
        y = draw(hnp.arrays(np.bool_, shape)).astype(np.float64)
    else:
        y = draw(hnp.arrays(np.float64, shape, elements=_floats(0.0, 1.0)))
    return {"x": x, "y": y, "mode": mode, "labels": labels, "kind": kind}


def _run(be: Backend, fn: Any, x: np.ndarray, y: np.ndarray, **kw: Any) -> np.ndarray:
    return be.to_numpy(fn(be.asarray(x), be.asarray(y), **kw)).astype(np.float64)


def _perfect(p: dict[str, Any]) -> np.ndarray:
    """The perfect probabilities for a hard target (one-hot of labels, or the mask)."""
    if p["mode"] == "multiclass":
        return one_hot(p["labels"], p["x"].shape[1])
    return p["y"].astype(np.float64)


# ----------------------------------------------------------------------------- range, optimum


@PROPERTY
@given(p=problems(), soft_label=st.booleans(), squared=st.booleans(),
       batch=st.booleans())
def test_every_region_loss_lies_in_its_range(be: Backend, p: dict[str, Any],
                                              soft_label: bool, squared: bool,
                                              batch: bool) -> None:
    for name, fn in LOSSES.items():
        kw: dict[str, Any] = {"mode": p["mode"], "batch": batch, "reduction": "none"}
        kw |= {k: v for k, v in (("soft_label", soft_label), ("squared", squared))
               if takes(fn, k)}
        table = _run(be, fn, p["x"], p["y"], **kw)
        upper = UPPER.get(name, 1.0)
        assert np.all(np.isfinite(table)), name
        assert np.all(table >= -1e-12) and np.all(table <= upper + 1e-12), (name, table)


@PROPERTY
@given(p=problems(soft=False), batch=st.booleans())
def test_zero_at_a_perfect_prediction(be: Backend, p: dict[str, Any], batch: bool) -> None:
    target = _perfect(p)
    saturated = 1e4 * (2 * target - 1)  # softmax / sigmoid exactly one-hot in float64
    for name in ZERO_AT_OPTIMUM:
        fn = LOSSES[name]
        for x, from_logits in ((target, False), (saturated, True)):
            table = _run(be, fn, x, p["y"], mode=p["mode"], from_logits=from_logits,
                         batch=batch, reduction="none")
            # exact: p is exactly the target (softmax/sigmoid of ±1e4 too), so I = P = G
            assert np.all(np.abs(table) <= 1e-12), (name, from_logits, table)


@PROPERTY
@given(p=problems(), seed=st.integers(0, 2**16))
def test_invariant_to_batch_order(be: Backend, p: dict[str, Any], seed: int) -> None:
    order = np.random.default_rng(seed).permutation(p["x"].shape[0])
    for name, fn in LOSSES.items():
        for reduction in ("mean", "sum"):
            a = _run(be, fn, p["x"], p["y"], mode=p["mode"], reduction=reduction)
            b = _run(be, fn, p["x"][order], p["y"][order], mode=p["mode"], reduction=reduction)
            np.testing.assert_allclose(a, b, **EXACT, err_msg=name)


# ----------------------------------------------------------------------------- identities


@PROPERTY
@given(p=problems(), smooth=st.sampled_from([0.0, 1e-5, 1.0]))
def test_dice_is_tversky_one_half(be: Backend, p: dict[str, Any], smooth: float) -> None:
    # (2I + s)/(P + G + s) vs (I + s')/(I + (P−I)/2 + (G−I)/2 + s') = (2I + 2s')/(P + G + 2s'):
    # equal for s = 2·s' (both add smoothing once to their own numerator/denominator)
    dice = _run(be, sx.dice_loss, p["x"], p["y"], mode=p["mode"], smooth=smooth,
                reduction="none")
    tversky = _run(be, sx.tversky_loss, p["x"], p["y"], mode=p["mode"], alpha=0.5, beta=0.5,
                   smooth=smooth / 2, reduction="none")
    np.testing.assert_allclose(dice, tversky, **EXACT)


@PROPERTY
@given(p=problems(), alpha=st.floats(0.0, 2.0), beta=st.floats(0.0, 2.0),
       batch=st.booleans())
def test_focal_tversky_gamma_one_is_tversky(be: Backend, p: dict[str, Any], alpha: float,
                                           beta: float, batch: bool) -> None:
    kw = dict(mode=p["mode"], alpha=alpha, beta=beta, batch=batch, reduction="none")
    focal = _run(be, sx.focal_tversky_loss, p["x"], p["y"], gamma=1.0, **kw)
    plain = _run(be, sx.tversky_loss, p["x"], p["y"], **kw)
    np.testing.assert_allclose(focal, plain, **EXACT)


@PROPERTY
@given(p=problems(), axis=st.integers(0, 1))
def test_batch_pooling_is_the_concatenated_volume(be: Backend, p: dict[str, Any],
                                                  axis: int) -> None:
    # batch=True sums over images: the same as one image made of all images laid end
    # to end along a spatial axis (N = 1, per image)
    x, y = p["x"], p["y"]
    spatial_axis = min(2 + axis, x.ndim - 1)
    x_cat = np.concatenate(list(x), axis=spatial_axis - 1)[None]
    dense = y.ndim == x.ndim
    y_cat = np.concatenate(list(y), axis=(spatial_axis - 1) if dense else
                           (spatial_axis - 2))[None]
    for name, fn in LOSSES.items():
        pooled = _run(be, fn, x, y, mode=p["mode"], batch=True, reduction="none")
        single = _run(be, fn, x_cat, y_cat, mode=p["mode"], reduction="none")
        per_class = takes(fn, "class_weights")  # an (N, C) table; else one value per image
        tolerance = (_mcc_pooling_tolerance(x_cat, y_cat, p["mode"]) if name == "mcc_loss"
                     else EXACT)
        np.testing.assert_allclose(pooled, single[0] if per_class else single,
                                   **tolerance, err_msg=name)


@PROPERTY
@given(p=problems(soft=False), squared=st.booleans(), batch=st.booleans())
def test_soft_label_equals_plain_for_hard_targets(be: Backend, p: dict[str, Any],
                                                  squared: bool, batch: bool) -> None:
    for name, fn in LOSSES.items():
        if not takes(fn, "soft_label"):
            continue
        kw: dict[str, Any] = {"mode": p["mode"], "batch": batch, "reduction": "none"}
        if takes(fn, "squared"):
            kw["squared"] = squared
        soft = _run(be, fn, p["x"], p["y"], soft_label=True, **kw)
        plain = _run(be, fn, p["x"], p["y"], **kw)
        np.testing.assert_allclose(soft, plain, **EXACT, err_msg=name)
    # ... and with a one-hot (dense) target in multiclass mode
    if p["mode"] == "multiclass":
        soft = _run(be, sx.dice_loss, p["x"], _perfect(p), soft_label=True, reduction="none")
        plain = _run(be, sx.dice_loss, p["x"], p["y"], reduction="none")
        np.testing.assert_allclose(soft, plain, **EXACT)


@PROPERTY
@given(p=problems(), batch=st.booleans())
def test_jaccard_from_dice_when_smooth_is_zero(be: Backend, p: dict[str, Any],
                                               batch: bool) -> None:
    kw = dict(mode=p["mode"], smooth=0.0, batch=batch, reduction="none")
    dice = 1 - _run(be, sx.dice_loss, p["x"], p["y"], **kw)
    jaccard = 1 - _run(be, sx.jaccard_loss, p["x"], p["y"], **kw)
    np.testing.assert_allclose(jaccard, dice / (2 - dice), **EXACT)


def test_a_failing_problem_shrinks_to_a_minimal_array() -> None:
    """The arrays are drawn element by element, so a failure shrinks: the smallest problem
    with a logit above 10 has one image, two classes, one pixel, and a single non-zero
    logit (drawn from a seed, every element would stay random)."""
    smallest = find(problems(), lambda p: bool(p["x"].max() > 10),
                    settings=settings(derandomize=True, database=None, max_examples=500))
    x = smallest["x"]
    assert x.shape[0] == 1 and x.size <= 2, x.shape
    assert np.count_nonzero(x) == 1 and 10 < x.max() <= 11, x
