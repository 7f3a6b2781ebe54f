"""MONAI and smp as witnesses for the region losses (float64 torch).

Each test states the exact keyword mapping. MONAI takes probabilities or applies
``softmax``/``sigmoid`` itself, wants a ``(N, 1, *spatial)`` label map with
``to_onehot_y=True``, and uses ``smooth_nr``/``smooth_dr``; ours adds ``smooth``
once to numerator and denominator, so ``smooth == smooth_nr == smooth_dr``.
Skipped with a reason when MONAI is not installed.

Agreement to ``TOL = 1e-6`` for MONAI's ``DiceLoss``/``TverskyLoss``/
``GeneralizedDiceLoss``. ``mcc_loss``: every test asserts **oracle == peer** first and
then **library == peer**, to ``EXACT = 1e-12`` against MONAI 1.6.1 ``MCCLoss`` and smp
0.6.0 ``MCCLoss`` at ``eps = 0`` (both float64), to ``TOL`` against smp at its default
``eps``, which adds eps to each of TP, TN, FP, FN instead of once under the square root
(a first-order difference of about eps / smallest count, measured 1e-9 to 3e-8 here).
smp's ``MCCLoss`` comes from its ``losses`` subpackage only
(:func:`conformance.witnesses.smp_losses`: the package ``__init__`` needs
torchvision/timm/PIL).
"""

from __future__ import annotations

import numpy as np
import pytest

import segloss_xp as sx
from conformance import oracle
from conformance.helpers import one_hot
from conformance.witnesses import (
    EXACT,
    TOL,
    binary,
    close,
    import_peer,
    multiclass,
    multilabel,
    smp_losses,
    tensor,
    value,
)

torch = import_peer("torch")
losses = import_peer("monai.losses")


@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("squared", [False, True])
def test_dice_multiclass_vs_monai(include_background: bool, batch: bool, squared: bool) -> None:
    """``dice_loss(x, y, mode="multiclass", smooth=s, squared=q, batch=b, include_background=i)``
    == ``monai.losses.DiceLoss(softmax=True, to_onehot_y=True, smooth_nr=s, smooth_dr=s,
    squared_pred=q, batch=b, include_background=i)(x, y[:, None])``."""
    x, y = map(tensor, multiclass())
    peer = losses.DiceLoss(softmax=True, to_onehot_y=True, smooth_nr=1e-5, smooth_dr=1e-5,
                           squared_pred=squared, batch=batch,
                           include_background=include_background)(x, y[:, None])
    ours = sx.dice_loss(x, y, squared=squared, batch=batch,
                        include_background=include_background)
    assert abs(float(ours) - float(peer)) < TOL


def test_dice_none_and_weights_vs_monai() -> None:
    """``reduction="none"`` gives MONAI's ``(N, C, 1, 1)`` table without the unit axes;
    ``class_weights=w`` (length C) == MONAI ``weight=w`` (plain mean, not renormalised)."""
    x, y = map(tensor, multiclass(2))
    w = [0.5, 1.0, 2.0, 4.0]
    peer = losses.DiceLoss(softmax=True, to_onehot_y=True, weight=w, reduction="none")(
        x, y[:, None])
    ours = sx.dice_loss(x, y, class_weights=w, reduction="none")
    np.testing.assert_allclose(ours.numpy(), peer[..., 0, 0].numpy(), rtol=0, atol=TOL)


def test_dice_ignore_index_vs_monai() -> None:
    """``ignore_index=k`` == MONAI 1.6 ``DiceLoss(ignore_index=k)`` for an in-range label
    (the ignored class's channel is scored as an empty class by both)."""
    x, y = map(tensor, multiclass(3))
    peer = losses.DiceLoss(softmax=True, to_onehot_y=True, ignore_index=2)(x, y[:, None])
    ours = sx.dice_loss(x, y, ignore_index=2)
    assert abs(float(ours) - float(peer)) < TOL


def test_dice_binary_and_soft_label_vs_monai() -> None:
    """Binary: ``dice_loss(x, y, mode="binary")`` == ``DiceLoss(sigmoid=True)``;
    ``soft_label=True`` == ``DiceLoss(soft_label=True)`` on soft targets."""
    x, y = map(tensor, binary())
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
    x, y = map(tensor, multiclass(4))
    peer = losses.TverskyLoss(softmax=True, to_onehot_y=True, alpha=alpha, beta=beta)(
        x, y[:, None])
    ours = sx.tversky_loss(x, y, alpha=alpha, beta=beta)
    assert abs(float(ours) - float(peer)) < TOL


def test_tversky_batch_none_vs_monai() -> None:
    """``batch=True, reduction="none"`` gives ``(C,)``; MONAI gives ``(C, 1, 1)``."""
    x, y = map(tensor, multiclass(5))
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
    x, y = map(tensor, multiclass(6))
    peer = losses.GeneralizedDiceLoss(softmax=True, to_onehot_y=True, w_type=weight_type,
                                      include_background=include_background)(x, y[:, None])
    ours = sx.generalized_dice_loss(x, y, weight_type=weight_type,
                                    include_background=include_background)
    assert abs(float(ours) - float(peer)) < TOL


def test_generalized_dice_none_vs_monai() -> None:
    """``reduction="none"`` -> ``(N,)``; MONAI returns ``(N, 1)``."""
    x, y = map(tensor, multiclass(7))
    peer = losses.GeneralizedDiceLoss(softmax=True, to_onehot_y=True, reduction="none")(
        x, y[:, None])
    ours = sx.generalized_dice_loss(x, y, reduction="none")
    np.testing.assert_allclose(ours.numpy(), peer.reshape(-1).numpy(), rtol=0, atol=TOL)


