"""Peers as witnesses for the pixel losses: torch, MONAI, optax agree to 1e-6.

Each test's docstring gives the exact keyword mapping between the peer and
``segloss_xp.pixel``. A peer that is not importable is SKIPPED with a reason.
Expected values here come from the peers (independent implementations); the
float64 oracle is checked in ``tests/test_pixel.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import segloss_xp.pixel as pixel

RNG = np.random.default_rng(99)
C = 3
X = RNG.normal(scale=2.0, size=(2, C, 4, 5))
LABELS = RNG.integers(0, C, size=(2, 4, 5))
LABELS_IGN = np.where(RNG.random(LABELS.shape) < 0.25, 255, LABELS)
SOFT = np.moveaxis(RNG.dirichlet(np.ones(C), size=(2, 4, 5)), -1, 1)
MULTI = (RNG.random(X.shape) < 0.4).astype(np.float64)
MULTI_SOFT = RNG.uniform(size=X.shape)
WEIGHTS = (0.2, 1.0, 3.0)
TOL = {"rtol": 1e-6, "atol": 1e-9}


def _torch() -> Any:
    return pytest.importorskip("torch", reason="torch is not installed (peer witness)")


def _jnp() -> Any:
    jax = pytest.importorskip("jax", reason="jax is not installed (peer witness)")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jnp


# MONAI computes in float32 and its BCE ``x − x·t − logsigmoid(x)`` cancels for
# confident negatives (relative error ~1e-5 at losses ~1e-3, absolute ~2e-8; our
# ``−log σ(−x)`` is exact there): 1e-6 absolute as well as relative.
MONAI_TOL = {"rtol": 1e-6, "atol": 1e-6}


def _close(got: Any, want: Any, tol: dict | None = None) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                               np.asarray(want, dtype=np.float64), **(tol or TOL))


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
        _close(got, want)


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
        _close(got, want)


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
            _close(got, want)


def test_torch_bce_probabilities_clamped() -> None:
    """``F.binary_cross_entropy(p, y)`` (logs clamped at −100) == ``cross_entropy(p, y,
    mode="binary", from_logits=False)``, including probabilities of exactly 0 and 1."""
    torch = _torch()
    import torch.nn.functional as F

    p = np.array([[[0.0, 1.0, 0.3, 1.0, 0.0, 0.999]]])
    y = np.array([[[1.0, 0.0, 1.0, 1.0, 0.0, 0.25]]])
    pt, yt = torch.asarray(p), torch.asarray(y)
    for reduction in ("mean", "none"):
        want = F.binary_cross_entropy(pt, yt, reduction=reduction)
        got = pixel.cross_entropy(pt, yt, mode="binary", from_logits=False,
                                  reduction=reduction)
        _close(got, want)


# --------------------------------------------------------------------------- MONAI


def _monai_focal() -> Any:
    _torch()
    module = pytest.importorskip("monai.losses", reason="monai is not installed (peer witness)")
    return module.FocalLoss


@pytest.mark.parametrize("alpha", [None, 0.25])
def test_monai_sigmoid_focal(alpha: float | None) -> None:
    """``monai.losses.FocalLoss(gamma=γ, alpha=α, reduction=r)`` (sigmoid, hard targets)
    == ``focal_loss(x, y, mode="multilabel", gamma=γ, alpha=α, reduction=r)``; MONAI's
    mean runs over B·C·H·W elements, as ours does in multilabel mode. MONAI computes in
    float32 (``input.float()``), so both are fed float32 here."""
    torch = _torch()
    focal = _monai_focal()
    x, y = torch.asarray(X, dtype=torch.float32), torch.asarray(MULTI, dtype=torch.float32)
    for gamma in (2.0, 0.5):
        for reduction in ("mean", "none"):
            want = focal(gamma=gamma, alpha=alpha, reduction=reduction)(x, y)
            got = pixel.focal_loss(x, y, mode="multilabel", gamma=gamma, alpha=alpha,
                                   reduction=reduction)
            _close(got, want, MONAI_TOL)


@pytest.mark.parametrize("alpha", [None, 0.25, WEIGHTS])
def test_monai_softmax_focal(alpha: Any) -> None:
    """``FocalLoss(use_softmax=True, to_onehot_y=True, gamma=γ, alpha=α,
    reduction="none")(x, y[:, None]).sum(1)`` == ``focal_loss(x, y, gamma=γ, alpha=α,
    reduction="none")``. MONAI keeps a per-class map (B, C, H, W) whose mean divides by
    B·C·H·W; ours sums the classes per pixel, so ``mean`` differs by the factor C (checked
    too). A float α means ``[1 − α, α, …]`` in both. Both in float32 (MONAI casts)."""
    torch = _torch()
    focal = _monai_focal()
    x, y = torch.asarray(X, dtype=torch.float32), torch.asarray(LABELS)
    for gamma in (2.0, 0.5):
        peer = focal(use_softmax=True, to_onehot_y=True, gamma=gamma, alpha=alpha,
                     reduction="none")
        want = peer(x, y[:, None]).sum(1)
        got = pixel.focal_loss(x, y, gamma=gamma, alpha=alpha, reduction="none")
        _close(got, want, MONAI_TOL)
        mean = focal(use_softmax=True, to_onehot_y=True, gamma=gamma, alpha=alpha)(
            x, y[:, None])
        _close(pixel.focal_loss(x, y, gamma=gamma, alpha=alpha), C * mean, MONAI_TOL)


# --------------------------------------------------------------------------- optax


def _optax() -> Any:
    _jnp()
    return pytest.importorskip("optax", reason="optax is not installed (peer witness)")


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
            _close(got, want)


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
    _close(pixel.cross_entropy(x, y, class_axis=-1, reduction="none"), want)
    one_hot = jnp.asarray(np.eye(C)[LABELS])
    want = optax.softmax_cross_entropy(x, optax.smooth_labels(one_hot, 0.1))
    got = pixel.cross_entropy(x, y, class_axis=-1, label_smoothing=0.1, reduction="none")
    _close(got, want)
    soft = jnp.asarray(np.moveaxis(SOFT, 1, -1))
    _close(pixel.cross_entropy(x, soft, class_axis=-1, reduction="none"),
           optax.softmax_cross_entropy(x, soft))
