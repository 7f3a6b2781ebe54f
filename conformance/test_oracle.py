"""Self-checks of the float64 oracle: hand-computed tiny cases, torch parity for the
cross entropies, and identities between the losses.

These tests check the oracle itself; they never import segloss_xp.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from conformance import oracle as o

RNG_SEED = 20261121


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


# --------------------------------------------------------------------------------------
# A 1x2x2x2 hand case (N=1, C=2, 2x2 image), probabilities given directly.
#
#   p(class 1) = [[0.9, 0.2],      labels = [[1, 0],
#                 [0.6, 0.1]]                [1, 0]]
#   p(class 0) = 1 - p(class 1) = [[0.1, 0.8], [0.4, 0.9]]
#
# class 1: g = [1,0,1,0]  I = 0.9+0.6 = 1.5   P = 1.8   G = 2
# class 0: g = [0,1,0,1]  I = 0.8+0.9 = 1.7   P = 2.2   G = 2
# probability of the true class per pixel: p_t = [0.9, 0.8, 0.6, 0.9]
# --------------------------------------------------------------------------------------

P1 = np.array([[0.9, 0.2], [0.6, 0.1]])
PROBS = np.stack([1.0 - P1, P1])[None]  # (1, 2, 2, 2)
LABELS = np.array([[[1, 0], [1, 0]]])  # (1, 2, 2)
P_TRUE = np.array([0.9, 0.8, 0.6, 0.9])


def test_extreme_logits_are_exact() -> None:
    assert o.log_sigmoid(np.array(-1e4)) == -1e4
    assert o.log_sigmoid(np.array(1e4)) == 0.0
    logits = np.array([[[1e4], [-1e4]]])  # (1, 2, 1)
    assert_allclose(o.probabilities(logits, "multiclass")[0, :, 0], [1.0, 0.0], rtol=0, atol=0)
    assert_allclose(o.log_probabilities(logits, "multiclass")[0, :, 0], [0.0, -2e4])
    assert_allclose(o.log_one_minus_probabilities(logits, "multiclass")[0, :, 0], [-2e4, 0.0])
    binary = np.array([[[1e4, -1e4]]])
    assert_allclose(o.probabilities(binary, "binary")[0, 0], [1.0, 0.0], rtol=0, atol=0)
    assert_allclose(o.log_one_minus_probabilities(binary, "binary")[0, 0], [-1e4, 0.0])
    # CE at a saturated wrong logit is the logit gap, not a clipped value
    assert_allclose(o.cross_entropy(logits, np.array([[1]])), 2e4)
    assert_allclose(o.cross_entropy(np.array([[[-100.0]]]), np.array([[[1.0]]]),
                                    mode="binary"), 100.0)


def test_soft_confusion_hand() -> None:
    inter, pred, target = o.soft_confusion(PROBS, LABELS, from_logits=False)
    assert_allclose(inter, [[1.7, 1.5]])
    assert_allclose(pred, [[2.2, 1.8]])
    assert_allclose(target, [[2.0, 2.0]])
    _, pred2, target2 = o.soft_confusion(PROBS, LABELS, from_logits=False, squared=True)
    # squared: class 0 Σp² = .01+.64+.16+.81 = 1.62; class 1 = .81+.04+.36+.01 = 1.22
    assert_allclose(pred2, [[1.62, 1.22]])
    assert_allclose(target2, [[2.0, 2.0]])


def test_region_losses_hand() -> None:
    # Dice (s=0): class 0: 2·1.7/(2.2+2) = 3.4/4.2, class 1: 3/3.8
    dice = o.dice_loss(PROBS, LABELS, from_logits=False, smooth=0.0, reduction="none")
    assert_allclose(dice, [[1 - 3.4 / 4.2, 1 - 3.0 / 3.8]])
    assert_allclose(o.dice_loss(PROBS, LABELS, from_logits=False, smooth=0.0),
                    1 - (3.4 / 4.2 + 3.0 / 3.8) / 2)
    # with smooth s: (2I+s)/(P+G+s)
    s = 0.5
    assert_allclose(o.dice_loss(PROBS, LABELS, from_logits=False, smooth=s, reduction="none"),
                    [[1 - 3.9 / 4.7, 1 - 3.5 / 4.3]])
    # squared (V-Net): class 0: 3.4/(1.62+2), class 1: 3/(1.22+2)
    assert_allclose(o.dice_loss(PROBS, LABELS, from_logits=False, smooth=0.0, squared=True,
                                reduction="none"), [[1 - 3.4 / 3.62, 1 - 3.0 / 3.22]])
    # Jaccard: class 0: 1.7/(4.2-1.7), class 1: 1.5/(3.8-1.5)
    assert_allclose(o.jaccard_loss(PROBS, LABELS, from_logits=False, smooth=0.0,
                                   reduction="none"), [[1 - 1.7 / 2.5, 1 - 1.5 / 2.3]])
    # Tversky α=0.3 (FP), β=0.7 (FN):
    # class 0: FP = 2.2-1.7 = 0.5, FN = 0.3 -> 1.7/(1.7+0.15+0.21) = 1.7/2.06
    # class 1: FP = 0.3, FN = 0.5           -> 1.5/(1.5+0.09+0.35) = 1.5/1.94
    t = o.tversky_loss(PROBS, LABELS, from_logits=False, alpha=0.3, beta=0.7, smooth=0.0,
                       reduction="none")
    assert_allclose(t, [[1 - 1.7 / 2.06, 1 - 1.5 / 1.94]])
    ft = o.focal_tversky_loss(PROBS, LABELS, from_logits=False, smooth=0.0, reduction="none")
    assert_allclose(ft, [[(1 - 1.7 / 2.06) ** 0.75, (1 - 1.5 / 1.94) ** 0.75]])


def test_region_reduction_weights_and_background() -> None:
    per = o.dice_loss(PROBS, LABELS, from_logits=False, smooth=0.0, reduction="none")
    w = [2.0, 3.0]
    # plain mean of w_c·loss (MONAI), not renormalised by Σw
    assert_allclose(o.dice_loss(PROBS, LABELS, from_logits=False, smooth=0.0, class_weights=w),
                    (2 * per[0, 0] + 3 * per[0, 1]) / 2)
    assert_allclose(o.dice_loss(PROBS, LABELS, from_logits=False, smooth=0.0, class_weights=w,
                                reduction="sum"), 2 * per[0, 0] + 3 * per[0, 1])
    # include_background=False drops class 0 and weight entry 0
    nb = o.dice_loss(PROBS, LABELS, from_logits=False, smooth=0.0, class_weights=w,
                     include_background=False, reduction="none")
    assert nb.shape == (1, 1)
    assert_allclose(nb, [[3 * per[0, 1]]])
    # binary mode ignores include_background=False
    pb = P1[None, None]
    yb = (LABELS[:, None] == 1).astype(float)
    assert o.dice_loss(pb, yb, mode="binary", from_logits=False, include_background=False,
                       reduction="none").shape == (1, 1)
    # batch=True, "none" -> (C',)
    assert o.dice_loss(PROBS, LABELS, from_logits=False, batch=True,
                       reduction="none").shape == (2,)


def test_generalized_dice_hand() -> None:
    labels = np.array([[[1, 0], [0, 0]]])
    # class 1: g = [1,0,0,0]: I = 0.9, P = 1.8, G = 1
    # class 0: g = [0,1,1,1]: I = 0.8+0.4+0.9 = 2.1, P = 2.2, G = 3
    # square: w1 = 1, w0 = 1/9
    score = (2 * (1 * 0.9 + 2.1 / 9)) / ((1.8 + 1) + (2.2 + 3) / 9)
    gdl = o.generalized_dice_loss(PROBS, labels, from_logits=False, smooth=0.0,
                                  reduction="none")
    assert gdl.shape == (1,)
    assert_allclose(gdl, [1 - score])
    # simple: w1 = 1, w0 = 1/3
    score = (2 * (0.9 + 2.1 / 3)) / (2.8 + 5.2 / 3)
    assert_allclose(o.generalized_dice_loss(PROBS, labels, from_logits=False, smooth=0.0,
                                            weight_type="simple"), 1 - score)
    # uniform: (2·(0.9+2.1))/(2.8+5.2) = 6/8
    assert_allclose(o.generalized_dice_loss(PROBS, labels, from_logits=False, smooth=0.0,
                                            weight_type="uniform"), 1 - 6 / 8)
    # include_background=False: only class 1, w = 1 -> 1.8/2.8
    assert_allclose(o.generalized_dice_loss(PROBS, labels, from_logits=False, smooth=0.0,
                                            include_background=False), 1 - 1.8 / 2.8)


def test_generalized_dice_absent_class_gets_max_weight() -> None:
    labels = np.zeros((1, 2, 2), dtype=np.int64)
    # class 1 absent: G1 = 0 -> weight = max finite weight = w0 = 1/16
    # class 0: g = all ones: I = Σp0 = 2.2, P = 2.2, G = 4; class 1: I = 0, P = 1.8, G = 0
    score = (2 * 2.2 / 16) / ((2.2 + 4) / 16 + 1.8 / 16)
    assert_allclose(o.generalized_dice_loss(PROBS, labels, from_logits=False, smooth=0.0),
                    1 - score)
    # every included class absent -> all weights 0 -> (0+s)/(0+s) = 1 -> loss 0
    assert_allclose(o.generalized_dice_loss(PROBS, labels, from_logits=False,
                                            include_background=False), 0.0, atol=1e-15)
    assert o.generalized_dice_loss(PROBS, labels, from_logits=False, smooth=0.0,
                                   include_background=False) == 0.0


def test_empty_rule() -> None:
    probs = np.zeros((1, 1, 2, 2))
    target = np.zeros((1, 1, 2, 2))
    for fn in (o.dice_loss, o.jaccard_loss, o.tversky_loss, o.focal_tversky_loss,
               o.generalized_dice_loss):
        assert fn(probs, target, mode="binary", from_logits=False, smooth=0.0) == 0.0
    # empty target, non-empty prediction with smooth=0 -> loss 1
    probs[0, 0, 0, 0] = 0.5
    assert o.dice_loss(probs, target, mode="binary", from_logits=False, smooth=0.0) == 1.0


def test_pixel_losses_hand() -> None:
    nll = -np.log(P_TRUE)
    assert_allclose(o.cross_entropy(PROBS, LABELS, from_logits=False), nll.mean())
    # class weights [1, 3]: labels [1,0,1,0] -> weights [3,1,3,1]; mean = Σ w l / Σ w
    w_pix = np.array([3.0, 1.0, 3.0, 1.0])
    assert_allclose(o.cross_entropy(PROBS, LABELS, from_logits=False, class_weights=[1, 3]),
                    np.sum(w_pix * nll) / 8)
    assert_allclose(o.cross_entropy(PROBS, LABELS, from_logits=False, reduction="none"),
                    nll.reshape(1, 2, 2))
    # focal γ=2: Σ (1-p_t)² (-ln p_t) / 4
    assert_allclose(o.focal_loss(PROBS, LABELS, from_logits=False),
                    np.mean((1 - P_TRUE) ** 2 * nll))
    # softmax focal with float α=0.25 -> class weights [0.75, 0.25]; labels [1,0,1,0]
    a = np.array([0.25, 0.75, 0.25, 0.75])
    assert_allclose(o.focal_loss(PROBS, LABELS, from_logits=False, alpha=0.25),
                    np.mean(a * (1 - P_TRUE) ** 2 * nll))
    # conservative: 5 (1 + ln p_t)² ln(-ln p_t)
    cl = 5 * (1 + np.log(P_TRUE)) ** 2 * np.log(-np.log(P_TRUE))
    assert_allclose(o.conservative_loss(PROBS, LABELS, from_logits=False), cl.mean())
    # base 10: log_10 everywhere
    l10 = np.log10(P_TRUE)
    assert_allclose(o.conservative_loss(PROBS, LABELS, from_logits=False, base=10.0),
                    np.mean(5 * (1 + l10) ** 2 * np.log10(-l10)))


def test_binary_pixel_losses_hand() -> None:
    # logits 0 -> p = 0.5 everywhere; targets [1, 0]
    x = np.zeros((1, 1, 2))
    y = np.array([[[1.0, 0.0]]])
    ln2 = math.log(2)
    assert_allclose(o.cross_entropy(x, y, mode="binary"), ln2)
    # pos_weight 3: [3 ln2, ln2] -> mean 2 ln2
    assert_allclose(o.cross_entropy(x, y, mode="binary", pos_weight=3.0), 2 * ln2)
    # label smoothing does not change anything at p = 0.5
    assert_allclose(o.cross_entropy(x, y, mode="binary", label_smoothing=0.2), ln2)
    # balanced CE β = 0.8: [0.8 ln2, 0.2 ln2] -> mean 0.5 ln2
    assert_allclose(o.balanced_cross_entropy(x, y, mode="binary", beta=0.8), 0.5 * ln2)
    # focal γ=2, α=0.25: (1-p_t)² = 0.25; α_t = [0.25, 0.75]; mean = 0.25·ln2·0.5
    assert_allclose(o.focal_loss(x, y, mode="binary", alpha=0.25), 0.25 * ln2 * 0.5)
    # conservative: p_t = 0.5 for both -> 5 (1 - ln2)² ln(ln2)
    assert_allclose(o.conservative_loss(x, y, mode="binary"),
                    5 * (1 - ln2) ** 2 * math.log(ln2))
    # combo (α=β=0.5, s): 0.5·(ln2/2) − 0.5·(2·0.5+s)/(1+1+s)
    s = 1e-5
    assert_allclose(o.combo_loss(x, y, mode="binary"),
                    0.5 * (0.5 * ln2) - 0.5 * (1 + s) / (2 + s))
    # bce_dice = ln2 + 1 − (1+s)/(2+s)
    assert_allclose(o.bce_dice_loss(x, y), ln2 + 1 - (1 + s) / (2 + s))
    # soft target y = 0.25, p = 0.5: BCE = ln2, 1-p_t = 0.5 -> focal(γ=2) = 0.25 ln2
    assert_allclose(o.focal_loss(x[:, :, :1], np.array([[[0.25]]]), mode="binary"),
                    0.25 * ln2)


def test_given_probabilities_log_clamped_at_minus_100() -> None:
    """from_logits=False: log p and log(1 − p) are max(·, −100) (torch's
    binary_cross_entropy): p = 0 or 1 costs 100 where wrong, 0 where right, never inf."""
    p = np.array([[[0.0, 1e-50, 0.25, 1.0]]])  # (1, 1, 4)
    assert o.LOG_FLOOR == -100.0
    assert_allclose(o.log_probabilities(p, "binary", from_logits=False)[0, 0],
                    [-100.0, -100.0, math.log(0.25), 0.0], rtol=1e-15, atol=0)
    assert_allclose(o.log_one_minus_probabilities(p, "binary", from_logits=False)[0, 0],
                    [0.0, -1e-50, math.log(0.75), -100.0], rtol=1e-15, atol=0)
    # logits are never clamped: a logit gap of 2e4 stays 2e4 (test_extreme_logits_are_exact)
    assert o.log_probabilities(np.array([[[-1e4]]]), "binary")[0, 0, 0] == -1e4
    # binary BCE: y = [1, 1, 0, 0] on p = [0, 1, 1, 0] -> [100, 0, 100, 0]
    pb = np.array([[[0.0, 1.0, 1.0, 0.0]]])
    yb = np.array([[[1.0, 1.0, 0.0, 0.0]]])
    none = o.cross_entropy(pb, yb, mode="binary", from_logits=False, reduction="none")
    assert_allclose(none, [[[100.0, 0.0, 100.0, 0.0]]], rtol=0, atol=0)
    assert o.cross_entropy(pb, yb, mode="binary", from_logits=False) == 50.0
    # β-balanced: β·100 for the missed positive, (1 − β)·100 for the false positive
    assert_allclose(o.balanced_cross_entropy(pb, yb, mode="binary", from_logits=False,
                                             beta=0.3, reduction="none"),
                    [[[30.0, 0.0, 70.0, 0.0]]], rtol=1e-15, atol=0)
    # sigmoid focal: 1 − p_t = 1 where wrong, 0 where right -> the BCE itself
    assert_allclose(o.focal_loss(pb, yb, mode="binary", from_logits=False, reduction="none"),
                    none, rtol=1e-15, atol=0)
    # multiclass, labels [0, 1, 1]: p_label = 1, 0, 0.25 -> [0, 100, ln 4]
    pm = np.array([[[1.0, 1.0, 0.75], [0.0, 0.0, 0.25]]])
    ym = np.array([[0, 1, 1]])
    want = np.array([[0.0, 100.0, math.log(4.0)]])
    assert_allclose(o.cross_entropy(pm, ym, from_logits=False, reduction="none"), want,
                    rtol=1e-15)
    # softmax focal γ = 2: (1 − p_label)² = [0, 1, 0.5625]
    assert_allclose(o.focal_loss(pm, ym, from_logits=False, reduction="none"),
                    want * [0.0, 1.0, 0.5625], rtol=1e-15)
    # exp_log CE term (w_dice = 0): f = [1, 2], w = [sqrt(3), sqrt(1.5)];
    # mean of w_l·(−ln p_l)^0.3 = [0, sqrt(1.5)·100^0.3, sqrt(1.5)·(ln 4)^0.3] / 3
    assert_allclose(o.exp_log_loss(pm, ym, from_logits=False, w_dice=0.0, w_ce=1.0),
                    math.sqrt(1.5) * (100.0**0.3 + math.log(4.0) ** 0.3) / 3, rtol=1e-15)


def test_exp_log_hand() -> None:
    # N=1, C=2, 3 pixels; p(class 1) = [0.7, 0.4, 0.2], labels [1, 0, 0]
    p1 = np.array([0.7, 0.4, 0.2])
    probs = np.stack([1 - p1, p1])[None]
    labels = np.array([[1, 0, 0]])
    # class 1: I = 0.7, P = 1.3, G = 1 -> Dice = (1.4+1)/(2.3+1) = 2.4/3.3
    # class 0: p0 = [.3,.6,.8], I = 1.4, P = 1.7, G = 2 -> Dice = 3.8/4.7
    dice_term = np.mean([(-math.log(3.8 / 4.7)) ** 0.3, (-math.log(2.4 / 3.3)) ** 0.3])
    # frequencies f = [2, 1]: w0 = sqrt(3/2), w1 = sqrt(3)
    ce_term = np.mean([math.sqrt(3) * (-math.log(0.7)) ** 0.3,
                       math.sqrt(1.5) * (-math.log(0.6)) ** 0.3,
                       math.sqrt(1.5) * (-math.log(0.8)) ** 0.3])
    assert_allclose(o.exp_log_loss(probs, labels, from_logits=False),
                    0.8 * dice_term + 0.2 * ce_term)


def test_lovasz_grad_and_hinge_hand() -> None:
    # gt_sorted [0, 0, 1]: inter = 1-[0,0,1] = [1,1,0]; union = 1+[1,2,2] = [2,3,3]
    # J = [1/2, 2/3, 1]; grad = [1/2, 1/6, 1/3]
    assert_allclose(o.lovasz_grad([0, 0, 1]), [0.5, 1 / 6, 1 / 3])
    assert_allclose(o.lovasz_grad([1.0]), [1.0])
    # logits [2, -1, 0.5], labels [1, 0, 0]: errors = 1 - x·(2y-1) = [-1, 0, 1.5]
    # sorted desc: [1.5, 0, -1] with gt [0, 0, 1] -> relu·grad = 1.5·0.5 = 0.75
    x = np.array([[[2.0, -1.0, 0.5]]])
    y = np.array([[[1.0, 0.0, 0.0]]])
    assert_allclose(o.lovasz_hinge_loss(x, y), 0.75)
    assert_allclose(o.lovasz_hinge_loss(x[:, 0], y[:, 0], per_image=False), 0.75)


def test_lovasz_softmax_hand() -> None:
    # 2 pixels, p(class 1) = [0.8, 0.3], labels [1, 0]
    # class 1: errors |[1,0] - [.8,.3]| = [.2,.3]; sorted [.3 (gt 0), .2 (gt 1)]
    #          grad of [0,1]: J = 1 - [1,0]/[2,2] = [.5, 1] -> [.5, .5]; loss = .25
    # class 0: errors |[0,1] - [.2,.7]| = [.2,.3]; sorted [.3 (gt 1), .2 (gt 0)]
    #          grad of [1,0]: J = 1 - [0,0]/[1,2] = [1, 1] -> [1, 0]; loss = .3
    probs = np.array([[[0.2, 0.7], [0.8, 0.3]]])
    labels = np.array([[1, 0]])
    assert_allclose(o.lovasz_softmax_loss(probs, labels, from_logits=False), 0.275)
    assert_allclose(o.lovasz_softmax_loss(probs, labels, from_logits=False, classes=[1]), 0.25)
    # one-hot targets give the same (argmax)
    onehot = np.array([[[0.0, 1.0], [1.0, 0.0]]])
    assert_allclose(o.lovasz_softmax_loss(probs, onehot, from_logits=False), 0.275)


def test_lovasz_softmax_is_jaccard_loss_on_hard_predictions(rng: np.random.Generator) -> None:
    num_classes = 4
    labels = rng.integers(0, num_classes, size=(2, 5, 6))
    pred = rng.integers(0, num_classes, size=(2, 5, 6))
    probs = np.moveaxis(np.eye(num_classes)[pred], -1, 1)
    expected = []
    for c in range(num_classes):
        gt, pr = labels == c, pred == c
        if gt.sum() == 0:
            continue
        expected.append(1 - np.sum(gt & pr) / np.sum(gt | pr))
    assert_allclose(o.lovasz_softmax_loss(probs, labels, from_logits=False), np.mean(expected),
                    rtol=1e-12)
    all_classes = [1 - np.sum((labels == c) & (pred == c)) / max(np.sum((labels == c)
                                                                         | (pred == c)), 1)
                   for c in range(num_classes)]
    assert_allclose(o.lovasz_softmax_loss(probs, labels, from_logits=False, classes="all"),
                    np.mean(all_classes), rtol=1e-12)


# --------------------------------------------------------------------------------------
# torch parity for the cross entropies (float64, to 1e-12)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore_index", [None, 255, 2])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_multiclass_ce_matches_torch_labels(rng: np.random.Generator, reduction: str,
                                            ignore_index: int | None, label_smoothing: float,
                                            weighted: bool) -> None:
    torch = pytest.importorskip("torch", reason="torch is needed for the parity check")
    f = torch.nn.functional
    num_classes = 4
    logits = rng.normal(size=(2, num_classes, 3, 5)) * 3
    labels = rng.integers(0, num_classes, size=(2, 3, 5))
    if ignore_index is not None:
        labels[rng.random(labels.shape) < 0.25] = ignore_index
    weights = rng.uniform(0.2, 3.0, size=num_classes) if weighted else None
    expected = f.cross_entropy(
        torch.from_numpy(logits), torch.from_numpy(labels),
        weight=None if weights is None else torch.from_numpy(weights),
        ignore_index=-100 if ignore_index is None else ignore_index,
        reduction=reduction, label_smoothing=label_smoothing).numpy()
    got = o.cross_entropy(logits, labels, class_weights=weights, ignore_index=ignore_index,
                          label_smoothing=label_smoothing, reduction=reduction)
    assert np.shape(got) == np.shape(expected)
    assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("one_hot", [False, True])
def test_multiclass_ce_matches_torch_probability_targets(
        rng: np.random.Generator, reduction: str, label_smoothing: float, weighted: bool,
        one_hot: bool) -> None:
    torch = pytest.importorskip("torch", reason="torch is needed for the parity check")
    f = torch.nn.functional
    num_classes = 3
    logits = rng.normal(size=(2, num_classes, 4, 3)) * 2
    if one_hot:
        target = np.moveaxis(np.eye(num_classes)[rng.integers(0, num_classes, (2, 4, 3))],
                             -1, 1)
    else:
        target = np.moveaxis(rng.dirichlet(np.ones(num_classes), size=(2, 4, 3)), -1, 1)
    weights = rng.uniform(0.2, 3.0, size=num_classes) if weighted else None
    expected = f.cross_entropy(
        torch.from_numpy(logits), torch.from_numpy(target),
        weight=None if weights is None else torch.from_numpy(weights),
        reduction=reduction, label_smoothing=label_smoothing).numpy()
    got = o.cross_entropy(logits, target, class_weights=weights,
                          label_smoothing=label_smoothing, reduction=reduction)
    assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("mode", ["binary", "multilabel"])
@pytest.mark.parametrize("options", ["plain", "pos_weight", "class_weights", "smoothing",
                                     "pixel_weights", "all"])
def test_bce_matches_torch(rng: np.random.Generator, reduction: str, mode: str,
                           options: str) -> None:
    torch = pytest.importorskip("torch", reason="torch is needed for the parity check")
    f = torch.nn.functional
    channels = 1 if mode == "binary" else 3
    logits = rng.normal(size=(2, channels, 4, 5)) * 4
    logits[0, 0, 0, 0] = 1e4  # saturated logits stay exact
    logits[0, 0, 0, 1] = -1e4
    target = (rng.random(logits.shape) < 0.4).astype(np.float64)
    target[1, 0, 0, :2] = [0.3, 0.9]  # soft labels
    use = {"pos_weight", "class_weights", "smoothing", "pixel_weights"} if options == "all" \
        else {options}
    pos = rng.uniform(0.5, 4.0, size=channels) if "pos_weight" in use else None
    cw = rng.uniform(0.5, 2.0, size=channels) if "class_weights" in use else None
    eps = 0.1 if "smoothing" in use else 0.0
    pix = rng.uniform(0.0, 3.0, size=(2, 4, 5)) if "pixel_weights" in use else None

    element_weight = np.ones_like(logits)
    if cw is not None:
        element_weight = element_weight * cw.reshape(1, -1, 1, 1)
    if pix is not None:
        element_weight = element_weight * pix[:, None]
    expected = f.binary_cross_entropy_with_logits(
        torch.from_numpy(logits), torch.from_numpy(target * (1 - eps) + eps / 2),
        weight=torch.from_numpy(element_weight),
        pos_weight=None if pos is None else torch.from_numpy(pos.reshape(-1, 1, 1)),
        reduction=reduction).numpy()
    got = o.cross_entropy(logits, target, mode=mode, pos_weight=pos, class_weights=cw,
                          label_smoothing=eps, pixel_weights=pix, reduction=reduction)
    assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_multiclass_ce_pixel_weights_divide_by_valid_pixels(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch", reason="torch is needed for the parity check")
    f = torch.nn.functional
    logits = rng.normal(size=(2, 3, 4, 4))
    labels = rng.integers(0, 3, size=(2, 4, 4))
    labels[0, 0] = 255
    pix = rng.uniform(0.0, 2.0, size=(2, 4, 4))
    weights = np.array([0.5, 1.0, 2.0])
    per_pixel = f.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels),
                                weight=torch.from_numpy(weights), ignore_index=255,
                                reduction="none").numpy()
    expected = np.sum(per_pixel * pix) / np.sum(labels != 255)
    got = o.cross_entropy(logits, labels, class_weights=weights, pixel_weights=pix,
                          ignore_index=255)
    assert_allclose(got, expected, rtol=1e-12)


# --------------------------------------------------------------------------------------
# Identities
# --------------------------------------------------------------------------------------


def _random_case(rng: np.random.Generator, mode: str, shape: tuple[int, ...] = (2, 3, 4, 5),
                 ignore: bool = False) -> tuple[np.ndarray, np.ndarray, int | None]:
    n, c, *spatial = shape
    if mode == "binary":
        c = 1
    logits = rng.normal(size=(n, c, *spatial)) * 2
    if mode == "multiclass":
        labels = rng.integers(0, c, size=(n, *spatial))
        if ignore:
            labels[rng.random(labels.shape) < 0.2] = 255
        return logits, labels, 255 if ignore else None
    target = (rng.random(logits.shape) < 0.4).astype(np.float64)
    if ignore:
        target[rng.random(target.shape) < 0.2] = -1
    return logits, target, -1 if ignore else None


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("ignore", [False, True])
def test_dice_is_tversky_half_half(rng: np.random.Generator, mode: str, ignore: bool) -> None:
    x, y, ii = _random_case(rng, mode, ignore=ignore)
    # smooth=0: identical; smooth s: Dice(s) == Tversky(α=β=½, s/2) because
    # (I + s/2)/(I + ½FP + ½FN + s/2) = (2I + s)/(P + G + s)
    assert_allclose(o.dice_loss(x, y, mode=mode, ignore_index=ii, smooth=0.0, reduction="none"),
                    o.tversky_loss(x, y, mode=mode, ignore_index=ii, smooth=0.0,
                                   reduction="none"), rtol=1e-13, atol=1e-15)
    assert_allclose(o.dice_loss(x, y, mode=mode, ignore_index=ii, smooth=0.3, reduction="none"),
                    o.tversky_loss(x, y, mode=mode, ignore_index=ii, smooth=0.15,
                                   reduction="none"), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("mode", ["multiclass", "multilabel"])
def test_focal_tversky_gamma_one_is_tversky(rng: np.random.Generator, mode: str) -> None:
    x, y, ii = _random_case(rng, mode, ignore=True)
    assert_allclose(o.focal_tversky_loss(x, y, mode=mode, ignore_index=ii, alpha=0.3, beta=0.7,
                                         gamma=1.0, reduction="none"),
                    o.tversky_loss(x, y, mode=mode, ignore_index=ii, alpha=0.3, beta=0.7,
                                   reduction="none"), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
def test_batch_equals_concatenated_volume(rng: np.random.Generator, mode: str) -> None:
    x, y, ii = _random_case(rng, mode, ignore=True)
    x_cat = np.concatenate(list(x), axis=-1)[None]  # (1, C, H, N·W)
    y_cat = np.concatenate(list(y), axis=-1)[None]
    for fn in (o.dice_loss, o.jaccard_loss, o.tversky_loss, o.focal_tversky_loss, o.mcc_loss):
        assert_allclose(fn(x, y, mode=mode, ignore_index=ii, batch=True, reduction="none"),
                        fn(x_cat, y_cat, mode=mode, ignore_index=ii, reduction="none")[0],
                        rtol=1e-13)
    assert_allclose(o.generalized_dice_loss(x, y, mode=mode, ignore_index=ii, batch=True,
                                            reduction="none"),
                    o.generalized_dice_loss(x_cat, y_cat, mode=mode, ignore_index=ii,
                                            reduction="none")[0], rtol=1e-13)
    stats = o.soft_confusion(x, y, mode=mode, ignore_index=ii, batch=True)
    stats_cat = o.soft_confusion(x_cat, y_cat, mode=mode, ignore_index=ii)
    for a, b in zip(stats, stats_cat, strict=True):
        assert a.shape == (x.shape[1],)
        assert_allclose(a, b[0], rtol=1e-13)


def test_perfect_prediction_gives_zero_dice(rng: np.random.Generator) -> None:
    labels = rng.integers(0, 4, size=(2, 5, 5))
    labels[1] = np.where(labels[1] == 3, 0, labels[1])  # class 3 absent in image 1
    probs = np.moveaxis(np.eye(4)[labels], -1, 1)
    for squared in (False, True):
        assert_allclose(o.dice_loss(probs, labels, from_logits=False, squared=squared),
                        0.0, atol=1e-12)
    assert_allclose(o.jaccard_loss(probs, labels, from_logits=False), 0.0, atol=1e-12)
    assert_allclose(o.generalized_dice_loss(probs, labels, from_logits=False), 0.0, atol=1e-12)
    assert_allclose(o.dice_loss(probs, probs, from_logits=False, soft_label=True), 0.0,
                    atol=1e-12)


@pytest.mark.parametrize("ignore", [False, True])
def test_focal_gamma_zero_is_cross_entropy(rng: np.random.Generator, ignore: bool) -> None:
    x, y, ii = _random_case(rng, "multiclass", ignore=ignore)
    for reduction in ("mean", "sum", "none"):
        a = o.focal_loss(x, y, gamma=0.0, ignore_index=ii, reduction=reduction)
        b = o.cross_entropy(x, y, ignore_index=ii, reduction=reduction)
        assert np.array_equal(a, b)
    soft = np.moveaxis(rng.dirichlet(np.ones(3), size=(2, 4, 5)), -1, 1)
    assert np.array_equal(o.focal_loss(x, soft, gamma=0.0), o.cross_entropy(x, soft))
    for mode in ("binary", "multilabel"):
        xb, yb, iib = _random_case(rng, mode, ignore=ignore)
        assert_allclose(o.focal_loss(xb, yb, mode=mode, gamma=0.0, ignore_index=iib),
                        o.cross_entropy(xb, yb, mode=mode, ignore_index=iib), rtol=1e-15)


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
def test_soft_label_dice_equals_dice_for_hard_targets(rng: np.random.Generator,
                                                      mode: str) -> None:
    x, y, ii = _random_case(rng, mode, ignore=True)
    for fn in (o.dice_loss, o.jaccard_loss, o.tversky_loss):
        assert_allclose(fn(x, y, mode=mode, ignore_index=ii, soft_label=True, reduction="none"),
                        fn(x, y, mode=mode, ignore_index=ii, reduction="none"),
                        rtol=1e-12, atol=1e-14)


def test_soft_label_dice_is_minimised_at_soft_target(rng: np.random.Generator) -> None:
    target = rng.uniform(0.1, 0.9, size=(1, 1, 4, 4))
    at_target = o.dice_loss(target, target, mode="binary", from_logits=False, soft_label=True,
                            smooth=0.0)
    assert_allclose(at_target, 0.0, atol=1e-15)
    moved = np.clip(target + 0.05, 0, 1)
    assert o.dice_loss(moved, target, mode="binary", from_logits=False, soft_label=True,
                       smooth=0.0) > at_target


def test_lovasz_per_image_with_one_image(rng: np.random.Generator) -> None:
    x, y, ii = _random_case(rng, "multiclass", shape=(1, 4, 5, 6), ignore=True)
    for classes in ("present", "all", [0, 2]):
        assert_allclose(o.lovasz_softmax_loss(x, y, ignore_index=ii, classes=classes),
                        o.lovasz_softmax_loss(x, y, ignore_index=ii, classes=classes,
                                              per_image=True), rtol=1e-14)
    xb, yb, iib = _random_case(rng, "binary", shape=(1, 1, 5, 6), ignore=True)
    assert_allclose(o.lovasz_hinge_loss(xb, yb, ignore_index=iib, per_image=False),
                    o.lovasz_hinge_loss(xb, yb, ignore_index=iib, per_image=True), rtol=1e-14)


def test_lovasz_per_image_is_mean_over_images(rng: np.random.Generator) -> None:
    x, y, _ = _random_case(rng, "multiclass", shape=(3, 4, 5, 6))
    singles = [o.lovasz_softmax_loss(x[n:n + 1], y[n:n + 1]) for n in range(3)]
    assert_allclose(o.lovasz_softmax_loss(x, y, per_image=True), np.mean(singles), rtol=1e-14)
    # an image whose pixels are all ignored counts as 0 in the mean (reference behaviour)
    y2 = y.copy()
    y2[2] = 255
    assert_allclose(o.lovasz_softmax_loss(x, y2, per_image=True, ignore_index=255),
                    (singles[0] + singles[1]) / 3, rtol=1e-14)


# --------------------------------------------------------------------------------------
# An ignored element changes nothing compared to deleting it
# --------------------------------------------------------------------------------------


def _drop_column(a: np.ndarray, j: int) -> np.ndarray:
    return np.delete(a, j, axis=-1)


MULTICLASS_LOSSES = {
    "dice": lambda x, y, **k: o.dice_loss(x, y, reduction="none", **k),
    "dice_squared": lambda x, y, **k: o.dice_loss(x, y, squared=True, reduction="none", **k),
    "jaccard": lambda x, y, **k: o.jaccard_loss(x, y, reduction="none", **k),
    "tversky": lambda x, y, **k: o.tversky_loss(x, y, alpha=0.3, beta=0.7, reduction="none",
                                                **k),
    "focal_tversky": lambda x, y, **k: o.focal_tversky_loss(x, y, reduction="none", **k),
    "gdl": lambda x, y, **k: o.generalized_dice_loss(x, y, reduction="none", **k),
    "ce": lambda x, y, **k: o.cross_entropy(x, y, class_weights=[0.5, 2.0, 1.0],
                                            label_smoothing=0.1, **k),
    "focal": lambda x, y, **k: o.focal_loss(x, y, alpha=0.25, **k),
    "conservative": lambda x, y, **k: o.conservative_loss(x, y, **k),
    "balanced_ce": lambda x, y, **k: o.balanced_cross_entropy(x, y, beta=0.7, **k),
    "exp_log": lambda x, y, **k: o.exp_log_loss(x, y, **k),
    "lovasz": lambda x, y, **k: o.lovasz_softmax_loss(x, y, **k),
    "lovasz_per_image": lambda x, y, **k: o.lovasz_softmax_loss(x, y, per_image=True, **k),
    "combo": lambda x, y, **k: o.combo_loss(x, y, **k),
    "dice_ce": lambda x, y, **k: o.dice_ce_loss(x, y, class_weights=[0.5, 2.0, 1.0], **k),
    "mcc": lambda x, y, **k: o.mcc_loss(x, y, reduction="none", **k),
    "mcc_batch_eps0": lambda x, y, **k: o.mcc_loss(x, y, batch=True, eps=0.0,
                                                   reduction="none", **k),
    "focal_weights": lambda x, y, **k: o.focal_loss(x, y, alpha=[0.2, 0.5, 0.7],
                                                    class_weights=[0.5, 2.0, 1.0], **k),
    "dice_focal": lambda x, y, **k: o.dice_focal_loss(x, y, class_weights=[0.5, 2.0, 1.0],
                                                      alpha=0.25, gamma=1.5, **k),
    "dice_focal_nobg": lambda x, y, **k: o.dice_focal_loss(x, y, include_background=False,
                                                           reduction="sum", **k),
}


@pytest.mark.parametrize("name", sorted(MULTICLASS_LOSSES))
@pytest.mark.parametrize("target_kind", ["labels", "one_hot", "one_hot_in_range"])
def test_ignored_pixel_equals_deleted_multiclass(rng: np.random.Generator, name: str,
                                                 target_kind: str) -> None:
    fn = MULTICLASS_LOSSES[name]
    x = rng.normal(size=(2, 3, 2, 5)) * 2
    labels = rng.integers(0, 3, size=(2, 2, 5))
    labels[:, :, 0] = [[0, 1], [2, 0]]  # every class present in what stays
    if target_kind == "one_hot_in_range":
        # class 2 serves as the "ignore" channel: no kept pixel may carry it
        labels = np.where(labels == 2, 1, labels)
    j = 3
    small_labels = np.delete(labels, j, axis=-1)
    y_small = small_labels
    if target_kind == "labels":
        y = labels.copy()
        y[:, :, j] = 255
        ii = 255
    else:
        y_small = np.moveaxis(np.eye(3)[small_labels], -1, 1)
        y = np.moveaxis(np.eye(3)[labels], -1, 1)
        if target_kind == "one_hot":
            y[:, :, :, j] = 0.0  # all-zero target = ignored for an out-of-range ignore_index
            ii = -100
        else:
            y[:, :, :, j] = np.array([0.0, 0.0, 1.0])[:, None]  # y[:, 2] == 1 -> ignored
            ii = 2
    full = fn(x, y, ignore_index=ii)
    small = fn(_drop_column(x, j), y_small, ignore_index=None)
    assert_allclose(full, small, rtol=1e-12, atol=1e-14)


BINARY_LOSSES = {
    "dice": lambda x, y, m, **k: o.dice_loss(x, y, mode=m, reduction="none", **k),
    "jaccard": lambda x, y, m, **k: o.jaccard_loss(x, y, mode=m, reduction="none", **k),
    "tversky": lambda x, y, m, **k: o.tversky_loss(x, y, mode=m, reduction="none", **k),
    "gdl": lambda x, y, m, **k: o.generalized_dice_loss(x, y, mode=m, reduction="none", **k),
    "bce": lambda x, y, m, **k: o.cross_entropy(x, y, mode=m, pos_weight=2.0,
                                                label_smoothing=0.1, **k),
    "balanced_ce": lambda x, y, m, **k: o.balanced_cross_entropy(x, y, mode=m, beta=0.3, **k),
    "focal": lambda x, y, m, **k: o.focal_loss(x, y, mode=m, alpha=0.25, **k),
    "conservative": lambda x, y, m, **k: o.conservative_loss(x, y, mode=m, **k),
    "combo": lambda x, y, m, **k: o.combo_loss(x, y, mode=m, **k),
    "bce_dice": lambda x, y, m, **k: o.bce_dice_loss(x, y, mode=m, **k),
    "mcc": lambda x, y, m, **k: o.mcc_loss(x, y, mode=m, reduction="none", **k),
    "mcc_batch": lambda x, y, m, **k: o.mcc_loss(x, y, mode=m, batch=True, reduction="none",
                                                 **k),
    "focal_options": lambda x, y, m, **k: o.focal_loss(
        x, y, mode=m, gamma=1.5, alpha=[0.3, 0.8][:x.shape[1]],
        class_weights=[2.0, 0.5][:x.shape[1]], pos_weight=[3.0, 0.7][:x.shape[1]], **k),
    "dice_focal": lambda x, y, m, **k: o.dice_focal_loss(x, y, mode=m, alpha=0.25,
                                                         class_weights=[2.0, 0.5][:x.shape[1]],
                                                         include_background=False, **k),
}


@pytest.mark.parametrize("name", sorted(BINARY_LOSSES))
@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_ignored_element_equals_deleted_binary(rng: np.random.Generator, name: str,
                                               mode: str) -> None:
    fn = BINARY_LOSSES[name]
    channels = 1 if mode == "binary" else 2
    x = rng.normal(size=(2, channels, 1, 5)) * 2
    y = (rng.random(x.shape) < 0.5).astype(np.float64)
    j = 2
    y_ignored = y.copy()
    y_ignored[..., j] = 255.0
    full = fn(x, y_ignored, mode, ignore_index=255)
    small = fn(_drop_column(x, j), _drop_column(y, j), mode)
    assert_allclose(full, small, rtol=1e-12, atol=1e-14)


def test_ignored_element_equals_deleted_lovasz_hinge(rng: np.random.Generator) -> None:
    x = rng.normal(size=(2, 1, 3, 5))
    y = (rng.random(x.shape) < 0.5).astype(np.float64)
    y_ignored = y.copy()
    y_ignored[..., 1] = 255.0
    for per_image in (True, False):
        assert_allclose(o.lovasz_hinge_loss(x, y_ignored, ignore_index=255, per_image=per_image),
                        o.lovasz_hinge_loss(_drop_column(x, 1), _drop_column(y, 1),
                                            per_image=per_image), rtol=1e-13)


def test_ignored_pixels_are_zero_in_none_maps(rng: np.random.Generator) -> None:
    x, y, ii = _random_case(rng, "multiclass", ignore=True)
    for fn in (o.cross_entropy, o.focal_loss, o.conservative_loss):
        out = fn(x, y, ignore_index=ii, reduction="none")
        assert out.shape == y.shape
        assert np.all(out[y == 255] == 0.0)
    xb, yb, iib = _random_case(rng, "multilabel", ignore=True)
    out = o.cross_entropy(xb, yb, mode="multilabel", ignore_index=iib, reduction="none")
    assert out.shape == xb.shape
    assert np.all(out[yb == -1] == 0.0)


# --------------------------------------------------------------------------------------
# Helpers, masks and compound definitions
# --------------------------------------------------------------------------------------


def test_valid_mask_conventions() -> None:
    labels = np.array([[0, 1, 255, 2]])
    mask = o.valid_mask(labels, 3, "multiclass", 255, pred_ndim=3)
    assert mask.shape == (1, 1, 4)
    assert_allclose(mask[0, 0], [1, 1, 0, 1])
    onehot = o.targets_one_hot(labels, 3, "multiclass", pred_ndim=3)
    assert_allclose(onehot[0, :, 2], [0, 0, 0])  # out-of-range label -> zero column
    dense = np.moveaxis(np.eye(3)[[[0, 1, 2, 2]]], -1, 1)
    dense[0, :, 0] = 0.0
    assert_allclose(o.valid_mask(dense, 3, "multiclass", 2)[0, 0], [1, 1, 0, 0])
    assert_allclose(o.valid_mask(dense, 3, "multiclass", -100)[0, 0], [0, 1, 1, 1])
    binary = np.array([[[0.0, 1.0, -1.0]]])
    assert_allclose(o.valid_mask(binary, 1, "binary", -1), [[[1, 1, 0]]])


def test_compound_definitions(rng: np.random.Generator) -> None:
    x, y, ii = _random_case(rng, "multiclass", ignore=True)
    w = [0.5, 1.0, 2.0]
    assert_allclose(
        o.dice_ce_loss(x, y, lambda_dice=0.3, lambda_ce=0.7, class_weights=w, ignore_index=ii,
                       include_background=False),
        0.3 * o.dice_loss(x, y, class_weights=w, ignore_index=ii, include_background=False)
        + 0.7 * o.cross_entropy(x, y, class_weights=w, ignore_index=ii))
    xb, yb, _ = _random_case(rng, "binary")
    assert_allclose(o.dice_ce_loss(xb, yb, mode="binary"),
                    o.bce_dice_loss(xb, yb))
    assert_allclose(o.combo_loss(xb, yb, mode="binary", alpha=0.3, beta=0.8),
                    0.3 * o.balanced_cross_entropy(xb, yb, mode="binary", beta=0.8)
                    - 0.7 * (1 - o.dice_loss(xb, yb, mode="binary")))


def test_probability_inputs_match_logits(rng: np.random.Generator) -> None:
    x, y, ii = _random_case(rng, "multiclass", ignore=True)
    p = o.probabilities(x, "multiclass")
    assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    for fn in (o.dice_loss, o.cross_entropy, o.focal_loss, o.lovasz_softmax_loss):
        assert_allclose(fn(p, y, from_logits=False, ignore_index=ii),
                        fn(x, y, ignore_index=ii), rtol=1e-12)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="binary"):
        o.dice_loss(np.zeros((1, 1, 2)), np.zeros((1, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="labels"):
        o.cross_entropy(np.zeros((1, 2, 2)), np.array([[0, 5]]))
    with pytest.raises(ValueError, match="reduction"):
        o.dice_loss(PROBS, LABELS, reduction="avg")
    with pytest.raises(ValueError, match="pos_weight"):
        o.cross_entropy(PROBS, LABELS, pos_weight=2.0)


# --------------------------------------------------------------------------------------
# Matthews correlation coefficient loss
# --------------------------------------------------------------------------------------


def test_mcc_hand() -> None:
    # PROBS/LABELS, class 1: p = [.9,.2,.6,.1], g = [1,0,1,0]
    #   TP = 1.5, FP = 0.3, FN = 0.5, TN = 0.8 + 0.9 = 1.7 (= S − P − G + I = 4 − 1.8 − 2 + 1.5)
    #   TP·TN − FP·FN = 2.55 − 0.15 = 2.4; (TP+FP)(TP+FN)(TN+FP)(TN+FN) = 1.8·2·2·2.2 = 15.84
    # class 0 (p = 1 − p1, g = 1 − g1) swaps TP↔TN and FP↔FN: the same MCC.
    for eps in (0.0, 1e-5, 0.5):
        expected = 1 - 2.4 / math.sqrt(15.84 + eps)
        assert_allclose(o.mcc_loss(PROBS, LABELS, from_logits=False, eps=eps, reduction="none"),
                        [[expected, expected]], rtol=1e-14)
    # binary mode on class 1 alone gives the same value
    assert_allclose(o.mcc_loss(P1[None, None], (LABELS[:, None] == 1).astype(float),
                               mode="binary", from_logits=False, eps=0.0),
                    1 - 2.4 / math.sqrt(15.84), rtol=1e-14)
    # soft target g = [1, 0, 0.5, 0]: TP = .9+.3 = 1.2, P = 1.8, G = 1.5, S = 4
    #   FP = .6, FN = .3, TN = 4 − 1.8 − 1.5 + 1.2 = 1.9; num = 1.2·1.9 − .18 = 2.1
    #   den² = 1.8·1.5·(4 − 1.5)·(4 − 1.8) = 14.85
    soft = np.array([[[[1.0, 0.0], [0.5, 0.0]]]])
    assert_allclose(o.mcc_loss(P1[None, None], soft, mode="binary", from_logits=False, eps=0.0),
                    1 - 2.1 / math.sqrt(14.85), rtol=1e-14)


def test_mcc_reduction_weights_and_background() -> None:
    per = o.mcc_loss(PROBS, LABELS, from_logits=False, reduction="none")
    w = [2.0, 3.0]
    assert_allclose(o.mcc_loss(PROBS, LABELS, from_logits=False, class_weights=w),
                    (2 * per[0, 0] + 3 * per[0, 1]) / 2)
    assert_allclose(o.mcc_loss(PROBS, LABELS, from_logits=False, class_weights=w,
                               reduction="sum"), 2 * per[0, 0] + 3 * per[0, 1])
    nb = o.mcc_loss(PROBS, LABELS, from_logits=False, class_weights=w,
                    include_background=False, reduction="none")
    assert nb.shape == (1, 1)
    assert_allclose(nb, [[3 * per[0, 1]]])
    assert o.mcc_loss(PROBS, LABELS, from_logits=False, batch=True,
                      reduction="none").shape == (2,)


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("batch", [False, True])
def test_mcc_is_the_formula_over_soft_confusion(rng: np.random.Generator, mode: str,
                                                batch: bool) -> None:
    """TP = I, FP = P − I, FN = G − I, TN = S − P − G + I, S = valid elements."""
    x, y, ii = _random_case(rng, mode, ignore=True)
    inter, pred, target = o.soft_confusion(x, y, mode=mode, ignore_index=ii, batch=batch)
    mask = np.broadcast_to(o.valid_mask(y, x.shape[1], mode, ii, pred_ndim=x.ndim), x.shape)
    count = np.sum(mask, axis=(0, 2, 3))[None] if batch else np.sum(mask, axis=(2, 3))
    tp, fp, fn = inter, pred - inter, target - inter
    tn = count - pred - target + inter
    eps = 1e-5
    mcc = (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn) + eps)
    got = o.mcc_loss(x, y, mode=mode, ignore_index=ii, batch=batch, eps=eps, reduction="none")
    assert_allclose(got, (1 - mcc)[0] if batch else 1 - mcc, rtol=1e-12, atol=1e-14)


def test_mcc_perfect_and_inverted_predictions(rng: np.random.Generator) -> None:
    labels = rng.integers(0, 3, size=(2, 5, 6))
    labels[:, 0, :3] = [0, 1, 2]  # every class present in every image
    onehot = np.moveaxis(np.eye(3)[labels], -1, 1)
    # perfect: TP·TN / sqrt(TP²TN² + eps) -> loss ≈ eps / (2 TP² TN²), exactly 0 with eps=0
    assert_allclose(o.mcc_loss(onehot, labels, from_logits=False, eps=0.0, reduction="none"),
                    0.0, atol=1e-15)
    perfect = o.mcc_loss(onehot, labels, from_logits=False, reduction="none")
    assert np.all((perfect >= 0) & (perfect < 1e-6))
    # inverted (p = 1 − g): TP = TN = 0 -> MCC = −1 -> loss 2
    binary = (rng.random((2, 1, 4, 5)) < 0.5).astype(float)
    binary[:, 0, 0, :2] = [0.0, 1.0]
    assert_allclose(o.mcc_loss(1 - binary, binary, mode="binary", from_logits=False, eps=0.0),
                    2.0, rtol=1e-15)


def test_mcc_absent_or_full_class_scores_zero(rng: np.random.Generator) -> None:
    """G = 0 (or G = S, or P = 0): the numerator is 0, so MCC = 0, loss exactly 1 — with
    eps > 0 and with eps = 0 (zero denominator rule) alike; no perfect-prediction rule."""
    x = rng.normal(size=(2, 1, 3, 4))
    empty = np.zeros(x.shape)
    full = np.ones(x.shape)
    for eps in (0.0, 1e-5):
        for target in (empty, full):
            assert np.all(o.mcc_loss(x, target, mode="binary", eps=eps, reduction="none") == 1.0)
        # a perfect prediction of an empty target is still loss 1 (MONAI forces 0 there)
        assert o.mcc_loss(empty, empty, mode="binary", from_logits=False, eps=eps) == 1.0
        # P = 0 with a non-empty target
        assert o.mcc_loss(empty, full * (x > 0), mode="binary", from_logits=False,
                          eps=eps) == 1.0
    # multiclass: a class absent from image 0 scores 1 there
    labels = rng.integers(0, 2, size=(2, 3, 4))
    logits = rng.normal(size=(2, 3, 3, 4))
    assert np.all(o.mcc_loss(logits, labels, reduction="none")[:, 2] == 1.0)


def test_mcc_is_symmetric(rng: np.random.Generator) -> None:
    """MCC(p, g) = MCC(g, p) (FP ↔ FN), MCC(p, g) = MCC(1 − p, 1 − g) (TP ↔ TN)."""
    p = rng.uniform(0, 1, size=(2, 1, 4, 5))
    g = rng.uniform(0, 1, size=(2, 1, 4, 5))
    kw = {"mode": "binary", "from_logits": False, "reduction": "none"}
    forward = o.mcc_loss(p, g, **kw)
    assert_allclose(o.mcc_loss(g, p, **kw), forward, rtol=1e-13)
    assert_allclose(o.mcc_loss(1 - p, 1 - g, **kw), forward, rtol=1e-12)
    # multiclass with C = 2: both classes have the same MCC, equal to the binary one on the
    # logit difference
    x = rng.normal(size=(2, 2, 4, 5)) * 2
    labels = rng.integers(0, 2, size=(2, 4, 5))
    mc = o.mcc_loss(x, labels, reduction="none")
    assert_allclose(mc[:, 0], mc[:, 1], rtol=1e-12)
    binary = o.mcc_loss(x[:, 1:] - x[:, :1], (labels == 1)[:, None].astype(float),
                        mode="binary", reduction="none")
    assert_allclose(mc[:, 1:], binary, rtol=1e-12)


# --------------------------------------------------------------------------------------
# Focal loss options (sigmoid: class_weights, per-channel alpha, pos_weight)
# --------------------------------------------------------------------------------------


def test_sigmoid_focal_options_hand() -> None:
    # logits 0 -> p = 0.5, 1 − p_t = 0.5 everywhere; 2 channels, targets [1, 0] in each
    x = np.zeros((1, 2, 2))
    y = np.array([[[1.0, 0.0], [1.0, 0.0]]])
    ln2 = math.log(2)
    # γ = 2: each element 0.25·ln2·α_t·w·(pw on positives)
    # α = [0.2, 0.9]: channel 0 [0.2, 0.8], channel 1 [0.9, 0.1]
    got = o.focal_loss(x, y, mode="multilabel", alpha=[0.2, 0.9], reduction="none")
    assert_allclose(got, 0.25 * ln2 * np.array([[[0.2, 0.8], [0.9, 0.1]]]))
    # class weights [2, 3] and pos_weight [5, 1]
    got = o.focal_loss(x, y, mode="multilabel", alpha=[0.2, 0.9], class_weights=[2.0, 3.0],
                       pos_weight=[5.0, 1.0], reduction="none")
    assert_allclose(got, 0.25 * ln2 * np.array([[[2 * 0.2 * 5, 2 * 0.8], [3 * 0.9, 3 * 0.1]]]))
    assert_allclose(o.focal_loss(x, y, mode="multilabel", alpha=[0.2, 0.9],
                                 class_weights=[2.0, 3.0], pos_weight=[5.0, 1.0]),
                    np.mean(got))
    # a float alpha is the same α for every channel
    assert_allclose(o.focal_loss(x, y, mode="multilabel", alpha=0.3, reduction="none"),
                    o.focal_loss(x, y, mode="multilabel", alpha=[0.3, 0.3], reduction="none"))
    # soft target y = 0.25 with pos_weight 3: BCE = −(3·.25·ln .5 + .75·ln .5) = 1.5 ln2,
    # 1 − p_t = 0.5, α_t = 0.4·0.25 + 0.6·0.75 = 0.55
    assert_allclose(o.focal_loss(np.zeros((1, 1, 1)), np.array([[[0.25]]]), mode="binary",
                                 alpha=[0.4], pos_weight=3.0),
                    0.55 * 0.25 * 1.5 * ln2)


@pytest.mark.parametrize("mode", ["binary", "multilabel"])
@pytest.mark.parametrize("ignore", [False, True])
def test_sigmoid_focal_gamma_zero_is_weighted_bce(rng: np.random.Generator, mode: str,
                                                  ignore: bool) -> None:
    x, y, ii = _random_case(rng, mode, ignore=ignore)
    y = np.where(y == 1, 0.8, y)  # soft labels too
    c = x.shape[1]
    w = rng.uniform(0.5, 2.0, size=c)
    pw = rng.uniform(0.5, 3.0, size=c)
    a = rng.uniform(0.1, 0.9, size=c)
    for reduction in ("mean", "sum", "none"):
        # no alpha: exactly cross_entropy with the same pos_weight / class_weights
        assert_allclose(o.focal_loss(x, y, mode=mode, gamma=0.0, class_weights=w, pos_weight=pw,
                                     ignore_index=ii, reduction=reduction),
                        o.cross_entropy(x, y, mode=mode, class_weights=w, pos_weight=pw,
                                        ignore_index=ii, reduction=reduction),
                        rtol=1e-14, atol=1e-300)
    # per-channel alpha: BCE weighted by α_c y + (1 − α_c)(1 − y)
    valid = o.valid_mask(y, c, mode, ii)
    g = np.where(valid == 1, y, 0.0)
    view = (1, c, 1, 1)
    alpha_t = a.reshape(view) * g + (1 - a.reshape(view)) * (1 - g)
    bce = -(pw.reshape(view) * g * o.log_sigmoid(x) + (1 - g) * o.log_sigmoid(-x))
    expected = w.reshape(view) * alpha_t * bce * valid
    got = o.focal_loss(x, y, mode=mode, gamma=0.0, alpha=a, class_weights=w, pos_weight=pw,
                       ignore_index=ii, reduction="none")
    assert_allclose(got, expected, rtol=1e-13, atol=1e-300)
    assert_allclose(o.focal_loss(x, y, mode=mode, gamma=0.0, alpha=a, class_weights=w,
                                 pos_weight=pw, ignore_index=ii),
                    np.sum(expected) / np.sum(valid), rtol=1e-13)


def test_multiclass_focal_class_weights(rng: np.random.Generator) -> None:
    """Multiclass: w_c multiplies class c's term like α_c; mean over valid pixels."""
    x, y, ii = _random_case(rng, "multiclass", ignore=True)
    w = np.array([0.5, 2.0, 1.5])
    a = np.array([0.2, 0.7, 0.9])
    for reduction in ("mean", "sum", "none"):
        assert_allclose(o.focal_loss(x, y, class_weights=w, ignore_index=ii,
                                     reduction=reduction),
                        o.focal_loss(x, y, alpha=w, ignore_index=ii, reduction=reduction),
                        rtol=1e-15)
        assert_allclose(o.focal_loss(x, y, class_weights=w, alpha=a, ignore_index=ii,
                                     reduction=reduction),
                        o.focal_loss(x, y, alpha=w * a, ignore_index=ii, reduction=reduction),
                        rtol=1e-15)
    # γ = 0: a plain product, so "sum" equals weighted CE but "mean" does not divide by Σ w_y
    assert_allclose(o.focal_loss(x, y, gamma=0.0, class_weights=w, ignore_index=ii,
                                 reduction="sum"),
                    o.cross_entropy(x, y, class_weights=w, ignore_index=ii, reduction="sum"),
                    rtol=1e-14)
    n_valid = np.sum(y != ii)
    assert_allclose(o.focal_loss(x, y, gamma=0.0, class_weights=w, ignore_index=ii),
                    o.cross_entropy(x, y, class_weights=w, ignore_index=ii, reduction="sum")
                    / n_valid, rtol=1e-14)


