"""Compound losses against MONAI 1.6 (``DiceCELoss``, ``DeepSupervisionLoss``,
``DiceFocalLoss``).

Keyword mapping, MONAI -> segloss_xp (multiclass logits ``x`` (N, C, *sp), integer labels
``y`` (N, *sp); MONAI wants the labels as ``y[:, None]``):

=================================================  =========================================
``DiceCELoss(softmax=True, to_onehot_y=True)``     ``dice_ce_loss(x, y)``
``include_background=ib``                          ``include_background=ib``
``smooth_nr=s, smooth_dr=s``                       ``smooth=s``
``squared_pred=sq``, ``batch=b``                   ``squared=sq``, ``batch=b``
``weight=torch.tensor(w)`` (length C)              ``class_weights=w`` (length C as well)
``lambda_dice``, ``lambda_ce``, ``label_smoothing``  the same names
``reduction="mean" | "sum"``                       the same
one-hot float target, ``to_onehot_y=False``        the one-hot target (CE on probabilities)
``DiceCELoss(sigmoid=True)``, one channel          ``dice_ce_loss(x, y, mode="binary")``
``weight=torch.tensor([w])``, one channel          ``pos_weight=w``
=================================================  =========================================

MONAI's binary ``weight`` becomes the BCE's ``pos_weight`` only: its ``DiceLoss`` ignores
``weight`` when there is one channel (MONAI 1.6), so ``DiceCELoss(weight=[w],
sigmoid=True)`` is ``dice_ce_loss(x, y, mode="binary", pos_weight=w)`` (1.445239 on MONAI's
own test case 6; ``test_mappings.py`` checks it). Not comparable, by design:
``DiceCELoss(sigmoid=True)`` with C > 1 (MONAI then still uses the *softmax* cross
entropy, so there is no multilabel counterpart); ``ignore_index`` (MONAI's ``DiceCELoss`` has none).

``DeepSupervisionLoss(loss, weights=w)`` resamples the target with
``F.interpolate(mode="nearest-exact")`` (source index ``floor((i + ½)·in/out)``), which is
our ``sampling="nearest-exact"``; our default ``"nearest"`` (``floor(i·in/out)``, i.e.
``y[::2]`` for ratio 2) picks other pixels, which the last test shows. MONAI does not
normalise weights (its ``"exp"`` mode is ``max(0.5^i, 1/16)``); explicit ``weights`` are
used as given on both sides. MONAI casts every prediction to float32 (``input.float()``),
so that comparison runs in float32.

``dice_focal_loss``: each test asserts **oracle == peer** first and then **library ==
peer**, to ``TOL = 1e-6`` (MONAI's ``FocalLoss`` / ``DiceFocalLoss`` cast the input to
float32; measured differences 1e-8 to 3e-7); a ``"sum"`` is compared relatively.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from conformance import oracle
from conformance.helpers import one_hot
from conformance.witnesses import TOL, binary, close, import_peer, multiclass, multilabel, tensor
from segloss_xp.compound import deep_supervision, dice_ce_loss

torch = import_peer("torch")
monai_losses = import_peer("monai.losses")

RTOL = 1e-6


def _data(seed: int, shape: tuple[int, ...] = (2, 3, 6, 7)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, c, *sp = shape
    return 2.0 * rng.normal(size=shape), rng.integers(0, c, size=(n, *sp))


DICE_CE_CONFIGS: list[dict[str, Any]] = [
    {},
    {"include_background": False},
    {"weight": (0.3, 1.0, 2.5)},
    {"weight": (0.3, 1.0, 2.5), "include_background": False, "reduction": "sum"},
    {"label_smoothing": 0.15, "lambda_dice": 0.4, "lambda_ce": 1.6},
    {"squared_pred": True, "batch": True, "smooth_nr": 0.5, "smooth_dr": 0.5},
]


def _ours(cfg: dict[str, Any]) -> dict[str, Any]:
    mapping = {"weight": "class_weights", "squared_pred": "squared", "smooth_nr": "smooth"}
    out = {mapping.get(k, k): v for k, v in cfg.items() if k != "smooth_dr"}
    assert cfg.get("smooth_nr") == cfg.get("smooth_dr"), "we have one smooth for both"
    return out


def _monai(cfg: dict[str, Any], **fixed: Any) -> Any:
    kw = dict(cfg)
    if "weight" in kw:
        kw["weight"] = torch.tensor(kw["weight"], dtype=torch.float64)
    return monai_losses.DiceCELoss(**fixed, **kw)


@pytest.mark.parametrize("cfg", DICE_CE_CONFIGS, ids=lambda c: ",".join(c) or "defaults")
def test_dice_ce_matches_monai_labels(cfg: dict[str, Any]) -> None:
    x, y = _data(0)
    want = _monai(cfg, softmax=True, to_onehot_y=True)(torch.asarray(x), torch.asarray(y)[:, None])
    got = dice_ce_loss(torch.asarray(x), torch.asarray(y), **_ours(cfg))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=RTOL)


@pytest.mark.parametrize("cfg", DICE_CE_CONFIGS[:4], ids=lambda c: ",".join(c) or "defaults")
def test_dice_ce_matches_monai_onehot(cfg: dict[str, Any]) -> None:
    x, y = _data(1, (2, 3, 4, 3, 5))  # 3-D
    onehot = one_hot(y, 3)
    want = _monai(cfg, softmax=True)(torch.asarray(x), torch.asarray(onehot))
    got = dice_ce_loss(torch.asarray(x), torch.asarray(onehot), **_ours(cfg))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=RTOL)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_dice_ce_matches_monai_binary(reduction: str) -> None:
    rng = np.random.default_rng(2)
    x = 2.0 * rng.normal(size=(3, 1, 5, 6))
    y = (rng.random(size=x.shape) < 0.3).astype(np.float64)
    want = monai_losses.DiceCELoss(sigmoid=True, reduction=reduction)(torch.asarray(x),
                                                                      torch.asarray(y))
    got = dice_ce_loss(torch.asarray(x), torch.asarray(y), mode="binary", reduction=reduction)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=RTOL)


def _pyramid(seed: int, full: tuple[int, ...], scales: list[tuple[int, ...]]
             ) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    preds = [rng.normal(size=(2, 3, *s)).astype(np.float32) for s in [full, *scales]]
    return preds, rng.integers(0, 3, size=(2, *full))


@pytest.mark.parametrize("shapes", [
    ((8, 10), [(4, 5), (2, 3)]),  # 2-D, integer and non-integer ratios
    ((8, 10), [(5, 7), (3, 3)]),  # 2-D, non-integer ratios
    ((6, 8, 4), [(3, 4, 2), (2, 2, 1)]),  # 3-D
], ids=["2d", "2d-nonint", "3d"])
def test_deep_supervision_matches_monai(shapes: tuple) -> None:
    full, scales = shapes
    preds, labels = _pyramid(3, full, scales)
    weights = [1.0, 0.5, 0.25]  # MONAI weight_mode="exp" for three levels
    monai_loss = monai_losses.DeepSupervisionLoss(
        monai_losses.DiceCELoss(softmax=True, to_onehot_y=True), weight_mode="exp")
    want = monai_loss([torch.asarray(p) for p in preds],
                      torch.asarray(labels[:, None].astype(np.float32)))
    got = deep_supervision(dice_ce_loss, [torch.asarray(p) for p in preds],
                           torch.asarray(labels), weights=weights, sampling="nearest-exact")
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


def test_deep_supervision_default_sampling_differs_from_monai() -> None:
    """Ratio 2: MONAI ('nearest-exact') takes odd rows/columns, our default even ones."""
    labels = np.arange(16).reshape(1, 1, 4, 4).astype(np.float32)
    monai_target = torch.nn.functional.interpolate(torch.asarray(labels), size=(2, 2),
                                                   mode="nearest-exact")
    np.testing.assert_array_equal(monai_target.numpy()[0, 0], labels[0, 0, 1::2, 1::2])
    seen: list[Any] = []

    def record(pred: Any, target: Any, **_: Any) -> Any:
        seen.append(target)
        return torch.zeros(())

    deep_supervision(record, [torch.zeros(1, 1, 2, 2)], torch.asarray(labels))
    np.testing.assert_array_equal(seen[0].numpy()[0, 0], labels[0, 0, ::2, ::2])


# ----------------------------------------------------------------------------- dice_focal_loss


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_dice_focal_binary_vs_monai(reduction: str, weighted: bool) -> None:
    """``dice_focal_loss(x, y, mode="binary", class_weights=[w], alpha=a, gamma=g,
    smooth=s, squared=q, batch=b, lambda_dice=ld, lambda_focal=lf, reduction=r)`` ==
    MONAI ``DiceFocalLoss(sigmoid=True, weight=w, alpha=a, gamma=g, smooth_nr=s,
    smooth_dr=s, squared_pred=q, batch=b, lambda_dice=ld·w, lambda_focal=lf·k,
    reduction=r)`` with ``k = 1`` for ``"mean"`` and ``k = #spatial elements`` for
    ``"sum"`` (MONAI's focal ``"sum"`` sums the per-(n, c) *spatial means*; ours sums
    every element), and ``ld·w`` because MONAI's ``DiceLoss`` ignores ``weight`` for a
    single channel while its ``FocalLoss`` applies it."""
    x, y = binary()
    w = 2.5 if weighted else 1.0
    k = 1.0 if reduction == "mean" else float(np.prod(x.shape[2:]))
    peer = monai_losses.DiceFocalLoss(
        sigmoid=True, weight=w if weighted else None, alpha=0.25, gamma=1.5,
        smooth_nr=1e-4, smooth_dr=1e-4, squared_pred=True, batch=True,
        lambda_dice=0.8 * w, lambda_focal=0.6 * k, reduction=reduction)(tensor(x), tensor(y))
    kw = {"mode": "binary", "class_weights": [w] if weighted else None, "alpha": 0.25,
          "gamma": 1.5, "smooth": 1e-4, "squared": True, "batch": True, "lambda_dice": 0.8,
          "lambda_focal": 0.6, "reduction": reduction}
    close(oracle.dice_focal_loss(x, y, **kw), peer, TOL, relative=True)
    close(sx.dice_focal_loss(tensor(x), tensor(y), **kw), peer, TOL, relative=True)


@pytest.mark.parametrize("include_background", [True, False])
def test_dice_focal_multilabel_vs_monai(include_background: bool) -> None:
    """``dice_focal_loss(x, y, mode="multilabel", class_weights=w, alpha=a, gamma=g,
    include_background=i)`` == MONAI ``DiceFocalLoss(sigmoid=True, weight=w if i else
    w[1:], alpha=a, gamma=g, include_background=i)``: both drop channel 0 from Dice and
    focal (focal mean over the remaining N·(C−1)·spatial elements)."""
    x, y = multilabel()
    w = [0.5, 2.0, 1.5]
    peer = monai_losses.DiceFocalLoss(sigmoid=True, weight=w if include_background else w[1:],
                                      alpha=0.25, gamma=1.5,
                                      include_background=include_background)(tensor(x), tensor(y))
    kw = {"mode": "multilabel", "class_weights": w, "alpha": 0.25, "gamma": 1.5,
          "include_background": include_background}
    close(oracle.dice_focal_loss(x, y, **kw), peer, TOL)
    close(sx.dice_focal_loss(tensor(x), tensor(y), **kw), peer, TOL)


@pytest.mark.parametrize("alpha", [None, 0.25, (0.1, 0.4, 0.7, 0.9)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_dice_focal_multiclass_vs_monai_softmax_focal(alpha: Any, reduction: str) -> None:
    """Multiclass, integer labels: ``dice_focal_loss(x, y, class_weights=w, alpha=a,
    gamma=g, lambda_dice=ld, lambda_focal=lf, reduction=r)`` == MONAI
    ``DiceFocalLoss(softmax=True, to_onehot_y=True, weight=w, gamma=g, lambda_dice=ld,
    lambda_focal=lf·k, reduction=r)`` whose focal member is replaced by
    ``FocalLoss(use_softmax=True, weight=w, alpha=a, gamma=g, reduction=r)`` (stock
    ``DiceFocalLoss`` never forwards ``use_softmax``: see the next test).
    ``k = C`` for ``"mean"`` (MONAI divides the softmax focal by N·C·spatial, we by the
    N·spatial pixels) and ``k = #spatial elements`` for ``"sum"``."""
    x, y = multiclass(4)
    c = x.shape[1]
    w = [0.5, 1.0, 2.0, 4.0]
    k = float(c) if reduction == "mean" else float(np.prod(x.shape[2:]))
    loss = monai_losses.DiceFocalLoss(softmax=True, to_onehot_y=True, weight=w, gamma=1.5,
                                      lambda_dice=0.7, lambda_focal=1.3 * k,
                                      reduction=reduction)
    loss.focal = monai_losses.FocalLoss(use_softmax=True, weight=w, gamma=1.5,
                                        alpha=alpha,
                                        reduction=reduction)
    peer = loss(tensor(x), tensor(y)[:, None])
    kw = {"class_weights": w, "alpha": alpha, "gamma": 1.5, "lambda_dice": 0.7,
          "lambda_focal": 1.3, "reduction": reduction}
    close(oracle.dice_focal_loss(x, y, **kw), peer, TOL, relative=True)
    close(sx.dice_focal_loss(tensor(x), tensor(y), **kw), peer, TOL, relative=True)


