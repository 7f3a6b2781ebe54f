"""Peers as witnesses for the pixel losses: torch, MONAI, optax.

Each test's docstring gives the exact keyword mapping between the peer and
``segloss_xp.pixel``. A peer that is not installed is SKIPPED with a reason.
Expected values here come from the peers (independent implementations); the
float64 oracle is checked in ``tests/test_pixel.py``. Float64 peers (torch's
functions, optax with x64) are compared to ``ALLCLOSE`` (1e-12 relative): the same
formula, only rounding differs. Given probabilities (``from_logits=False``) follow
torch's ``binary_cross_entropy``: ``log p`` and ``log(1 − p)`` clamped at −100, so
probabilities of exactly 0 and 1 are compared too.

The sigmoid ``focal_loss`` options (``class_weights``, per-channel ``alpha``,
``pos_weight``; last section) assert **oracle == peer** first and then **library ==
peer**: to ``EXACT = 1e-12`` against torch's ``binary_cross_entropy_with_logits`` and
MONAI's focal *functions* (float64), to ``TOL = 1e-6`` against MONAI's ``FocalLoss``
class, which casts the input to float32 (``input = input.float()``; measured 1e-8 to
3e-7). A ``"sum"`` is compared relatively.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
import segloss_xp.pixel as pixel
from conformance import oracle
from conformance.witnesses import EXACT, TOL, binary, close, import_peer, multilabel, tensor, value

RNG = np.random.default_rng(99)
C = 3
X = RNG.normal(scale=2.0, size=(2, C, 4, 5))
LABELS = RNG.integers(0, C, size=(2, 4, 5))
LABELS_IGN = np.where(RNG.random(LABELS.shape) < 0.25, 255, LABELS)
SOFT = np.moveaxis(RNG.dirichlet(np.ones(C), size=(2, 4, 5)), -1, 1)
MULTI = (RNG.random(X.shape) < 0.4).astype(np.float64)
MULTI_SOFT = RNG.uniform(size=X.shape)
WEIGHTS = (0.2, 1.0, 3.0)
# torch's functions and optax (x64) compute in float64, like us: only rounding differs
ALLCLOSE = {"rtol": 1e-12, "atol": 1e-14}


def _torch() -> Any:
    return import_peer("torch")


def _jnp() -> Any:
    return import_peer("jax.numpy")  # x64: enabled for the session (conftest.py)


def _monai() -> Any:
    _torch()
    return import_peer("monai.losses")


# MONAI computes in float32 and its BCE ``x − x·t − logsigmoid(x)`` cancels for
# confident negatives (relative error ~1e-5 at losses ~1e-3, absolute ~2e-8; our
# ``−log σ(−x)`` is exact there): 1e-6 absolute as well as relative.
MONAI_TOL = {"rtol": 1e-6, "atol": 1e-6}


def _allclose(got: Any, want: Any, tol: dict | None = None) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                               np.asarray(want, dtype=np.float64), **(tol or ALLCLOSE))


# --------------------------------------------------------------------------- torch


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_cross_entropy_labels(reduction: str) -> None:
    """``F.cross_entropy(x, y, weight=w, ignore_index=255, label_smoothing=0.1, reduction=r)``
    == ``cross_entropy(x, y, class_weights=w, ignore_index=255, label_smoothing=0.1,
    reduction=r)`` (integer labels; torch's weighted mean divides by Σ w_y)."""
    torch = _torch()
    import torch.nn.functional as F

    x, y = torch.asarray(X), torch.asarray(LABELS_IGN)
    w = torch.asarray(WEIGHTS, dtype=torch.float64)
    for kwargs, peer in [
        ({}, {}),
        ({"class_weights": WEIGHTS}, {"weight": w}),
        ({"label_smoothing": 0.1}, {"label_smoothing": 0.1}),
        ({"class_weights": WEIGHTS, "label_smoothing": 0.1},
         {"weight": w, "label_smoothing": 0.1}),
    ]:
        want = F.cross_entropy(x, y, ignore_index=255, reduction=reduction, **peer)
        got = pixel.cross_entropy(x, y, ignore_index=255, reduction=reduction, **kwargs)
        _allclose(got, want)


def test_torch_cross_entropy_probability_targets() -> None:
    """``F.cross_entropy(x, q, weight=w, label_smoothing=0.1)`` with probability targets
    == ``cross_entropy(x, q, class_weights=w, label_smoothing=0.1)`` (mean over pixels, no
    weight normalisation)."""
    torch = _torch()
    import torch.nn.functional as F

    x, q = torch.asarray(X), torch.asarray(SOFT)
    w = torch.asarray(WEIGHTS, dtype=torch.float64)
    for reduction in ("mean", "none"):
        want = F.cross_entropy(x, q, weight=w, label_smoothing=0.1, reduction=reduction)
        got = pixel.cross_entropy(x, q, class_weights=WEIGHTS, label_smoothing=0.1,
                                  reduction=reduction)
        _allclose(got, want)


def test_torch_bce_with_logits_multilabel() -> None:
    """``F.binary_cross_entropy_with_logits(x, y, weight=w.view(C,1,1),
    pos_weight=pw.view(C,1,1))`` == ``cross_entropy(x, y, mode="multilabel",
    class_weights=w, pos_weight=pw)`` (our per-class ``pos_weight`` runs along the class
    axis; torch broadcasts it from the trailing axis, hence the view)."""
    torch = _torch()
    import torch.nn.functional as F

    x = torch.asarray(X)
    pw = (2.0, 0.5, 1.5)
    w = torch.asarray(WEIGHTS, dtype=torch.float64).view(C, 1, 1)
    pwt = torch.asarray(pw, dtype=torch.float64).view(C, 1, 1)
    for target in (MULTI, MULTI_SOFT):
        y = torch.asarray(target)
        for reduction in ("mean", "sum", "none"):
            want = F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pwt,
                                                      reduction=reduction)
            got = pixel.cross_entropy(x, y, mode="multilabel", class_weights=WEIGHTS,
                                      pos_weight=pw, reduction=reduction)
            _allclose(got, want)


