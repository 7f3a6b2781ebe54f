"""Compound losses against MONAI 1.6 (``DiceCELoss``, ``DeepSupervisionLoss``).

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
=================================================  =========================================

Not comparable, by design: MONAI's binary ``weight`` (it becomes the BCE ``pos_weight``
*and* a Dice multiplier; see ``dice_ce_loss`` Notes); ``DiceCELoss(sigmoid=True)`` with
C > 1 (MONAI then still uses the *softmax* cross entropy, so there is no multilabel
counterpart); ``ignore_index`` (MONAI's ``DiceCELoss`` has none).

``DeepSupervisionLoss(loss, weights=w)`` resamples the target with
``F.interpolate(mode="nearest-exact")`` (source index ``floor((i + ½)·in/out)``), which is
our ``sampling="nearest-exact"``; our default ``"nearest"`` (``floor(i·in/out)``, i.e.
``y[::2]`` for ratio 2) picks other pixels, which the last test shows. MONAI does not
normalise weights (its ``"exp"`` mode is ``max(0.5^i, 1/16)``); explicit ``weights`` are
used as given on both sides. MONAI casts every prediction to float32 (``input.float()``),
so that comparison runs in float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from segloss_xp.compound import deep_supervision, dice_ce_loss

torch = pytest.importorskip("torch")
monai_losses = pytest.importorskip("monai.losses", reason="MONAI is not installed "
                                   "(pip install monai==1.6.1) - peer comparison skipped")

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
    onehot = np.stack([y == c for c in range(3)], axis=1).astype(np.float64)
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