@pytest.mark.parametrize("alpha", [None, 0.25, (0.1, 0.4, 0.7, 0.9)])
def test_dice_focal_multiclass_without_background_vs_monai(alpha: Any) -> None:
    """``dice_focal_loss(x, y, class_weights=w, alpha=a, include_background=False)`` ==
    MONAI ``DiceLoss(softmax=True, to_onehot_y=True, include_background=False,
    weight=w[1:]) + C · FocalLoss(to_onehot_y=True, use_softmax=True,
    weight=[0, *w[1:]], alpha=a)``: our focal keeps the softmax over all C classes and
    drops class 0's *term* (MONAI's ``FocalLoss(include_background=False)`` instead
    re-normalises the softmax over channels 1.. and drops a scalar alpha)."""
    x, y = multiclass(5)
    c = x.shape[1]
    w = [0.5, 1.0, 2.0, 4.0]
    dice = monai_losses.DiceLoss(softmax=True, to_onehot_y=True, include_background=False,
                                 weight=w[1:])(tensor(x), tensor(y)[:, None])
    focal = monai_losses.FocalLoss(to_onehot_y=True, use_softmax=True, weight=[0.0, *w[1:]],
                                   alpha=alpha)(tensor(x), tensor(y)[:, None])
    peer = dice + c * focal
    kw = {"class_weights": w, "alpha": alpha, "include_background": False}
    close(oracle.dice_focal_loss(x, y, **kw), peer, TOL)
    close(sx.dice_focal_loss(tensor(x), tensor(y), **kw), peer, TOL)