# probabilities exactly 0 and 1 on both labels, one below e^−100 (its log is clamped
# too), and ordinary ones: a confident wrong element costs exactly 100
P01 = np.array([[[0.0, 1.0, 0.3, 1.0, 0.0, 0.999, 1e-50, 0.5]]])
Y01 = np.array([[[1.0, 0.0, 1.0, 1.0, 0.0, 0.25, 1.0, 0.0]]])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_bce_probabilities_clamped(reduction: str) -> None:
    """``F.binary_cross_entropy(p, y, reduction=r)`` (torch clamps log p and log(1 − p) at
    −100) == ``cross_entropy(p, y, mode="binary", from_logits=False, reduction=r)`` ==
    the oracle's, with probabilities of exactly 0 and 1; also without the channel axis,
    and per channel in multilabel mode."""
    torch = _torch()
    import torch.nn.functional as F

    want = F.binary_cross_entropy(tensor(P01), tensor(Y01), reduction=reduction)
    if reduction == "none":
        assert value(want).max() == 100.0
    kw = {"from_logits": False, "reduction": reduction}
    close(oracle.cross_entropy(P01, Y01, mode="binary", **kw), want, EXACT, relative=True)
    close(sx.cross_entropy(tensor(P01), tensor(Y01), mode="binary", **kw), want, EXACT,
          relative=True)
    flat = sx.cross_entropy(tensor(P01[:, 0]), tensor(Y01[:, 0]), mode="binary", **kw)
    close(flat, want[:, 0] if reduction == "none" else want, EXACT, relative=True)
    p3, y3 = P01.reshape(1, 2, 4), Y01.reshape(1, 2, 4)  # two channels
    want3 = F.binary_cross_entropy(torch.asarray(p3), torch.asarray(y3), reduction=reduction)
    close(oracle.cross_entropy(p3, y3, mode="multilabel", **kw), want3, EXACT, relative=True)
    close(sx.cross_entropy(tensor(p3), tensor(y3), mode="multilabel", **kw), want3, EXACT,
          relative=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_nll_of_clamped_log_probabilities(reduction: str) -> None:
    """``F.nll_loss(torch.log(p).clamp(min=-100), y, weight=w, ignore_index=255,
    reduction=r)`` == ``cross_entropy(p, y, from_logits=False, class_weights=w,
    ignore_index=255, reduction=r)`` == the oracle's, multiclass, with rows that put
    probability exactly 1 on the label (cost 0), exactly 0 on it (cost 100) or 1e-50."""
    torch = _torch()
    import torch.nn.functional as F

    p = np.array([[[1.0, 0.0, 0.2, 0.0, 1e-50, 0.5],
                   [0.0, 1.0, 0.3, 0.0, 0.5, 0.5],
                   [0.0, 0.0, 0.5, 1.0, 0.5 - 1e-50, 0.0]]])  # (N=1, C=3, S=6)
    y = np.array([[0, 0, 2, 1, 0, 255]])
    pt, yt = tensor(p), torch.asarray(y)
    log_p = torch.log(pt).clamp(min=-100)
    for kwargs, peer in [({}, {}), ({"class_weights": WEIGHTS},
                                    {"weight": torch.asarray(WEIGHTS, dtype=torch.float64)})]:
        want = F.nll_loss(log_p, yt, ignore_index=255, reduction=reduction, **peer)
        kw = {"from_logits": False, "ignore_index": 255, "reduction": reduction, **kwargs}
        close(oracle.cross_entropy(p, y, **kw), want, EXACT, relative=True)
        close(sx.cross_entropy(pt, yt, **kw), want, EXACT, relative=True)
    # soft targets: −Σ q log p with the same clamp; torch's probability-target
    # F.cross_entropy on the clamped log-probabilities (their log_softmax is themselves:
    # Σ exp(log p) = 1 up to e^−100)
    q = np.moveaxis(np.random.default_rng(3).dirichlet(np.ones(3), size=(1, 6)), -1, 1)
    want = F.cross_entropy(log_p, tensor(q), reduction="none")
    got = sx.cross_entropy(pt, tensor(q), from_logits=False, reduction="none")
    close(got, want, EXACT)
    close(oracle.cross_entropy(p, q, from_logits=False, reduction="none"), want, EXACT)


# --------------------------------------------------------------------------- MONAI


@pytest.mark.parametrize("alpha", [None, 0.25])
def test_monai_sigmoid_focal(alpha: float | None) -> None:
    """``monai.losses.FocalLoss(gamma=γ, alpha=α, reduction=r)`` (sigmoid, hard targets)
    == ``focal_loss(x, y, mode="multilabel", gamma=γ, alpha=α, reduction=r)``; MONAI's
    mean runs over B·C·H·W elements, as ours does in multilabel mode. MONAI computes in
    float32 (``input.float()``), so both are fed float32 here."""
    torch = _torch()
    focal = _monai().FocalLoss
    x, y = torch.asarray(X, dtype=torch.float32), torch.asarray(MULTI, dtype=torch.float32)
    for gamma in (2.0, 0.5):
        for reduction in ("mean", "none"):
            want = focal(gamma=gamma, alpha=alpha, reduction=reduction)(x, y)
            got = pixel.focal_loss(x, y, mode="multilabel", gamma=gamma, alpha=alpha,
                                   reduction=reduction)
            _allclose(got, want, MONAI_TOL)


@pytest.mark.parametrize("alpha", [None, 0.25, WEIGHTS])
def test_monai_softmax_focal(alpha: Any) -> None:
    """``FocalLoss(use_softmax=True, to_onehot_y=True, gamma=γ, alpha=α,
    reduction="none")(x, y[:, None]).sum(1)`` == ``focal_loss(x, y, gamma=γ, alpha=α,
    reduction="none")``. MONAI keeps a per-class map (B, C, H, W) whose mean divides by
    B·C·H·W; ours sums the classes per pixel, so ``mean`` differs by the factor C (checked
    too). A float α means ``[1 − α, α, …]`` in both. Both in float32 (MONAI casts)."""
    torch = _torch()
    focal = _monai().FocalLoss
    x, y = torch.asarray(X, dtype=torch.float32), torch.asarray(LABELS)
    for gamma in (2.0, 0.5):
        peer = focal(use_softmax=True, to_onehot_y=True, gamma=gamma, alpha=alpha,
                     reduction="none")
        want = peer(x, y[:, None]).sum(1)
        got = pixel.focal_loss(x, y, gamma=gamma, alpha=alpha, reduction="none")
        _allclose(got, want, MONAI_TOL)
        mean = focal(use_softmax=True, to_onehot_y=True, gamma=gamma, alpha=alpha)(
            x, y[:, None])
        _allclose(pixel.focal_loss(x, y, gamma=gamma, alpha=alpha), C * mean, MONAI_TOL)


# --------------------------------------------------------------------------- optax


def _optax() -> Any:
    _jnp()
    return import_peer("optax")


@pytest.mark.parametrize("alpha", [None, 0.25])
def test_optax_sigmoid_focal(alpha: float | None) -> None:
    """``optax.sigmoid_focal_loss(x_last, y_last, alpha=α, gamma=γ)`` (channels-last,
    elementwise, soft labels allowed) == ``focal_loss(x_last, y_last, mode="multilabel",
    class_axis=-1, alpha=α, gamma=γ, reduction="none")`` — our soft-target modulating
    factor is optax's ``(1 − p_t)^γ`` with ``p_t = p·y + (1 − p)(1 − y)``. float64 (x64)."""
    jnp = _jnp()
    optax = _optax()
    x = jnp.asarray(np.moveaxis(X, 1, -1))
    for target in (MULTI, MULTI_SOFT):
        y = jnp.asarray(np.moveaxis(target, 1, -1))
        for gamma in (2.0, 0.5):
            want = optax.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma)
            got = pixel.focal_loss(x, y, mode="multilabel", class_axis=-1, alpha=alpha,
                                   gamma=gamma, reduction="none")
            assert got.dtype == jnp.float64
            _allclose(got, want)


