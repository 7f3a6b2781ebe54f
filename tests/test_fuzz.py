"""Property-based fuzzing of every loss across backends (issue #11, item 6).

A hypothesis strategy (:func:`problems`) draws one problem for a loss of
``helpers.losses()`` (a new loss joins automatically; every test is parametrized by
loss so that each one gets its examples and xdist can spread them): a mode it supports
(its ``mode`` annotation), N in 1..3, C in 2..4 (1 in binary mode, with or without the
channel axis), 1-D to 3-D spatial shapes of sizes 1..5, the target kind (integer
labels of several integer dtypes, one-hot (float or bool) or soft labels summing to 1
in multiclass mode; 0/1 masks (float, int or bool) or soft masks otherwise) and the
keywords the loss takes: ``reduction`` (from its annotation), ``include_background``,
``ignore_index`` with ignored elements (in and out of the class range), ``class_weights``,
``smooth``, ``batch``, ``squared``, ``soft_label``, ``per_image``, ``weight_type``,
``label_smoothing``, ``pos_weight``, ``from_logits=False`` with probabilities and
channels-last data with ``class_axis=-1``. Every array is built from hypothesis draws
(``hypothesis.extra.numpy.arrays``), so a failure shrinks to a small example.

Properties, one test each:

* contract: on a drawn backend (``jax-jit`` included) and dtype, a valid draw gives a
  finite result of the documented shape, of dtype float32 (float16, bfloat16, float32
  input) or float64, in the input's namespace and on its device, that agrees with float64
  NumPy on the same (rounded) inputs; a per-element ``"none"`` result is 0 where
  ignored. A draw with one documented mistake (unsupported mode, ``reduction="none"``
  for a scalar loss, ``ignore_index`` 0/1 in binary mode) raises ``ValueError`` naming
  the argument; a backend the function declares unsupported raises ``TypeError``;
* range: region losses in [0, 1] (``mcc_loss`` [0, 2]; times the largest class weight),
  Lovász-Softmax in [0, 1], ``combo_loss`` >= −(1 − α), the others >= 0 (except
  ``conservative_loss``, only finite);
* zero at a perfect prediction (probabilities equal to the hard target, or to a soft
  target with ``soft_label=True``) for the region losses, with ignored elements holding
  any prediction; ``mcc_loss`` (``eps=0``) only for classes neither absent nor filling
  the image, as its docstring states;
* invariance to permuting the batch (the ``"none"`` rows permute with it);
* the same numbers on every installed backend for the same float64 draw (1e-10),
  skipping the backends a function declares unsupported;
* float16/bfloat16 512×512 inputs accumulate in float32: a float32 result within 1e-3
  (relative) of float64 on the same rounded inputs.

The library bugs the fuzzing found are fixed; properties at the end of the file ("found
bugs") keep them fixed.

``derandomize=True``: the examples are the same on every run (CI is reproducible).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import typing
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import segloss_xp as sx
from conformance import helpers
from conformance.helpers import modes, one_hot, softmax, takes
from segloss_xp._capabilities import CAPABILITIES
from segloss_xp.testing import Backend, activated, assert_matches, load_backend

LOSSES: dict[str, Callable[..., Any]] = helpers.losses()
NAMES = sorted(LOSSES)
REGION = helpers.region_losses()  # scores in [0, 1]: loss in [0, 1] (mcc [0, 2])
ZERO_AT_OPTIMUM = sorted(helpers.losses("region"))  # exp_log_loss too: −ln 1 = 0
MODES = ("multiclass", "binary", "multilabel")
# targets must be 0/1 (apart from ignore_index): "values in {0, 1}" (lovasz_hinge_loss)
HARD_TARGETS = {"lovasz_hinge_loss"}
# boundary_loss(y_pred, dist_maps) takes the target's signed distance maps: its draws
# replace the target by real maps of y_pred's shape and layout (any real map is valid)
DIST_MAP_LOSSES = {"boundary_loss"}
# exp_log_loss refuses smooth=0 (−ln 0 = inf for a predicted but absent class): the
# general draws give it a positive smooth, test_smooth_0_is_refused checks the error
SMOOTH_0_IS_INF = {"exp_log_loss"}
# "jax-jit": the jax backend with the function jitted (conformance/jit.py)
BACKENDS = ("numpy", "strict", "strict-dev1", "torch", "jax", "jax-jit", "dask")
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
LARGE_LOSSES = ("dice_loss", "cross_entropy", "focal_loss", "dice_ce_loss")
LARGE_CASES = (("torch", "float16"), ("torch", "bfloat16"), ("jax", "float16"),
               ("jax", "bfloat16"), ("numpy", "float16"))
LARGE_SIZE = 512


def fuzz(max_examples: int, *, shrink: bool = True) -> Callable[[Any], Any]:
    """Reproducible settings: the same examples on every run, no example database.

    ``shrink=False`` for the found-bug properties: their failure needs no shrinking.
    """
    phases = list(Phase) if shrink else [Phase.explicit, Phase.reuse, Phase.generate]
    return settings(max_examples=max_examples, deadline=None, derandomize=True,
                    database=None, print_blob=False, phases=phases,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example,
                                           HealthCheck.filter_too_much])


def per_loss(max_examples: int) -> Callable[[Any], Any]:
    """A property over every loss: parametrized by ``name``, drawing ``data``."""
    def wrap(test: Any) -> Any:
        return pytest.mark.parametrize("name", NAMES)(
            fuzz(max_examples)(given(data=st.data())(test)))
    return wrap


# ----------------------------------------------------------------------------- backends


@functools.cache
def _backend(label: str) -> Backend | None:
    found, _ = load_backend("jax" if label == "jax-jit" else label)
    return found


def available(exclude: tuple[str, ...] = ()) -> list[str]:
    """The installed backend labels (jax-jit where jax is installed)."""
    return [b for b in BACKENDS if b not in exclude and _backend(b) is not None]


def dtypes(backend: Backend) -> list[str]:
    """The floating dtypes ``backend``'s namespace has (no float16 in the standard)."""
    return [d for d in FLOAT_DTYPES if hasattr(backend.xp, d)]


