"""The boundary losses (``segloss_xp.boundary``) on every backend.

Expected values come from the float64 oracle (``conformance/oracle_boundary.py``:
SciPy's distance transform and min/max filters) or from hand computations written out
here; never from the code under test. The conformance suite runs the same losses over
its whole case table with gradients, jit, vmap and compile; these tests pin the
conventions: layouts, reductions, the stop-gradient of the distance maps, the
compositions with ``dice_loss`` and the argument errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from conformance import oracle_boundary as ob
from conformance.helpers import AUTOGRAD_BACKENDS, one_hot, require_capability, value_and_grad
from segloss_xp.testing import Backend, assert_matches, load_backend

RTOL = 1e-10
LOSSES = ("boundary_loss", "boundary_dice_loss", "hausdorff_dt_loss", "cldice_loss")


def _case(name: str, seed: int = 3) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Channels-first logits and target (labels or masks) and the keywords of a case."""
    rng = np.random.default_rng(seed)
    if name == "mc2d":
        return rng.normal(size=(2, 3, 7, 6)), rng.integers(0, 3, size=(2, 7, 6)), {}
    if name == "bin3d":
        y = (rng.random((2, 1, 4, 5, 6)) < 0.4).astype(np.float64)
        return rng.normal(size=y.shape), y, {"mode": "binary"}
    if name == "ml2d":
        y = (rng.random((1, 3, 6, 6)) < 0.5).astype(np.float64)
        return rng.normal(size=y.shape), y, {"mode": "multilabel"}
    raise ValueError(name)