def test_optax_softmax_cross_entropy() -> None:
    """``optax.softmax_cross_entropy_with_integer_labels(x_last, y)`` == ``cross_entropy(
    x_last, y, class_axis=-1, reduction="none")``; ``optax.softmax_cross_entropy(x_last,
    optax.smooth_labels(one_hot, ε))`` == ``cross_entropy(..., label_smoothing=ε)``
    (both put ε/C on every class). Channels-last, float64 (x64)."""
    jnp = _jnp()
    optax = _optax()
    x = jnp.asarray(np.moveaxis(X, 1, -1))
    y = jnp.asarray(LABELS)
    want = optax.softmax_cross_entropy_with_integer_labels(x, y)
    _allclose(pixel.cross_entropy(x, y, class_axis=-1, reduction="none"), want)
    one_hot = jnp.asarray(np.eye(C)[LABELS])
    want = optax.softmax_cross_entropy(x, optax.smooth_labels(one_hot, 0.1))
    got = pixel.cross_entropy(x, y, class_axis=-1, label_smoothing=0.1, reduction="none")
    _allclose(got, want)
    soft = jnp.asarray(np.moveaxis(SOFT, 1, -1))
    _allclose(pixel.cross_entropy(x, soft, class_axis=-1, reduction="none"),
           optax.softmax_cross_entropy(x, soft))


