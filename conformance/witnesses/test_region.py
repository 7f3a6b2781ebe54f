"""MONAI as a witness for the region losses (agreement to 1e-6, float64 torch).

Each test states the exact keyword mapping. MONAI takes probabilities or applies
``softmax``/``sigmoid`` itself, wants a ``(N, 1, *spatial)`` label map with
``to_onehot_y=True``, and uses ``smooth_nr``/``smooth_dr``; ours adds ``smooth``
once to numerator and denominator, so ``smooth == smooth_nr == smooth_dr``.
Skipped with a reason when MONAI is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import segloss_xp as sx

torch = pytest.importorskip("torch", reason="torch is not installed")
losses = pytest.importorskip("monai.losses", reason="MONAI is not installed")

TOL = 1e-6


def _multiclass(seed: int = 0, c: int = 4, shape: tuple[int, ...] = (6, 7)):
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.normal(scale=2.0, size=(3, c, *shape)))
    y = rng.integers(0, c, size=(3, *shape))
    y[0][y[0] == c - 1] = 0  # class c-1 absent from image 0
    return x, torch.tensor(y)


def _binary(seed: int = 1):
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.normal(scale=2.0, size=(3, 1, 5, 6)))
    y = torch.tensor((rng.random((3, 1, 5, 6)) < 0.4).astype(np.float64))
    y[1] = 0.0  # an empty target
    return x, y


@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("squared", [False, True])
def test_dice_multiclass_vs_monai(include_background: bool, batch: bool, squared: bool) -> None:
    """``dice_loss(x, y, mode="multiclass", smooth=s, squared=q, batch=b, include_background=i)``
    == ``monai.losses.DiceLoss(softmax=True, to_onehot_y=True, smooth_nr=s, smooth_dr=s,
    squared_pred=q, batch=b, include_background=i)(x, y[:, None])``."""
    x, y = _multiclass()
    peer = losses.DiceLoss(softmax=True, to_onehot_y=True, smooth_nr=1e-5, smooth_dr=1e-5,
                           squared_pred=squared, batch=batch,
                           include_background=include_background)(x, y[:, None])
    ours = sx.dice_loss(x, y, squared=squared, batch=batch,
                        include_background=include_background)
    assert abs(float(ours) - float(peer)) < TOL


def test_dice_none_and_weights_vs_monai() -> None:
    """``reduction="none"`` gives MONAI's ``(N, C, 1, 1)`` table without the unit axes;
    ``class_weights=w`` (length C) == MONAI ``weight=w`` (plain mean, not renormalised)."""
    x, y = _multiclass(2)
    w = [0.5, 1.0, 2.0, 4.0]
    peer = losses.DiceLoss(softmax=True, to_onehot_y=True, weight=w, reduction="none")(
        x, y[:, None])
    ours = sx.dice_loss(x, y, class_weights=w, reduction="none")
    np.testing.assert_allclose(ours.numpy(), peer[..., 0, 0].numpy(), rtol=0, atol=TOL)


def test_dice_ignore_index_vs_monai() -> None:
    """``ignore_index=k`` == MONAI 1.6 ``DiceLoss(ignore_index=k)`` for an in-range label
    (the ignored class's channel is scored as an empty class by both)."""
    x, y = _multiclass(3)
    peer = losses.DiceLoss(softmax=True, to_onehot_y=True, ignore_index=2)(x, y[:, None])
    ours = sx.dice_loss(x, y, ignore_index=2)
    assert abs(float(ours) - float(peer)) < TOL


def test_dice_binary_and_soft_label_vs_monai() -> None:
    """Binary: ``dice_loss(x, y, mode="binary")`` == ``DiceLoss(sigmoid=True)``;
    ``soft_label=True`` == ``DiceLoss(soft_label=True)`` on soft targets."""
    x, y = _binary()
    peer = losses.DiceLoss(sigmoid=True)(x, y)
    assert abs(float(sx.dice_loss(x, y, mode="binary")) - float(peer)) < TOL
    soft = torch.clamp(y * 0.8 + 0.1, 0, 1)
    peer = losses.DiceLoss(sigmoid=True, soft_label=True)(x, soft)
    ours = sx.dice_loss(x, soft, mode="binary", soft_label=True)
    assert abs(float(ours) - float(peer)) < TOL
    # squared=True: MONAI's soft-label identity in the L2 norm (= Σ p·g)
    peer = losses.DiceLoss(sigmoid=True, soft_label=True, squared_pred=True)(x, soft)
    ours = sx.dice_loss(x, soft, mode="binary", soft_label=True, squared=True)
    assert abs(float(ours) - float(peer)) < TOL


@pytest.mark.parametrize(("alpha", "beta"), [(0.5, 0.5), (0.3, 0.7), (0.9, 0.1)])
def test_tversky_vs_monai(alpha: float, beta: float) -> None:
    """``tversky_loss(x, y, alpha=a, beta=b, smooth=s)`` == ``monai.losses.TverskyLoss(
    softmax=True, to_onehot_y=True, alpha=a, beta=b, smooth_nr=s, smooth_dr=s)`` (both:
    α weighs false positives)."""
    x, y = _multiclass(4)
    peer = losses.TverskyLoss(softmax=True, to_onehot_y=True, alpha=alpha, beta=beta)(
        x, y[:, None])
    ours = sx.tversky_loss(x, y, alpha=alpha, beta=beta)
    assert abs(float(ours) - float(peer)) < TOL


def test_tversky_batch_none_vs_monai() -> None:
    """``batch=True, reduction="none"`` gives ``(C,)``; MONAI gives ``(C, 1, 1)``."""
    x, y = _multiclass(5)
    peer = losses.TverskyLoss(softmax=True, to_onehot_y=True, alpha=0.3, beta=0.7,
                              batch=True, reduction="none")(x, y[:, None])
    ours = sx.tversky_loss(x, y, alpha=0.3, beta=0.7, batch=True, reduction="none")
    np.testing.assert_allclose(ours.numpy(), peer.reshape(-1).numpy(), rtol=0, atol=TOL)


@pytest.mark.parametrize("weight_type", ["square", "simple", "uniform"])
@pytest.mark.parametrize("include_background", [True, False])
def test_generalized_dice_vs_monai(weight_type: str, include_background: bool) -> None:
    """``generalized_dice_loss(x, y, weight_type=w, smooth=s, include_background=i)`` ==
    ``monai.losses.GeneralizedDiceLoss(softmax=True, to_onehot_y=True, w_type=w,
    smooth_nr=s, smooth_dr=s, include_background=i)``, absent classes included (both give
    an absent class the largest finite weight of its image)."""
    x, y = _multiclass(6)
    peer = losses.GeneralizedDiceLoss(softmax=True, to_onehot_y=True, w_type=weight_type,
                                      include_background=include_background)(x, y[:, None])
    ours = sx.generalized_dice_loss(x, y, weight_type=weight_type,
                                    include_background=include_background)
    assert abs(float(ours) - float(peer)) < TOL


def test_generalized_dice_none_vs_monai() -> None:
    """``reduction="none"`` -> ``(N,)``; MONAI returns ``(N, 1)``."""
    x, y = _multiclass(7)
    peer = losses.GeneralizedDiceLoss(softmax=True, to_onehot_y=True, reduction="none")(
        x, y[:, None])
    ours = sx.generalized_dice_loss(x, y, reduction="none")
    np.testing.assert_allclose(ours.numpy(), peer.reshape(-1).numpy(), rtol=0, atol=TOL)


def test_jaccard_vs_monai_mapping() -> None:
    """MONAI ``DiceLoss(jaccard=True, smooth_nr=2s, smooth_dr=2s)`` computes
    ``1 − (2I + 2s)/(2(P + G − I) + 2s)`` == our ``jaccard_loss(smooth=s)``."""
    x, y = _multiclass(8)
    peer = losses.DiceLoss(softmax=True, to_onehot_y=True, jaccard=True, smooth_nr=2e-5,
                           smooth_dr=2e-5)(x, y[:, None])
    assert abs(float(sx.jaccard_loss(x, y, smooth=1e-5)) - float(peer)) < TOL