def test_focal_option_errors() -> None:
    x = np.zeros((1, 2, 3))
    y = np.zeros((1, 2, 3))
    with pytest.raises(ValueError, match="pos_weight"):
        o.focal_loss(x, np.zeros((1, 3), dtype=np.int64), pos_weight=2.0)
    with pytest.raises(ValueError, match="alpha"):
        o.focal_loss(x, y, mode="multilabel", alpha=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="alpha"):
        o.focal_loss(x, y, mode="multilabel", alpha=[0.1, 1.2])
    with pytest.raises(ValueError, match="class_weights"):
        o.focal_loss(x, y, mode="multilabel", class_weights=[1.0])
    with pytest.raises(ValueError, match="pos_weight"):
        o.focal_loss(x, y, mode="multilabel", pos_weight=[1.0, 2.0, 3.0])


# --------------------------------------------------------------------------------------
# Dice + focal
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_dice_focal_is_dice_plus_focal(rng: np.random.Generator, mode: str,
                                       reduction: str) -> None:
    x, y, ii = _random_case(rng, mode, ignore=True)
    c = x.shape[1]
    w = rng.uniform(0.5, 2.0, size=c)
    a = rng.uniform(0.1, 0.9, size=c)
    common = {"mode": mode, "ignore_index": ii, "reduction": reduction}
    got = o.dice_focal_loss(x, y, class_weights=w, smooth=0.3, squared=True, batch=True,
                            gamma=1.5, alpha=a, lambda_dice=0.7, lambda_focal=1.9, **common)
    dice = o.dice_loss(x, y, class_weights=w, smooth=0.3, squared=True, batch=True, **common)
    focal = o.focal_loss(x, y, class_weights=w, gamma=1.5, alpha=a, **common)
    assert got == 0.7 * dice + 1.9 * focal
    # defaults: plain sum, γ = 2, no alpha
    assert o.dice_focal_loss(x, y, **common) == (o.dice_loss(x, y, **common)
                                                 + o.focal_loss(x, y, **common))


