"""Lovász-Softmax and Lovász hinge: values vs the float64 oracle on every backend,
dtype policy, gradients, jit/vmap/compile, bad inputs.

Expected values come from ``conformance.oracle`` (the paper's Algorithm 1 with
the reference's boolean-index dropping of ignored elements). A second, tiny
witness below is a direct port of the authors' ``lovasz_grad`` /
``lovasz_softmax_flat`` / ``lovasz_hinge_flat`` loops; it checks the oracle itself.
"""

from __future__ import annotations

import warnings
import zlib
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import helpers, oracle
from conformance.helpers import one_hot, softmax
from segloss_xp.lovasz import lovasz_grad, lovasz_hinge_loss, lovasz_softmax_loss
from segloss_xp.testing import Backend, assert_matches, load_backend

F64 = {"dtype": "float64", "rtol": 1e-10, "atol": 1e-12}


def _require(backend: Backend, *functions: Any) -> None:
    """Skip the backends the Lovász functions declare unsupported (dask)."""
    for fn in functions:
        helpers.require_capability(fn.__name__, "dask", backend.name)


# ----------------------------------------------------------------------------- witness
# A direct port of bermanmaxim/LovaszSoftmax pytorch/lovasz_losses.py to NumPy
# (Python loops, boolean-index dropping, stable sort so that ties are broken by
# position as in the oracle and the library).


def _ref_lovasz_grad(gt_sorted: np.ndarray) -> np.ndarray:
    p = len(gt_sorted)
    gts = gt_sorted.sum()
    intersection = gts - np.cumsum(gt_sorted)
    union = gts + np.cumsum(1.0 - gt_sorted)
    jaccard = 1.0 - intersection / union
    if p > 1:  # cover 1-pixel case
        jaccard[1:p] = jaccard[1:p] - jaccard[0:-1]
    return jaccard


def _ref_mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0  # reference: mean(empty) = 0


def _ref_lovasz_softmax_flat(probas: np.ndarray, labels: np.ndarray,
                             classes: Any = "present") -> float:
    if probas.size == 0:
        return 0.0
    c_total = probas.shape[1]
    losses = []
    class_to_sum = list(range(c_total)) if classes in ["all", "present"] else classes
    for c in class_to_sum:
        fg = (labels == c).astype(np.float64)
        if classes == "present" and fg.sum() == 0:
            continue
        errors = np.abs(fg - probas[:, c])
        perm = np.argsort(-errors, kind="stable")
        losses.append(float(np.dot(errors[perm], _ref_lovasz_grad(fg[perm]))))
    return _ref_mean(losses)


def _ref_flatten_probas(probas: np.ndarray, labels: np.ndarray,
                        ignore: int | None) -> tuple[np.ndarray, np.ndarray]:
    c_total = probas.shape[1]
    probas = np.moveaxis(probas, 1, -1).reshape(-1, c_total)
    labels = labels.reshape(-1)
    if ignore is None:
        return probas, labels
    valid = labels != ignore
    return probas[valid], labels[valid]


def _ref_lovasz_softmax(probas: np.ndarray, labels: np.ndarray, classes: Any = "present",
                        per_image: bool = False, ignore: int | None = None) -> float:
    if per_image:
        return _ref_mean([
            _ref_lovasz_softmax_flat(*_ref_flatten_probas(p[None], lab[None], ignore),
                                     classes=classes)
            for p, lab in zip(probas, labels, strict=True)])
    return _ref_lovasz_softmax_flat(*_ref_flatten_probas(probas, labels, ignore),
                                    classes=classes)


def _ref_lovasz_hinge_flat(logits: np.ndarray, labels: np.ndarray) -> float:
    if len(labels) == 0:
        return 0.0
    signs = 2.0 * labels - 1.0
    errors = 1.0 - logits * signs
    perm = np.argsort(-errors, kind="stable")
    return float(np.dot(np.maximum(errors[perm], 0.0), _ref_lovasz_grad(labels[perm])))


def _ref_lovasz_hinge(logits: np.ndarray, labels: np.ndarray, per_image: bool = True,
                      ignore: int | None = None) -> float:
    def flat(x: np.ndarray, y: np.ndarray) -> float:
        x, y = x.reshape(-1), y.reshape(-1)
        if ignore is not None:
            x, y = x[y != ignore], y[y != ignore]
        return _ref_lovasz_hinge_flat(x, y)

    if per_image:
        return _ref_mean([flat(x, y) for x, y in zip(logits, labels, strict=True)])
    return flat(logits, labels)


