"""Peer witnesses: the oracle and the library against MONAI, smp, torch and optax.

One file per family (``test_region.py``, ``test_pixel.py``, ``test_compound.py``,
``test_lovasz.py``); each test's docstring states the exact keyword mapping between the
peer and ``segloss_xp``. A peer that is not installed is SKIPPED with the line that
installs it; any other error while importing a peer fails the test.

What the files share lives here: the peers' imports (:func:`import_peer`, :func:`smp_losses`),
small float64 problems (:func:`multiclass`, :func:`binary`, :func:`multilabel`),
:func:`tensor` and the comparison :func:`close` with its two tolerances.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmarks import peers

__all__ = ["EXACT", "TOL", "binary", "close", "import_peer", "multiclass", "multilabel",
           "smp_losses", "tensor", "value"]

# where the peer computes in float64 (MONAI MCCLoss, DiceLoss, smp MCCLoss at eps = 0,
# torch BCE, MONAI's focal *functions*): only summation-order rounding
EXACT = 1e-12
# where the peer computes in float32 (MONAI FocalLoss / DiceFocalLoss cast the input,
# ``input.float()``) or places eps differently (smp MCCLoss): measured 1e-9 to 3e-7
TOL = 1e-6


def import_peer(module: str) -> Any:
    """Import ``module`` of a peer (or torch), or skip saying how to install it."""
    dist = module.split(".")[0]
    how = peers.PEER_PIP_LINES.get(dist)
    reason = f"{dist} is not installed" + (f" ({how})" if how else "") + ": witness skipped"
    return pytest.importorskip(module, reason=reason)


def smp_losses() -> Any:
    """``segmentation_models_pytorch.losses`` without the package ``__init__``
    (:func:`benchmarks.peers.smp_losses`); skips only when smp or a dependency of its
    ``losses`` is not installed."""
    try:
        return peers.smp_losses()
    except peers.PeerMissing as exc:
        pytest.skip(f"{exc}: witness skipped")


def multiclass(seed: int = 0, c: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Logits ``(3, c, 6, 7)`` and labels; class ``c - 1`` is absent from image 0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=2.0, size=(3, c, 6, 7))
    y = rng.integers(0, c, size=(3, 6, 7))
    y[0][y[0] == c - 1] = 0
    return x, y


def binary(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Logits ``(3, 1, 5, 6)`` and a mask; image 1 has an empty target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=2.0, size=(3, 1, 5, 6))
    y = (rng.random(x.shape) < 0.4).astype(np.float64)
    y[1] = 0.0
    return x, y


def multilabel(seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Logits ``(2, 3, 5, 6)`` and one mask per channel."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=2.0, size=(2, 3, 5, 6))
    y = (rng.random(x.shape) < 0.35).astype(np.float64)
    return x, y


def tensor(a: np.ndarray) -> Any:
    """A torch tensor sharing ``a``'s values and dtype."""
    return import_peer("torch").from_numpy(np.ascontiguousarray(a))


def value(out: Any) -> np.ndarray:
    """A result (torch tensor, NumPy, float) as float64 NumPy."""
    return np.asarray(out.detach().numpy() if hasattr(out, "detach") else out,
                      dtype=np.float64)


def close(got: Any, want: Any, tol: float, *, relative: bool = False) -> None:
    """Same shape, and ``max |got − want| <= tol`` (times ``max(1, max |want|)`` if
    ``relative``: for sums)."""
    got, want = value(got), value(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(1.0, float(np.max(np.abs(want)))) if relative else 1.0
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    assert err <= tol * scale, f"max abs difference {err:.3e} > {tol * scale:.1e}"
