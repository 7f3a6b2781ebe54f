"""segmentation_models_pytorch 0.6.0 ``LovaszLoss`` as a witness (float32, torch CPU).

Keyword mapping (smp -> segloss_xp), both taking logits:

* ``LovaszLoss(mode="multiclass", per_image=P, ignore_index=I)``
  == ``lovasz_softmax_loss(x, y, per_image=P, ignore_index=I)`` (``classes="present"``;
  smp applies the softmax itself, our ``from_logits=True``; both default to
  ``per_image=False``).
* ``LovaszLoss(mode="binary", per_image=P, ignore_index=I)``
  == ``lovasz_hinge_loss(x, y, per_image=P, ignore_index=I)``; smp defaults to
  ``per_image=False``, the authors' reference and we default to ``per_image=True``.
* ``LovaszLoss(mode="multilabel", ...)`` sorts all channels of an image (or of the
  batch) together, i.e. it is our *binary* hinge on ``x.reshape(N, -1)``; our
  ``mode="multilabel"`` instead treats every channel as its own problem.

smp drops ignored elements by boolean indexing; we mask them (error 0, truth 0),
which leaves the sums unchanged. smp uses ``torch.sort`` (not stable), so the
inputs here have no ties in the errors.

smp is installed with ``pip install --no-deps segmentation-models-pytorch==0.6.0``:
its package ``__init__`` imports torchvision and timm, so only the ``losses``
subpackage is imported (:func:`conformance.witnesses.smp_losses`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from conformance.witnesses import import_peer, smp_losses
from segloss_xp.lovasz import lovasz_hinge_loss, lovasz_softmax_loss

torch = import_peer("torch")


@pytest.fixture(scope="module")
def smp() -> Any:
    return smp_losses()


TOL = {"rtol": 1e-6, "atol": 1e-6}


def _value_and_grad(fn: Any, x: np.ndarray, y: Any) -> tuple[float, np.ndarray]:
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    out = fn(xt, y)
    out.backward()
    assert out.dtype == torch.float32
    assert xt.grad is not None
    return float(out.detach()), xt.grad.numpy()


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 255])
@pytest.mark.parametrize("spatial", [(12, 13), (4, 5, 6)], ids=["2d", "3d"])
def test_softmax_matches_smp(smp: Any, per_image: bool, ignore_index: int | None,
                             spatial: tuple[int, ...]) -> None:
    rng = np.random.default_rng(31)
    x = rng.normal(scale=2, size=(3, 4, *spatial)).astype(np.float32)
    y = rng.integers(0, 3, size=(3, *spatial))  # class 3 absent ("present" skips it)
    if ignore_index is not None:
        y = np.where(rng.random(y.shape) < 0.2, ignore_index, y)
    yt = torch.asarray(y)
    peer = smp.LovaszLoss(mode="multiclass", per_image=per_image, ignore_index=ignore_index)
    want, want_grad = _value_and_grad(peer, x, yt)
    got, got_grad = _value_and_grad(
        lambda a, b: lovasz_softmax_loss(a, b, per_image=per_image,
                                         ignore_index=ignore_index), x, yt)
    np.testing.assert_allclose(got, want, **TOL)
    np.testing.assert_allclose(got_grad, want_grad, **TOL)


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 255])
def test_hinge_matches_smp_binary(smp: Any, per_image: bool,
                                  ignore_index: int | None) -> None:
    rng = np.random.default_rng(32)
    x = rng.normal(scale=2, size=(4, 1, 12, 13)).astype(np.float32)
    y = (rng.random(x.shape) < 0.4).astype(np.float32)
    y[1] = 0.0  # an image with an empty target
    if ignore_index is not None:
        y = np.where(rng.random(y.shape) < 0.2, ignore_index, y).astype(np.float32)
    yt = torch.asarray(y)
    peer = smp.LovaszLoss(mode="binary", per_image=per_image, ignore_index=ignore_index)
    want, want_grad = _value_and_grad(peer, x, yt)
    got, got_grad = _value_and_grad(
        lambda a, b: lovasz_hinge_loss(a, b, per_image=per_image, ignore_index=ignore_index),
        x, yt)
    np.testing.assert_allclose(got, want, **TOL)
    np.testing.assert_allclose(got_grad, want_grad, **TOL)


@pytest.mark.parametrize("per_image", [False, True])
def test_smp_multilabel_is_our_binary_hinge_on_flattened_channels(smp: Any,
                                                                  per_image: bool) -> None:
    rng = np.random.default_rng(33)
    x = rng.normal(scale=2, size=(3, 3, 8, 9)).astype(np.float32)
    y = (rng.random(x.shape) < 0.3).astype(np.float32)
    peer = smp.LovaszLoss(mode="multilabel", per_image=per_image)
    want, want_grad = _value_and_grad(peer, x, torch.asarray(y))
    flat_y = torch.asarray(y.reshape(3, -1))
    got, got_grad = _value_and_grad(
        lambda a, b: lovasz_hinge_loss(torch.reshape(a, (3, -1)), b, per_image=per_image),
        x, flat_y)
    np.testing.assert_allclose(got, want, **TOL)
    np.testing.assert_allclose(got_grad, want_grad, **TOL)
