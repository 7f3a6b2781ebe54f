"""Peer witnesses for ``mcc_loss``, ``dice_focal_loss`` and the sigmoid ``focal_loss``
options (``class_weights``, per-channel ``alpha``, ``pos_weight``).

Every test asserts **oracle == peer** first (so the float64 oracle is validated against
the peer today) and then **library == peer**; the library half skips, with the reason,
while ``segloss_xp`` lacks the function or keyword. Each docstring states the exact
keyword mapping.

Peers: segmentation_models_pytorch 0.6.0 ``MCCLoss`` (only its ``losses`` subpackage is
imported: the package ``__init__`` needs torchvision/timm/PIL), MONAI 1.6.1 ``MCCLoss``,
``DiceLoss``, ``FocalLoss``, ``DiceFocalLoss`` and the functions
``monai.losses.focal_loss.sigmoid_focal_loss``/``softmax_focal_loss``, torch 2.13
``binary_cross_entropy_with_logits``.

Tolerances: ``EXACT = 1e-12`` where the peer computes in float64 (MONAI ``MCCLoss`` and
``DiceLoss``, smp ``MCCLoss``, torch BCE, MONAI's focal *functions*). ``TOL = 1e-6`` for
MONAI's ``FocalLoss`` / ``DiceFocalLoss`` classes, which cast the input to float32
(``input = input.float()`` in ``FocalLoss.forward``; measured differences 1e-8 to 3e-7),
and for smp's ``MCCLoss`` at its default ``eps``, which adds eps to each of TP, TN, FP,
FN instead of once under the square root (a first-order difference of about
eps / smallest count, measured 1e-9 to 3e-8 here). A ``"sum"`` is compared relatively.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from conformance import oracle

torch = pytest.importorskip("torch", reason="torch is not installed")
monai_losses = pytest.importorskip("monai.losses", reason="MONAI is not installed")
monai_focal = pytest.importorskip("monai.losses.focal_loss", reason="MONAI is not installed")
F = torch.nn.functional

try:
    import segloss_xp as sx

    _SX_ERROR = ""
except Exception as exc:  # pragma: no cover - the library is being rewritten
    sx = None
    _SX_ERROR = f"{type(exc).__name__}: {exc}"

EXACT = 1e-12
TOL = 1e-6


def _library(name: str, *keywords: str) -> Callable[..., Any]:
    """``segloss_xp.<name>``, or skip (oracle == peer has been asserted before)."""
    if sx is None:
        pytest.skip(f"segloss_xp does not import ({_SX_ERROR}); oracle == peer was checked")
    fn = getattr(sx, name, None)
    if fn is None:
        pytest.skip(f"segloss_xp.{name} is not implemented yet; oracle == peer was checked")
    params = inspect.signature(fn).parameters
    missing = [k for k in keywords if k not in params]
    if missing:
        pytest.skip(f"segloss_xp.{name} does not accept {missing} yet; "
                    "oracle == peer was checked")
    return fn


def _smp_losses() -> Any:
    """``segmentation_models_pytorch.losses`` without running the package ``__init__``."""
    name = "segmentation_models_pytorch"
    try:
        if name not in sys.modules:
            spec = importlib.util.find_spec(name)
            if spec is None or not spec.submodule_search_locations:
                pytest.skip("segmentation-models-pytorch is not installed "
                            "(pip install --no-deps segmentation-models-pytorch==0.6.0)")
            package = types.ModuleType(name)
            package.__path__ = list(spec.submodule_search_locations)
            package.__spec__ = spec
            sys.modules[name] = package
        return importlib.import_module(f"{name}.losses")
    except Exception as exc:  # pragma: no cover - depends on the environment
        pytest.skip(f"cannot import segmentation_models_pytorch.losses: "
                    f"{type(exc).__name__}: {exc}")


def _value(out: Any) -> np.ndarray:
    return np.asarray(out.detach().numpy() if hasattr(out, "detach") else out,
                      dtype=np.float64)


def _close(got: Any, want: Any, tol: float, *, relative: bool = False) -> None:
    got, want = _value(got), _value(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(1.0, float(np.max(np.abs(want)))) if relative else 1.0
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    assert err <= tol * scale, f"max abs difference {err:.3e} > {tol * scale:.1e}"


def _multiclass(seed: int = 0, c: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=2.0, size=(3, c, 6, 7))
    y = rng.integers(0, c, size=(3, 6, 7))
    y[0][y[0] == c - 1] = 0  # class c-1 absent from image 0
    return x, y


def _binary(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=2.0, size=(3, 1, 5, 6))
    y = (rng.random(x.shape) < 0.4).astype(np.float64)
    y[1] = 0.0  # an empty target
    return x, y


def _multilabel(seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=2.0, size=(2, 3, 5, 6))
    y = (rng.random(x.shape) < 0.35).astype(np.float64)
    return x, y


def _t(a: np.ndarray) -> Any:
    return torch.from_numpy(np.ascontiguousarray(a))


def _one_hot(labels: np.ndarray, c: int) -> np.ndarray:
    return np.moveaxis(np.eye(c)[labels], -1, 1)


# ======================================================================================
# mcc_loss
# ======================================================================================


@pytest.mark.parametrize("eps", [0.0, 1e-5])
@pytest.mark.parametrize("no_channel", [False, True])
def test_mcc_binary_batch_vs_smp(eps: float, no_channel: bool) -> None:
    """smp ``MCCLoss(eps=e)(p, y)`` (probabilities; TP, TN, FP, FN summed over the whole
    batch and every channel, then ``+ e`` each; no eps under the root)
    == ``mcc_loss(p, y, mode="binary", from_logits=False, batch=True, eps=e)``:
    identical formulas at ``e = 0`` (to 1e-12), first-order equal at ``e = 1e-5`` (both
    defaults; to 1e-6)."""
    smp = _smp_losses()
    x, y = _binary()
    p = 1.0 / (1.0 + np.exp(-x))
    if no_channel:
        p, y = p[:, 0], y[:, 0]
    tol = EXACT if eps == 0.0 else TOL
    peer = smp.MCCLoss(eps=eps)(_t(p), _t(y))
    p_o, y_o = (p[:, None], y[:, None]) if no_channel else (p, y)
    ours = oracle.mcc_loss(p_o, y_o, mode="binary", from_logits=False, batch=True, eps=eps)
    _close(ours, peer, tol)
    # the same from logits (our sigmoid vs the caller's)
    _close(oracle.mcc_loss(x, y_o, mode="binary", batch=True, eps=eps), peer, tol)

    mcc = _library("mcc_loss")
    _close(mcc(_t(p), _t(y), mode="binary", from_logits=False, batch=True, eps=eps), peer, tol)


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_mcc_multiclass_vs_monai(batch: bool, include_background: bool,
                                 reduction: str) -> None:
    """MONAI ``MCCLoss(softmax=True, to_onehot_y=True, smooth_nr=0, smooth_dr=e, batch=b,
    include_background=i, reduction=r)(x, y[:, None])`` == ``mcc_loss(x, y, eps=e,
    batch=b, include_background=i, reduction=r)``; ``"none"``: MONAI (N, C') / (C',) ==
    ours. Includes a class absent from one image (both: loss 1)."""
    x, y = _multiclass()
    peer = monai_losses.MCCLoss(softmax=True, to_onehot_y=True, smooth_nr=0.0, smooth_dr=1e-5,
                                batch=batch, include_background=include_background,
                                reduction=reduction)(_t(x), _t(y)[:, None])
    kw = {"batch": batch, "include_background": include_background, "reduction": reduction}
    _close(oracle.mcc_loss(x, y, eps=1e-5, **kw), peer, EXACT)
    _close(_library("mcc_loss")(_t(x), _t(y), eps=1e-5, **kw), peer, EXACT)


def test_mcc_binary_and_multilabel_vs_monai() -> None:
    """``mcc_loss(x, y, mode="binary"|"multilabel")`` == MONAI ``MCCLoss(sigmoid=True)``
    (per image and channel, ``smooth_dr`` = our ``eps``, default 1e-5 in both)."""
    cases = [(*_binary(), "binary"), (*_multilabel(), "multilabel")]
    peers = [monai_losses.MCCLoss(sigmoid=True, reduction="none")(_t(x), _t(y))
             for x, y, _ in cases]
    for (x, y, mode), peer in zip(cases, peers, strict=True):
        _close(oracle.mcc_loss(x, y, mode=mode, reduction="none"), peer, EXACT)
    mcc = _library("mcc_loss")
    for (x, y, mode), peer in zip(cases, peers, strict=True):
        _close(mcc(_t(x), _t(y), mode=mode, reduction="none"), peer, EXACT)


def test_mcc_perfect_prediction_deviates_from_monai() -> None:
    """Documented deviation: MONAI forces the loss to 0 where FP = FN = 0 exactly; we
    keep the formula, so a perfectly predicted *absent* class scores 1 (MCC undefined,
    taken as 0) and a perfectly predicted present class ``≈ eps / (2 TP² TN²)``."""
    _, y = _multiclass(3)
    p = _one_hot(y, 4)  # exact one-hot probabilities; class 3 absent from image 0
    peer = monai_losses.MCCLoss(to_onehot_y=True, reduction="none")(_t(p), _t(y)[:, None])
    assert np.all(_value(peer) == 0.0)
    ours = oracle.mcc_loss(p, y, from_logits=False, reduction="none")
    assert ours[0, 3] == 1.0
    rest = np.delete(ours.ravel(), 3)
    assert np.all((rest >= 0.0) & (rest < 1e-7))
    got = _value(_library("mcc_loss")(_t(p), _t(y), from_logits=False, reduction="none"))
    _close(got, ours, EXACT)


# ======================================================================================
# dice_focal_loss
# ======================================================================================


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
    x, y = _binary()
    w = 2.5 if weighted else 1.0
    k = 1.0 if reduction == "mean" else float(np.prod(x.shape[2:]))
    peer = monai_losses.DiceFocalLoss(
        sigmoid=True, weight=w if weighted else None, alpha=0.25, gamma=1.5,
        smooth_nr=1e-4, smooth_dr=1e-4, squared_pred=True, batch=True,
        lambda_dice=0.8 * w, lambda_focal=0.6 * k, reduction=reduction)(_t(x), _t(y))
    kw = {"mode": "binary", "class_weights": [w] if weighted else None, "alpha": 0.25,
          "gamma": 1.5, "smooth": 1e-4, "squared": True, "batch": True, "lambda_dice": 0.8,
          "lambda_focal": 0.6, "reduction": reduction}
    _close(oracle.dice_focal_loss(x, y, **kw), peer, TOL, relative=True)
    _close(_library("dice_focal_loss")(_t(x), _t(y), **kw), peer, TOL, relative=True)


@pytest.mark.parametrize("include_background", [True, False])
def test_dice_focal_multilabel_vs_monai(include_background: bool) -> None:
    """``dice_focal_loss(x, y, mode="multilabel", class_weights=w, alpha=a, gamma=g,
    include_background=i)`` == MONAI ``DiceFocalLoss(sigmoid=True, weight=w if i else
    w[1:], alpha=a, gamma=g, include_background=i)``: both drop channel 0 from Dice and
    focal (focal mean over the remaining N·(C−1)·spatial elements)."""
    x, y = _multilabel()
    w = [0.5, 2.0, 1.5]
    peer = monai_losses.DiceFocalLoss(sigmoid=True, weight=w if include_background else w[1:],
                                      alpha=0.25, gamma=1.5,
                                      include_background=include_background)(_t(x), _t(y))
    kw = {"mode": "multilabel", "class_weights": w, "alpha": 0.25, "gamma": 1.5,
          "include_background": include_background}
    _close(oracle.dice_focal_loss(x, y, **kw), peer, TOL)
    _close(_library("dice_focal_loss")(_t(x), _t(y), **kw), peer, TOL)


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
    x, y = _multiclass(4)
    c = x.shape[1]
    w = [0.5, 1.0, 2.0, 4.0]
    k = float(c) if reduction == "mean" else float(np.prod(x.shape[2:]))
    loss = monai_losses.DiceFocalLoss(softmax=True, to_onehot_y=True, weight=w, gamma=1.5,
                                      lambda_dice=0.7, lambda_focal=1.3 * k,
                                      reduction=reduction)
    loss.focal = monai_losses.FocalLoss(use_softmax=True, weight=w, gamma=1.5,
                                        alpha=alpha,
                                        reduction=reduction)
    peer = loss(_t(x), _t(y)[:, None])
    kw = {"class_weights": w, "alpha": alpha, "gamma": 1.5, "lambda_dice": 0.7,
          "lambda_focal": 1.3, "reduction": reduction}
    _close(oracle.dice_focal_loss(x, y, **kw), peer, TOL, relative=True)
    _close(_library("dice_focal_loss")(_t(x), _t(y), **kw), peer, TOL, relative=True)


@pytest.mark.parametrize("alpha", [None, 0.25, (0.1, 0.4, 0.7, 0.9)])
def test_dice_focal_multiclass_without_background_vs_monai(alpha: Any) -> None:
    """``dice_focal_loss(x, y, class_weights=w, alpha=a, include_background=False)`` ==
    MONAI ``DiceLoss(softmax=True, to_onehot_y=True, include_background=False,
    weight=w[1:]) + C · FocalLoss(to_onehot_y=True, use_softmax=True,
    weight=[0, *w[1:]], alpha=a)``: our focal keeps the softmax over all C classes and
    drops class 0's *term* (MONAI's ``FocalLoss(include_background=False)`` instead
    re-normalises the softmax over channels 1.. and drops a scalar alpha)."""
    x, y = _multiclass(5)
    c = x.shape[1]
    w = [0.5, 1.0, 2.0, 4.0]
    dice = monai_losses.DiceLoss(softmax=True, to_onehot_y=True, include_background=False,
                                 weight=w[1:])(_t(x), _t(y)[:, None])
    focal = monai_losses.FocalLoss(to_onehot_y=True, use_softmax=True, weight=[0.0, *w[1:]],
                                   alpha=alpha)(_t(x), _t(y)[:, None])
    peer = dice + c * focal
    kw = {"class_weights": w, "alpha": alpha, "include_background": False}
    _close(oracle.dice_focal_loss(x, y, **kw), peer, TOL)
    _close(_library("dice_focal_loss")(_t(x), _t(y), **kw), peer, TOL)


@pytest.mark.parametrize("include_background", [True, False])
def test_stock_monai_multiclass_dice_focal_is_sigmoid_focal(include_background: bool) -> None:
    """Documented deviation: stock ``DiceFocalLoss(softmax=True, to_onehot_y=True)``
    scores the focal term with the *sigmoid* (one-vs-rest) focal on the raw logits
    against the one-hot target. It equals ``dice_loss(x, y) + focal_loss(x, onehot(y)
    [, 1:], mode="multilabel")`` — not our ``dice_focal_loss``, whose multiclass focal is
    the softmax focal (DESIGN §4)."""
    x, y = _multiclass(6)
    c = x.shape[1]
    w = [0.5, 1.0, 2.0, 4.0]
    start = 0 if include_background else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = monai_losses.DiceFocalLoss(softmax=True, to_onehot_y=True, weight=w[start:],
                                          alpha=0.25, include_background=include_background,
                                          )(_t(x), _t(y)[:, None])
    onehot = _one_hot(y, c)
    recipe = (oracle.dice_loss(x, y, class_weights=w, include_background=include_background)
              + oracle.focal_loss(x[:, start:], onehot[:, start:], mode="multilabel",
                                  alpha=0.25, class_weights=w[start:]))
    _close(recipe, peer, TOL)
    ours = oracle.dice_focal_loss(x, y, class_weights=w, alpha=0.25,
                                  include_background=include_background)
    assert abs(ours - float(peer)) > 1e-3
    if sx is None:
        pytest.skip(f"segloss_xp does not import ({_SX_ERROR}); oracle == peer was checked")
    got = (sx.dice_loss(_t(x), _t(y), class_weights=w, include_background=include_background)
           + _library("focal_loss", "class_weights")(
               _t(x[:, start:]), _t(onehot[:, start:]), mode="multilabel", alpha=0.25,
               class_weights=w[start:]))
    _close(got, peer, TOL)


# ======================================================================================
# focal_loss: sigmoid class_weights, per-channel alpha, pos_weight
# ======================================================================================

_NEW_FOCAL = ("class_weights", "pos_weight")


def _channel(v: Any, ndim: int) -> Any:
    return torch.as_tensor(np.asarray(v, dtype=np.float64)).reshape(
        (1, -1) + (1,) * (ndim - 2))


def test_sigmoid_focal_vs_monai_function_float64() -> None:
    """Elementwise, float64, hard targets, MONAI's ``sigmoid_focal_loss(x, y, γ, α)``
    times the class weight w_c (what ``FocalLoss(weight=w)`` multiplies):

    * scalar α: == ``focal_loss(alpha=α, class_weights=w, reduction="none")``;
    * sequence α (MONAI: α_c on positives, **1** on negatives) ==
      ``focal_loss(pos_weight=α, class_weights=w)``; our sequence ``alpha=a`` (α_c on
      positives, 1 − α_c on negatives) == MONAI's with ``α = a/(1 − a)`` times ``1 − a``."""
    x, y = _multilabel(7)
    w = np.array([0.5, 2.0, 1.5])
    a = np.array([0.2, 0.6, 0.85])
    xt, yt = _t(x), _t(y)
    cw = _channel(w, x.ndim)
    sigmoid_focal = monai_focal.sigmoid_focal_loss
    cases = [
        (sigmoid_focal(xt, yt, 1.5, 0.3) * cw, {"alpha": 0.3}),
        (sigmoid_focal(xt, yt, 1.5, torch.as_tensor(a)) * cw, {"pos_weight": a}),
        (sigmoid_focal(xt, yt, 1.5, torch.as_tensor(a / (1 - a))) * _channel(w * (1 - a), 4),
         {"alpha": a}),
    ]
    for peer, extra in cases:
        _close(oracle.focal_loss(x, y, mode="multilabel", gamma=1.5, class_weights=w,
                                 reduction="none", **extra), peer, EXACT)
    focal = _library("focal_loss", *_NEW_FOCAL)
    for peer, extra in cases:
        _close(focal(xt, yt, mode="multilabel", gamma=1.5, class_weights=w, reduction="none",
                     **extra), peer, EXACT)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("alpha_kind", ["scalar", "sequence"])
