"""No silent wrong answer: the mistakes of a user's first hour give an error, a warning or NaN.

One test per row of issue #11's table (each used to return a plausible finite number),
then the NaN-poisoning matrix for traced/lazy arrays, framework arrays as options, our
errors instead of the backend's, and ``check_inputs``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from conformance.helpers import losses, one_hot, softmax
from segloss_xp.testing import Backend, load_backend

RNG = np.random.default_rng(11)
X4 = RNG.normal(size=(2, 4, 6, 6))
LABELS = RNG.integers(0, 4, size=(2, 6, 6))


def _need(name: str) -> Backend:
    found, reason = load_backend(name)
    if found is None:
        pytest.skip(reason)
    return found


# ----------------------------------------------------------------------------- the table


@pytest.mark.parametrize("loss", [sx.dice_loss, sx.dice_ce_loss])
def test_binary_mask_in_default_multiclass_mode_raises(loss: Any) -> None:
    logits = RNG.normal(size=(2, 8, 8))
    mask = (RNG.random((2, 8, 8)) < 0.4).astype(np.float64)
    with pytest.raises(ValueError, match=r"sum to 1.*mode='binary'"):
        loss(logits, mask)


def test_one_hot_target_in_binary_loss_raises() -> None:
    with pytest.raises(ValueError, match=r"one-hot over axis 1 \(4 channels\).*multilabel"):
        sx.bce_dice_loss(X4, one_hot(LABELS, 4))


def test_probabilities_with_from_logits_true_warn() -> None:
    with pytest.warns(UserWarning, match="from_logits=False"):
        sx.dice_loss(softmax(X4), LABELS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sx.dice_loss(softmax(X4), LABELS, from_logits=False)  # no warning
        sx.dice_loss(X4, LABELS)


def test_unignored_255_under_jax_jit_is_nan() -> None:
    _need("jax")
    import jax
    import jax.numpy as jnp

    labels = LABELS.copy()
    labels[0, 0, 0] = 255
    x, y = jnp.asarray(X4), jnp.asarray(labels)
    for loss in (sx.dice_loss, sx.cross_entropy, sx.dice_ce_loss):
        assert math.isnan(float(jax.jit(loss)(x, y)))
        ignored = jax.jit(lambda a, b, loss=loss: loss(a, b, ignore_index=255))(x, y)
        assert math.isfinite(float(ignored))


def test_unignored_255_under_torch_compile_is_nan() -> None:
    _need("torch")
    import torch

    labels = LABELS.copy()
    labels[0, 0, 0] = 255
    compiled = torch.compile(sx.dice_ce_loss, fullgraph=True)
    assert math.isnan(float(compiled(torch.tensor(X4), torch.tensor(labels))))
    fine = torch.compile(lambda a, b: sx.dice_ce_loss(a, b, ignore_index=255), fullgraph=True)
    assert math.isfinite(float(fine(torch.tensor(X4), torch.tensor(labels))))


def test_label_out_of_range_on_dask_raises_at_compute_time() -> None:
    _need("dask")
    import dask.array as da

    labels = LABELS.copy()
    labels[1, 2, 3] = 7
    result = sx.dice_loss(da.from_array(X4, chunks=(1, 2, 3, 3)),
                          da.from_array(labels, chunks=(1, 3, 3)))
    with pytest.raises(ValueError, match=r"labels outside \[0, 4\)"):
        result.compute()


def test_shape_mismatch_suggests_class_axis() -> None:
    channels_last = np.moveaxis(X4, 1, -1)  # (2, 6, 6, 4) with labels (2, 6, 6)
    with pytest.raises(ValueError, match="class_axis=-1"):
        sx.dice_loss(channels_last, LABELS)


def test_ambiguous_layouts_are_documented() -> None:
    # a square channels-last batch is also a valid channels-first one: only the docs help
    doc = " ".join(sx.dice_loss.__doc__.split())
    assert "class_axis=-1" in doc and "jax.vmap" in doc


# ----------------------------------------------------------------------------- poisoning

_BAD: dict[str, Any] = {
    "label": lambda x, y, kw: (x, np.where(y == 0, 9, y), kw),
    "nan": lambda x, y, kw: (np.where(x > 1.5, np.nan, x), y, kw),
    "probability": lambda x, y, kw: (softmax(x) * 1.5, y, {**kw, "from_logits": False}),
}


def _inputs(name: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    fn = losses()[name]
    import inspect

    mode = inspect.signature(fn).parameters["mode"].default
    if name == "boundary_loss":  # its second input: signed distance maps of y_pred's shape
        return X4, np.where(one_hot(LABELS, 4) == 1, -1.0, 2.0), {}
    if mode == "multiclass":
        return X4, LABELS, {}
    return X4[:, :1], (LABELS[:, None] == 1).astype(np.float64), {}


@pytest.mark.parametrize("bad", sorted(_BAD))
@pytest.mark.parametrize("name", sorted(losses()))
def test_invalid_values_poison_the_loss_under_jax_jit(name: str, bad: str) -> None:
    _need("jax")
    import jax
    import jax.numpy as jnp

    x, y, kw = _BAD[bad](*_inputs(name))
    if bad == "label" and name == "boundary_loss":
        y = np.where(y > 0, np.inf, y)  # a distance map's invalid value: a non-finite one
    elif bad == "label" and y.dtype.kind == "f":
        y = np.where(y == 1, 3.0, y)  # a target outside [0, 1]
    if name == "lovasz_hinge_loss" and bad == "probability":
        pytest.skip("lovasz_hinge_loss takes logits only (no from_logits)")
    fn = losses()[name]
    out = jax.jit(lambda a, b: fn(a, b, **kw))(jnp.asarray(x), jnp.asarray(y))
    assert bool(jnp.all(jnp.isnan(out))), f"{name} with a bad {bad} under jit gave {out}"
    with pytest.raises(ValueError):
        fn(x, y, **kw)  # eager: the error, with the value


# ----------------------------------------------------------------------------- options


def test_class_weights_as_torch_tensor_compile_without_graph_breaks() -> None:
    _need("torch")
    import torch

    weights = torch.tensor([0.5, 1.0, 2.0, 1.0], dtype=torch.float64)

    def f(a: Any, b: Any) -> Any:
        return sx.dice_ce_loss(a, b, class_weights=weights)

    x, y = torch.tensor(X4), torch.tensor(LABELS)
    explain = torch._dynamo.explain(f)(x, y)
    assert explain.graph_break_count == 0, explain.break_reasons
    want = sx.dice_ce_loss(X4, LABELS, class_weights=[0.5, 1.0, 2.0, 1.0])
    np.testing.assert_allclose(float(f(x, y)), float(want), rtol=1e-12)


def test_class_weights_as_traced_jax_array() -> None:
    _need("jax")
    import jax
    import jax.numpy as jnp

    def f(w: Any) -> Any:
        return sx.dice_loss(jnp.asarray(X4), jnp.asarray(LABELS), class_weights=w) + \
            sx.focal_loss(jnp.asarray(X4), jnp.asarray(LABELS), alpha=w)

    w = jnp.asarray([0.5, 1.0, 2.0, 1.0])
    want = sx.dice_loss(X4, LABELS, class_weights=[0.5, 1.0, 2.0, 1.0]) + \
        sx.focal_loss(X4, LABELS, alpha=[0.5, 1.0, 2.0, 1.0])
    np.testing.assert_allclose(float(jax.jit(f)(w)), float(want), rtol=1e-12)
    with pytest.raises(ValueError, match=r"`class_weights` must have one entry per class"):
        jax.jit(f)(w[:3])  # the shape is still checked under jit


def test_numpy_weights_with_framework_inputs(backend: Backend) -> None:
    x, y = backend.asarray(X4), backend.asarray(LABELS)
    weights = np.array([0.5, 1.0, 2.0, 1.0])
    out = sx.dice_loss(x, y, class_weights=weights)
    want = sx.dice_loss(X4, LABELS, class_weights=weights.tolist())
    np.testing.assert_allclose(float(backend.to_numpy(out)), float(want), rtol=1e-10)
    # NumPy weights are concrete on every backend (dask and jax-jit too): checked at once
    with pytest.raises(ValueError, match=r"`class_weights` must be finite and >= 0"):
        sx.dice_loss(x, y, class_weights=np.array([0.5, -1.0, 2.0, 1.0]))


# ----------------------------------------------------------------------------- our errors


def test_mixed_devices_get_our_error() -> None:
    dev1 = _need("strict-dev1")
    import array_api_strict as xps

    with dev1.context():
        x = dev1.asarray(X4)  # on device1
        y = xps.asarray(LABELS)  # on the CPU device
        with pytest.raises(ValueError, match=r"`y_pred` is on device.*`y_true` on"):
            sx.dice_loss(x, y)


def test_uint8_labels_with_negative_ignore_index(backend: Backend) -> None:
    labels = backend.asarray(LABELS.astype(np.uint8))
    out = sx.cross_entropy(backend.asarray(X4), labels, ignore_index=-1)
    want = sx.cross_entropy(X4, LABELS)
    np.testing.assert_allclose(float(backend.to_numpy(out)), float(want), rtol=1e-10)


# ----------------------------------------------------------------------------- check_inputs


def test_check_inputs_raises_what_jit_cannot() -> None:
    labels = LABELS.copy()
    labels[0, 1, 1] = 5
    with pytest.raises(ValueError, match="label 5"):
        sx.check_inputs(X4, labels)
    sx.check_inputs(X4, labels, ignore_index=5)
    with pytest.raises(ValueError, match="hard targets"):
        sx.check_inputs(X4[:, :1], np.full((2, 1, 6, 6), 0.5), loss=sx.lovasz_hinge_loss)
    with pytest.raises(TypeError, match="loss="):
        sx.check_inputs(X4, LABELS, label_smoothing=0.1)


def test_check_inputs_refuses_traced_arrays() -> None:
    _need("jax")
    import jax
    import jax.numpy as jnp

    with pytest.raises(TypeError, match="concrete arrays"):
        jax.jit(lambda a, b: sx.check_inputs(a, b) or 0.0)(jnp.asarray(X4),
                                                           jnp.asarray(LABELS))


# ----------------------------------------------------------------------------- compile: quiet


def _compile_warnings(fn: Any, *arrays: np.ndarray) -> list[str]:
    """The warnings of compiling ``fn`` (``fullgraph=True``) on torch copies of ``arrays``,
    less torch's own (its first compile, torch.jit's deprecation)."""
    import torch

    torch.compile(lambda a, b: (a * 2).sum())(torch.ones(2), torch.ones(2))  # torch's own
    torch._dynamo.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.compile(fn, fullgraph=True)(*(torch.tensor(a) for a in arrays))
    return [str(w.message).splitlines()[0] for w in caught
            if "torch/jit/" not in w.filename.replace("\\", "/")]


@pytest.mark.parametrize("name", sorted(losses()))
def test_torch_compile_prints_no_warning(name: str) -> None:
    _need("torch")
    import inspect

    fn = losses()[name]
    x, y, kw = _inputs(name)
    if "per_image" in inspect.signature(fn).parameters:
        kw = {**kw, "per_image": True}
    ours = _compile_warnings(lambda a, b: fn(a, b, **kw), x, y)
    assert not ours, ours


@pytest.mark.parametrize(("name", "kw"), [
    ("cross_entropy", {"class_weights": [0.5, 1.0, 2.0, 4.0]}),
    ("dice_loss", {"class_weights": (0.5, 1.0, 2.0, 4.0)}),
    ("focal_loss", {"alpha": [0.1, 0.2, 0.3, 0.4]}),
])
def test_torch_compile_with_sequence_keywords_prints_no_warning(name: str,
                                                                kw: dict[str, Any]) -> None:
    # a Python sequence went through array_api_compat's functools-cached type checks
    _need("torch")
    fn = getattr(sx, name)
    ours = _compile_warnings(lambda a, b: fn(a, b, **kw), X4, LABELS)
    assert not ours, ours


@pytest.mark.parametrize("kind", ["dice", "generalized_dice", "mcc"])
def test_torch_compile_of_loss_from_stats_prints_no_warning(kind: str) -> None:
    # region_loss_from_stats checks its arrays itself: array_api_compat's functools-cached
    # type checks printed six "lru_cache-wrapped function" warnings here
    _need("torch")
    stats = sx.soft_confusion(X4, LABELS, batch=True, count=kind == "mcc")
    ours = _compile_warnings(lambda *s: sx.region_loss_from_stats(s, kind=kind), *stats)
    assert not ours, ours


def test_binary_bool_volume_without_channel_axis(backend: Backend) -> None:
    # the one-hot refusal reads bool targets too (strict forbids comparing bools with ints)
    mask = RNG.random((2, 3, 4, 5)) < 0.5
    out = sx.dice_loss(backend.asarray(RNG.normal(size=(2, 3, 4, 5))), backend.asarray(mask),
                       mode="binary")
    assert np.isfinite(float(backend.to_numpy(out)))
    with pytest.raises(ValueError, match="one-hot over axis 1"):
        sx.check_inputs(np.zeros((2, 3, 4, 5)), one_hot(LABELS[:, :4, :5] % 3, 3).astype(bool),
                        loss=sx.bce_dice_loss)