@pytest.mark.parametrize("include_background", [True, False])
def test_stock_monai_multiclass_dice_focal_is_sigmoid_focal(include_background: bool) -> None:
    """Documented deviation: stock ``DiceFocalLoss(softmax=True, to_onehot_y=True)``
    scores the focal term with the *sigmoid* (one-vs-rest) focal on the raw logits
    against the one-hot target. It equals ``dice_loss(x, y) + focal_loss(x, onehot(y)
    [, 1:], mode="multilabel")`` — not our ``dice_focal_loss``, whose multiclass focal is
    the softmax focal (DESIGN §4)."""
    x, y = multiclass(6)
    c = x.shape[1]
    w = [0.5, 1.0, 2.0, 4.0]
    start = 0 if include_background else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = monai_losses.DiceFocalLoss(softmax=True, to_onehot_y=True, weight=w[start:],
                                          alpha=0.25, include_background=include_background,
                                          )(tensor(x), tensor(y)[:, None])
    onehot = one_hot(y, c)
    recipe = (oracle.dice_loss(x, y, class_weights=w, include_background=include_background)
              + oracle.focal_loss(x[:, start:], onehot[:, start:], mode="multilabel",
                                  alpha=0.25, class_weights=w[start:]))
    close(recipe, peer, TOL)
    ours = oracle.dice_focal_loss(x, y, class_weights=w, alpha=0.25,
                                  include_background=include_background)
    assert abs(ours - float(peer)) > 1e-3
    got = (sx.dice_loss(tensor(x), tensor(y), class_weights=w,
                        include_background=include_background)
           + sx.focal_loss(tensor(x[:, start:]), tensor(onehot[:, start:]), mode="multilabel",
                           alpha=0.25, class_weights=w[start:]))
    close(got, peer, TOL)
