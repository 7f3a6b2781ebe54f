"""MONAI as witness for the boundary losses (float64 torch).

Each test states the exact keyword mapping and asserts **oracle == peer** and
**library == peer**. MONAI applies ``softmax``/``sigmoid`` itself and wants a
``(N, 1, *spatial)`` label map with ``to_onehot_y=True``.

* ``boundary_loss(x, maps)`` == MONAI ``BoundaryLoss`` with the maps MONAI computes
  itself (Kervadec's ``−(d_in − 1)`` inside, ``d_out`` outside, zeros for an empty or
  full mask; here from ``conformance.oracle_boundary.signed_distance_map``, the same
  convention). MONAI stores its maps in float32: agreement to ``TOL``.
* ``hausdorff_dt_loss`` == MONAI ``HausdorffDTLoss`` (same thresholding ``> 0.5`` of the
  activated prediction per channel, same ``EDT(m) + EDT(¬m)`` fields, zero for an empty
  or full mask, same per (image, channel) spatial mean). MONAI's fields are float32
  (``.float()``): agreement to ``TOL`` relative.
* ``cldice_loss`` == MONAI ``SoftclDiceLoss`` where the definitions agree: one channel
  (binary; per class by slicing the channels, since MONAI pools the sums of all channels
  of an image into one ratio and we keep one per class), with MONAI's ``smooth`` (added
  to the harmonic mean's denominator, 1e-4 by default, nothing in ours) set to 1e-12.
  ``alpha=0.5`` == ``SoftDiceclDiceLoss`` (binary). MONAI computes in float64 here.
* ``boundary_dice_loss`` has no peer (its terms are ``dice_loss``, witnessed in
  ``test_region.py``, and the morphological gradient, checked against SciPy's filters by
  the oracle).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import segloss_xp as sx
from conformance import oracle_boundary as ob
from conformance.helpers import one_hot, softmax
from conformance.witnesses import TOL, binary, close, import_peer, multiclass, multilabel, tensor

torch = import_peer("torch")
losses = import_peer("monai.losses")

TINY = 1e-12  # MONAI SoftclDiceLoss's harmonic-mean smooth must be > 0


@pytest.mark.parametrize("include_background", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_boundary_loss_multiclass_vs_monai(include_background: bool, reduction: str) -> None:
    """``boundary_loss(x, signed_distance_map(one_hot(y)), include_background=i,
    reduction=r)`` == ``BoundaryLoss(softmax=True, to_onehot_y=True, include_background=i,
    reduction=r)(x, y[:, None])``."""
    x, y = multiclass()
    maps = ob.signed_distance_map(one_hot(y, x.shape[1]))
    peer = losses.BoundaryLoss(softmax=True, to_onehot_y=True,
                               include_background=include_background,
                               reduction=reduction)(tensor(x), tensor(y[:, None]))
    kw = {"include_background": include_background, "reduction": reduction}
    close(ob.boundary_loss(x, maps, **kw), peer, TOL)
    close(sx.boundary_loss(tensor(x), tensor(maps), **kw), peer, TOL)


def test_boundary_loss_binary_vs_monai() -> None:
    """``boundary_loss(x, maps, mode="binary")`` == ``BoundaryLoss(sigmoid=True)(x, y)``."""
    x, y = binary()
    maps = ob.signed_distance_map(y)
    peer = losses.BoundaryLoss(sigmoid=True)(tensor(x), tensor(y))
    close(ob.boundary_loss(x, maps, mode="binary"), peer, TOL)
    close(sx.boundary_loss(tensor(x), tensor(maps), mode="binary"), peer, TOL)


@pytest.mark.parametrize("include_background", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_hausdorff_multiclass_vs_monai(include_background: bool, reduction: str) -> None:
    """``hausdorff_dt_loss(x, y, alpha=a, include_background=i, reduction=r)`` ==
    ``HausdorffDTLoss(alpha=a, softmax=True, to_onehot_y=True, include_background=i,
    reduction=r)(x, y[:, None])`` (``"none"``: MONAI's ``(N, C', 1, 1)`` squeezed)."""
    x, y = multiclass(seed=5)
    peer = losses.HausdorffDTLoss(alpha=1.5, softmax=True, to_onehot_y=True,
                                  include_background=include_background,
                                  reduction=reduction)(tensor(x), tensor(y[:, None]))
    if reduction == "none":
        peer = peer[..., 0, 0]
    kw = {"alpha": 1.5, "include_background": include_background, "reduction": reduction}
    close(ob.hausdorff_dt_loss(x, y, **kw), peer, TOL, relative=True)
    close(sx.hausdorff_dt_loss(tensor(x), tensor(y), **kw), peer, TOL, relative=True)


@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_hausdorff_sigmoid_vs_monai(mode: str) -> None:
    """``hausdorff_dt_loss(x, y, mode=m)`` == ``HausdorffDTLoss(sigmoid=True,
    include_background=False)(x, y)`` (binary: one channel, MONAI keeps it with a
    warning; multilabel: channel 0 dropped by both)."""
    x, y = binary() if mode == "binary" else multilabel()
    with pytest.warns(UserWarning) if mode == "binary" else contextlib.nullcontext():
        peer = losses.HausdorffDTLoss(sigmoid=True)(tensor(x), tensor(y))
    close(ob.hausdorff_dt_loss(x, y, mode=mode), peer, TOL, relative=True)
    close(sx.hausdorff_dt_loss(tensor(x), tensor(y), mode=mode), peer, TOL, relative=True)


def test_hausdorff_probabilities_3d_vs_monai() -> None:
    """3-D, ``from_logits=False`` == MONAI without an activation."""
    rng = np.random.default_rng(4)
    p = rng.uniform(0.0, 1.0, size=(2, 1, 4, 5, 6))
    y = (rng.random(p.shape) < 0.3).astype(np.float64)
    with pytest.warns(UserWarning):  # include_background=False on one channel: ignored
        peer = losses.HausdorffDTLoss()(tensor(p), tensor(y))
    close(ob.hausdorff_dt_loss(p, y, mode="binary", from_logits=False), peer, TOL,
          relative=True)
    close(sx.hausdorff_dt_loss(p, y, mode="binary", from_logits=False), peer, TOL,
          relative=True)


@pytest.mark.parametrize("iterations", [0, 3])
@pytest.mark.parametrize("smooth", [1.0, 1e-3])
def test_cldice_binary_vs_monai(iterations: int, smooth: float) -> None:
    """``cldice_loss(x, y, mode="binary", iterations=k, smooth=s, reduction="none")[:, 0]``
    == ``SoftclDiceLoss(iter_=k, smooth_nr=s, smooth_dr=s, smooth=1e-12, sigmoid=True,
    reduction="none")(x, y)``."""
    x, y = _tubes()
    peer = losses.SoftclDiceLoss(iter_=iterations, smooth_nr=smooth, smooth_dr=smooth,
                                 smooth=TINY, sigmoid=True, reduction="none")(tensor(x),
                                                                              tensor(y))
    kw = {"mode": "binary", "iterations": iterations, "smooth": smooth, "reduction": "none"}
    close(ob.cldice_loss(x, y, **kw)[:, 0], peer, TOL)
    close(sx.cldice_loss(tensor(x), tensor(y), **kw)[:, 0], peer, TOL)


def test_cldice_per_class_vs_monai_per_channel() -> None:
    """Multiclass ``cldice_loss(x, y, reduction="none")[:, c]`` == ``SoftclDiceLoss(
    smooth=1e-12)`` on channel ``c`` alone of ``softmax(x)`` and ``one_hot(y)`` (MONAI would
    pool the channels; one channel at a time it computes our per-class term)."""
    x, y = multiclass(seed=6, c=3)
    p, g = softmax(x), one_hot(y, 3)
    ours = sx.cldice_loss(tensor(x), tensor(y), reduction="none")
    want = ob.cldice_loss(x, y, reduction="none")
    for c in range(3):
        peer = losses.SoftclDiceLoss(smooth=TINY, reduction="none")(
            tensor(p[:, c:c + 1]), tensor(g[:, c:c + 1]))
        close(want[:, c], peer, TOL)
        close(ours[:, c], peer, TOL)


def test_dice_cldice_mix_vs_monai() -> None:
    """``cldice_loss(x, y, mode="binary", alpha=0.5, smooth=s)`` ==
    ``SoftDiceclDiceLoss(alpha=0.5, smooth_nr=s, smooth_dr=s, smooth=1e-12, sigmoid=True)``."""
    x, y = _tubes(seed=2)
    peer = losses.SoftDiceclDiceLoss(alpha=0.5, smooth_nr=1.0, smooth_dr=1.0, smooth=TINY,
                                     sigmoid=True)(tensor(x), tensor(y))
    close(ob.cldice_loss(x, y, mode="binary", alpha=0.5), peer, TOL)
    close(sx.cldice_loss(tensor(x), tensor(y), mode="binary", alpha=0.5), peer, TOL)


def _tubes(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Binary logits ``(3, 1, 12, 11)`` and masks of thick random lines (tubular shapes)."""
    rng = np.random.default_rng(seed)
    y = np.zeros((3, 1, 12, 11))
    for n in range(3):
        row, col = rng.integers(2, 9, size=2)
        y[n, 0, row:row + 3, 1:10] = 1.0
        y[n, 0, 1:11, col:col + 2] = 1.0
    x = 3.0 * (2 * y - 1) + rng.normal(scale=2.0, size=y.shape)
    return x, y