def function(name: str, label: str) -> Callable[..., Any]:
    fn = LOSSES[name]
    if label == "jax-jit":
        from conformance.jit import jitted

        return jitted(fn)
    return fn


def declared_unsupported(name: str, label: str) -> bool:
    return label == "dask" and not CAPABILITIES[name].supports("dask")


# ----------------------------------------------------------------------------- problems


def _default(fn: Callable[..., Any], keyword: str) -> Any:
    return inspect.signature(fn).parameters[keyword].default


def _choices(fn: Callable[..., Any], keyword: str) -> tuple[Any, ...]:
    """The values of a ``Literal``-annotated keyword (``reduction``, ``weight_type``)."""
    return typing.get_args(typing.get_type_hints(fn)[keyword])


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclasses.dataclass
class Problem:
    """One drawn call ``LOSSES[name](y_pred, y_true, **kwargs)`` (NumPy data)."""

    name: str
    mode: str
    y_pred: np.ndarray  # float64 logits or probabilities, in the layout passed
    y_true: np.ndarray  # integer labels, or a float/int/bool array (one-hot, soft, mask)
    kwargs: dict[str, Any]
    n: int
    c: int
    spatial: tuple[int, ...]
    error: str | None = None  # an invalid draw: the argument its ValueError must name

    def get(self, keyword: str) -> Any:
        fn = LOSSES[self.name]
        return self.kwargs.get(keyword, _default(fn, keyword) if takes(fn, keyword) else None)

    def call(self, fn: Callable[..., Any] | None = None, y_pred: Any = None,
             y_true: Any = None) -> Any:
        fn = LOSSES[self.name] if fn is None else fn
        return fn(self.y_pred if y_pred is None else y_pred,
                  self.y_true if y_true is None else y_true, **self.kwargs)