# --------------------------------------------------------------------------- focal options:
#                                  sigmoid class_weights, per-channel alpha, pos_weight


def _channel(v: Any, ndim: int) -> Any:
    """A per-channel vector as a torch tensor broadcasting along axis 1."""
    return _torch().as_tensor(np.asarray(v, dtype=np.float64)).reshape(
        (1, -1) + (1,) * (ndim - 2))


def test_sigmoid_focal_vs_monai_function_float64() -> None:
    """Elementwise, float64, hard targets, MONAI's ``sigmoid_focal_loss(x, y, γ, α)``
    times the class weight w_c (what ``FocalLoss(weight=w)`` multiplies):

    * scalar α: == ``focal_loss(alpha=α, class_weights=w, reduction="none")``;
    * sequence α (MONAI: α_c on positives, **1** on negatives) ==
      ``focal_loss(pos_weight=α, class_weights=w)``; our sequence ``alpha=a`` (α_c on
      positives, 1 − α_c on negatives) == MONAI's with ``α = a/(1 − a)`` times ``1 − a``."""
    x, y = multilabel(7)
    w = np.array([0.5, 2.0, 1.5])
    a = np.array([0.2, 0.6, 0.85])
    xt, yt = tensor(x), tensor(y)
    cw = _channel(w, x.ndim)
    sigmoid_focal = import_peer("monai.losses.focal_loss").sigmoid_focal_loss
    as_tensor = _torch().as_tensor
    cases = [
        (sigmoid_focal(xt, yt, 1.5, 0.3) * cw, {"alpha": 0.3}),
        (sigmoid_focal(xt, yt, 1.5, as_tensor(a)) * cw, {"pos_weight": a}),
        (sigmoid_focal(xt, yt, 1.5, as_tensor(a / (1 - a))) * _channel(w * (1 - a), 4),
         {"alpha": a}),
    ]
    kw = {"mode": "multilabel", "gamma": 1.5, "class_weights": w, "reduction": "none"}
    for peer, extra in cases:
        close(oracle.focal_loss(x, y, **kw, **extra), peer, EXACT)
        close(sx.focal_loss(xt, yt, **kw, **extra), peer, EXACT)


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
    x, y = multilabel(8)
    w = np.array([0.5, 2.0, 1.5])
    a = np.array([0.2, 0.6, 0.85])
    k = float(np.prod(x.shape[2:])) if reduction == "sum" else 1.0
    focal = _monai().FocalLoss
    if alpha_kind == "scalar":
        pairs = [(focal(gamma=1.5, weight=list(w), alpha=0.3, reduction=reduction),
                  {"alpha": 0.3})]
    else:
        pairs = [(focal(gamma=1.5, weight=list(w), alpha=list(a), reduction=reduction),
                  {"pos_weight": a}),
                 (focal(gamma=1.5, weight=list(w * (1 - a)), alpha=list(a / (1 - a)),
                        reduction=reduction), {"alpha": a})]
    kw = {"mode": "multilabel", "gamma": 1.5, "class_weights": w, "reduction": reduction}
    for loss, extra in pairs:
        peer = loss(tensor(x), tensor(y))
        close(np.asarray(oracle.focal_loss(x, y, **kw, **extra)) / k, peer, TOL, relative=True)
        got = sx.focal_loss(tensor(x), tensor(y), **kw, **extra)
        close(value(got) / k, peer, TOL, relative=True)