def test_jaccard_vs_monai_mapping() -> None:
    """MONAI ``DiceLoss(jaccard=True, smooth_nr=2s, smooth_dr=2s)`` computes
    ``1 − (2I + 2s)/(2(P + G − I) + 2s)`` == our ``jaccard_loss(smooth=s)``."""
    x, y = map(tensor, multiclass(8))
    peer = losses.DiceLoss(softmax=True, to_onehot_y=True, jaccard=True, smooth_nr=2e-5,
                           smooth_dr=2e-5)(x, y[:, None])
    assert abs(float(sx.jaccard_loss(x, y, smooth=1e-5)) - float(peer)) < TOL


# ----------------------------------------------------------------------------- mcc_loss


@pytest.mark.parametrize("eps", [0.0, 1e-5])
@pytest.mark.parametrize("no_channel", [False, True])
def test_mcc_binary_batch_vs_smp(eps: float, no_channel: bool) -> None:
    """smp ``MCCLoss(eps=e)(p, y)`` (probabilities; TP, TN, FP, FN summed over the whole
    batch and every channel, then ``+ e`` each; no eps under the root)
    == ``mcc_loss(p, y, mode="binary", from_logits=False, batch=True, eps=e)``:
    identical formulas at ``e = 0`` (to 1e-12), first-order equal at ``e = 1e-5`` (both
    defaults; to 1e-6)."""
    smp = smp_losses()
    x, y = binary()
    p = 1.0 / (1.0 + np.exp(-x))
    if no_channel:
        p, y = p[:, 0], y[:, 0]
    tol = EXACT if eps == 0.0 else TOL
    peer = smp.MCCLoss(eps=eps)(tensor(p), tensor(y))
    p_o, y_o = (p[:, None], y[:, None]) if no_channel else (p, y)
    ours = oracle.mcc_loss(p_o, y_o, mode="binary", from_logits=False, batch=True, eps=eps)
    close(ours, peer, tol)
    # the same from logits (our sigmoid vs the caller's)
    close(oracle.mcc_loss(x, y_o, mode="binary", batch=True, eps=eps), peer, tol)
    got = sx.mcc_loss(tensor(p), tensor(y), mode="binary", from_logits=False, batch=True,
                      eps=eps)
    close(got, peer, tol)


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_mcc_multiclass_vs_monai(batch: bool, include_background: bool,
                                 reduction: str) -> None:
    """MONAI ``MCCLoss(softmax=True, to_onehot_y=True, smooth_nr=0, smooth_dr=e, batch=b,
    include_background=i, reduction=r)(x, y[:, None])`` == ``mcc_loss(x, y, eps=e,
    batch=b, include_background=i, reduction=r)``; ``"none"``: MONAI (N, C') / (C',) ==
    ours. Includes a class absent from one image (both: loss 1)."""
    x, y = multiclass()
    peer = losses.MCCLoss(softmax=True, to_onehot_y=True, smooth_nr=0.0, smooth_dr=1e-5,
                          batch=batch, include_background=include_background,
                          reduction=reduction)(tensor(x), tensor(y)[:, None])
    kw = {"batch": batch, "include_background": include_background, "reduction": reduction}
    close(oracle.mcc_loss(x, y, eps=1e-5, **kw), peer, EXACT)
    close(sx.mcc_loss(tensor(x), tensor(y), eps=1e-5, **kw), peer, EXACT)


def test_mcc_binary_and_multilabel_vs_monai() -> None:
    """``mcc_loss(x, y, mode="binary"|"multilabel")`` == MONAI ``MCCLoss(sigmoid=True)``
    (per image and channel, ``smooth_dr`` = our ``eps``, default 1e-5 in both)."""
    cases = [(*binary(), "binary"), (*multilabel(), "multilabel")]
    peers = [losses.MCCLoss(sigmoid=True, reduction="none")(tensor(x), tensor(y))
             for x, y, _ in cases]
    for (x, y, mode), peer in zip(cases, peers, strict=True):
        close(oracle.mcc_loss(x, y, mode=mode, reduction="none"), peer, EXACT)
        close(sx.mcc_loss(tensor(x), tensor(y), mode=mode, reduction="none"), peer, EXACT)


def test_mcc_perfect_prediction_deviates_from_monai() -> None:
    """Documented deviation: MONAI forces the loss to 0 where FP = FN = 0 exactly; we
    keep the formula, so a perfectly predicted *absent* class scores 1 (MCC undefined,
    taken as 0) and a perfectly predicted present class ``≈ eps / (2 TP² TN²)``."""
    _, y = multiclass(3)
    p = one_hot(y, 4)  # exact one-hot probabilities; class 3 absent from image 0
    peer = losses.MCCLoss(to_onehot_y=True, reduction="none")(tensor(p), tensor(y)[:, None])
    assert np.all(value(peer) == 0.0)
    ours = oracle.mcc_loss(p, y, from_logits=False, reduction="none")
    assert ours[0, 3] == 1.0
    rest = np.delete(ours.ravel(), 3)
    assert np.all((rest >= 0.0) & (rest < 1e-7))
    got = value(sx.mcc_loss(tensor(p), tensor(y), from_logits=False, reduction="none"))
    close(got, ours, EXACT)