@st.composite
def problems(draw: st.DrawFn, names: list[str], *, invalid: bool = False,
             perfect: bool = False) -> Problem:
    """A problem for one of ``names``.

    ``invalid``: sometimes one documented mistake (``Problem.error`` names the argument).
    ``perfect``: probabilities equal to the target (hard, or soft with ``soft_label``)
    wherever it is not ignored.
    """
    name = draw(st.sampled_from(names), label="name")
    fn = LOSSES[name]
    supported = modes(fn)
    mistake = draw(st.sampled_from([None] * 5 + ["mode", "reduction", "ignore_index"])) \
        if invalid else None
    error = None
    if mistake == "mode" and set(MODES) - set(supported):
        mode = draw(st.sampled_from(sorted(set(MODES) - set(supported))))
        error = "mode"
    else:
        mode = draw(st.sampled_from(supported), label="mode")
    n = draw(st.integers(1, 3), label="N")
    c = 1 if mode == "binary" else draw(st.integers(2, 4), label="C")
    spatial = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3), label="spatial"))
    full = (n, c, *spatial)
    kw: dict[str, Any] = {"mode": mode}

    # ignore_index (and the invalid 0/1 in binary/multilabel mode)
    ignore = None
    if takes(fn, "ignore_index"):
        if mistake == "ignore_index" and error is None and mode != "multiclass":
            ignore, error = draw(st.sampled_from([0, 1])), "ignore_index"
        elif draw(st.booleans(), label="use ignore_index"):
            ignore = draw(st.sampled_from([-1, -100, 255, 0, c - 1] if mode == "multiclass"
                                          else [-1, 2, 255]), label="ignore_index")
        if ignore is not None:
            kw["ignore_index"] = ignore
    mark = ignore is not None and error is None  # mark some elements ignored

    # the target, class axis at 1 for dense ones
    soft_label = takes(fn, "soft_label") and draw(st.booleans(), label="soft_label")
    soft_ok = name not in HARD_TARGETS and (not perfect or soft_label)
    channel = True  # binary: y_pred has its channel axis
    if mode == "multiclass":
        kind = draw(st.sampled_from(["labels", "one-hot", "soft"] if soft_ok
                                    else ["labels", "one-hot"]), label="target")
        label_dtype = draw(st.sampled_from([np.int64, np.int32, np.uint8]))
        if ignore is not None and ignore < 0:
            label_dtype = np.int64
        labels = draw(hnp.arrays(label_dtype, (n, *spatial), elements=st.integers(0, c - 1)))
        where = draw(hnp.arrays(np.bool_, (n, *spatial))) if mark else None
        if kind == "labels":
            target = labels if where is None else np.where(where, ignore, labels).astype(
                label_dtype)
        else:
            if kind == "one-hot":
                dense = one_hot(labels, c)
            else:
                dense = softmax(draw(hnp.arrays(np.float64, full, elements=_floats(-3, 3))))
            if where is not None:
                fill = one_hot(np.full(where.shape, ignore), c) if 0 <= ignore < c else 0.0
                dense = np.where(where[:, None], fill, dense)
            bool_ok = kind == "one-hot"
            target = dense.astype(np.bool_) if bool_ok and draw(st.booleans()) else dense
    else:
        kind = draw(st.sampled_from(["mask", "soft"] if soft_ok else ["mask"]), label="target")
        if kind == "soft":
            target = draw(hnp.arrays(np.float64, full, elements=_floats(0, 1)))
        else:
            t_dtype = draw(st.sampled_from([np.float64, np.int64, np.uint8, np.bool_]))
            if mark and (t_dtype == np.bool_ or (t_dtype == np.uint8 and ignore < 0)):
                t_dtype = np.float64
            target = draw(hnp.arrays(np.bool_, full)).astype(t_dtype)
        if mark:
            where = draw(hnp.arrays(np.bool_, full))
            target = np.where(where, ignore, target).astype(target.dtype)
        if mode == "binary":
            # without the channel axis, a 3-D hard mask that is one-hot along its first
            # spatial axis is refused as a one-hot target by design (_values.py's
            # check_not_one_hot; a false positive on such a volume): keep the axis then
            channel = draw(st.booleans(), label="binary channel axis") or (
                len(spatial) == 3 and _one_hot_along_axis_1(target[:, 0]))

    # the prediction, class axis at 1
    from_logits = True
    if takes(fn, "from_logits"):
        from_logits = not perfect and draw(st.booleans(), label="from_logits")
        kw["from_logits"] = from_logits
    z = draw(hnp.arrays(np.float64, full, elements=_floats(-10, 10)))
    if perfect:
        if mode == "multiclass":
            base = one_hot(labels, c) if kind == "labels" else target.astype(np.float64)
            ignored = _ignored(mode, c, ignore, target, 1)
            anything = softmax(z)  # any distribution where ignored
            pred = base if ignored is None else np.where(ignored[:, None], anything, base)
        else:
            base = target.astype(np.float64)
            pred = np.where(base == ignore, _sigmoid(z), base) if ignore is not None else base
    elif from_logits:
        pred = z
    elif mode == "multiclass":
        pred = softmax(z)
    else:  # sigmoids, or probabilities with exact 0 and 1
        pred = _sigmoid(z) if draw(st.booleans()) else (z + 10) / 20

    # layout: channels-last, or binary without a channel axis
    if mode == "binary" and not channel:
        pred, target = pred[:, 0], target[:, 0]
    elif draw(st.booleans(), label="channels-last"):
        kw["class_axis"] = -1
        pred = np.moveaxis(pred, 1, -1)
        if target.ndim == pred.ndim:
            target = np.moveaxis(target, 1, -1)
    if mode == "binary" and channel and draw(st.booleans(), label="target without channel"):
        target = target[..., 0] if kw.get("class_axis") == -1 else target[:, 0]
    if name in DIST_MAP_LOSSES:
        target = draw(hnp.arrays(np.float64, pred.shape, elements=_floats(-5, 5)),
                      label="dist_maps")

    # keywords
    reductions = _choices(fn, "reduction")
    if mistake == "reduction" and error is None and "none" not in reductions:
        kw["reduction"], error = "none", "reduction"
    else:
        kw["reduction"] = draw(st.sampled_from(reductions), label="reduction")
    if takes(fn, "soft_label"):
        kw["soft_label"] = soft_label
    if takes(fn, "include_background"):
        kw["include_background"] = draw(st.booleans(), label="include_background")
    if takes(fn, "class_weights") and draw(st.booleans(), label="use class_weights"):
        kw["class_weights"] = draw(st.lists(_floats(0, 2), min_size=c, max_size=c))
    if takes(fn, "smooth"):
        smooths = [1e-5, 1.0] if name in SMOOTH_0_IS_INF else [1e-5, 0.0, 1.0]
        kw["smooth"] = draw(st.sampled_from(smooths), label="smooth")
    for flag in ("batch", "squared", "per_image"):
        if takes(fn, flag):
            kw[flag] = draw(st.booleans(), label=flag)
    if takes(fn, "weight_type"):
        kw["weight_type"] = draw(st.sampled_from(_choices(fn, "weight_type")))
    if takes(fn, "label_smoothing"):
        kw["label_smoothing"] = draw(st.sampled_from([0.0, 0.1]), label="label_smoothing")
    if takes(fn, "pos_weight") and mode != "multiclass" and draw(st.booleans()):
        kw["pos_weight"] = draw(_floats(0.25, 4) | st.lists(_floats(0.25, 4), min_size=c,
                                                             max_size=c))
    if perfect and takes(fn, "eps"):
        kw["eps"] = 0.0  # mcc_loss: exactly 0 for present classes
    return Problem(name, mode, pred, target, kw, n, c, spatial, error)