def test_sigmoid_focal_vs_monai_class(reduction: str, alpha_kind: str) -> None:
    """MONAI ``FocalLoss(use_softmax=False, gamma=g, weight=w, alpha=α, reduction=r)``
    (float32 inside) on multilabel logits:

    * scalar α: == ``focal_loss(mode="multilabel", gamma=g, alpha=α, class_weights=w)``;
    * sequence α: == ``focal_loss(..., pos_weight=α, class_weights=w)`` (MONAI leaves the
      negatives at 1), and our ``alpha=a`` == MONAI ``alpha=a/(1−a), weight=w·(1−a)``.

    ``"mean"`` divides by N·C·spatial in both; MONAI's ``"sum"`` is the sum over (n, c)
    of spatial means, i.e. ours / #spatial; ``"none"`` is the (N, C, *spatial) map."""
    x, y = _multilabel(8)
    w = np.array([0.5, 2.0, 1.5])
    a = np.array([0.2, 0.6, 0.85])
    k = float(np.prod(x.shape[2:])) if reduction == "sum" else 1.0
    pairs: list[tuple[Any, dict[str, Any]]] = []
    if alpha_kind == "scalar":
        peer = monai_losses.FocalLoss(gamma=1.5, weight=list(w), alpha=0.3,
                                      reduction=reduction)(_t(x), _t(y))
        pairs.append((peer, {"alpha": 0.3}))
    else:
        peer = monai_losses.FocalLoss(gamma=1.5, weight=list(w), alpha=list(a),
                                      reduction=reduction)(_t(x), _t(y))
        pairs.append((peer, {"pos_weight": a}))
        peer = monai_losses.FocalLoss(gamma=1.5, weight=list(w * (1 - a)),
                                      alpha=list(a / (1 - a)), reduction=reduction)(_t(x), _t(y))
        pairs.append((peer, {"alpha": a}))
    for peer, extra in pairs:
        ours = oracle.focal_loss(x, y, mode="multilabel", gamma=1.5, class_weights=w,
                                 reduction=reduction, **extra)
        _close(np.asarray(ours) / k, peer, TOL, relative=True)
    focal = _library("focal_loss", *_NEW_FOCAL)
    for peer, extra in pairs:
        got = focal(_t(x), _t(y), mode="multilabel", gamma=1.5, class_weights=w,
                    reduction=reduction, **extra)
        _close(_value(got) / k, peer, TOL, relative=True)


