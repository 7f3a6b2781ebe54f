"""Conventions of DESIGN §2–3 for the region losses, on every backend.

Expected values come from the float64 oracle (``conformance/oracle.py``) or from
small hand computations written out in the test, never from the code under test.
The oracle is channels-first and wants binary data as ``(N, 1, *spatial)``; the
tests move axes / add the channel axis on the NumPy side before calling it.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from conformance import helpers, oracle
from conformance.helpers import one_hot, softmax, takes
from segloss_xp.testing import Backend, assert_matches, load_backend

# The region losses of the package, each with the oracle function of the same name.
LOSSES: dict[str, tuple[Any, Any]] = {name: (fn, getattr(oracle, name))
                                      for name, fn in helpers.region_losses().items()}
NAMES = list(LOSSES)
# (N, C) table losses take class_weights; generalized dice weighs the classes itself
# and gives one value per image
PER_CLASS = [name for name in NAMES if takes(LOSSES[name][0], "class_weights")]
RTOL = 1e-10  # float64 against the float64 oracle: only summation-order rounding

# One or more non-default settings per formula parameter; a loss runs those it takes.
PARAMETER_SETTINGS: dict[str, list[dict[str, Any]]] = {
    "smooth": [{"smooth": 0.5}, {"smooth": 0.0}],
    "alpha": [{"alpha": 0.2, "beta": 0.8}, {"alpha": 1.0, "beta": 1.0}],
    "gamma": [{"gamma": 2.0}, {"gamma": 0.5, "alpha": 0.7, "beta": 0.3}],
    "weight_type": [{"weight_type": t} for t in ("square", "simple", "uniform")],
    "eps": [{"eps": 0.0}, {"eps": 0.1}],
}
# One non-default value per formula parameter, for the statistics tests.
NON_DEFAULT: dict[str, Any] = {"alpha": 0.2, "beta": 0.8, "gamma": 1.3,
                               "weight_type": "simple", "eps": 1e-3}
# Formulas with true negatives TN = S − P − G + I need the element count S
# (soft_confusion(..., count=True)).
NEEDS_COUNT = {"mcc_loss"}


def _kind(name: str) -> str:
    """The ``kind`` of ``region_loss_from_stats`` for a region loss."""
    return name.removesuffix("_loss")


def _formula_kw(name: str) -> dict[str, Any]:
    """The non-default formula parameters that loss ``name`` takes."""
    return {k: v for k, v in NON_DEFAULT.items() if takes(LOSSES[name][0], k)}


# ----------------------------------------------------------------------------- data


def make_case(case: str, seed: int = 0) -> dict[str, Any]:
    """Inputs for the library (``x``, ``y``, keywords) and their channels-first oracle form."""
    rng = np.random.default_rng(seed)
    n, c, h, w = 2, 3, 4, 5
    logits = 2.0 * rng.normal(size=(n, c, h, w))
    labels = rng.integers(0, c, size=(n, h, w))
    blogits = 2.0 * rng.normal(size=(n, 1, h, w))
    bmask = (rng.random(size=(n, 1, h, w)) < 0.4).astype(np.float64)
    out: dict[str, Any] = {"kw": {}}
    if case == "mc_labels":
        out.update(x=logits, y=labels, mode="multiclass")
    elif case == "mc_absent":  # class 2 absent from every target
        out.update(x=logits, y=rng.integers(0, 2, size=(n, h, w)), mode="multiclass")
    elif case == "mc_onehot":
        out.update(x=logits, y=one_hot(labels, c), mode="multiclass")
    elif case == "mc_soft":
        out.update(x=logits, y=softmax(rng.normal(size=(n, c, h, w))), mode="multiclass")
    elif case == "mc_probs":
        out.update(x=softmax(logits), y=labels, mode="multiclass", kw={"from_logits": False})
    elif case == "bin_channel":
        out.update(x=blogits, y=bmask, mode="binary")
    elif case == "bin_nochannel":
        out.update(x=blogits[:, 0], y=bmask[:, 0], mode="binary",
                   ox=blogits, oy=bmask)
    elif case == "bin_label_map":  # y_pred (N, 1, *sp), y_true (N, *sp) integer
        out.update(x=blogits, y=bmask[:, 0].astype(np.int64), mode="binary", oy=bmask)
    elif case == "bin_soft":
        out.update(x=blogits, y=rng.random(size=(n, 1, h, w)), mode="binary")
    elif case == "bin_probs":
        out.update(x=1.0 / (1.0 + np.exp(-blogits)), y=bmask, mode="binary",
                   kw={"from_logits": False})
    elif case == "multilabel":
        out.update(x=logits, y=(rng.random(size=(n, c, h, w)) < 0.4).astype(np.float64),
                   mode="multilabel")
    else:
        raise ValueError(case)
    out.setdefault("ox", out["x"])
    out.setdefault("oy", out["y"])
    return out


CASES = ["mc_labels", "mc_absent", "mc_onehot", "mc_soft", "mc_probs", "bin_channel",
         "bin_nochannel", "bin_label_map", "bin_soft", "bin_probs", "multilabel"]


def _multiclass_inputs(backend: Backend, case: str, seed: int) -> tuple[Any, Any, Any, Any]:
    """``x``, ``y`` of a multiclass ``case`` (NumPy) and the same on ``backend``."""
    data = make_case(case, seed)
    return data["x"], data["y"], backend.asarray(data["x"]), backend.asarray(data["y"])


def run_both(backend: Backend, name: str, data: dict[str, Any], **kw: Any) -> tuple[Any, Any, Any]:
    """(library result on ``backend``, oracle result, the backend y_pred)."""
    fn, ref = LOSSES[name]
    kwargs = {"mode": data["mode"], **data["kw"], **kw}
    xb = backend.asarray(data["x"])
    out = fn(xb, backend.asarray(data["y"]), **kwargs)
    kwargs.pop("class_axis", None)
    return out, ref(data["ox"], data["oy"], **kwargs), xb


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", NAMES)
def test_modes_match_oracle(backend: Backend, name: str, case: str) -> None:
    # "none" checks every (n, c) entry; the reductions have their own test below
    out, want, xb = run_both(backend, name, make_case(case), reduction="none")
    assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)


@pytest.mark.parametrize("name", NAMES)
def test_extra_keywords_match_oracle(backend: Backend, name: str) -> None:
    data = make_case("mc_labels", seed=1)
    settings = [kw for parameter, group in PARAMETER_SETTINGS.items()
                if takes(LOSSES[name][0], parameter) for kw in group]
    assert settings, f"{name}: no formula parameter in PARAMETER_SETTINGS"
    for kw in settings:
        out, want, xb = run_both(backend, name, data, reduction="none", **kw)
        assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)


def test_dice_hand_computed(backend: Backend) -> None:
    # N=1, C=2, S=2 probabilities; labels [0, 1]:
    # class 0: I = 0.9, P = 1.1, G = 1 -> 1 - 1.8/2.1
    # class 1: I = 0.8, P = 0.9, G = 1 -> 1 - 1.6/1.9
    probs = np.array([[[0.9, 0.2], [0.1, 0.8]]])
    labels = np.array([[0, 1]])
    xb = backend.asarray(probs)
    out = sx.dice_loss(xb, backend.asarray(labels), from_logits=False, smooth=0.0,
                       reduction="none")
    assert_matches(out, [[1 - 1.8 / 2.1, 1 - 1.6 / 1.9]], backend, dtype="float64",
                   rtol=1e-12, ref=xb)
    # Jaccard I/(P+G-I): .9/1.2 and .8/1.1; Tversky(α=1, β=0) = I/P: .9/1.1, .8/.9
    out = sx.jaccard_loss(xb, backend.asarray(labels), from_logits=False, smooth=0.0,
                          reduction="none")
    assert_matches(out, [[1 - 0.9 / 1.2, 1 - 0.8 / 1.1]], backend, dtype="float64",
                   rtol=1e-12, ref=xb)
    out = sx.tversky_loss(xb, backend.asarray(labels), from_logits=False, smooth=0.0,
                          alpha=1.0, beta=0.0, reduction="none")
    assert_matches(out, [[1 - 0.9 / 1.1, 1 - 0.8 / 0.9]], backend, dtype="float64",
                   rtol=1e-12, ref=xb)


def test_smooth_goes_once_into_numerator_and_denominator(backend: Backend) -> None:
    probs = np.array([[[0.9, 0.2], [0.1, 0.8]]])
    xb = backend.asarray(probs)
    out = sx.dice_loss(xb, backend.asarray(np.array([[0, 1]])), from_logits=False,
                       smooth=1.0, reduction="none")
    want = [[1 - (1.8 + 1) / (2.1 + 1), 1 - (1.6 + 1) / (1.9 + 1)]]
    assert_matches(out, want, backend, dtype="float64", rtol=1e-12, ref=xb)


# ----------------------------------------------------------------------------- class axis


@pytest.mark.parametrize("name", NAMES)
def test_class_axis_channels_last_and_middle(backend: Backend, name: str) -> None:
    fn, ref = LOSSES[name]
    for case in ("mc_labels", "mc_onehot", "bin_label_map"):
        data = make_case(case, seed=2)
        x, y = data["x"], data["y"]
        want = ref(data["ox"], data["oy"], mode=data["mode"], reduction="none")
        dense = y.ndim == x.ndim
        for axis in (-1, 2):  # channels-last and a middle axis
            xa = np.moveaxis(x, 1, axis)
            ya = np.moveaxis(y, 1, axis) if dense else y
            xb = backend.asarray(xa)
            out = fn(xb, backend.asarray(ya), mode=data["mode"], class_axis=axis,
                     reduction="none")
            assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)


def test_binary_channels_last_without_moving_target(backend: Backend) -> None:
    # y_pred (N, H, W, 1) with class_axis=-1 and y_true (N, H, W)
    data = make_case("bin_channel", seed=3)
    x = np.moveaxis(data["x"], 1, -1)
    xb = backend.asarray(x)
    out = sx.dice_loss(xb, backend.asarray(data["y"][:, 0]), mode="binary", class_axis=-1,
                       reduction="none")
    want = oracle.dice_loss(data["x"], data["y"], mode="binary", reduction="none")
    assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)


# ----------------------------------------------------------------------------- ignore_index


def _ignore_cases() -> list[tuple[str, Any]]:
    rng = np.random.default_rng(4)
    x = 2.0 * rng.normal(size=(2, 3, 4, 5))
    labels = rng.integers(0, 3, size=(2, 4, 5))
    holes = rng.random(size=(2, 4, 5)) < 0.3
    onehot = one_hot(labels, 3)
    bx = 2.0 * rng.normal(size=(2, 1, 4, 5))
    by = (rng.random(size=(2, 1, 4, 5)) < 0.5).astype(np.float64)
    bhole = rng.random(size=(2, 1, 4, 5)) < 0.3
    return [
        ("mc_255", dict(x=x, y=np.where(holes, 255, labels), mode="multiclass", ii=255)),
        ("mc_uint8_255", dict(x=x, y=np.where(holes, 255, labels).astype(np.uint8),
                              mode="multiclass", ii=255)),
        ("mc_-100", dict(x=x, y=np.where(holes, -100, labels), mode="multiclass", ii=-100)),
        ("mc_in_range_0", dict(x=x, y=labels, mode="multiclass", ii=0)),
        ("mc_in_range_2", dict(x=x, y=labels, mode="multiclass", ii=2)),
        ("mc_dense_zero_rows", dict(x=x, y=onehot * ~holes[:, None], mode="multiclass", ii=255)),
        ("mc_dense_in_range", dict(x=x, y=onehot, mode="multiclass", ii=1)),
        ("bin_-1_float", dict(x=bx, y=np.where(bhole, -1.0, by), mode="binary", ii=-1)),
        ("bin_-1_int", dict(x=bx, y=np.where(bhole, -1, by).astype(np.int64), mode="binary",
                            ii=-1)),
        ("bin_255_label_map", dict(x=bx, y=np.where(bhole, 255, by)[:, 0].astype(np.int64),
                                   oy=np.where(bhole, 255, by), mode="binary", ii=255)),
        ("multilabel_-1", dict(x=x, y=np.where(rng.random(size=x.shape) < 0.3, -1.0,
                                               (rng.random(size=x.shape) < 0.5) * 1.0),
                               mode="multilabel", ii=-1)),
    ]


IGNORE_CASES = _ignore_cases()


@pytest.mark.parametrize("case", [c for _, c in IGNORE_CASES], ids=[n for n, _ in IGNORE_CASES])
@pytest.mark.parametrize("name", NAMES)
def test_ignore_index_matches_oracle(backend: Backend, name: str, case: dict[str, Any]) -> None:
    fn, ref = LOSSES[name]
    xb = backend.asarray(case["x"])
    for batch in (False, True):
        out = fn(xb, backend.asarray(case["y"]), mode=case["mode"], ignore_index=case["ii"],
                 batch=batch, reduction="none")
        want = ref(case["x"], case.get("oy", case["y"]), mode=case["mode"],
                   ignore_index=case["ii"], batch=batch, reduction="none")
        assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)


@pytest.mark.parametrize("name", NAMES)
def test_ignored_elements_count_in_no_term(backend: Backend, name: str) -> None:
    # Ignoring the last column equals cropping it away, whatever the logits there are.
    fn, ref = LOSSES[name]
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 4, 5))
    labels = rng.integers(0, 3, size=(2, 4, 5))
    ignored = labels.copy()
    ignored[..., -1] = 255
    x_wild = x.copy()
    x_wild[..., -1] = 50.0 * rng.normal(size=(2, 3, 4))
    cropped = ref(x[..., :-1], labels[..., :-1], reduction="none")
    xb = backend.asarray(x_wild)
    out = fn(xb, backend.asarray(ignored), ignore_index=255, reduction="none")
    assert_matches(out, cropped, backend, dtype="float64", rtol=RTOL, ref=xb)
    # binary: -1 marks the ignored column
    bx = rng.normal(size=(2, 1, 4, 5))
    by = (rng.random(size=(2, 1, 4, 5)) < 0.5) * 1.0
    byi = by.copy()
    byi[..., -1] = -1
    cropped = ref(bx[..., :-1], by[..., :-1], mode="binary", reduction="none")
    bxb = backend.asarray(bx)
    out = fn(bxb, backend.asarray(byi), mode="binary", ignore_index=-1, reduction="none")
    assert_matches(out, cropped, backend, dtype="float64", rtol=RTOL, ref=bxb)


# ----------------------------------------------------------------------------- reductions


@pytest.mark.parametrize("name", NAMES)
def test_reduction_shapes_and_values(backend: Backend, name: str) -> None:
    fn, ref = LOSSES[name]
    x, y, xb, yb = _multiclass_inputs(backend, "mc_labels", seed=6)
    n, c = x.shape[:2]
    per_image = name not in PER_CLASS
    shapes = {
        (False, True): (n,) if per_image else (n, c),
        (False, False): (n,) if per_image else (n, c - 1),
        (True, True): () if per_image else (c,),
        (True, False): () if per_image else (c - 1,),
    }
    for (batch, background), shape in shapes.items():
        kw = dict(batch=batch, include_background=background)
        table = fn(xb, yb, reduction="none", **kw)
        assert tuple(table.shape) == shape, (batch, background, table.shape)
        want = ref(x, y, reduction="none", **kw)
        assert_matches(table, want, backend, dtype="float64", rtol=RTOL, ref=xb)
        # "mean" is the plain mean of the table (over images and classes, or over classes
        # with batch=True), "sum" its sum
        reduction = "sum" if batch else "mean"
        scalar = fn(xb, yb, reduction=reduction, **kw)
        assert tuple(scalar.shape) == ()
        expected = np.sum(want) if batch else np.mean(want)
        assert_matches(scalar, expected, backend, dtype="float64", rtol=RTOL, ref=xb)


@pytest.mark.parametrize("name", PER_CLASS)
def test_class_weights_and_background(backend: Backend, name: str) -> None:
    fn, ref = LOSSES[name]
    x, y, xb, yb = _multiclass_inputs(backend, "mc_labels", seed=7)
    weights = [100.0, 0.5, 2.0]  # length C always; entry 0 is dropped with the background
    plain = ref(x, y, reduction="none")
    for background in (True, False):
        for reduction in ("none", "sum"):
            out = fn(xb, yb, class_weights=weights, include_background=background,
                     reduction=reduction)
            want = ref(x, y, class_weights=weights, include_background=background,
                       reduction=reduction)
            assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)
    # hand check: a plain (not weight-normalised) mean of w_c · loss_{n,c}, c >= 1
    out = fn(xb, yb, class_weights=weights, include_background=False)
    hand = np.mean(np.asarray(weights[1:]) * plain[:, 1:])
    assert_matches(out, hand, backend, dtype="float64", rtol=RTOL, ref=xb)
    # a numpy array of weights works as well as a list, also with batch=True
    out = fn(xb, yb, class_weights=np.asarray(weights), batch=True, reduction="none")
    want = ref(x, y, class_weights=weights, batch=True, reduction="none")
    assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)


def test_include_background_ignored_in_binary_mode(backend: Backend) -> None:
    data = make_case("bin_channel", seed=8)
    xb = backend.asarray(data["x"])
    for name in NAMES:
        fn, ref = LOSSES[name]
        out = fn(xb, backend.asarray(data["y"]), mode="binary", include_background=False,
                 reduction="none")
        want = ref(data["x"], data["y"], mode="binary", reduction="none")
        assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)


def test_squared_matches_oracle(backend: Backend) -> None:
    for case in ("mc_labels", "mc_soft", "bin_soft", "multilabel"):
        data = make_case(case, seed=9)
        for batch in (False, True):
            out, want, xb = run_both(backend, "dice_loss", data, squared=True, batch=batch,
                                     reduction="none")
            assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)


@pytest.mark.parametrize("name", [n for n in PER_CLASS if takes(LOSSES[n][0], "soft_label")])
def test_soft_label_matches_oracle(backend: Backend, name: str) -> None:
    for case in ("mc_soft", "bin_soft", "mc_labels"):
        data = make_case(case, seed=10)
        out, want, xb = run_both(backend, name, data, soft_label=True, reduction="none")
        assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)


def test_soft_label_with_squared_is_the_l2_identity(backend: Backend) -> None:
    # MONAI (ord=2): I = (Σp² + Σg² − Σ(p − g)²)/2, which is Σ p·g exactly, so squared
    # soft-label Dice equals squared Dice; the L1 form would give losses below 0 here.
    for case in ("mc_soft", "bin_soft"):
        data = make_case(case, seed=22)
        xb = backend.asarray(data["x"])
        out = sx.dice_loss(xb, backend.asarray(data["y"]), mode=data["mode"], squared=True,
                           soft_label=True, reduction="none")
        want = oracle.dice_loss(data["ox"], data["oy"], mode=data["mode"], squared=True,
                                reduction="none")
        assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)


def test_soft_label_squared_matches_monai() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    monai_losses = pytest.importorskip("monai.losses", reason="monai is not installed")
    rng = np.random.default_rng(23)
    x = rng.normal(size=(2, 3, 4, 5))
    z = rng.normal(size=(2, 3, 4, 5))
    y = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    for squared in (False, True):
        ref = monai_losses.DiceLoss(softmax=True, squared_pred=squared, soft_label=True,
                                    reduction="none")
        want = ref(torch.asarray(x), torch.asarray(y)).reshape(2, 3).numpy()
        out = sx.dice_loss(torch.asarray(x), torch.asarray(y), squared=squared,
                           soft_label=True, reduction="none")
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-10)
        assert np.all(out.numpy() >= 0)


def test_generalized_dice_soft_label_hand_computed(backend: Backend) -> None:
    # weight_type="uniform": score = (2 Σ_c I_c + s)/(Σ_c (P_c + G_c) + s), with the
    # soft-label intersection I_c = (Σp + Σg − Σ|p − g|)/2 per image and class
    data = make_case("mc_soft", seed=11)
    p = oracle.probabilities(data["x"])
    g = data["y"]
    axes = (2, 3)
    inter = (p.sum(axes) + g.sum(axes) - np.abs(p - g).sum(axes)) / 2
    s = 1e-5
    want = 1 - (2 * inter.sum(1) + s) / (p.sum(axes).sum(1) + g.sum(axes).sum(1) + s)
    xb = backend.asarray(data["x"])
    out = sx.generalized_dice_loss(xb, backend.asarray(g), weight_type="uniform",
                                   soft_label=True, reduction="none")
    assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)


# ----------------------------------------------------------------------------- empty rules


# Without smoothing (smooth = 0, or eps = 0 for MCC) an empty class (P + G == 0) scores
# loss 0 in the overlap losses; the MCC of a constant mask is undefined and taken as 0,
# loss 1 (mcc_loss Notes), as for a class that fills the image.
EMPTY_LOSS = {"mcc_loss": 1.0}


def _unsmoothed(name: str) -> dict[str, float]:
    return {"smooth": 0.0} if takes(LOSSES[name][0], "smooth") else {"eps": 0.0}


def _empty_cases() -> list[tuple[np.ndarray, np.ndarray, dict[str, Any]]]:
    """Empty target and empty prediction (P + G == 0 exactly) in every mode."""
    empty_bin = np.zeros((2, 1, 4, 5))
    return [
        # empty binary target, probabilities exactly 0
        (np.zeros((2, 1, 4, 5)), empty_bin, dict(mode="binary", from_logits=False)),
        # saturated logits: sigmoid(-1e4) == 0 exactly
        (np.full((2, 1, 4, 5), -1e4), empty_bin, dict(mode="binary")),
        (np.full((2, 3, 4, 5), -1e4), np.zeros((2, 3, 4, 5)), dict(mode="multilabel")),
        # multiclass: classes 1 and 2 absent from target and one-hot prediction
        (one_hot(np.zeros((2, 4, 5), dtype=np.int64), 3), np.zeros((2, 4, 5), np.int64),
         dict(mode="multiclass", from_logits=False)),
    ]


@pytest.mark.parametrize("name", NAMES)
def test_unsmoothed_empty_rule(backend: Backend, name: str) -> None:
    fn, ref = LOSSES[name]
    unsmoothed = _unsmoothed(name)
    for x, y, kw in _empty_cases():
        xb = backend.asarray(x)
        for batch in (False, True):
            out = fn(xb, backend.asarray(y), batch=batch, reduction="none", **unsmoothed, **kw)
            want = ref(x, y, batch=batch, reduction="none", **unsmoothed, **kw)
            assert np.all(want == EMPTY_LOSS.get(name, 0.0))
            assert_matches(out, want, backend, dtype="float64", rtol=0, atol=0, ref=xb)


@pytest.mark.parametrize("name", NAMES)
def test_unsmoothed_empty_has_finite_gradient(backend: Backend, name: str) -> None:
    helpers.require_capability(name, "autograd", backend.name)
    fn, _ = LOSSES[name]
    unsmoothed = _unsmoothed(name)
    for x, y, kw in _empty_cases()[1:]:  # logits -1e4 and exact probabilities
        yb = backend.asarray(y)
        value, grad = helpers.value_and_grad(
            backend, lambda t, yb=yb, kw=kw: fn(t, yb, **unsmoothed, **kw), x)
        assert value == EMPTY_LOSS.get(name, 0.0), (kw, value)
        assert np.all(np.isfinite(grad)), (kw, grad)


@pytest.mark.parametrize("name", NAMES)
def test_perfect_saturated_logits_have_finite_gradient(backend: Backend, name: str) -> None:
    helpers.require_capability(name, "autograd", backend.name)
    fn, _ = LOSSES[name]
    labels = np.random.default_rng(21).integers(0, 3, size=(2, 4, 5))  # every class present
    x = 1e4 * (2 * one_hot(labels, 3) - 1)
    yb = backend.asarray(labels)
    value, grad = helpers.value_and_grad(backend, lambda t: fn(t, yb), x)
    assert 0.0 <= value <= 1e-6
    assert np.all(np.isfinite(grad))


def test_generalized_dice_absent_class_rule_hand_computed(backend: Backend) -> None:
    # N=1, C=3, S=4, probabilities; labels [0,0,0,1]: G = [3, 1, 0]
    p = np.array([[[0.7, 0.6, 0.5, 0.1], [0.2, 0.3, 0.1, 0.8], [0.1, 0.1, 0.4, 0.1]]])
    labels = np.array([[0, 0, 0, 1]])
    inter = np.array([0.7 + 0.6 + 0.5, 0.8, 0.0])
    psum = p[0].sum(axis=1)
    gsum = np.array([3.0, 1.0, 0.0])
    expected = {
        # class 2 is absent: its infinite weight becomes the image's largest finite one
        "square": np.array([1 / 9, 1.0, 1.0]),
        "simple": np.array([1 / 3, 1.0, 1.0]),
        "uniform": np.array([1.0, 1.0, 1.0]),
    }
    xb = backend.asarray(p)
    for weight_type, w in expected.items():
        want = 1 - (2 * np.sum(w * inter)) / np.sum(w * (psum + gsum))
        out = sx.generalized_dice_loss(xb, backend.asarray(labels), from_logits=False,
                                       smooth=0.0, weight_type=weight_type, reduction="none")
        assert_matches(out, [want], backend, dtype="float64", rtol=1e-12, ref=xb)


def test_generalized_dice_overflowing_weight_is_an_absent_class(backend: Backend) -> None:
    # found by test_fuzz: G = 2.2e-308 made 1/G² = inf and the loss NaN; an infinite
    # weight marks the class absent (MONAI replaces every infinite weight), gradient finite
    p = np.array([[[0.5, 0.5], [0.3, 0.9]]])              # (N=1, C=2, S=2), probabilities
    y = np.array([[[2.2250738585072014e-308, 0.0], [1.0, 0.0]]])
    for weight_type in ("square", "simple"):
        want = oracle.generalized_dice_loss(p, y, mode="multilabel", from_logits=False,
                                            weight_type=weight_type, reduction="none")
        assert np.isfinite(want).all()
        xb = backend.asarray(p)
        out = sx.generalized_dice_loss(xb, backend.asarray(y), mode="multilabel",
                                       from_logits=False, weight_type=weight_type,
                                       reduction="none")
        assert_matches(out, want, backend, dtype="float64", rtol=1e-12, ref=xb)
        if backend.name.startswith(("torch", "jax")):
            _, grad = helpers.value_and_grad(
                backend, lambda t, w=weight_type: sx.generalized_dice_loss(
                    t, backend.asarray(y), mode="multilabel", from_logits=False,
                    weight_type=w), p)
            assert np.all(np.isfinite(grad))


def test_generalized_dice_all_absent_is_zero(backend: Backend) -> None:
    # every class absent from the target: all weights 0, the ratio is s/s (or 0/0 -> 1)
    rng = np.random.default_rng(12)
    x = rng.normal(size=(2, 3, 4, 5))
    xb = backend.asarray(x)
    yb = backend.asarray(np.zeros((2, 3, 4, 5)))
    for smooth in (1e-5, 0.0):
        for weight_type in ("square", "simple"):
            out = sx.generalized_dice_loss(xb, yb, mode="multilabel", smooth=smooth,
                                           weight_type=weight_type, reduction="none")
            assert_matches(out, [0.0, 0.0], backend, dtype="float64", rtol=0, atol=1e-12,
                           ref=xb)
    # ... and in the oracle too (same convention)
    want = oracle.generalized_dice_loss(x, np.zeros((2, 3, 4, 5)), mode="multilabel",
                                        reduction="none")
    np.testing.assert_allclose(want, 0.0, atol=1e-12)


# ----------------------------------------------------------------------------- statistics


def test_soft_confusion_matches_oracle(backend: Backend) -> None:
    for case in ("mc_labels", "mc_soft", "bin_nochannel", "bin_label_map", "multilabel"):
        data = make_case(case, seed=13)
        xb = backend.asarray(data["x"])
        for kw in ({}, {"squared": True}, {"batch": True}, {"squared": True, "batch": True}):
            stats = sx.soft_confusion(xb, backend.asarray(data["y"]), mode=data["mode"], **kw)
            want = oracle.soft_confusion(data["ox"], data["oy"], mode=data["mode"], **kw)
            assert len(stats) == 3
            for got, exp in zip(stats, want, strict=True):
                assert_matches(got, exp, backend, dtype="float64", rtol=RTOL, ref=xb)
            # count=True appends S, the counted elements: every element here (no ignore)
            *same, count = sx.soft_confusion(xb, backend.asarray(data["y"]),
                                             mode=data["mode"], count=True, **kw)
            for got, exp in zip(same, want, strict=True):
                assert_matches(got, exp, backend, dtype="float64", rtol=RTOL, ref=xb)
            n, size = data["ox"].shape[0], np.prod(data["ox"].shape[2:])
            elements = np.full(want[0].shape, float(size * (n if kw.get("batch") else 1)))
            assert_matches(count, elements, backend, dtype="float64", rtol=0, ref=xb)


def test_soft_confusion_ignore_index_matches_oracle(backend: Backend) -> None:
    for label, case in IGNORE_CASES:
        xb = backend.asarray(case["x"])
        stats = sx.soft_confusion(xb, backend.asarray(case["y"]), mode=case["mode"],
                                  ignore_index=case["ii"])
        want = oracle.soft_confusion(case["x"], case.get("oy", case["y"]), mode=case["mode"],
                                     ignore_index=case["ii"])
        for got, exp in zip(stats, want, strict=True):
            assert_matches(got, exp, backend, dtype="float64", rtol=RTOL, ref=xb), label


@pytest.mark.parametrize("name", NAMES)
def test_from_stats_equals_direct_loss(backend: Backend, name: str) -> None:
    fn, ref = LOSSES[name]
    x, y, xb, yb = _multiclass_inputs(backend, "mc_absent", seed=14)
    stats = sx.soft_confusion(xb, yb, count=name in NEEDS_COUNT)
    settings: list[dict[str, Any]] = [{"reduction": "none"},
                                      {"include_background": False, "reduction": "sum"}]
    if name in PER_CLASS:
        settings.append({"class_weights": [0.5, 1.0, 2.0], "include_background": False,
                         "reduction": "mean"})
    for extra in settings:
        kw = {**_formula_kw(name), **extra}
        want = ref(x, y, **kw)
        from_stats = sx.region_loss_from_stats(stats, kind=_kind(name), **kw)
        assert_matches(from_stats, want, backend, dtype="float64", rtol=RTOL, ref=xb)
        # ... and the same numbers as the direct call (same code path after the stats)
        direct = backend.to_numpy(fn(xb, yb, **kw))
        assert_matches(from_stats, direct, backend, dtype="float64", rtol=1e-14, ref=xb)


@pytest.mark.parametrize("name", NAMES)
def test_stats_summed_over_shards_equal_global_batch_loss(backend: Backend, name: str) -> None:
    # The DDP all-reduce use: each rank computes batch-pooled stats of its half, the
    # stats are summed, and the ratio is taken once: equal to batch=True on the whole.
    fn, ref = LOSSES[name]
    rng = np.random.default_rng(15)
    x = rng.normal(size=(2, 3, 4, 5))
    y = rng.integers(0, 3, size=(2, 4, 5))
    halves = [(x[:1], y[:1]), (x[1:], y[1:])]
    count = name in NEEDS_COUNT
    shard_stats = [sx.soft_confusion(backend.asarray(a.copy()), backend.asarray(b.copy()),
                                     batch=True, count=count) for a, b in halves]
    summed = tuple(s0 + s1 for s0, s1 in zip(*shard_stats, strict=True))
    xb = backend.asarray(x)
    kw = _formula_kw(name)
    out = sx.region_loss_from_stats(summed, kind=_kind(name), **kw)
    assert_matches(out, ref(x, y, batch=True, **kw), backend, dtype="float64", rtol=1e-12,
                   ref=xb)
    direct = fn(xb, backend.asarray(y), batch=True, **kw)
    assert_matches(out, backend.to_numpy(direct), backend, dtype="float64", rtol=1e-12, ref=xb)
    # per-image stats summed over the batch axis give the same global statistics
    per_image = sx.soft_confusion(xb, backend.asarray(y), count=count)
    xp = backend.xp
    pooled = tuple(xp.sum(s, axis=0, keepdims=True) for s in per_image)
    out = sx.region_loss_from_stats(pooled, kind=_kind(name), **kw)
    assert_matches(out, ref(x, y, batch=True, **kw), backend, dtype="float64", rtol=1e-12,
                   ref=xb)


# ----------------------------------------------------------------------------- dtypes, devices


FLOAT_DTYPES = ["float16", "bfloat16", "float32", "float64"]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_dtype_policy(backend: Backend, name: str, dtype: str) -> None:
    if not hasattr(backend.xp, dtype):
        pytest.skip(f"{backend.name} has no {dtype}")
    fn, ref = LOSSES[name]
    for case in ("mc_labels", "mc_probs", "bin_channel"):
        data = make_case(case, seed=16)
        xb = backend.asarray(data["x"].astype(np.float32), dtype=dtype)
        yb = backend.asarray(data["y"])  # float64 binary targets: mixed with half y_pred
        # the oracle sees exactly the rounded inputs the library got
        x_rounded = backend.to_numpy(xb).astype(np.float64)
        for reduction in ("mean", "none"):
            out = fn(xb, yb, mode=data["mode"], reduction=reduction, **data["kw"])
            want = ref(x_rounded, data["y"], mode=data["mode"], reduction=reduction,
                       **data["kw"])
            if dtype == "float64":
                assert_matches(out, want, backend, dtype="float64", rtol=RTOL, ref=xb)
            else:
                # Half inputs are cast exactly to float32 (float16/bfloat16 ⊂ float32) and
                # everything after runs in float32: a few ulp (6e-8) per softmax/sigmoid
                # element, sums of 20 terms and one ratio give ~1e-6 relative on the
                # score; the loss 1 − score (≈0.3–0.7 here) then has ~1e-6 absolute error.
                assert_matches(out, want, backend, dtype="float32", rtol=1e-5, atol=2e-6,
                               ref=xb)
    stats = sx.soft_confusion(xb, yb, mode="binary")
    want_dtype = "float64" if dtype == "float64" else "float32"
    for s in stats:
        assert s.dtype == backend.dtype(want_dtype)


def test_result_on_input_device(backend: Backend) -> None:
    import array_api_compat as compat

    if backend.lazy:
        pytest.skip("dask arrays carry no meaningful device")
    for case in ("mc_labels", "mc_onehot", "bin_nochannel", "multilabel"):
        data = make_case(case, seed=17)
        xb, yb = backend.asarray(data["x"]), backend.asarray(data["y"])
        want = compat.device(xb)
        outputs = [fn(xb, yb, mode=data["mode"], reduction=r) for fn, _ in LOSSES.values()
                   for r in ("mean", "none")]
        outputs += [fn(xb, yb, mode=data["mode"], batch=True)
                    for fn, _ in LOSSES.values()]
        stats = sx.soft_confusion(xb, yb, mode=data["mode"])
        outputs += [*stats, sx.region_loss_from_stats(stats)]
        for out in outputs:
            assert compat.device(out) == want, (case, compat.device(out), want)


@pytest.mark.parametrize("name", NAMES)
def test_inputs_never_modified(backend: Backend, name: str) -> None:
    fn, _ = LOSSES[name]
    for case, kw in (("mc_labels", {}), ("mc_soft", {"ignore_index": 255}),
                     ("bin_probs", {})):
        data = make_case(case, seed=18)
        y = data["y"]
        if case == "mc_labels":
            y = np.where(y == 0, 255, y)
            kw = {"ignore_index": 255}
        xb, yb = backend.asarray(data["x"]), backend.asarray(y)
        x_before, y_before = backend.to_numpy(xb).copy(), backend.to_numpy(yb).copy()
        backend.to_numpy(fn(xb, yb, mode=data["mode"], **data["kw"], **kw))  # computed
        stats = sx.soft_confusion(xb, yb, mode=data["mode"], **data["kw"], **kw)
        backend.to_numpy(stats[0])
        np.testing.assert_array_equal(backend.to_numpy(xb), x_before)
        np.testing.assert_array_equal(backend.to_numpy(yb), y_before)
        assert backend.to_numpy(yb).dtype == y_before.dtype


# ----------------------------------------------------------------------------- jax specifics


_X64_OFF_SCRIPT = """
    import numpy as np
    import jax.numpy as jnp
    import segloss_xp as sx
    from conformance import oracle

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=(2, 4, 5))
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    assert yj.dtype == jnp.int32
    for name in NAMES:
        fn, ref = getattr(sx, name), getattr(oracle, name)
        for kw in ({}, {"ignore_index": 0, "batch": True}):
            out = fn(xj, yj, reduction="none", **kw)
            assert out.dtype == jnp.float32, out.dtype
            np.testing.assert_allclose(np.asarray(out), ref(x, y, reduction="none", **kw),
                                       rtol=1e-5, atol=2e-6)
    jitted = jax.jit(lambda a, b: sx.dice_loss(a, b, ignore_index=0))(xj, yj)
    assert jitted.dtype == jnp.float32
    np.testing.assert_allclose(float(jitted), oracle.dice_loss(x, y, ignore_index=0),
                               rtol=1e-5, atol=2e-6)
    g = jax.grad(lambda a: sx.dice_loss(a, yj))(xj)
    assert g.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(g)))
    half = sx.dice_loss(xj.astype(jnp.bfloat16), yj)
    assert half.dtype == jnp.float32
    # value checks still run eagerly with 32-bit labels
    try:
        sx.dice_loss(xj, yj.at[0, 0, 0].set(3))
    except ValueError as exc:
        assert "label 3" in str(exc), exc
    else:
        raise AssertionError("out-of-range label did not raise")