def _one_hot_along_axis_1(y: np.ndarray) -> bool:
    hard = ((y == 0) | (y == 1)).all()
    return bool(hard and (y.astype(np.float64).sum(axis=1) == 1).all())


def _ignored(mode: str, c: int, ignore: int | None, y: np.ndarray,
             axis: int) -> np.ndarray | None:
    """Where ``y`` (class axis ``axis`` if dense) is ignored: ``(N, *spatial)`` per pixel
    in multiclass mode, ``y``'s shape otherwise; None without ``ignore_index``."""
    if ignore is None:
        return None
    if mode != "multiclass" or y.ndim == 0:
        return np.asarray(y == ignore)
    if not np.issubdtype(y.dtype, np.floating) and y.dtype != np.bool_:
        return np.asarray(y == ignore)  # integer labels (uint8 never equals -1)
    dense = np.moveaxis(y.astype(np.float64), axis, 1)
    return dense[:, ignore] == 1 if 0 <= ignore < c else dense.sum(axis=1) == 0


def ignored_elements(p: Problem, y: np.ndarray) -> np.ndarray | None:
    """Where a per-element ``"none"`` result must be 0: ``(N, *spatial)`` (multiclass) or
    ``y_pred``'s shape."""
    ignore = p.get("ignore_index")
    axis = p.get("class_axis") % p.y_pred.ndim if p.y_pred.ndim > 1 else 1
    dense_axis = axis if y.ndim == p.y_pred.ndim else None
    mask = _ignored(p.mode, p.c, ignore, y, dense_axis if dense_axis is not None else 1)
    if mask is None or p.mode == "multiclass":
        return mask
    if mask.ndim < p.y_pred.ndim:  # binary target without the channel axis
        mask = np.expand_dims(mask, axis)
    return np.broadcast_to(mask, p.y_pred.shape)