def test_binary_focal_weight_and_alpha_vs_monai() -> None:
    """Binary (one channel): MONAI ``FocalLoss(weight=w, alpha=α)`` (a scalar weight; MONAI
    rejects a per-class weight for one channel) == ``focal_loss(mode="binary",
    class_weights=[w], alpha=α)``; a length-1 sequence ``alpha=[a]`` == MONAI
    ``alpha=[a/(1−a)], weight=w·(1−a)``."""
    x, y = _binary(9)
    peer = monai_losses.FocalLoss(weight=2.0, alpha=0.3)(_t(x), _t(y))
    _close(oracle.focal_loss(x, y, mode="binary", class_weights=[2.0], alpha=0.3), peer, TOL)
    peer_seq = monai_losses.FocalLoss(weight=2.0 * 0.6, alpha=[0.4 / 0.6])(_t(x), _t(y))
    _close(oracle.focal_loss(x, y, mode="binary", class_weights=[2.0], alpha=[0.4]),
           peer_seq, TOL)
    focal = _library("focal_loss", *_NEW_FOCAL)
    _close(focal(_t(x), _t(y), mode="binary", class_weights=[2.0], alpha=0.3), peer, TOL)
    _close(focal(_t(x), _t(y), mode="binary", class_weights=[2.0], alpha=[0.4]), peer_seq, TOL)