"""


def test_jax_with_x64_off_in_subprocess() -> None:
    helpers.run_with_x64_off(f"NAMES = {NAMES!r}\n" + textwrap.dedent(_X64_OFF_SCRIPT))


def test_value_checks_skipped_under_jax_jit() -> None:
    jax_backend, reason = load_backend("jax")
    if jax_backend is None:
        pytest.skip(reason)
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(19)
    x = jnp.asarray(rng.normal(size=(2, 3, 4, 5)))
    labels = rng.integers(0, 3, size=(2, 4, 5))
    bad = labels.copy()
    bad[0, 0, 0], bad[1, 2, 3] = 7, -3
    bad, labels = jnp.asarray(bad), jnp.asarray(labels)
    for name, (fn, _) in LOSSES.items():
        with pytest.raises(ValueError, match="label 7"):
            fn(x, bad)  # eager: checked
        out = jax.jit(lambda a, b, fn=fn: fn(a, b))(x, bad)  # traced: not checked
        assert out.shape == (), name
    # probabilities outside [0, 1] and NaN are not checked under jit either
    with pytest.raises(ValueError, match="probabilities"):
        sx.dice_loss(x, labels, from_logits=False)
    jax.jit(lambda a, b: sx.dice_loss(a, b, from_logits=False))(x, labels)
    with pytest.raises(ValueError, match="non-finite"):
        sx.dice_loss(x * jnp.nan, labels)
    jax.jit(lambda a, b: sx.dice_loss(a, b))(x * jnp.nan, labels)


# ----------------------------------------------------------------------------- options


def _bad_labels(backend: Backend) -> tuple[Any, Any]:
    rng = np.random.default_rng(20)
    labels = rng.integers(0, 3, size=(2, 4, 5))
    labels[1, 2, 3] = 3
    x = backend.asarray(rng.normal(size=(2, 3, 4, 5)))
    y = backend.asarray(labels)
    return x, y


@pytest.mark.skip_backend(["dask", "jax-jit"],
                          reason="value checks never raise on lazy or traced arrays")
def test_options_validate_false_context_manager(backend: Backend) -> None:
    x, y = _bad_labels(backend)
    assert sx.get_option("validate") is True
    with pytest.raises(ValueError, match="label 3"):
        sx.dice_loss(x, y)
    with sx.options(validate=False):
        assert sx.get_option("validate") is False
        for fn, _ in LOSSES.values():
            fn(x, y)  # not checked: no raise
    assert sx.get_option("validate") is True
    with pytest.raises(ValueError, match="label 3"):
        sx.dice_loss(x, y)
    # restored even when the block raises
    with pytest.raises(RuntimeError), sx.options(validate=False):
        raise RuntimeError
    assert sx.get_option("validate") is True


@pytest.mark.skip_backend(["dask", "jax-jit"],
                          reason="value checks never raise on lazy or traced arrays")
def test_options_validate_false_plain_call(backend: Backend) -> None:
    x, y = _bad_labels(backend)
    previous = sx.get_option("validate")
    try:
        sx.options(validate=False)
        assert sx.get_option("validate") is False
        for fn, _ in LOSSES.values():
            fn(x, y)
        sx.soft_confusion(x, y)
    finally:
        sx.options(validate=previous)
    assert sx.get_option("validate") is previous
    with pytest.raises(ValueError, match="label 3"):
        sx.dice_loss(x, y)


def test_options_rejects_non_bool() -> None:
    with pytest.raises(TypeError, match="validate"):
        sx.options(validate=1)  # type: ignore[arg-type]
    assert sx.get_option("validate") is True


@pytest.mark.parametrize("name", NAMES)
def test_from_stats_of_batch_statistics_has_the_loss_shape(backend: Backend, name: str) -> None:
    # region_loss_from_stats(soft_confusion(batch=True)) is what the loss gives with batch=True
    # (one DDP recipe): the pooled statistics are (C,), not (1, C)
    fn, _ = LOSSES[name]
    x, _, xb, yb = _multiclass_inputs(backend, "mc_labels", seed=8)
    count = name == "mcc_loss"
    stats = sx.soft_confusion(xb, yb, batch=True, count=count)
    assert all(tuple(s.shape) == (x.shape[1],) for s in stats)
    kind = name.removesuffix("_loss")
    out = sx.region_loss_from_stats(stats, kind=kind, reduction="none")
    want = fn(xb, yb, batch=True, reduction="none")
    assert tuple(out.shape) == tuple(want.shape)
    assert_matches(out, backend.to_numpy(want), backend, dtype="float64", rtol=1e-13, ref=xb)