def result_shape(p: Problem) -> tuple[int, ...] | None:
    """The documented result shape (None: not documented for this loss)."""
    if p.get("reduction") != "none":
        return ()
    family = CAPABILITIES[p.name].family
    if family == "lovasz":
        rows = p.n if p.get("per_image") else 1
        return (rows,) if p.mode in ("multiclass", "binary") else (rows, p.c)
    if p.name == "generalized_dice_loss":
        return () if p.get("batch") else (p.n,)  # one ratio with batch
    if family in ("region", "boundary"):  # boundary losses: (N, C') tables, no batch
        kept = p.c - (p.mode != "binary" and not p.get("include_background"))
        return (kept,) if p.get("batch") else (p.n, kept)
    if family == "pixel":
        return (p.n, *p.spatial) if p.mode == "multiclass" else p.y_pred.shape
    return None


def rows_are_images(p: Problem) -> bool:
    """A ``"none"`` result with one row per image (not pooled over the batch)."""
    if CAPABILITIES[p.name].family == "lovasz":
        return bool(p.get("per_image"))
    return not p.get("batch")


def to_backend(backend: Backend, p: Problem, dtype: str) -> tuple[Any, Any]:
    """``y_pred`` in ``dtype``; a float ``y_true`` in ``dtype`` too, others unchanged."""
    y_dtype = None
    if np.issubdtype(p.y_true.dtype, np.floating):
        y_dtype = dtype
    return backend.asarray(p.y_pred, dtype), backend.asarray(p.y_true, y_dtype)


def as_float64(backend: Backend, a: Any) -> np.ndarray:
    out = backend.to_numpy(a)
    return out.astype(np.float64) if np.issubdtype(out.dtype, np.floating) else out


# ----------------------------------------------------------------------------- properties


@per_loss(12)
def test_contract(name: str, data: st.DataObject) -> None:
    """A finite result of the documented shape, dtype, namespace and device (and values:
    float64 NumPy on the same rounded inputs), or the documented error."""
    label = data.draw(st.sampled_from(available()), label="backend")
    backend = _backend(label)
    assert backend is not None
    dtype = data.draw(st.sampled_from(dtypes(backend)), label="dtype")
    p = data.draw(problems([name], invalid=True), label="problem")
    fn = function(name, label)
    event(f"backend={label} dtype={dtype}")
    event(f"mode={p.mode} reduction={p.get('reduction')} error={p.error}")
    with activated(backend):
        x, y = to_backend(backend, p, dtype)
        if declared_unsupported(name, label):
            with pytest.raises(TypeError, match="dask"):
                p.call(fn, x, y)
            return
        if p.error is not None:
            with pytest.raises(ValueError, match=p.error):
                p.call(fn, x, y)
            return
        out = p.call(fn, x, y)
    x64, y64 = as_float64(backend, x), as_float64(backend, y)
    # the reference on exactly the rounded values: soft labels rounded to bfloat16 sum to 1
    # only within bfloat16's eps, which float64's stricter sum check would refuse
    with sx.options(validate=False):
        want = np.asarray(p.call(y_pred=x64, y_true=y64), dtype=np.float64)
    shape = result_shape(p)
    if shape is not None:
        assert want.shape == shape, f"result shape {want.shape}, documented {shape}"
    assert np.isfinite(want).all(), f"float64 NumPy result not finite: {want}"
    tol = 1e-10 if dtype == "float64" else 1e-3
    assert_matches(out, want, backend, dtype="float64" if dtype == "float64" else "float32",
                   rtol=tol, atol=tol, ref=x)
    got = backend.to_numpy(out)
    assert np.isfinite(got).all(), f"{label}: result not finite: {got}"
    if CAPABILITIES[name].family == "pixel" and p.get("reduction") == "none":
        ignored = ignored_elements(p, y64)
        if ignored is not None:
            event("per-element result checked 0 where ignored")
            assert (got[ignored] == 0).all(), "a per-element loss is not 0 where ignored"