@pytest.mark.parametrize("mode", ["binary", "multilabel"])
@pytest.mark.parametrize("alpha", [None, "scalar", "sequence"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_focal_gamma_zero_pos_weight_vs_torch_bce(mode: str, alpha: str | None,
                                                 reduction: str) -> None:
    """``focal_loss(x, y, mode=m, gamma=0, alpha=a, class_weights=w, pos_weight=pw)`` ==
    ``torch.nn.functional.binary_cross_entropy_with_logits(x, y, pos_weight=pw[:, None,
    None], weight=w_c·α_t)`` with ``α_t = a_c·y + (1 − a_c)(1 − y)`` (1 without alpha),
    soft targets included; logits ±1e4 stay exact."""
    rng = np.random.default_rng(10)
    c = 1 if mode == "binary" else 3
    x = rng.normal(scale=3.0, size=(2, c, 4, 5))
    x[0, 0, 0, :2] = [1e4, -1e4]
    y = (rng.random(x.shape) < 0.4).astype(np.float64)
    y[1, 0, 0, :2] = [0.3, 0.9]
    w = rng.uniform(0.5, 2.0, size=c)
    pw = rng.uniform(0.5, 4.0, size=c)
    a = {None: None, "scalar": 0.3, "sequence": rng.uniform(0.1, 0.9, size=c)}[alpha]
    a_vec = np.ones(c) if a is None else np.broadcast_to(np.asarray(a, dtype=float), (c,))
    view = (1, c, 1, 1)
    alpha_t = (np.ones_like(y) if a is None
               else a_vec.reshape(view) * y + (1 - a_vec.reshape(view)) * (1 - y))
    peer = F.binary_cross_entropy_with_logits(
        _t(x), _t(y), weight=_t(w.reshape(view) * alpha_t), pos_weight=_t(pw.reshape(c, 1, 1)),
        reduction=reduction)
    kw = {"mode": mode, "gamma": 0.0, "alpha": a, "class_weights": w, "pos_weight": pw,
          "reduction": reduction}
    _close(oracle.focal_loss(x, y, **kw), peer, EXACT, relative=True)
    focal = _library("focal_loss", *_NEW_FOCAL)
    _close(focal(_t(x), _t(y), **kw), peer, EXACT, relative=True)