def test_binary_focal_weight_and_alpha_vs_monai() -> None:
    """Binary (one channel): MONAI ``FocalLoss(weight=w, alpha=α)`` (a scalar weight; MONAI
    rejects a per-class weight for one channel) == ``focal_loss(mode="binary",
    class_weights=[w], alpha=α)``; a length-1 sequence ``alpha=[a]`` == MONAI
    ``alpha=[a/(1−a)], weight=w·(1−a)``."""
    x, y = binary(9)
    focal = _monai().FocalLoss
    for peer_loss, alpha in ((focal(weight=2.0, alpha=0.3), 0.3),
                             (focal(weight=2.0 * 0.6, alpha=[0.4 / 0.6]), [0.4])):
        peer = peer_loss(tensor(x), tensor(y))
        kw = {"mode": "binary", "class_weights": [2.0], "alpha": alpha}
        close(oracle.focal_loss(x, y, **kw), peer, TOL)
        close(sx.focal_loss(tensor(x), tensor(y), **kw), peer, TOL)


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
    peer = _torch().nn.functional.binary_cross_entropy_with_logits(
        tensor(x), tensor(y), weight=tensor(w.reshape(view) * alpha_t),
        pos_weight=tensor(pw.reshape(c, 1, 1)), reduction=reduction)
    kw = {"mode": mode, "gamma": 0.0, "alpha": a, "class_weights": w, "pos_weight": pw,
          "reduction": reduction}
    close(oracle.focal_loss(x, y, **kw), peer, EXACT, relative=True)
    close(sx.focal_loss(tensor(x), tensor(y), **kw), peer, EXACT, relative=True)