def _bounds(p: Problem, weights: float) -> tuple[float | None, float | None]:
    """Documented range of the loss of ``p`` (None: unbounded on that side)."""
    reduction = p.get("reduction")
    if p.name == "combo_loss":  # α·BCE − (1 − α)·Dice score, the score in [0, 1]
        entries = 1 if reduction == "mean" else p.n * p.c
        return -(1 - p.get("alpha")) * entries, None
    if p.name in ("conservative_loss", *DIST_MAP_LOSSES):  # negative above p_t = 1/base;
        return None, None  # mean(p·φ) is negative where the prediction covers φ < 0
    upper = None
    if p.name in REGION:
        upper = (2.0 if p.name == "mcc_loss" else 1.0) * weights
    elif p.name == "lovasz_softmax_loss":  # errors in [0, 1], Jaccard increments sum <= 1
        upper = 1.0
    return 0.0, (upper if reduction != "sum" else None)


@per_loss(20)
def test_range(name: str, data: st.DataObject) -> None:
    """Every loss within its documented range (float64 NumPy)."""
    p = data.draw(problems([name]), label="problem")
    out = np.asarray(p.call(), dtype=np.float64)
    assert np.isfinite(out).all(), out
    weights = max(p.get("class_weights") or [1.0])
    low, high = _bounds(p, weights)
    if low is not None:
        assert out.min() >= low - 1e-12, f"{out.min()} < {low}"
    if high is not None:
        assert out.max() <= high + 1e-12, f"{out.max()} > {high}"


def canonical_target(p: Problem) -> tuple[np.ndarray, np.ndarray]:
    """The target as floats ``(N, C, *spatial)`` (0 where ignored) and the counted elements,
    read the way the docstrings describe ``y_true`` (NumPy, for expectations)."""
    x, y, c = p.y_pred, p.y_true, p.c
    axis = p.get("class_axis") % x.ndim
    ignore = p.get("ignore_index")
    if p.mode == "multiclass" and y.ndim < x.ndim:  # integer labels
        counted = np.ones(y.shape, dtype=bool) if ignore is None else y != ignore
        g = one_hot(np.where(counted, y, 0).astype(np.int64), c)
        counted = np.broadcast_to(counted[:, None], g.shape)
        return np.where(counted, g, 0.0), counted
    if p.mode == "multiclass":
        g = np.moveaxis(y.astype(np.float64), axis, 1)
        ignored = _ignored(p.mode, c, ignore, g, 1)
        counted = np.ones(g.shape, dtype=bool) if ignored is None else np.broadcast_to(
            ~ignored[:, None], g.shape)
        return np.where(counted, g, 0.0), counted
    if y.ndim < x.ndim:  # binary target without the channel axis
        y = np.expand_dims(y, axis)
    has_channel = p.mode == "multilabel" or (x.ndim >= 3 and x.shape[axis] == 1)
    g = np.moveaxis(y, axis, 1) if has_channel else y[:, None]
    g = g.astype(np.float64)
    counted = np.ones(g.shape, dtype=bool) if ignore is None else g != ignore
    return np.where(counted, g, 0.0), counted