def _second(name: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """boundary_loss takes the target's signed distance maps; the others the target."""
    if name != "boundary_loss":
        return y
    return ob.signed_distance_map(one_hot(y, x.shape[1]) if y.ndim < x.ndim else y)


def _fast(loss: str) -> dict[str, Any]:
    """One soft-skeleton iteration (each adds ~100 small operations, slow on dask and in
    eager JAX); the conformance suite and the MONAI witnesses run the default 3."""
    return {"iterations": 1} if loss == "cldice_loss" else {}


CASES = [(loss, case, reduction) for loss in LOSSES
         for case, reduction in (("mc2d", "mean"), ("bin3d", "none"), ("ml2d", "none"))]


@pytest.mark.parametrize(("loss", "case", "reduction"), CASES,
                         ids=["-".join(c) for c in CASES])
def test_matches_oracle(loss: str, case: str, reduction: str, backend: Backend) -> None:
    require_capability(loss, "dask", backend.name)
    x, y, kw = _case(case)
    kw |= _fast(loss)
    second = _second(loss, x, y)
    want = getattr(ob, loss)(x, second, reduction=reduction, **kw)
    xb = backend.asarray(x)
    out = getattr(sx, loss)(xb, backend.asarray(second), reduction=reduction, **kw)
    assert_matches(out, want, backend, dtype="float64", rtol=RTOL, atol=1e-12, ref=xb)


@pytest.mark.parametrize("loss", LOSSES)
def test_channels_last_and_float32(loss: str, backend: Backend) -> None:
    require_capability(loss, "dask", backend.name)
    x, y, kw = _case("mc2d")
    kw |= _fast(loss)
    second = _second(loss, x, y)
    want = getattr(ob, loss)(x.astype(np.float32).astype(np.float64), second, **kw)
    last = np.moveaxis(x, 1, -1)
    second_last = np.moveaxis(second, 1, -1) if second.ndim == x.ndim else second
    xb = backend.asarray(last, "float32")
    out = getattr(sx, loss)(xb, backend.asarray(second_last), class_axis=-1, **kw)
    assert_matches(out, want, backend, dtype="float32", rtol=2e-5, atol=2e-6, ref=xb)


# ----------------------------------------------------------------------------- by hand


def test_boundary_loss_by_hand() -> None:
    probs = np.array([[[[0.9, 0.1, 0.2]]]])
    maps = np.array([[[[-1.0, 0.0, 1.0]]]])
    # (0.9·(−1) + 0.1·0 + 0.2·1) / 3
    assert sx.boundary_loss(probs, maps, mode="binary", from_logits=False) == \
        pytest.approx(-0.7 / 3, rel=1e-15)
    # binary without a channel axis: the maps have y_pred's shape
    assert sx.boundary_loss(probs[:, 0], maps[:, 0], mode="binary", from_logits=False) == \
        pytest.approx(-0.7 / 3, rel=1e-15)


def test_hausdorff_by_hand() -> None:
    # prediction mask [1, 1, 0, 0], target mask [1, 0, 0, 0] on a 1×4 image
    probs = np.array([[[[0.9, 0.6, 0.1, 0.1]]]])
    target = np.array([[[[1.0, 0.0, 0.0, 0.0]]]])
    d_p = np.array([2.0, 1.0, 1.0, 2.0])  # EDT(m) + EDT(¬m)
    d_g = np.array([1.0, 1.0, 2.0, 3.0])
    error = (probs[0, 0, 0] - target[0, 0, 0]) ** 2
    want = np.mean(error * (d_p**2 + d_g**2))
    got = sx.hausdorff_dt_loss(probs, target, mode="binary", from_logits=False)
    assert got == pytest.approx(want, rel=1e-15)
    # alpha=1 and an anisotropic spacing of 3 along the image's one long axis
    got = sx.hausdorff_dt_loss(probs, target, mode="binary", from_logits=False, alpha=1.0,
                               spacing=(1.0, 3.0))
    assert got == pytest.approx(np.mean(error * 3 * (d_p + d_g)), rel=1e-15)


def test_hausdorff_empty_and_full_masks_have_no_distance() -> None:
    """An empty or full mask has no boundary: its distance field is 0 (MONAI)."""
    probs = np.full((2, 1, 3, 3), 0.2)
    target = np.zeros((2, 1, 3, 3))
    target[1] = 1.0  # image 1 full, image 0 empty; the prediction is empty everywhere
    out = sx.hausdorff_dt_loss(probs, target, mode="binary", from_logits=False,
                               reduction="none")
    np.testing.assert_array_equal(out, np.zeros((2, 1)))


def test_cldice_of_a_line_and_of_its_complement() -> None:
    vessel = np.zeros((1, 1, 5, 7))
    vessel[0, 0, 2, 1:6] = 1.0
    assert float(sx.cldice_loss(vessel, vessel, mode="binary", from_logits=False)) == 0.0
    miss = np.roll(vessel, 2, axis=2)  # a parallel line two rows away
    out = sx.cldice_loss(miss, vessel, mode="binary", from_logits=False, smooth=0.0)
    assert float(out) == 1.0  # no skeleton element inside the other mask


def test_boundary_dice_edges_of_a_perfect_prediction_vanish() -> None:
    _, y, _ = _case("mc2d")
    probs = one_hot(y, 3)
    out = sx.boundary_dice_loss(probs, y, from_logits=False, smooth=0.0, reduction="none")
    np.testing.assert_array_equal(out, np.zeros((2, 3)))


def test_maps_on_the_fly_on_the_device(backend: Backend) -> None:
    """The recipe of the docstring: the library's signed_distance_map of the labels, on
    the backend (jitted on jax-jit), feeding boundary_loss; equal to the oracle's maps."""
    x, y, _ = _case("mc2d")
    want = ob.boundary_loss(x, ob.signed_distance_map(one_hot(y, 3)))
    xb = backend.asarray(x)
    maps = sx.signed_distance_map(backend.asarray(y), num_classes=3)
    out = sx.boundary_loss(xb, backend.xp.astype(maps, xb.dtype))
    assert_matches(out, want, backend, dtype="float64", rtol=1e-6, atol=1e-12, ref=xb)


# ----------------------------------------------------------------------------- compositions


@pytest.mark.parametrize("case", ["mc2d", "bin3d"])
def test_compositions_with_dice(case: str) -> None:
    x, y, kw = _case(case)
    dice = sx.dice_loss(x, y, smooth=0.5, reduction="none", **kw)
    np.testing.assert_allclose(sx.boundary_dice_loss(x, y, smooth=0.5, lam=0.0,
                                                     reduction="none", **kw), dice, rtol=1e-15)
    np.testing.assert_allclose(sx.cldice_loss(x, y, smooth=0.5, alpha=0.0, reduction="none",
                                              **kw), dice, rtol=1e-15)
    pure = sx.cldice_loss(x, y, smooth=0.5, reduction="none", **kw)
    mixed = sx.cldice_loss(x, y, smooth=0.5, alpha=0.25, reduction="none", **kw)
    np.testing.assert_allclose(mixed, 0.75 * dice + 0.25 * pure, rtol=1e-14)


# ----------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("loss", LOSSES)
def test_gradients_finite_and_equal_across_frameworks(loss: str) -> None:
    found = {name: load_backend(name)[0] for name in ("torch", "jax")}
    missing = [name for name, b in found.items() if b is None]
    if missing:
        pytest.skip(f"{missing} not installed")
    x, y, kw = _case("bin3d")
    kw |= _fast(loss)
    second = _second(loss, x, y)
    grads = []
    for backend in found.values():
        assert backend is not None
        t = backend.asarray(second)
        _, grad = value_and_grad(backend, lambda p, t=t: getattr(sx, loss)(p, t, **kw), x)
        assert np.isfinite(grad).all() and np.abs(grad).max() > 1e-4
        grads.append(grad)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10, atol=1e-14)