# ----------------------------------------------------------------------------- data


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _softmax_case(name: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Channels-first float64 logits, labels, extra keywords (for oracle and library)."""
    rng = _rng(zlib.crc32(name.encode()))
    if name == "2d":
        return rng.normal(scale=2, size=(2, 3, 6, 7)), rng.integers(0, 3, (2, 6, 7)), {}
    if name == "3d":
        return rng.normal(scale=2, size=(2, 4, 3, 4, 5)), rng.integers(0, 4, (2, 3, 4, 5)), {}
    if name == "ignore255":
        y = rng.integers(0, 3, (2, 6, 7))
        y = np.where(rng.random(y.shape) < 0.25, 255, y)
        return rng.normal(scale=2, size=(2, 3, 6, 7)), y, {"ignore_index": 255}
    if name == "ignore0":
        return (rng.normal(scale=2, size=(2, 3, 6, 7)), rng.integers(0, 3, (2, 6, 7)),
                {"ignore_index": 0})
    if name == "absent":  # classes 2 and 3 never occur
        return rng.normal(scale=2, size=(2, 4, 5, 5)), rng.integers(0, 2, (2, 5, 5)), {}
    if name == "image-all-ignored":
        y = rng.integers(0, 3, (3, 4, 5))
        y[1] = 255
        return rng.normal(scale=2, size=(3, 3, 4, 5)), y, {"ignore_index": 255}
    if name == "perfect-1e4":
        y = rng.integers(0, 3, (2, 5, 6))
        onehot = one_hot(y, 3)
        return 1e4 * (2 * onehot - 1), y, {}
    if name == "random-1e4":
        return rng.normal(scale=1e4, size=(2, 3, 4, 5)), rng.integers(0, 3, (2, 4, 5)), {}
    if name == "one-pixel":
        return rng.normal(size=(2, 3, 1, 1)), rng.integers(0, 3, (2, 1, 1)), {}
    raise KeyError(name)


SOFTMAX_CASES = ("2d", "3d", "ignore255", "ignore0", "absent", "image-all-ignored",
                 "perfect-1e4", "random-1e4", "one-pixel")


def _hinge_case(name: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Binary logits (N, 1, *sp), targets (N, 1, *sp) in {0, 1}, extra keywords."""
    rng = _rng(zlib.crc32(b"hinge-" + name.encode()))
    if name == "2d":
        return rng.normal(scale=2, size=(3, 1, 6, 7)), (rng.random((3, 1, 6, 7)) < .4) * 1.0, {}
    if name == "3d":
        x = rng.normal(scale=2, size=(2, 1, 3, 4, 5))
        return x, (rng.random(x.shape) < .5) * 1.0, {}
    if name == "ignore":
        x = rng.normal(scale=2, size=(2, 1, 6, 7))
        y = (rng.random(x.shape) < .4) * 1.0
        y = np.where(rng.random(x.shape) < .25, -1.0, y)
        return x, y, {"ignore_index": -1}
    if name == "empty-image":
        x = rng.normal(scale=2, size=(2, 1, 5, 5))
        y = np.zeros(x.shape)
        y[0, 0, 1:3, 1:4] = 1.0
        return x, y, {}
    if name == "image-all-ignored":
        x = rng.normal(scale=2, size=(3, 1, 4, 5))
        y = (rng.random(x.shape) < .5) * 1.0
        y[2] = 255
        return x, y, {"ignore_index": 255}
    if name == "perfect-1e4":
        y = (rng.random((2, 1, 5, 5)) < .5) * 1.0
        return 1e4 * (2 * y - 1), y, {}
    raise KeyError(name)


HINGE_CASES = ("2d", "3d", "ignore", "empty-image", "image-all-ignored", "perfect-1e4")


# ----------------------------------------------------------------------------- witness checks


def test_oracle_lovasz_grad_matches_reference_port() -> None:
    rng = _rng(1)
    for size in (1, 2, 7, 50):
        gt = (rng.random(size) < 0.4) * 1.0
        np.testing.assert_allclose(oracle.lovasz_grad(gt), _ref_lovasz_grad(gt), rtol=0,
                                   atol=1e-15)


@pytest.mark.parametrize("name", ["2d", "ignore255", "absent", "image-all-ignored", "3d"])
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("classes", ["present", "all", [2, 0]])
def test_oracle_softmax_matches_reference_port(name: str, per_image: bool,
                                               classes: Any) -> None:
    x, y, kw = _softmax_case(name)
    want = _ref_lovasz_softmax(softmax(x), y, classes=classes, per_image=per_image,
                               ignore=kw.get("ignore_index"))
    got = oracle.lovasz_softmax_loss(x, y, classes=classes, per_image=per_image, **kw)
    assert abs(float(got) - want) <= 1e-13


@pytest.mark.parametrize("name", HINGE_CASES)
@pytest.mark.parametrize("per_image", [False, True])
def test_oracle_hinge_matches_reference_port(name: str, per_image: bool) -> None:
    x, y, kw = _hinge_case(name)
    want = _ref_lovasz_hinge(x, y, per_image=per_image, ignore=kw.get("ignore_index"))
    got = oracle.lovasz_hinge_loss(x, y, per_image=per_image, **kw)
    assert abs(float(got) - want) <= 1e-12


def test_lovasz_grad_matches_reference_port_batched(backend: Backend) -> None:
    gt = (_rng(2).random((2, 3, 9)) < 0.4) * 1.0
    gt[0, 1] = 0.0  # an all-negative row
    want = np.stack([np.stack([_ref_lovasz_grad(r) for r in rows]) for rows in gt])
    g = backend.asarray(gt)
    assert_matches(lovasz_grad(g), want, backend, ref=g, **F64)


# ----------------------------------------------------------------------------- values


VALUE_CASES = ([(lovasz_softmax_loss, _softmax_case, name) for name in SOFTMAX_CASES]
               + [(lovasz_hinge_loss, _hinge_case, name) for name in HINGE_CASES])


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize(("fn", "make", "name"), VALUE_CASES,
                         ids=[f"{fn.__name__}-{name}" for fn, _, name in VALUE_CASES])
def test_values_match_oracle(backend: Backend, fn: Any, make: Any, name: str,
                             per_image: bool) -> None:
    _require(backend, fn)
    x, y, kw = make(name)
    xb = backend.asarray(x)
    out = fn(xb, backend.asarray(y), per_image=per_image, **kw)
    want = getattr(oracle, fn.__name__)(x, y, per_image=per_image, **kw)
    assert_matches(out, want, backend, ref=xb, **F64)


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("classes", ["all", (0, 2), [1, 1, 2], np.array([2, 0])],
                         ids=["all", "tuple", "duplicates", "ndarray"])
def test_softmax_classes_variants(backend: Backend, classes: Any, per_image: bool) -> None:
    _require(backend, lovasz_softmax_loss)
    x, y, kw = _softmax_case("ignore255")
    y = np.where(y == 2, 1, y)  # class 2 absent: "all" and the lists include it
    xb = backend.asarray(x)
    out = lovasz_softmax_loss(xb, backend.asarray(y), classes=classes, per_image=per_image,
                              **kw)
    want = oracle.lovasz_softmax_loss(x, y, classes=list(classes) if not isinstance(
        classes, str) else classes, per_image=per_image, **kw)
    assert_matches(out, want, backend, ref=xb, **F64)


@pytest.mark.parametrize("name", ["2d", "3d", "ignore255"])
def test_softmax_channels_last(backend: Backend, name: str) -> None:
    _require(backend, lovasz_softmax_loss)
    x, y, kw = _softmax_case(name)
    xb = backend.asarray(np.ascontiguousarray(np.moveaxis(x, 1, -1)))
    out = lovasz_softmax_loss(xb, backend.asarray(y), class_axis=-1, per_image=True, **kw)
    want = oracle.lovasz_softmax_loss(x, y, per_image=True, **kw)
    assert_matches(out, want, backend, ref=xb, **F64)


@pytest.mark.parametrize("per_image", [False, True])
def test_softmax_dense_targets_and_probabilities(backend: Backend, per_image: bool) -> None:
    _require(backend, lovasz_softmax_loss)
    x, y, _ = _softmax_case("2d")
    onehot = one_hot(y, 3)
    probs = softmax(x)
    xb = backend.asarray(probs)
    want = oracle.lovasz_softmax_loss(x, y, per_image=per_image)
    out = lovasz_softmax_loss(xb, backend.asarray(onehot), from_logits=False,
                              per_image=per_image)
    assert_matches(out, want, backend, ref=xb, **F64)
    # soft labels: the class is the argmax (the oracle's convention)
    soft = 0.7 * onehot + 0.1
    out = lovasz_softmax_loss(backend.asarray(x), backend.asarray(soft), per_image=per_image)
    assert_matches(out, oracle.lovasz_softmax_loss(x, soft, per_image=per_image), backend,
                   **F64)
    # dense targets with ignore_index = a class: its pixels are dropped
    out = lovasz_softmax_loss(backend.asarray(x), backend.asarray(onehot), ignore_index=1,
                              per_image=per_image)
    assert_matches(out, oracle.lovasz_softmax_loss(x, y, ignore_index=1, per_image=per_image),
                   backend, **F64)


@pytest.mark.parametrize("name", ["2d", "image-all-ignored"])
def test_softmax_reduction_none_and_sum(backend: Backend, name: str) -> None:
    _require(backend, lovasz_softmax_loss)
    x, y, kw = _softmax_case(name)
    n = x.shape[0]
    xb, yb = backend.asarray(x), backend.asarray(y)
    per = np.array([oracle.lovasz_softmax_loss(x[i:i + 1], y[i:i + 1], **kw)
                    for i in range(n)])
    assert_matches(lovasz_softmax_loss(xb, yb, per_image=True, reduction="none", **kw), per,
                   backend, ref=xb, **F64)
    assert_matches(lovasz_softmax_loss(xb, yb, per_image=True, reduction="sum", **kw),
                   per.sum(), backend, ref=xb, **F64)
    pooled = oracle.lovasz_softmax_loss(x, y, **kw)
    assert_matches(lovasz_softmax_loss(xb, yb, reduction="none", **kw), np.array([pooled]),
                   backend, ref=xb, **F64)
    assert_matches(lovasz_softmax_loss(xb, yb, reduction="sum", **kw), pooled, backend,
                   ref=xb, **F64)


def test_softmax_nothing_present_is_zero(backend: Backend) -> None:
    _require(backend, lovasz_softmax_loss)
    x, y, _ = _softmax_case("2d")
    y = np.full_like(y, 255)
    xb = backend.asarray(x)
    for per_image in (False, True):
        out = lovasz_softmax_loss(xb, backend.asarray(y), ignore_index=255,
                                  per_image=per_image)
        assert_matches(out, 0.0, backend, ref=xb, **F64)


@pytest.mark.parametrize("layout", ["no-channel", "channels-last", "bool", "int"])
def test_hinge_layouts_and_target_dtypes(backend: Backend, layout: str) -> None:
    _require(backend, lovasz_hinge_loss)
    x, y, _ = _hinge_case("2d")
    want = oracle.lovasz_hinge_loss(x, y)
    kw: dict[str, Any] = {}
    xl, yl = x, y
    if layout == "no-channel":
        xl, yl = x[:, 0], y[:, 0]
    elif layout == "channels-last":
        xl, yl = np.moveaxis(x, 1, -1), np.moveaxis(y, 1, -1)
        kw["class_axis"] = -1
    elif layout == "bool":
        yl = y.astype(bool)
    else:
        yl = y.astype(np.int64)
    xb = backend.asarray(np.ascontiguousarray(xl))
    out = lovasz_hinge_loss(xb, backend.asarray(np.ascontiguousarray(yl)), **kw)
    assert_matches(out, want, backend, ref=xb, **F64)


@pytest.mark.parametrize("per_image", [False, True])
def test_hinge_reduction_none(backend: Backend, per_image: bool) -> None:
    _require(backend, lovasz_hinge_loss)
    x, y, kw = _hinge_case("image-all-ignored")
    xb, yb = backend.asarray(x), backend.asarray(y)
    out = lovasz_hinge_loss(xb, yb, per_image=per_image, reduction="none", **kw)
    if per_image:
        want = np.array([oracle.lovasz_hinge_loss(x[i:i + 1], y[i:i + 1], **kw)
                         for i in range(x.shape[0])])
    else:
        want = np.array([oracle.lovasz_hinge_loss(x, y, per_image=False, **kw)])
    assert_matches(out, want, backend, ref=xb, **F64)
    assert_matches(lovasz_hinge_loss(xb, yb, per_image=per_image, reduction="sum", **kw),
                   want.sum(), backend, ref=xb, **F64)


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_hinge_multilabel_is_one_binary_problem_per_channel(
        backend: Backend, per_image: bool, channels_last: bool) -> None:
    _require(backend, lovasz_hinge_loss)
    rng = _rng(11)
    x = rng.normal(scale=2, size=(2, 3, 5, 6))
    y = (rng.random(x.shape) < 0.3) * 1.0
    y[1, 2] = 0.0  # an empty channel in one image
    y = np.where(rng.random(x.shape) < 0.1, -1.0, y)
    if per_image:
        want = np.array([[oracle.lovasz_hinge_loss(x[n:n + 1, c:c + 1], y[n:n + 1, c:c + 1],
                                                   ignore_index=-1)
                          for c in range(3)] for n in range(2)])
    else:
        want = np.array([[oracle.lovasz_hinge_loss(x[:, c:c + 1], y[:, c:c + 1],
                                                   per_image=False, ignore_index=-1)
                          for c in range(3)]])
    xl, yl, kw = x, y, {}
    if channels_last:
        xl, yl = np.moveaxis(x, 1, -1), np.moveaxis(y, 1, -1)
        kw["class_axis"] = -1
    xb = backend.asarray(np.ascontiguousarray(xl))
    yb = backend.asarray(np.ascontiguousarray(yl))
    out = lovasz_hinge_loss(xb, yb, mode="multilabel", per_image=per_image, ignore_index=-1,
                            reduction="none", **kw)
    assert_matches(out, want, backend, ref=xb, **F64)
    mean = lovasz_hinge_loss(xb, yb, mode="multilabel", per_image=per_image, ignore_index=-1,
                             **kw)
    assert_matches(mean, want.mean(), backend, ref=xb, **F64)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(2, 4), s=st.integers(1, 12),
       frac=st.sampled_from([0.0, 0.3, 0.9, 1.0]), per_image=st.booleans(),
       classes=st.sampled_from(["present", "all"]), seed=st.integers(0, 2**16))