def test_dice_focal_without_background(rng: np.random.Generator) -> None:
    # multiclass: softmax over all C, class 0's focal term weighted 0, mean over valid pixels
    x, y, ii = _random_case(rng, "multiclass", ignore=True)
    w = np.array([0.5, 2.0, 1.5])
    for alpha in (None, 0.25, [0.2, 0.6, 0.9]):
        got = o.dice_focal_loss(x, y, class_weights=w, alpha=alpha, include_background=False,
                                ignore_index=ii)
        dice = o.dice_loss(x, y, class_weights=w, include_background=False, ignore_index=ii)
        focal = o.focal_loss(x, y, class_weights=[0.0, 2.0, 1.5], alpha=alpha,
                             ignore_index=ii)
        assert got == dice + focal
    # per pixel: the focal map is 0 wherever the label is 0 (or ignored)
    focal_map = o.focal_loss(x, y, class_weights=[0.0, 1.0, 1.0], ignore_index=ii,
                             reduction="none")
    assert np.all(focal_map[(y == 0) | (y == ii)] == 0.0)
    assert np.all(focal_map[(y == 1) | (y == 2)] > 0.0)
    # multilabel: channel 0 dropped, sequences lose entry 0, the mean runs over C − 1 channels
    xm, ym, iim = _random_case(rng, "multilabel", ignore=True)
    a = [0.2, 0.6, 0.9]
    got = o.dice_focal_loss(xm, ym, mode="multilabel", class_weights=w, alpha=a,
                            include_background=False, ignore_index=iim)
    dice = o.dice_loss(xm, ym, mode="multilabel", class_weights=w, include_background=False,
                       ignore_index=iim)
    focal = o.focal_loss(xm[:, 1:], ym[:, 1:], mode="multilabel", class_weights=w[1:],
                         alpha=a[1:], ignore_index=iim)
    assert got == dice + focal
    # binary: include_background is ignored (as for Dice)
    xb, yb, _ = _random_case(rng, "binary")
    assert (o.dice_focal_loss(xb, yb, mode="binary", include_background=False)
            == o.dice_focal_loss(xb, yb, mode="binary"))


def test_dice_focal_perfect_prediction_is_near_zero(rng: np.random.Generator) -> None:
    labels = rng.integers(0, 3, size=(2, 4, 5))
    labels[:, 0, :3] = [0, 1, 2]
    logits = 50.0 * (2 * np.moveaxis(np.eye(3)[labels], -1, 1) - 1)
    assert o.dice_focal_loss(logits, labels) < 1e-12
    assert o.dice_focal_loss(logits, labels, include_background=False) < 1e-12


def test_dice_focal_rejects_none_reduction() -> None:
    with pytest.raises(ValueError, match="reduction"):
        o.dice_focal_loss(PROBS, LABELS, reduction="none")