def test_distance_maps_carry_no_gradient() -> None:
    """``dist_maps`` are detached: torch gives them no gradient, ``jax.grad`` a zero one."""
    x, y, _ = _case("mc2d")
    maps = _second("boundary_loss", x, y)
    torch_backend, _ = load_backend("torch")
    if torch_backend is not None:
        import torch

        xt = torch.tensor(x, requires_grad=True)
        mt = torch.tensor(maps, requires_grad=True)
        sx.boundary_loss(xt, mt).backward()
        assert mt.grad is None and xt.grad is not None
    jax_backend, _ = load_backend("jax")
    if jax_backend is not None:
        import jax

        grad = jax.grad(lambda m: sx.boundary_loss(jax_backend.asarray(x), m))(
            jax_backend.asarray(maps))
        assert not np.asarray(grad).any()
    if torch_backend is None and jax_backend is None:
        pytest.skip("neither torch nor jax is installed")


def test_the_prediction_gets_the_gradient_of_the_maps(backend: Backend) -> None:
    """d/dp of mean(p·φ) is φ/|Ω| (binary probabilities: the gradient is the maps)."""
    if backend.name not in AUTOGRAD_BACKENDS:
        pytest.skip(f"{backend.name}: no autograd in this library")
    rng = np.random.default_rng(0)
    probs = rng.uniform(0.1, 0.9, size=(1, 1, 4, 5))
    maps = rng.normal(size=probs.shape)
    _, grad = value_and_grad(backend, lambda p: sx.boundary_loss(
        p, backend.asarray(maps), mode="binary", from_logits=False), probs)
    np.testing.assert_allclose(grad, maps / 20, rtol=1e-12)


# ----------------------------------------------------------------------------- bad arguments


X, Y, _ = _case("mc2d")
MAPS = _second("boundary_loss", X, Y)
BAD = [
    ("boundary_loss", (X, MAPS[:, :2]), {}, ValueError,
     ("`dist_maps`", str(X.shape), str(MAPS[:, :2].shape))),
    ("boundary_loss", (X, MAPS.astype(np.int64)), {}, TypeError,
     ("`dist_maps`", "real floating", "int64")),
    ("boundary_loss", (X, np.where(MAPS > 1, np.nan, MAPS)), {}, ValueError,
     ("`dist_maps`", "non-finite")),
    ("boundary_dice_loss", (X, Y), {"lam": -0.5}, ValueError, ("`lam`", "-0.5")),
    ("boundary_dice_loss", (X, Y), {"edge_norm": "l3"}, ValueError,
     ("`edge_norm`", "'l1', 'l2'", "'l3'")),
    ("hausdorff_dt_loss", (X, Y), {"alpha": 0.0}, ValueError, ("`alpha`", "> 0", "0.0")),
    ("hausdorff_dt_loss", (X, Y), {"alpha": -2.0}, ValueError, ("`alpha`", "-2.0")),
    ("hausdorff_dt_loss", (X, Y), {"spacing": (1.0, 1.0, 1.0)}, ValueError,
     ("`spacing`", "expected 2", "got 3")),
    ("cldice_loss", (X, Y), {"iterations": -1}, ValueError, ("`iterations`", ">= 0", "-1")),
    ("cldice_loss", (X, Y), {"iterations": 2.0}, TypeError, ("`iterations`", "int", "2.0")),
    ("cldice_loss", (X, Y), {"alpha": 1.5}, ValueError, ("`alpha`", "[0, 1]", "1.5")),
    ("cldice_loss", (X, Y), {"ignore_index": 255}, TypeError, ("ignore_index",)),
]


@pytest.mark.parametrize(("loss", "args", "kwargs", "error", "words"), BAD,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_arguments_name_the_argument_and_the_value(
        loss: str, args: tuple[np.ndarray, ...], kwargs: dict[str, Any],
        error: type[Exception], words: tuple[str, ...]) -> None:
    with pytest.raises(error) as info:
        getattr(sx, loss)(*args, **kwargs)
    missing = [w for w in words if w not in str(info.value)]
    assert not missing, f"{missing} not in: {info.value}"