def classes_neither_absent_nor_full(p: Problem) -> np.ndarray:
    """``mcc_loss``'s table entries whose class is neither absent from the counted target
    nor filling it: the correlation of a constant mask is undefined (mcc_loss Notes)."""
    g, counted = canonical_target(p)
    spatial = tuple(range(2, g.ndim))
    present, size = g.sum(axis=spatial), counted.sum(axis=spatial)
    if p.get("batch"):
        present, size = present.sum(axis=0), size.sum(axis=0)
    proper = (present > 0) & (present < size)
    if p.mode != "binary" and not p.get("include_background"):
        proper = proper[..., 1:]
    return np.asarray(proper)


@pytest.mark.parametrize("name", ZERO_AT_OPTIMUM)
@fuzz(max_examples=20)
@given(data=st.data())
def test_zero_at_perfect_prediction(name: str, data: st.DataObject) -> None:
    """Probabilities equal to the target (ignored elements: anything) give loss 0."""
    p = data.draw(problems([name], perfect=True), label="problem")
    out = np.asarray(p.call(), dtype=np.float64)
    if name == "mcc_loss":
        if p.get("reduction") != "none":
            return  # absent classes score 1 in the mean: only the table is checked
        out = out[classes_neither_absent_nor_full(p)]
    assert np.abs(out).max(initial=0.0) <= 1e-6, out