def test_masking_equals_dropping_property(n: int, c: int, s: int, frac: float,
                                          per_image: bool, classes: str, seed: int) -> None:
    """Masked elements (error 0, truth 0) give exactly the loss without them."""
    rng = _rng(seed)
    x = rng.normal(scale=3, size=(n, c, s))
    y = rng.integers(0, c, size=(n, s))
    y = np.where(rng.random(y.shape) < frac, -100, y)
    out = lovasz_softmax_loss(x, y, ignore_index=-100, per_image=per_image, classes=classes)
    want = _ref_lovasz_softmax(softmax(x), y, classes=classes, per_image=per_image,
                               ignore=-100)
    assert abs(float(out) - want) <= 1e-12
    xb = rng.normal(scale=3, size=(n, 1, s))
    yb = np.where(rng.random((n, 1, s)) < frac, -1.0, (rng.random((n, 1, s)) < 0.5) * 1.0)
    out = lovasz_hinge_loss(xb, yb, ignore_index=-1, per_image=per_image)
    want = _ref_lovasz_hinge(xb, yb, per_image=per_image, ignore=-1)
    assert abs(float(out) - want) <= 1e-12


# ----------------------------------------------------------------------------- dtypes


def _rounded(x: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "bfloat16":
        import ml_dtypes

        return x.astype(ml_dtypes.bfloat16).astype(np.float64)
    return x.astype(dtype).astype(np.float64)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_dtype_policy(backend: Backend, dtype: str) -> None:
    _require(backend, lovasz_softmax_loss, lovasz_hinge_loss)
    if getattr(backend.xp, dtype, None) is None:
        pytest.skip(f"{backend.name} has no {dtype}")
    if dtype == "bfloat16" and backend.name == "numpy":
        pytest.skip("numpy has no bfloat16")
    x, y, kw = _softmax_case("ignore255")
    xb = backend.asarray(x, dtype)
    out = lovasz_softmax_loss(xb, backend.asarray(y), **kw)
    want = oracle.lovasz_softmax_loss(_rounded(x, dtype), y, **kw)
    assert_matches(out, want, backend, dtype="float32", rtol=2e-5, atol=2e-6, ref=xb)
    xh, yh, kwh = _hinge_case("ignore")
    xhb = backend.asarray(xh, dtype)
    out = lovasz_hinge_loss(xhb, backend.asarray(yh), **kwh)
    want = oracle.lovasz_hinge_loss(_rounded(xh, dtype), yh, **kwh)
    assert_matches(out, want, backend, dtype="float32", rtol=2e-5, atol=2e-6, ref=xhb)


def test_jax_with_x64_off_in_subprocess() -> None:
    helpers.run_with_x64_off("""
        import numpy as np
        import jax.numpy as jnp
        from conformance import oracle
        from segloss_xp.lovasz import lovasz_hinge_loss, lovasz_softmax_loss

        rng = np.random.default_rng(0)
        x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
        y = rng.integers(0, 3, size=(2, 4, 5))
        y[0, 0] = 255
        xj, yj = jnp.asarray(x), jnp.asarray(y)
        assert yj.dtype == jnp.int32
        for kw in ({}, {"per_image": True, "classes": [0, 2]}):
            f = lambda a, kw=kw: lovasz_softmax_loss(a, yj, ignore_index=255, **kw)
            out = jax.jit(f)(xj)
            assert out.dtype == jnp.float32, out.dtype
            want = oracle.lovasz_softmax_loss(x, y, ignore_index=255, **kw)
            np.testing.assert_allclose(float(out), want, rtol=2e-5, atol=2e-6)
            assert bool(jnp.all(jnp.isfinite(jax.grad(f)(xj))))
        xb = x[:, :1]
        yb = (rng.random(xb.shape) < 0.5).astype(np.float32)
        out = lovasz_hinge_loss(jnp.asarray(xb), jnp.asarray(yb))
        np.testing.assert_allclose(float(out), oracle.lovasz_hinge_loss(xb, yb), rtol=2e-5)
    """)


# ----------------------------------------------------------------------------- gradients


def _fd(f: Any, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        hi, lo = flat.copy(), flat.copy()
        hi[i] += step
        lo[i] -= step
        gflat[i] = (f(hi.reshape(x.shape)) - f(lo.reshape(x.shape))) / (2 * step)
    return grad


def _grad(library: str, fn: Any, x: np.ndarray, y: np.ndarray, **kw: Any) -> np.ndarray:
    """The float64 gradient of ``fn(x, y, **kw)`` in ``x`` on ``"torch"`` or ``"jax"``."""
    backend, reason = load_backend(library)
    if backend is None:
        pytest.skip(reason)
    helpers.require_capability(fn.__name__, "autograd", library)
    yb = backend.asarray(y)
    return helpers.value_and_grad(backend, lambda a: fn(a, yb, **kw), x)[1]


def _torch_and_jax_grads(fn: Any, x: np.ndarray, y: np.ndarray,
                         **kw: Any) -> tuple[np.ndarray, np.ndarray]:
    return _grad("torch", fn, x, y, **kw), _grad("jax", fn, x, y, **kw)


@pytest.mark.parametrize("kw", [{}, {"per_image": True}, {"classes": "all"},
                                {"classes": [2, 1]}],
                         ids=["pooled", "per-image", "all", "list"])
def test_softmax_gradients_match_oracle_fd(kw: dict[str, Any]) -> None:
    x, y, _ = _softmax_case("ignore255")
    x, y = x[:, :, :3, :4], y[:, :3, :4]
    kw = {**kw, "ignore_index": 255}
    fd = _fd(lambda a: float(oracle.lovasz_softmax_loss(a, y, **kw)), x)
    gt, gj = _torch_and_jax_grads(lovasz_softmax_loss, x, y, **kw)
    np.testing.assert_allclose(gt, fd, atol=1e-7)
    np.testing.assert_allclose(gj, fd, atol=1e-7)
    np.testing.assert_allclose(gt, gj, atol=1e-14)


@pytest.mark.parametrize("kw", [{}, {"per_image": False}], ids=["per-image", "pooled"])
def test_hinge_gradients_match_oracle_fd(kw: dict[str, Any]) -> None:
    x, y, _ = _hinge_case("ignore")
    x, y = x[..., :4, :4], y[..., :4, :4]
    kw = {**kw, "ignore_index": -1}
    fd = _fd(lambda a: float(oracle.lovasz_hinge_loss(a, y, **kw)), x)
    gt, gj = _torch_and_jax_grads(lovasz_hinge_loss, x, y, **kw)
    np.testing.assert_allclose(gt, fd, atol=1e-7)
    np.testing.assert_allclose(gj, fd, atol=1e-7)
    np.testing.assert_allclose(gt, gj, atol=1e-14)


def _tie_inputs() -> list[tuple[str, Any, np.ndarray, np.ndarray, dict[str, Any]]]:
    x, y, _ = _softmax_case("2d")
    xh, yh, _ = _hinge_case("2d")
    all_ignored = np.full_like(y, 255)
    return [
        ("softmax-constant-logits", lovasz_softmax_loss, np.zeros_like(x), y, {}),
        ("softmax-perfect-1e4", lovasz_softmax_loss, *_softmax_case("perfect-1e4")[:2], {}),
        ("softmax-random-1e4", lovasz_softmax_loss, *_softmax_case("random-1e4")[:2],
         {"per_image": True}),
        ("softmax-all-ignored", lovasz_softmax_loss, x, all_ignored, {"ignore_index": 255}),
        ("softmax-image-ignored", lovasz_softmax_loss, *_softmax_case("image-all-ignored")[:2],
         {"ignore_index": 255, "per_image": True}),
        ("hinge-constant-logits", lovasz_hinge_loss, np.zeros_like(xh), yh, {}),
        ("hinge-at-kink", lovasz_hinge_loss, 2 * yh - 1, yh, {}),  # every error exactly 0
        ("hinge-perfect-1e4", lovasz_hinge_loss, *_hinge_case("perfect-1e4")[:2], {}),
        ("hinge-all-ignored", lovasz_hinge_loss, xh, np.full_like(yh, -1.0),
         {"ignore_index": -1, "per_image": False}),
    ]


@pytest.mark.parametrize("item", _tie_inputs(), ids=lambda t: t[0])
def test_gradients_finite_with_ties_and_saturation(item: Any) -> None:
    _, fn, x, y, kw = item
    gt, gj = _torch_and_jax_grads(fn, x, y, **kw)
    assert np.all(np.isfinite(gt)) and np.all(np.isfinite(gj))
    # stable sort on both: the same subgradient is chosen at ties
    np.testing.assert_allclose(gt, gj, atol=1e-12)


def test_all_ignored_gives_zero_gradient() -> None:
    x, y, _ = _softmax_case("2d")
    g = _grad("torch", lovasz_softmax_loss, x, np.full_like(y, 255), ignore_index=255)
    assert np.all(g == 0)


# ----------------------------------------------------------------------------- host sort


def _tied_keys(dtype: Any) -> np.ndarray:
    """Keys with every kind of tie a sort meets: repeats, ±0, ±inf, negatives."""
    rng = _rng(11)
    k = rng.normal(size=(3, 4, 300)).astype(dtype)
    k[..., ::7], k[..., 1::11], k[..., 4::5] = 0.0, -0.0, 1.5
    k[..., 2::13], k[..., 3::17], k[..., 5::9] = np.inf, -np.inf, -2.25
    return k


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_host_descending_order_is_the_stable_argsort(dtype: Any) -> None:
    """The packed float32 sort (and the float64 fallback) give exactly NumPy's stable
    descending argsort: ties in index order, ``-0.0`` tied with ``0.0``."""
    from segloss_xp._dispatch import host_descending_order

    keys = _tied_keys(dtype)
    np.testing.assert_array_equal(host_descending_order(keys),
                                  np.argsort(-keys, axis=-1, kind="stable"))
    np.testing.assert_array_equal(host_descending_order(keys[..., :1]), np.zeros((3, 4, 1)))


@pytest.mark.parametrize("library", ["torch", "jax", "numpy"])
def test_float32_keys_are_sorted_on_the_host(library: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """On the CPU, float32 keys of torch, JAX and NumPy are ordered by
    ``host_descending_order`` (eager, under ``jax.jit`` and ``jax.vmap``): the order,
    the sorted keys and the gradient through them are those of a stable sort."""
    from segloss_xp import _dispatch

    backend, reason = load_backend(library)
    if backend is None:
        pytest.skip(reason)
    calls: list[tuple[int, ...]] = []
    real = _dispatch.host_descending_order

    def counted(keys: np.ndarray) -> np.ndarray:
        calls.append(keys.shape)
        return real(keys)

    monkeypatch.setattr(_dispatch, "host_descending_order", counted)
    keys = _tied_keys(np.float32)
    want = np.argsort(-keys, axis=-1, kind="stable")
    xp = backend.xp
    order = _dispatch.sort_order(backend.asarray(keys), xp=xp)
    np.testing.assert_array_equal(backend.to_numpy(order), want)
    np.testing.assert_array_equal(
        backend.to_numpy(_dispatch.take_order(backend.asarray(keys), order, xp=xp)),
        np.take_along_axis(keys, want, axis=-1))
    assert calls == [keys.shape]
    if library == "jax":
        import jax
        import jax.numpy as jnp

        def weighted(k: Any) -> Any:  # the gradient of the i-th sorted key is i
            ordered = _dispatch.take_order(k, _dispatch.sort_order(k, xp=xp), xp=xp)
            return jnp.sum(jnp.where(jnp.isfinite(ordered), ordered, 0) * jnp.arange(300.0))

        grad = jax.jit(jax.grad(weighted))(jnp.asarray(keys))
        mapped = jax.vmap(lambda k: _dispatch.sort_order(k, xp=xp))(jnp.asarray(keys))
        rank = np.argsort(want, axis=-1)
        np.testing.assert_array_equal(np.asarray(grad), np.where(np.isfinite(keys), rank, 0))
        np.testing.assert_array_equal(np.asarray(mapped), want)
        assert len(calls) == 3


def test_float32_lovasz_gradients_agree_at_ties() -> None:
    """float32: torch (host sort) and JAX under ``jit`` (host sort through a callback)
    choose the same subgradient at tied errors as the float64 library sorts do."""
    torch = pytest.importorskip("torch", reason="torch is not installed")
    jax = pytest.importorskip("jax", reason="jax is not installed")
    x = np.zeros((2, 3, 4, 5), np.float32)  # every error ties within its class
    x[0, 1, :2] = 1.0
    y = (np.arange(40).reshape(2, 4, 5) % 3).astype(np.int64)
    xt = torch.asarray(x).requires_grad_(True)
    (gt,) = torch.autograd.grad(lovasz_softmax_loss(xt, torch.asarray(y)), xt)
    gj = jax.jit(jax.grad(lambda a: lovasz_softmax_loss(a, jax.numpy.asarray(y))))(
        jax.numpy.asarray(x))
    g64 = _grad("torch", lovasz_softmax_loss, x.astype(np.float64), y)
    np.testing.assert_allclose(gt.numpy(), g64, atol=1e-7)
    np.testing.assert_allclose(np.asarray(gj), g64, atol=1e-7)


# ----------------------------------------------------------------------------- tracing


TRACE_CALLS = [
    ("softmax", {"ignore_index": 255}),
    ("softmax", {"per_image": True, "ignore_index": 255}),
    ("softmax", {"classes": [0, 2], "ignore_index": 255}),
    ("softmax", {"classes": "all", "reduction": "none", "per_image": True,
                 "ignore_index": 255}),
    ("hinge", {"ignore_index": -1}),
    ("hinge", {"per_image": False, "ignore_index": -1, "reduction": "none"}),
    ("hinge", {"mode": "multilabel"}),
]


TRACED = pytest.mark.parametrize(("kind", "kw"), TRACE_CALLS,
                                 ids=[f"{k}-{i}" for i, (k, _) in enumerate(TRACE_CALLS)])


def _trace_inputs(kind: str, kw: dict[str, Any], feature: str, library: str
                  ) -> tuple[Any, np.ndarray, np.ndarray]:
    """``f(x, y)`` = the Lovász ``kind`` with ``kw``, and its inputs; skips where the
    function declares ``feature`` unsupported on ``library``."""
    if kind == "softmax":
        fn = lovasz_softmax_loss
        x, y, _ = _softmax_case("ignore255")
    elif kw.get("mode") == "multilabel":
        fn = lovasz_hinge_loss
        rng = _rng(5)
        x = rng.normal(size=(2, 3, 4, 5))
        y = (rng.random(x.shape) < 0.4) * 1.0
    else:
        fn = lovasz_hinge_loss
        x, y, _ = _hinge_case("ignore")
    helpers.require_capability(fn.__name__, feature, library)

    def f(a: Any, b: Any) -> Any:
        return fn(a, b, **kw)

    return f, x, y


@TRACED
def test_jax_jit_and_vmap_equal_eager(kind: str, kw: dict[str, Any]) -> None:
    jax = pytest.importorskip("jax", reason="jax is not installed")
    import jax.numpy as jnp

    f, x, y = _trace_inputs(kind, kw, "jit", "jax")
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    eager = np.asarray(f(xj, yj))
    np.testing.assert_allclose(np.asarray(jax.jit(f)(xj, yj)), eager, rtol=1e-12, atol=1e-14)
    xs, ys = jnp.stack([xj, -0.5 * xj]), jnp.stack([yj, yj])
    mapped = np.asarray(jax.vmap(f)(xs, ys))
    each = np.stack([np.asarray(f(xs[i], ys[i])) for i in range(2)])
    np.testing.assert_allclose(mapped, each, rtol=1e-12, atol=1e-14)
    g = jax.jit(jax.grad(lambda a: jnp.sum(f(a, yj))))(xj)
    assert bool(jnp.all(jnp.isfinite(g)))


@TRACED
def test_torch_compile_no_graph_breaks(kind: str, kw: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    f, x, y = _trace_inputs(kind, kw, "compile", "torch")
    xt, yt = torch.asarray(x), torch.asarray(y)
    torch._dynamo.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explanation = torch._dynamo.explain(f)(xt, yt)
        assert explanation.graph_break_count == 0, explanation.break_reasons
        torch._dynamo.reset()
        # forward + backward through AOT autograd, one graph (fullgraph)
        xg = xt.clone().requires_grad_(True)
        compiled = torch.compile(f, backend="aot_eager", fullgraph=True)(xg, yt)
        torch.sum(compiled).backward()
    xe = xt.clone().requires_grad_(True)
    eager = f(xe, yt)
    torch.sum(eager).backward()
    torch.testing.assert_close(compiled.detach(), eager.detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(xg.grad, xe.grad, rtol=1e-12, atol=1e-14)
    torch._dynamo.reset()


# ----------------------------------------------------------------------------- bad inputs


def _np_inputs() -> tuple[np.ndarray, np.ndarray]:
    x, y, _ = _softmax_case("2d")
    return x, y


@pytest.mark.parametrize(("classes", "exc", "match"), [
    ([0, 3], ValueError, r"classes.*\[3\].*outside \[0, 3\)"),
    ([-1], ValueError, r"classes.*\[-1\]"),
    ([], ValueError, "empty"),
    ("most", ValueError, "classes"),
    ([0.5, 1], TypeError, "classes"),
    (2, TypeError, "classes"),
])
def test_bad_classes(classes: Any, exc: type[Exception], match: str) -> None:
    x, y = _np_inputs()
    with pytest.raises(exc, match=match):
        lovasz_softmax_loss(x, y, classes=classes)


def test_bad_modes_and_options() -> None:
    x, y = _np_inputs()
    with pytest.raises(ValueError, match="lovasz_softmax_loss"):
        lovasz_hinge_loss(x, y, mode="multiclass")
    with pytest.raises(ValueError, match="lovasz_hinge_loss"):
        lovasz_softmax_loss(x[:, :1], (y > 0) * 1.0, mode="binary")
    with pytest.raises(ValueError, match="mode"):
        lovasz_hinge_loss(x, y, mode="softmax")
    with pytest.raises(ValueError, match="reduction"):
        lovasz_softmax_loss(x, y, reduction="avg")
    with pytest.raises(TypeError, match="per_image"):
        lovasz_hinge_loss(x[:, :1], (x[:, :1] > 0) * 1.0, per_image="yes")
    with pytest.raises(ValueError, match="label 7"):
        lovasz_softmax_loss(x, np.where(y == 0, 7, y))
    with pytest.raises(ValueError, match="multiclass"):  # C == 1 in multiclass mode
        lovasz_softmax_loss(x[:, :1], y)


def test_hinge_rejects_soft_or_multiclass_targets() -> None:
    x, y, _ = _hinge_case("2d")
    with pytest.raises(ValueError, match=r"\{0, 1\}"):
        lovasz_hinge_loss(x, 0.5 * y)
    with pytest.raises(ValueError):  # integer multiclass labels as binary targets
        lovasz_hinge_loss(x, 2 * y.astype(np.int64))
    with pytest.raises(ValueError, match="shape"):
        lovasz_hinge_loss(x, y[:, :, :3])


def test_dask_is_declared_unsupported() -> None:
    da = pytest.importorskip("dask.array", reason="dask is not installed")
    x, y = _np_inputs()
    with pytest.raises(TypeError, match="dask"):
        lovasz_softmax_loss(da.from_array(x), da.from_array(y))
    xb, yb, _ = _hinge_case("2d")
    with pytest.raises(TypeError, match="dask"):
        lovasz_hinge_loss(da.from_array(xb), da.from_array(yb))


def test_mixed_namespaces() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    x, y = _np_inputs()
    with pytest.raises(TypeError, match="mixed"):
        lovasz_softmax_loss(torch.asarray(x), y)


def test_inputs_never_modified(backend: Backend) -> None:
    _require(backend, lovasz_softmax_loss)
    x, y, kw = _softmax_case("ignore255")
    xb, yb = backend.asarray(x), backend.asarray(y)
    lovasz_softmax_loss(xb, yb, per_image=True, **kw)
    np.testing.assert_array_equal(backend.to_numpy(xb), x)
    np.testing.assert_array_equal(backend.to_numpy(yb), y)
