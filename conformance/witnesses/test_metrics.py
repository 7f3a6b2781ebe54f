"""MONAI 1.6 as the witness of the metrics (torch CPU tensors).

Each test's docstring states the exact keyword mapping. MONAI takes one-hot (or
multilabel) binarised masks ``(N, C, *spatial)`` and returns the ``(N, C)`` table
(``C − 1`` columns without background); ours is called on the same bool masks with
``mode="multilabel"`` (and, for the multiclass mapping, on the label maps with
``num_classes``) and ``reduction="none"``. Agreement: NaN and ``inf`` in the same
entries, the finite ones to ``REL = 1e-6`` relative (MONAI's distances are float32).
Differences in convention, not tested here (documented in the docstrings): MONAI reads
``percentile=0`` as the maximum; its all-NaN ``"mean"`` is 0 where ours is NaN; its
distance metrics default to ``include_background=False`` and
``compute_average_surface_distance`` to ``symmetric=False``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from conformance import oracle_metrics
from conformance.witnesses import import_peer, tensor, value

torch = import_peer("torch")
monai_metrics = import_peer("monai.metrics")

REL = 1e-6


def _masks(shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                        np.ndarray]:
    """Label maps ``(N, *spatial)`` of 3 classes and their one-hot bool masks, with empties.

    Image 0 lacks class 2 in the target, image 1 lacks class 1 in the prediction, and the
    last image lacks class 2 in both.
    """
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    fields = ndimage.gaussian_filter(rng.random((2, *shape)), sigma=(0, 0, *(1.5,) * (
        len(shape) - 1)))
    pred = np.digitize(fields[0], np.quantile(fields[0], [0.5, 0.8]))
    true = np.digitize(fields[1], np.quantile(fields[1], [0.45, 0.75]))
    true[0][true[0] == 2] = 0
    pred[1][pred[1] == 1] = 2
    pred[-1][pred[-1] == 2] = 1
    true[-1][true[-1] == 2] = 1

    def onehot(labels: np.ndarray) -> np.ndarray:
        return np.moveaxis(np.eye(3, dtype=bool)[labels], -1, 1)

    return pred, true, onehot(pred), onehot(true)


CASES = {"2d": ((3, 16, 17), (1.0, 1.0)), "3d": ((3, 9, 10, 11), (2.5, 0.8, 1.2))}


def _agree(ours: Any, peer: Any) -> None:
    got, want = value(ours), value(peer)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg="NaN pattern")
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want), err_msg="inf pattern")
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=REL, atol=REL)


def _monai(fn: Any, *args: Any, **kw: Any) -> Any:
    with warnings.catch_warnings():  # MONAI warns about every empty mask
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize(("percentile", "directed"), [(None, False), (95, False), (95, True),
                                                      (None, True), (50, False)])
@pytest.mark.parametrize("include_background", [True, False])
def test_hausdorff_distance_vs_monai(case: str, percentile: float | None, directed: bool,
                                     include_background: bool) -> None:
    """``hausdorff_distance(p, g, mode="multilabel", percentile=q, directed=d, spacing=s,
    include_background=b, reduction="none")`` == ``compute_hausdorff_distance(p, g,
    percentile=q, directed=d, spacing=s, include_background=b)``; also with the label maps
    ``hausdorff_distance(lp, lg, num_classes=3, ...)`` (mode="multiclass").

    One difference: where exactly one of the two masks is empty, MONAI's percentile is
    NaN (``torch.quantile`` of an all-``inf`` tensor interpolates ``inf − inf``) and its
    maximum ``inf``; ours is ``inf`` for both (DESIGN §8). :func:`_monai_hausdorff` checks
    those entries are NaN in MONAI and sets them to ``inf``; here they are ``inf`` in ours."""
    shape, spacing = CASES[case]
    pred, true, p, g = _masks(shape, seed=1)
    kw: dict[str, Any] = {"percentile": percentile, "directed": directed, "spacing": spacing,
                          "include_background": include_background}
    peer, one_empty = _monai_hausdorff(p, g, **kw)
    for ours in (sx.hausdorff_distance(tensor(p), tensor(g), mode="multilabel",
                                       reduction="none", **kw),
                 sx.hausdorff_distance(pred, true, num_classes=3, reduction="none", **kw)):
        assert np.isinf(value(ours)[one_empty]).all()
        _agree(ours, peer)


def _monai_hausdorff(p: np.ndarray, g: np.ndarray, **kw: Any) -> tuple[np.ndarray, np.ndarray]:
    """MONAI's table with its NaN percentiles of one empty mask set to ``inf`` (checked),
    and where exactly one mask is empty."""
    peer = value(_monai(monai_metrics.compute_hausdorff_distance, tensor(p), tensor(g), **kw))
    first = 0 if kw["include_background"] else 1
    present = [m[:, first:].reshape(*m.shape[:1], 3 - first, -1).any(axis=-1) for m in (p, g)]
    one_empty = present[0] != present[1]
    assert one_empty.any()
    if kw.get("percentile") is not None:
        assert np.isnan(peer[one_empty]).all()
        peer = np.where(one_empty, np.inf, peer)
    return peer, one_empty


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("symmetric", [True, False])
def test_average_surface_distance_vs_monai(case: str, symmetric: bool) -> None:
    """``average_surface_distance(p, g, mode="multilabel", symmetric=m, spacing=s,
    include_background=False, reduction="none")`` == ``compute_average_surface_distance(p,
    g, symmetric=m, spacing=s, include_background=False)`` (symmetric: the mean of the
    concatenated distances of both directions, in both libraries)."""
    shape, spacing = CASES[case]
    _, _, p, g = _masks(shape, seed=2)
    kw: dict[str, Any] = {"symmetric": symmetric, "spacing": spacing,
                          "include_background": False}
    peer = _monai(monai_metrics.compute_average_surface_distance, tensor(p), tensor(g), **kw)
    _agree(sx.average_surface_distance(tensor(p), tensor(g), mode="multilabel",
                                       reduction="none", **kw), peer)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("tolerance", [[0.0, 1.0, 1.0], [0.5, 2.0, 1.3]])
def test_normalized_surface_dice_vs_monai(case: str, tolerance: list[float]) -> None:
    """``normalized_surface_dice(p, g, mode="multilabel", tolerance=t, spacing=s,
    include_background=True, reduction="none")`` == ``compute_surface_dice(p, g,
    class_thresholds=t, spacing=s, include_background=True)`` (``use_subvoxels=False``);
    without background ours takes the full-length ``t`` and MONAI ``t[1:]``."""
    shape, spacing = CASES[case]
    _, _, p, g = _masks(shape, seed=3)
    for background in (True, False):
        peer = _monai(monai_metrics.compute_surface_dice, tensor(p), tensor(g),
                      class_thresholds=tolerance if background else tolerance[1:],
                      spacing=spacing, include_background=background)
        ours = sx.normalized_surface_dice(tensor(p), tensor(g), mode="multilabel",
                                          tolerance=tolerance, spacing=spacing,
                                          include_background=background, reduction="none")
        _agree(ours, peer)


@pytest.mark.parametrize("ignore_empty", [True, False])
@pytest.mark.parametrize("include_background", [True, False])
def test_dice_score_vs_monai_dice_metric(ignore_empty: bool, include_background: bool) -> None:
    """``dice_score(lp, lg, num_classes=3, empty="ignore" if ie else "one",
    include_background=b, reduction=r)`` == ``DiceMetric(include_background=b,
    reduction=r, ignore_empty=ie)(p, g)`` (``.aggregate()`` for ``r="mean"``), ``p, g``
    the one-hot masks of ``lp, lg``."""
    pred, true, p, g = _masks((4, 12, 13), seed=4)
    empty = "ignore" if ignore_empty else "one"
    for reduction in ("none", "mean"):
        metric = monai_metrics.DiceMetric(include_background=include_background,
                                          reduction=reduction, ignore_empty=ignore_empty)
        per_call = _monai(metric, tensor(p).float(), tensor(g).float())
        peer = per_call if reduction == "none" else metric.aggregate().reshape(())
        ours = sx.dice_score(pred, true, num_classes=3, empty=empty,
                             include_background=include_background, reduction=reduction)
        _agree(ours, peer)
        assert not (reduction == "none" and ignore_empty) or np.isnan(value(peer)).any()


@pytest.mark.parametrize("ignore_empty", [True, False])
def test_iou_score_vs_monai_mean_iou(ignore_empty: bool) -> None:
    """``iou_score(p, g, mode="multilabel", empty="ignore" if ie else "one",
    include_background=False, reduction=r)`` == ``MeanIoU(include_background=False,
    reduction=r, ignore_empty=ie)(p, g)`` (``.aggregate()`` for ``r="mean"``)."""
    _, _, p, g = _masks((4, 12, 13), seed=5)
    empty = "ignore" if ignore_empty else "one"
    for reduction in ("none", "mean"):
        metric = monai_metrics.MeanIoU(include_background=False, reduction=reduction,
                                       ignore_empty=ignore_empty)
        per_call = _monai(metric, tensor(p).float(), tensor(g).float())
        peer = per_call if reduction == "none" else metric.aggregate().reshape(())
        ours = sx.iou_score(tensor(p), tensor(g), mode="multilabel", empty=empty,
                            include_background=False, reduction=reduction)
        _agree(ours, peer)


def test_oracle_agrees_with_monai() -> None:
    """The oracle itself (SciPy's transform, not a KD-tree) against MONAI: HD95 and NSD."""
    shape, spacing = CASES["3d"]
    _, _, p, g = _masks(shape, seed=6)
    peer, _ = _monai_hausdorff(p, g, percentile=95, spacing=spacing, include_background=True)
    _agree(oracle_metrics.hausdorff_distance(p, g, mode="multilabel", percentile=95,
                                             spacing=spacing, reduction="none"), peer)
    peer = _monai(monai_metrics.compute_surface_dice, tensor(p), tensor(g),
                  class_thresholds=[1.0] * 3, spacing=spacing, include_background=True)
    _agree(oracle_metrics.normalized_surface_dice(p, g, mode="multilabel", tolerance=1.0,
                                                  spacing=spacing, reduction="none"), peer)