@per_loss(15)
def test_batch_permutation(name: str, data: st.DataObject) -> None:
    """Permuting the images permutes the ``"none"`` rows and leaves mean/sum unchanged."""
    p = data.draw(problems([name]), label="problem")
    perm = np.asarray(data.draw(st.permutations(range(p.n)), label="permutation"))
    out = np.asarray(p.call(), dtype=np.float64)
    permuted = np.asarray(p.call(y_pred=p.y_pred[perm], y_true=p.y_true[perm]),
                          dtype=np.float64)
    if p.get("reduction") == "none" and rows_are_images(p):
        out = out[perm]
    np.testing.assert_allclose(permuted, out, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("label", [b for b in BACKENDS if b not in ("numpy", "jax-jit")])
@pytest.mark.parametrize("name", NAMES)
def test_same_on_every_backend(name: str, label: str) -> None:
    """Float64 draws on ``label`` equal float64 NumPy to 1e-10 (a missing backend, or one
    the function declares unsupported, is SKIPPED with the reason)."""
    backend = _backend(label)
    if backend is None:
        pytest.skip(f"{label} is not installed")
    if declared_unsupported(name, label):
        pytest.skip(f"{name} on {label}: {getattr(CAPABILITIES[name], label)}")
    # eager JAX compiles every primitive for each new shape (about 1.5 s an example);
    # its values are also checked, eager and jitted, on the whole conformance matrix
    (_same_as_numpy_jax if label == "jax" else _same_as_numpy)(name, backend)


def _same_as_numpy_body(name: str, backend: Backend, data: st.DataObject) -> None:
    p = data.draw(problems([name]), label="problem")
    want = np.asarray(p.call(), dtype=np.float64)
    with activated(backend):
        x, y = to_backend(backend, p, "float64")
        out = p.call(y_pred=x, y_true=y)
        assert_matches(out, want, backend, dtype="float64", rtol=1e-10, atol=1e-10, ref=x)


_same_as_numpy = fuzz(max_examples=5)(given(data=st.data())(_same_as_numpy_body))
_same_as_numpy_jax = fuzz(max_examples=3)(given(data=st.data())(_same_as_numpy_body))


@st.composite
def large_problems(draw: st.DrawFn, name: str) -> Problem:
    """A 1×C×512×512 problem: a drawn tile repeated, plus a drawn ramp per class."""
    fn = LOSSES[name]
    mode = draw(st.sampled_from(modes(fn)), label="mode")
    c = 1 if mode == "binary" else 3
    size = LARGE_SIZE

    def tiled(tile: np.ndarray) -> np.ndarray:
        reps = (1,) * (tile.ndim - 2) + tuple(math.ceil(size / s) for s in tile.shape[-2:])
        return np.tile(tile, reps)[..., :size, :size]

    th, tw = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    tile = draw(hnp.arrays(np.float64, (c, th, tw), elements=_floats(-4, 4)))
    slope = draw(hnp.arrays(np.float64, (c, 2, 1, 1), elements=_floats(-2, 2)))
    ramp = np.linspace(0.0, 1.0, size)
    x = tiled(tile) + slope[:, 0] * ramp[:, None] + slope[:, 1] * ramp[None, :]
    lh, lw = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    if mode == "multiclass":
        y = tiled(draw(hnp.arrays(np.int64, (1, lh, lw), elements=st.integers(0, c - 1))))
    else:
        y = tiled(draw(hnp.arrays(np.bool_, (1, c, lh, lw)))).astype(np.float64)
    return Problem(name, mode, x[None], y, {"mode": mode}, 1, c, (size, size))


@pytest.mark.parametrize(("label", "dtype"), LARGE_CASES)
@pytest.mark.parametrize("name", LARGE_LOSSES)
@fuzz(max_examples=3)
@given(data=st.data())
def test_half_precision_accumulates_in_float32(name: str, label: str, dtype: str,
                                              data: st.DataObject) -> None:
    """float16/bfloat16 512×512: a float32 result within 1e-3 of float64 (same inputs)."""
    backend = _backend(label)
    if backend is None or dtype not in dtypes(backend):
        pytest.skip(f"{label}: not installed or no {dtype}")
    p = data.draw(large_problems(name), label="problem")
    with activated(backend):
        x, y = to_backend(backend, p, dtype)
        out = p.call(y_pred=x, y_true=y)
    want = np.asarray(p.call(y_pred=as_float64(backend, x), y_true=as_float64(backend, y)),
                      dtype=np.float64)
    assert_matches(out, want, backend, dtype="float32", rtol=1e-3, ref=x)


# ----------------------------------------------------------------------------- found bugs
# (fixed in the library; these properties keep them fixed)


@pytest.mark.parametrize("name", sorted(SMOOTH_0_IS_INF))
@fuzz(max_examples=10, shrink=False)
@given(data=st.data())
def test_smooth_0_is_refused(name: str, data: st.DataObject) -> None:
    """``smooth=0`` would give ``−ln 0 = inf`` for an absent class: a ValueError instead."""
    p = data.draw(problems([name]), label="problem")
    p.kwargs["smooth"] = 0.0
    with pytest.raises(ValueError, match="`smooth` must be > 0"):
        p.call()


@fuzz(max_examples=5, shrink=False)
@given(data=st.data())
def test_generalized_dice_batch_none_shape(data: st.DataObject) -> None:
    """``reduction="none"`` with ``batch=True`` is one ratio: a 0-d array."""
    p = data.draw(problems(["generalized_dice_loss"]), label="problem")
    p.kwargs.update(batch=True, reduction="none")
    assert np.shape(p.call()) == ()


MULTICLASS = [n for n in NAMES if "multiclass" in modes(LOSSES[n])]


@st.composite
def soft_multiclass(draw: st.DrawFn) -> tuple[str, np.ndarray, np.ndarray]:
    """A multiclass loss, logits and soft labels summing to 1 (float64)."""
    name = draw(st.sampled_from(MULTICLASS), label="name")
    n, c, s = draw(st.integers(1, 2)), draw(st.integers(2, 4)), draw(st.integers(1, 5))
    x = draw(hnp.arrays(np.float64, (n, c, s), elements=_floats(-10, 10)))
    y = softmax(draw(hnp.arrays(np.float64, (n, c, s), elements=_floats(-3, 3))))
    return name, x, y


@pytest.mark.parametrize("label", ["torch", "jax"])
@fuzz(max_examples=10, shrink=False)
@given(case=soft_multiclass())
def test_bfloat16_soft_targets(label: str, case: tuple[str, np.ndarray, np.ndarray]) -> None:
    """Soft labels rounded to bfloat16 are accepted next to bfloat16 logits."""
    backend = _backend(label)
    if backend is None:
        pytest.skip(f"{label} is not installed")
    name, x, y = case
    out = LOSSES[name](backend.asarray(x, "bfloat16"), backend.asarray(y, "bfloat16"))
    assert np.isfinite(backend.to_numpy(out)).all()
