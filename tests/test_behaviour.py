"""The loss-behaviour figure's claims (``conformance/behaviour.py``), asserted on its curves.

The curves come from the library on NumPy: a large and a small disc, predictions with
``k`` false positives (grown) or false negatives (shrunk). What is asserted is what the
literature states (the module docstring cites it): every loss grows with the errors;
the region losses give the same value for the same relative error whatever the object's
size, cross entropy and focal loss do not (the small object costs ~|G_s|/|G_l|); Tversky
with β > α costs more for FN than FP; the Lovász extension is tight on hard predictions.
A few points are checked against the float64 oracle, so the figure shows true numbers,
and the monotonicity check is shown to fail on a series that does not grow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conformance import behaviour, oracle, oracle_boundary
from conformance.behaviour import DELTA, NON_STRICT, PIXEL, REGION, Series, monotone_violations

CURVES = behaviour.curves()


def _curve(loss: str, size: str, kind: str) -> Series:
    (found,) = [s for s in CURVES if (s.loss, s.size, s.kind) == (loss, size, kind)]
    return found


def test_every_loss_has_all_four_curves() -> None:
    assert len(CURVES) == len(behaviour.LOSSES) * 4
    sizes = {s.size: s.object_pixels for s in CURVES}
    assert sizes == {"large": 1257, "small": 29}
    for s in CURVES:
        assert s.errors[0] == 0 and s.errors[-1] == s.object_pixels
        assert np.all(np.isfinite(s.values)), (s.loss, s.size, s.kind)


@pytest.mark.parametrize("series", CURVES, ids=lambda s: f"{s.loss}-{s.size}-{s.kind}")
def test_loss_grows_with_the_errors(series: Series) -> None:
    strict = (series.loss, series.kind) not in NON_STRICT
    bad = monotone_violations(series.errors, series.values, strict=strict)
    assert not bad, [(int(series.errors[i]), float(series.values[i]),
                      float(series.values[i + 1])) for i in bad]


def test_the_monotonicity_check_can_fail() -> None:
    errors = np.array([0, 1, 2, 2, 3])
    assert monotone_violations(errors, np.array([0.0, 0.1, 0.2, 0.2, 0.3])) == []
    assert monotone_violations(errors, np.array([0.0, 0.2, 0.1, 0.1, 0.3])) == [1]
    # flat while the errors grow: a violation unless strict=False
    flat = np.array([0.0, 0.1, 0.1, 0.1, 0.3])
    assert monotone_violations(errors, flat) == [1]
    assert monotone_violations(errors, flat, strict=False) == []
    # equal counts are equal predictions: their values must repeat
    assert monotone_violations(errors, np.array([0.0, 0.1, 0.2, 0.25, 0.3])) == [2]
    # a real curve run backwards
    dice = _curve("dice", "large", "FN")
    assert len(monotone_violations(dice.errors, dice.values[::-1])) == len(dice.values) - 1


@pytest.mark.parametrize("loss", REGION)
@pytest.mark.parametrize("kind", behaviour.KINDS)
def test_region_losses_are_scale_free(loss: str, kind: str) -> None:
    """Same relative error, same value for 29 and 1257 pixels (the large curve read at
    the small one's fractions); the small object's δ-mass of background probability
    (4,067 × 1e-4 ≈ 0.4 pixel) is the difference that is left."""
    small, large = _curve(loss, "small", kind), _curve(loss, "large", kind)
    expected = np.interp(small.fraction, large.fraction, large.values)
    np.testing.assert_allclose(small.values, expected, atol=0.02, rtol=0)


@pytest.mark.parametrize("size", list(behaviour.OBJECTS))
def test_dice_closed_form(size: str) -> None:
    """Hard Dice loss: k/(2|G| − k) for k FN, k/(2|G| + k) for k FP."""
    for kind, sign in (("FN", -1), ("FP", 1)):
        s = _curve("dice", size, kind)
        k, g = s.errors, s.object_pixels
        np.testing.assert_allclose(s.values, k / (2 * g + sign * k), atol=0.01, rtol=0)


@pytest.mark.parametrize("loss", PIXEL)
@pytest.mark.parametrize("kind", behaviour.KINDS)
def test_pixel_losses_scale_with_the_object(loss: str, kind: str) -> None:
    """Means over all pixels: the same relative error costs the small object
    |G_s|/|G_l| = 29/1257 of the large one's (the background dominates), where Dice
    costs both the same."""
    small, large = _curve(loss, "small", kind), _curve(loss, "large", kind)
    expected = np.interp(small.fraction, large.fraction, large.values)
    ratio = small.values[5:] / expected[5:]  # k/|G| ≥ 0.25
    np.testing.assert_allclose(ratio, 29 / 1257, rtol=0.05)
    dice_small, dice_large = _curve("dice", "small", kind), _curve("dice", "large", kind)
    dice = dice_small.values[5:] / np.interp(dice_small.fraction, dice_large.fraction,
                                             dice_large.values)[5:]
    assert np.all(np.abs(dice - 1) < 0.1) and np.all(ratio < 0.05)


@pytest.mark.parametrize("loss", ["tversky", "focal_tversky"])
@pytest.mark.parametrize("size", list(behaviour.OBJECTS))
def test_tversky_costs_more_for_false_negatives(loss: str, size: str) -> None:
    """β = 0.7 on FN > α = 0.3 on FP (Salehi et al. 2017): FN cost more at every k > 0."""
    fp, fn = _curve(loss, size, "FP"), _curve(loss, size, "FN")
    assert np.array_equal(fp.errors, fn.errors)
    assert np.all(fn.values[1:] > fp.values[1:])


def _hard_jaccard_loss(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    inter = np.sum(pred & target, axis=(1, 2))
    union = np.sum(pred | target, axis=(1, 2))
    return np.asarray(1.0 - inter / union, dtype=np.float64)


@pytest.mark.parametrize("size", list(behaviour.OBJECTS))
@pytest.mark.parametrize("kind", behaviour.KINDS)
def test_lovasz_extension_is_tight(size: str, kind: str) -> None:
    """Berman et al. 2018: on a hard prediction the Lovász extension equals the Jaccard
    loss. Errors δ on right pixels and 1 − δ on wrong ones are δ·1 + (1 − 2δ)·1_wrong:
    Lovász-Softmax is δ + (1 − 2δ)·J; hinge errors (1 + L)·1_wrong give (1 + L)·J."""
    target = behaviour.disc(behaviour.OBJECTS[size])
    counts = behaviour.error_counts(target)
    jaccard = _hard_jaccard_loss(behaviour.predictions(target, kind, counts), target)
    softmax = _curve("lovasz_softmax", size, kind).values
    np.testing.assert_allclose(softmax, DELTA + (1 - 2 * DELTA) * jaccard, rtol=0, atol=1e-12)
    hinge = _curve("lovasz_hinge", size, kind).values
    margin = 1 + math.log((1 - DELTA) / DELTA)
    np.testing.assert_allclose(hinge, margin * jaccard, rtol=1e-12, atol=1e-12)


def _oracle(loss: str, pred: np.ndarray, target: np.ndarray) -> float:
    """The float64 oracle of one hard prediction ``(H, W)`` (inputs built here)."""
    p = np.where(pred, 1 - DELTA, DELTA)[None, None]
    y = target[None, None].astype(np.float64)
    common: dict[str, Any] = {"mode": "binary", "from_logits": False}
    if loss == "lovasz_softmax":
        return float(oracle.lovasz_softmax_loss(np.concatenate([1 - p, p], axis=1),
                                                target[None].astype(np.int64),
                                                classes=[1], per_image=True,
                                                from_logits=False))
    if loss == "lovasz_hinge":
        return float(oracle.lovasz_hinge_loss(np.log(p / (1 - p)), y, per_image=True))
    if loss == "boundary":
        return float(oracle_boundary.boundary_loss(
            p, oracle_boundary.signed_distance_map(y), **common))
    if loss == "tversky":
        return float(oracle.tversky_loss(p, y, alpha=0.3, beta=0.7, **common))
    functions: dict[str, Callable[..., Any]] = {
        "dice": oracle.dice_loss, "jaccard": oracle.jaccard_loss,
        "focal_tversky": oracle.focal_tversky_loss, "mcc": oracle.mcc_loss,
        "cross_entropy": oracle.cross_entropy, "focal": oracle.focal_loss}
    return float(functions[loss](p, y, **common))


@pytest.mark.parametrize(("size", "kind", "index"), [("small", "FN", 10), ("large", "FP", 7),
                                                     ("small", "FP", 20)])
def test_points_match_the_oracle(size: str, kind: str, index: int) -> None:
    target = behaviour.disc(behaviour.OBJECTS[size])
    k = behaviour.error_counts(target)[index]
    (pred,) = behaviour.predictions(target, kind, np.array([k]))
    for loss in behaviour.LOSSES:
        value = _curve(loss, size, kind).values[index]
        assert value == pytest.approx(_oracle(loss, pred, target), rel=1e-10, abs=1e-12), loss


def test_prediction_geometry() -> None:
    """FP grow the disc from its rim outward, FN shrink it from its rim inward; k errors
    of one kind and none of the other."""
    target = behaviour.disc(3)
    counts = np.arange(target.sum() + 1)
    grown = behaviour.predictions(target, "FP", counts)
    shrunk = behaviour.predictions(target, "FN", counts)
    assert np.array_equal(np.sum(grown & ~target, axis=(1, 2)), counts)
    assert np.all(grown[:, target])  # no FN
    assert np.array_equal(np.sum(target & ~shrunk, axis=(1, 2)), counts)
    assert not np.any(shrunk[:, ~target])  # no FP
    assert np.all(shrunk[1:] <= shrunk[:-1]) and np.all(grown[1:] >= grown[:-1])
    assert shrunk[-1].sum() == 0 and shrunk[-2][32, 32]  # the centre goes last
    with pytest.raises(ValueError, match="kind"):
        behaviour.predictions(target, "TP", counts)


def test_figure_is_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = behaviour.render(CURVES, tmp_path / "behaviour.png")
    assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size < 300_000
