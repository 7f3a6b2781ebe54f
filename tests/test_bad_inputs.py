"""The bad-input matrix (DESIGN §2, issue #7): every public function rejects bad input clearly.

The matrix is data: tables of :class:`Row` (a function-name filter, a keyword override
and/or an input transformation, the expected exception type and the words its message
must contain), applied to every public function that takes the row's keywords (read
with ``inspect.signature``: a row is *not generated* for a function without them) and
supports the row's mode (read from the ``mode`` annotation), on every backend of the
row's tier. The functions come from ``conformance.helpers.public_functions()``, so a new
public function joins the matrix by itself. The functions with another call form have
tables of their own: ``deep_supervision(loss_fn, preds, y_true, ...)``,
``region_loss_from_stats(stats, ...)`` and ``check_inputs(y_pred, y_true, loss=...,
**loss_kwargs)`` (the standard rows with the shared keywords, plus its own);
:func:`test_every_public_function_is_in_the_matrix` fails for a new call form without
one, and :func:`test_every_keyword_has_a_row` for a keyword without a row.

Each case asserts that the call raises the row's ``ValueError``/``TypeError`` with a
message naming the argument and the offending value, or, for a *value* row (a check that
must read data) on a lazy backend (dask), that the result is NaN or raises at compute
time (naming the argument); never a finite number. Every case also asserts that no
input was modified (array values, dtypes and shapes, and keyword sequences).

Tiers keep the matrix near 3,000 cases and well under a minute on two cores:

* ``ALL`` (every backend): one row per kind of structural check (rank, shape, dtype,
  namespace, zero size), since each library spells shapes, dtypes and errors its own way;
* ``CORE`` (numpy, torch, jax, dask): the other dtype and namespace rows, and the value
  rows (label range, probabilities, finiteness, targets), eager and lazy;
* ``NUMPY``: variants of the shape checks (shape tuples only), of the value checks (the
  same code path with other values or modes), and the argument rows (option strings,
  flags, hyper-parameters, weight sequences: pure-Python checks reading no array).

Known library bugs are :data:`BUGS`; each marks exactly the cases it breaks
``xfail(strict=True)``, so a fix turns them into failures until its entry is removed.
Failures are reported as one line (no traceback through the library), which keeps the
xfailed cases cheap.
"""

from __future__ import annotations

import copy
import inspect
import re
import traceback
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import array_api_compat as compat
import numpy as np
import pytest

import segloss_xp as sx
from conformance.helpers import REQUIRED_KEYWORDS, public_functions, require_capability
from segloss_xp._capabilities import CAPABILITIES
from segloss_xp._formulas import FORMULAS
from segloss_xp.testing import BACKEND_NAMES, Backend, load_backend

# ----------------------------------------------------------------------------- data

N, C, H, W = 2, 3, 4, 5
_RNG = np.random.default_rng(7)
X = _RNG.normal(size=(N, C, H, W))  # multiclass / multilabel logits
LABELS = _RNG.integers(0, C, size=(N, H, W))
BX = _RNG.normal(size=(N, 1, H, W))  # binary logits
BY = (_RNG.random(size=(N, 1, H, W)) < 0.5).astype(np.float64)
ML = (_RNG.random(size=(N, C, H, W)) < 0.5).astype(np.float64)
BASE: Mapping[str, tuple[np.ndarray, np.ndarray]] = {
    "multiclass": (X, LABELS), "binary": (BX, BY), "multilabel": (X, ML)}
MODES = tuple(BASE)

ALL = BACKEND_NAMES
CORE = ("numpy", "torch", "jax", "dask")
NUMPY = ("numpy",)

FUNCTIONS = public_functions()
OWN_CALL_FORMS = ("boundary_loss", "check_inputs", "deep_supervision", "distance_transform_edt",
                  "region_loss_from_stats", "signed_distance_map", "unet_weight_map")


def _params(fn: Callable[..., Any]) -> Mapping[str, inspect.Parameter]:
    return inspect.signature(fn).parameters


STANDARD = {name: fn for name, fn in FUNCTIONS.items()
            if list(_params(fn))[:2] == ["y_pred", "y_true"] and "mode" in _params(fn)}


def _literal(fn: Callable[..., Any], keyword: str) -> tuple[Any, ...]:
    """The values of a ``Literal[...]`` annotation (``mode``, ``reduction``)."""
    return typing.get_args(typing.get_type_hints(fn)[keyword])


def _modes(fn: Callable[..., Any]) -> tuple[str, ...]:
    return _literal(fn, "mode")


def _default_mode(fn: Callable[..., Any]) -> str:
    return str(_params(fn)["mode"].default)


# The metrics (DESIGN §8) take hard integer/bool predictions, so the rows refusing those
# do not apply to them (:func:`_applies`); a required keyword goes into every call.
METRICS = tuple(public_functions("metrics"))


NOT_BINARY_BY_DEFAULT = tuple(n for n, fn in STANDARD.items() if _default_mode(fn) != "binary")
SIGMOID_BY_DEFAULT = tuple(n for n, fn in STANDARD.items() if _default_mode(fn) != "multiclass")


def both(*words: str) -> str:
    """A regex that needs every word somewhere in the message (any order)."""
    return "".join(f"(?=[\\s\\S]*{re.escape(w)})" for w in words)


# ----------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Foreign:
    """An array to be created by *another* library than the backend under test.

    ``prefer="torch"``: torch (numpy on the torch backends); ``prefer="numpy"``: numpy
    (jax on the numpy backend).
    """

    data: np.ndarray
    prefer: str = "torch"


@dataclass(frozen=True)
class PerClass:
    """A keyword value computed from the number of classes of the base inputs."""

    make: Callable[[int], Any]


@dataclass(frozen=True)
class Row:
    """One bad input: ``kwargs`` override keywords, ``inputs`` transforms the positionals.

    ``words`` must all occur in the message; they may use ``{mode}``, ``{pred_shape}``,
    ``{true_shape}``, ``{lib}``/``{other}`` (library names as messages print them),
    ``{name}``, ``{C}`` and ``{reductions}``; the first word names the argument (all a
    compute-time error on a lazy backend must name). ``mode`` picks the base inputs
    (None: the function's default mode; ``"unsupported"``: a mode the function is not
    defined for); ``only`` filters by function name; ``values`` marks a check that needs
    data (lazy backends: NaN or a compute-time error); ``backends`` overrides the tier's.
    """

    id: str
    error: type[Exception]
    words: tuple[str, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    inputs: Callable[..., tuple[Any, ...]] | None = None
    mode: str | None = None
    only: tuple[str, ...] | None = None
    values: bool = False
    backends: tuple[str, ...] | None = None  # overrides the tier's backends


def _set(index: int, value: float) -> Callable[[np.ndarray], np.ndarray]:
    """Copy of an array with its ``index``-th flat element set to ``value``."""

    def change(a: np.ndarray) -> np.ndarray:
        out = a.copy()
        out.flat[index] = value
        return out
    return change


def _pred(change: Callable[[np.ndarray], Any]) -> Callable[..., tuple[Any, ...]]:
    return lambda p, t: (change(p), t)


def _true(change: Callable[[np.ndarray], Any]) -> Callable[..., tuple[Any, ...]]:
    return lambda p, t: (p, change(t))


SHAPE_WORDS = ("shape mismatch", "mode={mode!r}", "{pred_shape}", "{true_shape}")
DTYPE_WORDS = ("`y_pred`", "real floating", "mode={mode!r}")
MIXED_WORDS = ("mixed namespaces", "`y_pred`", "`y_true`", "{lib}", "{other}")

# One row per kind of structural check: every backend.
STRUCTURAL_ALL = (
    Row("y_pred_1d", ValueError, ("`y_pred`", "batch axis", "(5,)", "mode={mode!r}"),
        inputs=lambda p, t: (p.reshape(-1)[:5], t.reshape(-1)[:5])),
    Row("y_true_spatial", ValueError, SHAPE_WORDS, inputs=_true(lambda t: t[..., :3])),
    Row("y_pred_int64", TypeError, (*DTYPE_WORDS, "int64"),
        inputs=_pred(lambda p: (p > 0).astype(np.int64))),
    Row("y_true_complex", TypeError, ("`y_true`", "real", "complex128"),
        inputs=_true(lambda t: t.astype(np.complex128))),
    Row("mixed_y_true_foreign", TypeError, MIXED_WORDS,
        inputs=lambda p, t: (p, Foreign(t))),
    Row("zero_size_batch", ValueError, ("`y_pred`", "{pred_shape}"),
        inputs=lambda p, t: (p[:0], t[:0])),
)

# The other dtype and namespace checks: each library spells dtypes its own way.
STRUCTURAL_CORE = (
    Row("y_pred_bool@binary", TypeError, (*DTYPE_WORDS, "bool"), mode="binary",
        inputs=_pred(lambda p: p > 0)),
    Row("y_pred_complex", TypeError, (*DTYPE_WORDS, "complex128"),
        inputs=_pred(lambda p: p.astype(np.complex128))),
    Row("float_labels", TypeError, ("`y_true`", "mode='multiclass'", "integer", "{true_shape}"),
        mode="multiclass", inputs=_true(lambda t: t.astype(np.float64))),
    Row("integer_one_hot", TypeError,
        ("`y_true`", "one-hot", "int64", "integer class ids", "(2, 4, 5)"),
        mode="multiclass",
        inputs=_true(lambda t: np.stack([t == c for c in range(C)], axis=1).astype(np.int64))),
    Row("mixed_y_pred_foreign", TypeError, MIXED_WORDS, inputs=lambda p, t: (Foreign(p), t)),
    Row("mixed_with_numpy", TypeError, MIXED_WORDS, backends=("numpy", "jax"),
        inputs=lambda p, t: (p, Foreign(t, prefer="numpy"))),
)

# Variants of the shape checks (shape tuples only) and of the dtype checks above: NumPy.
SHAPE_ROWS = (
    Row("y_pred_0d", ValueError, ("`y_pred`", "batch axis", "()"),
        inputs=lambda p, t: (p.reshape(-1)[:1].reshape(()), t.reshape(-1)[:1].reshape(()))),
    Row("y_true_batch", ValueError, SHAPE_WORDS, inputs=_true(lambda t: t[:1])),
    Row("y_true_extra_axis", ValueError, SHAPE_WORDS, inputs=_true(lambda t: t[..., None])),
    Row("y_true_spatial@binary", ValueError, SHAPE_WORDS, mode="binary",
        inputs=_true(lambda t: t[..., :4])),
    Row("dense_target_wrong_classes", ValueError, SHAPE_WORDS, mode="multiclass",
        inputs=_true(lambda t: np.zeros((N, C + 1, H, W)))),
    Row("binary_pred_without_channel", ValueError, SHAPE_WORDS, mode="binary",
        inputs=lambda p, t: (p[:, 0], t)),
    Row("multilabel_fewer_channels", ValueError, SHAPE_WORDS, mode="multilabel",
        inputs=_true(lambda t: t[:, :2])),
    Row("multilabel_label_map", ValueError, SHAPE_WORDS, mode="multilabel",
        inputs=_true(lambda t: t[:, 0])),
    Row("one_class_multiclass_dense", ValueError,
        ("at least 2 classes", "(2, 1, 4, 5)", "mode='binary'"), mode="multiclass",
        inputs=lambda p, t: (BX, BY)),
    Row("one_class_multiclass_labels", ValueError,
        ("at least 2 classes", "(2, 1, 4, 5)", "mode='binary'"), mode="multiclass",
        inputs=lambda p, t: (BX, BY[:, 0].astype(np.int64))),
    Row("class_axis=4", ValueError, ("`class_axis`=4", "out of range", "{pred_shape}"),
        kwargs={"class_axis": 4}),
    Row("class_axis=7", ValueError, ("`class_axis`=7", "out of range"), kwargs={"class_axis": 7}),
    Row("class_axis=-5", ValueError, ("`class_axis`=-5", "out of range"),
        kwargs={"class_axis": -5}),
    Row("class_axis=0", ValueError, ("`class_axis`", "batch axis 0", "{pred_shape}"),
        kwargs={"class_axis": 0}),
    Row("class_axis=-4", ValueError, ("`class_axis`", "batch axis 0"),
        kwargs={"class_axis": -4}),
    *(Row(f"y_pred_{dtype}@{mode}", TypeError, (*DTYPE_WORDS, dtype), mode=mode,
          inputs=_pred(lambda p, d=dtype: (p > 0).astype(d)))
      for dtype in ("int32", "uint8", "bool") for mode in ("multiclass", "binary")
      if (dtype, mode) != ("bool", "binary")),  # that one is in STRUCTURAL_CORE
    Row("y_pred_int64@binary", TypeError, (*DTYPE_WORDS, "int64"), mode="binary",
        only=NOT_BINARY_BY_DEFAULT, inputs=_pred(lambda p: (p > 0).astype(np.int64))),
    Row("y_true_none", TypeError, ("`y_true`", "must be an array", "None"),
        inputs=lambda p, t: (p, None)),
    Row("y_true_list", TypeError, ("`y_true`", "must be an array", "list"),
        inputs=_true(lambda t: t.tolist())),
    Row("y_pred_list", TypeError, ("`y_pred`", "must be an array", "list"),
        inputs=_pred(lambda p: p.tolist())),
    Row("zero_size_spatial", ValueError, ("`y_pred`", "{pred_shape}"),
        inputs=lambda p, t: (p[:, :, :0], t[..., :0, :])),
)

SCALAR_ONLY = tuple(name for name, fn in STANDARD.items()
                    if "reduction" in _params(fn) and "none" not in _literal(fn, "reduction"))
PROBABILITY_ALPHA = ("cldice_loss", "combo_loss", "dice_focal_loss", "focal_loss")  # in [0, 1]
PROBABILITY_BETA = ("balanced_cross_entropy", "combo_loss")  # beta in [0, 1]


def _takes_sequence(fn: Callable[..., Any], keyword: str) -> bool:
    """``keyword``'s annotation admits a sequence (per-class weights), not only a number."""
    hint = typing.get_type_hints(fn).get(keyword)
    return any(typing.get_origin(arg) is Sequence for arg in typing.get_args(hint))


SEQUENCE_ALPHA = tuple(n for n, fn in STANDARD.items()
                       if "alpha" in _params(fn) and _takes_sequence(fn, "alpha"))


def _weights_rows(keyword: str, *, mode: str | None = None,
                  only: tuple[str, ...] | None = None) -> tuple[Row, ...]:
    """Wrong length (short, long), negative, NaN and non-numeric per-class weights."""
    tag = f"@{mode}" if mode else ""
    words = (f"`{keyword}`",)
    return (
        Row(f"{keyword}_short{tag}", ValueError, (*words, "expected {C}", "got 2"),
            kwargs={keyword: [1.0, 2.0]}, mode=mode, only=only),
        Row(f"{keyword}_long{tag}", ValueError, (*words, "expected {C}", "got 4"),
            kwargs={keyword: [1.0, 2.0, 3.0, 4.0]}, mode=mode, only=only),
        Row(f"{keyword}_negative{tag}", ValueError, (*words, ">= 0", "-2.0"),
            kwargs={keyword: PerClass(lambda c: [*([1.0] * (c - 1)), -2.0])}, mode=mode, only=only),
        Row(f"{keyword}_nan{tag}", ValueError, (*words, "finite", "nan"),
            kwargs={keyword: PerClass(lambda c: [float("nan")] * c)}, mode=mode, only=only),
        Row(f"{keyword}_string{tag}", TypeError, (*words, "str"),
            kwargs={keyword: "abc"}, mode=mode, only=only),
    )


def _numeric_rows(keyword: str) -> tuple[Row, ...]:
    """Negative, NaN and non-numeric values of a real-valued hyper-parameter."""
    return (
        Row(f"{keyword}=-1", ValueError, (f"`{keyword}`", "-1.0"), kwargs={keyword: -1.0}),
        Row(f"{keyword}=nan", ValueError, (f"`{keyword}`", "nan"),
            kwargs={keyword: float("nan")}),
        Row(f"{keyword}=str", TypeError, (f"`{keyword}`", "str"), kwargs={keyword: "0.5"}),
    )


# every real-valued hyper-parameter and every flag of every function, from the signatures
NUMERIC_KEYWORDS = sorted({k for fn in STANDARD.values() for k, p in _params(fn).items()
                           if type(p.default) is float})
FLAG_KEYWORDS = sorted({k for fn in STANDARD.values() for k, p in _params(fn).items()
                        if type(p.default) is bool})

UNKNOWN_KEYWORD = "smoth"  # a keyword no function takes: its row runs for every function

ARGUMENT_ROWS = (
    Row("mode_unknown", ValueError, ("`mode`", "'multiclass', 'binary', 'multilabel'",
                                     "'multi-class'"), kwargs={"mode": "multi-class"}),
    Row("mode_unsupported", ValueError, ("{name}", "mode={mode!r}"), mode="unsupported"),
    Row("reduction_unknown", ValueError, ("`reduction`", "{reductions}", "'avg'"),
        kwargs={"reduction": "avg"}),
    Row("reduction_none_scalar_only", ValueError, ("`reduction`", "'none'"),
        kwargs={"reduction": "none"}, only=SCALAR_ONLY),
    Row("misspelt_keyword", TypeError, ("smoth",), kwargs={UNKNOWN_KEYWORD: 1.0}),
    Row("class_axis_float", TypeError, ("`class_axis`", "float"), kwargs={"class_axis": 1.0}),
    Row("class_axis_bool", TypeError, ("`class_axis`", "bool"), kwargs={"class_axis": True}),
    Row("ignore_index_float", TypeError, ("`ignore_index`", "float"),
        kwargs={"ignore_index": 255.0}),
    Row("ignore_index_bool", TypeError, ("`ignore_index`", "bool"),
        kwargs={"ignore_index": True}),
    *(Row(f"ignore_index={v}@{m}", ValueError, (f"`ignore_index`={v}", f"mode={m!r}", "-1"),
          kwargs={"ignore_index": v}, mode=m)
      for m in ("binary", "multilabel") for v in (0, 1)),
    *(Row(f"{k}=1", TypeError, (f"`{k}`", "bool", "int"), kwargs={k: 1}) for k in FLAG_KEYWORDS),
    *(row for k in NUMERIC_KEYWORDS for row in _numeric_rows(k)),
    # ranges beyond "non-negative"
    Row("alpha=1.5", ValueError, ("`alpha`", "[0, 1]", "1.5"), kwargs={"alpha": 1.5},
        only=PROBABILITY_ALPHA),
    Row("beta=1.5", ValueError, ("`beta`", "[0, 1]", "1.5"), kwargs={"beta": 1.5},
        only=PROBABILITY_BETA),
    Row("label_smoothing=1.5", ValueError, ("`label_smoothing`", "[0, 1]", "1.5"),
        kwargs={"label_smoothing": 1.5}),
    Row("gamma=0", ValueError, ("`gamma`", "> 0", "0.0"), kwargs={"gamma": 0.0},
        only=("focal_tversky_loss",)),
    Row("lam=0", ValueError, ("`lam`", "> 0", "0.0"), kwargs={"lam": 0.0},
        only=("conservative_loss",)),  # boundary_dice_loss: lam=0 is plain Dice
    Row("edge_norm_unknown", ValueError, ("`edge_norm`", "'l1', 'l2'", "'l3'"),
        kwargs={"edge_norm": "l3"}),
    Row("iterations=-1", ValueError, ("`iterations`", ">= 0", "-1"), kwargs={"iterations": -1}),
    Row("iterations_float", TypeError, ("`iterations`", "int", "float"),
        kwargs={"iterations": 2.0}),
    Row("hausdorff_spacing_length", ValueError, ("`spacing`", "expected 2", "got 3"),
        kwargs={"spacing": (1.0, 1.0, 1.0)}, only=("hausdorff_dt_loss",)),
    Row("hausdorff_spacing_negative", ValueError, ("`spacing`", "> 0", "-1.0"),
        kwargs={"spacing": (1.0, -1.0)}, only=("hausdorff_dt_loss",)),
    Row("base=1", ValueError, ("`base`", "> 1", "1.0"), kwargs={"base": 1.0}),
    Row("base=0.5", ValueError, ("`base`", "> 1", "0.5"), kwargs={"base": 0.5}),
    Row("eps=0", ValueError, ("`eps`", "(0, 0.5)", "0.0"), kwargs={"eps": 0.0},
        only=("conservative_loss",)),
    Row("eps=0.5", ValueError, ("`eps`", "(0, 0.5)", "0.5"), kwargs={"eps": 0.5},
        only=("conservative_loss",)),
    Row("weight_type_unknown", ValueError,
        ("`weight_type`", "'square', 'simple', 'uniform'", "'sqrt'"),
        kwargs={"weight_type": "sqrt"}),
    Row("classes_unknown", ValueError, ("`classes`", "'present', 'all'", "'none'"),
        kwargs={"classes": "none"}),
    Row("classes_out_of_range", ValueError, ("`classes`", "[5]", "[0, 3)"),
        kwargs={"classes": [0, 5]}),
    Row("classes_empty", ValueError, ("`classes`", "empty"), kwargs={"classes": []}),
    Row("classes_not_int", TypeError, ("`classes`", "0.5"), kwargs={"classes": [0.5]}),
    # per-class weights
    *_weights_rows("class_weights"),
    *(Row(f"class_weights_{len(w)}_without_background", ValueError,
          ("`class_weights`", "expected 3", f"got {len(w)}", "background included"),
          mode="multiclass", kwargs={"class_weights": w, "include_background": False})
      for w in ([1.0, 2.0], [1.0, 2.0, 3.0, 4.0])),
    Row("class_weights_scalar", TypeError, ("`class_weights`", "sequence", "float"),
        kwargs={"class_weights": 2.0}),
    *_weights_rows("alpha", mode="multiclass", only=SEQUENCE_ALPHA),
    Row("alpha_sequence_above_1@binary", ValueError, ("`alpha`", "[0, 1]", "1.5"),
        mode="binary", kwargs={"alpha": [1.5]}, only=SEQUENCE_ALPHA),
    Row("alpha=-0.25", ValueError, ("`alpha`", "-0.25"), kwargs={"alpha": -0.25}),
    *_weights_rows("pos_weight", mode="binary"),
    Row("pos_weight_negative_scalar@binary", ValueError, ("`pos_weight`", ">= 0", "-1.0"),
        mode="binary", kwargs={"pos_weight": -1.0}),
    Row("pos_weight@multiclass", ValueError, ("`pos_weight`", "mode='multiclass'"),
        mode="multiclass", kwargs={"pos_weight": 2.0}),
    # the per-element weight map
    Row("pixel_weights_shape", ValueError, ("`pixel_weights`", "(2, 4, 5)", "(2, 4, 4)"),
        kwargs={"pixel_weights": np.ones((N, H, H))}),
    Row("pixel_weights_list", TypeError, ("`pixel_weights`", "must be an array", "list"),
        kwargs={"pixel_weights": np.ones((N, H, W)).tolist()}),
    Row("pixel_weights_complex", TypeError, ("`pixel_weights`", "complex128"),
        kwargs={"pixel_weights": np.ones((N, H, W), dtype=np.complex128)}),
    Row("pixel_weights_foreign", TypeError, ("mixed namespaces", "`pixel_weights`"),
        kwargs={"pixel_weights": Foreign(np.ones((N, H, W)))}),
)


def _labels_with(value: int, dtype: Any = None) -> Callable[..., tuple[Any, ...]]:
    """Integer labels with one label set to ``value`` (at a place set by the value)."""
    def change(p: np.ndarray, t: np.ndarray) -> tuple[Any, ...]:
        labels = t.astype(dtype) if dtype is not None else t.copy()
        labels.flat[value % labels.size] = value
        return p, labels
    return change


def _probability(value: float) -> Callable[..., tuple[Any, ...]]:
    """Valid probabilities (uniform over the classes) with one entry set to ``value``."""
    return _pred(lambda p: _set(11, value)(np.full(p.shape, 1 / max(p.shape[1], 2))))


# The value checks on the eager backends and dask (lazy: NaN or a compute-time error).
VALUE_ROWS = (
    Row("label_3", ValueError, ("`y_true`", "label 3", "[0, 3)", "ignore_index=None"),
        mode="multiclass", values=True, inputs=_labels_with(3)),
    Row("label_uint8_7", ValueError, ("`y_true`", "label 7", "[0, 3)"), mode="multiclass",
        values=True, inputs=_labels_with(7, np.uint8), backends=(*CORE, "strict")),
    Row("probability_1.5", ValueError, ("`y_pred`", "probabilities", "[0, 1]", "1.5"),
        values=True, kwargs={"from_logits": False}, inputs=_probability(1.5)),
    Row("y_pred_nan", ValueError, ("`y_pred`", "non-finite"), values=True,
        inputs=_pred(_set(7, np.nan))),
    Row("target_2.0@binary", ValueError, ("`y_true`", "[0, 1]", "2.0"), mode="binary",
        values=True, inputs=_true(_set(0, 2.0))),
    Row("target_-1.0@multilabel", ValueError, ("`y_true`", "[0, 1]", "-1.0"),
        mode="multilabel", values=True, inputs=_true(_set(0, -1.0))),
    Row("target_nan@binary", ValueError, ("`y_true`", "nan"), mode="binary", values=True,
        inputs=_true(_set(3, np.nan))),
    Row("soft_target_not_normalised", ValueError, ("`y_true`", "sum"), mode="multiclass",
        values=True, inputs=_true(lambda t: np.full((N, C, H, W), 0.2))),
)

# Variants of the value checks (the same code path with other values or modes): NumPy.
VALUE_VARIANTS = (
    Row("probability_-0.25", ValueError, ("`y_pred`", "probabilities", "[0, 1]", "-0.25"),
        values=True, kwargs={"from_logits": False}, inputs=_probability(-0.25)),
    *(Row(f"y_pred_{v}", ValueError, ("`y_pred`", "non-finite"), values=True,
          inputs=_pred(_set(7, v))) for v in (np.inf, -np.inf)),
    *(Row(f"label_{bad}", ValueError, ("`y_true`", f"label {bad}", "[0, 3)",
                                       "ignore_index=None"),
          mode="multiclass", values=True, inputs=_labels_with(bad)) for bad in (-1, 255)),
    Row("label_uint8_255", ValueError, ("`y_true`", "label 255", "[0, 3)"), mode="multiclass",
        values=True, inputs=_labels_with(255, np.uint8),
        backends=("numpy", "strict", "torch", "jax")),
    *(Row(f"y_pred_{v}@binary", ValueError, ("`y_pred`", "non-finite"), mode="binary",
          values=True, only=NOT_BINARY_BY_DEFAULT, inputs=_pred(_set(7, v)))
      for v in (np.nan, np.inf, -np.inf)),
    *(Row(f"y_pred_{v}@multiclass", ValueError, ("`y_pred`", "non-finite"), mode="multiclass",
          values=True, only=SIGMOID_BY_DEFAULT, inputs=_pred(_set(7, v)))
      for v in (np.nan, np.inf, -np.inf)),
    Row("target_-1.0@binary", ValueError, ("`y_true`", "[0, 1]", "-1.0"), mode="binary",
        values=True, inputs=_true(_set(0, -1.0))),
    Row("target_2.0@multilabel", ValueError, ("`y_true`", "[0, 1]", "2.0"),
        mode="multilabel", values=True, inputs=_true(_set(0, 2.0))),
    Row("one_hot_all_zero_bool", ValueError, ("`y_true`", "sum"), mode="multiclass",
        values=True, inputs=_true(lambda t: np.zeros((N, C, H, W), dtype=bool))),
    Row("pixel_weights_nan", ValueError, ("`pixel_weights`", "finite", "nan"),
        values=True, kwargs={"pixel_weights": _set(4, np.nan)(np.ones((N, H, W)))}),
    Row("label_3_with_ignore_index_255", ValueError, ("label 3", "ignore_index=255"),
        mode="multiclass", values=True, kwargs={"ignore_index": 255},
        inputs=lambda p, t: _labels_with(3)(*_labels_with(255)(p, t))),
    Row("lovasz_hinge_soft_target", ValueError, ("`y_true`", "{{0, 1}}", "0.5"), mode="binary",
        values=True, only=("lovasz_hinge_loss",), inputs=_true(_set(5, 0.5))),
    Row("pixel_weights_negative", ValueError, ("`pixel_weights`", ">= 0", "-1.0"),
        values=True, kwargs={"pixel_weights": _set(4, -1.0)(np.ones((N, H, W)))}),
)

# The metrics' own keywords (issue #9 item 7): NumPy; their label-range check: CORE.
SURFACE_METRICS = tuple(n for n in METRICS if "spacing" in _params(FUNCTIONS[n]))
METRIC_ROWS = (
    Row("num_classes_missing", ValueError, ("`num_classes`", "label map", "None"),
        mode="multiclass", only=METRICS, inputs=lambda p, t: (t.copy(), t)),
    Row("num_classes_mismatch", ValueError, ("`num_classes`=4", "3 channels"),
        kwargs={"num_classes": 4}, only=METRICS),
    Row("num_classes=1", ValueError, ("`num_classes`", ">= 2", "1"),
        kwargs={"num_classes": 1}, mode="multiclass", only=METRICS),
    Row("num_classes_float", TypeError, ("`num_classes`", "float", "3.0"),
        kwargs={"num_classes": 3.0}, only=METRICS),
    Row("empty_unknown", ValueError, ("`empty`", "'one', 'nan', 'ignore'", "'zero'"),
        kwargs={"empty": "zero"}, only=METRICS),
    *(Row(f"percentile={v}", ValueError, ("`percentile`", "[0, 100]", str(v)),
          kwargs={"percentile": v}, only=METRICS) for v in (-1.0, 100.5)),
    Row("percentile=nan", ValueError, ("`percentile`", "nan"),
        kwargs={"percentile": float("nan")}, only=METRICS),
    Row("percentile=str", TypeError, ("`percentile`", "str"), kwargs={"percentile": "95"},
        only=METRICS),
    *_weights_rows("tolerance"),
    Row("tolerance=-1", ValueError, ("`tolerance`", ">= 0", "-1.0"),
        kwargs={"tolerance": -1.0}, only=METRICS),
    Row("spacing_length", ValueError, ("`spacing`", "expected 2", "got 3"),
        kwargs={"spacing": (1.0, 1.0, 1.0)}, only=SURFACE_METRICS),
    *(Row(f"spacing={v}", ValueError, ("`spacing`", "> 0", repr(v)),
          kwargs={"spacing": v}, only=SURFACE_METRICS) for v in (0.0, -1.0)),
    Row("spacing_entry_str", TypeError, ("`spacing`", "real numbers", "'a'"),
        kwargs={"spacing": (1.0, "a")}, only=SURFACE_METRICS),
    Row("y_pred_mask_2@binary", ValueError, ("`y_pred`", "[0, 1]", "2.0"), mode="binary",
        values=True, only=METRICS, inputs=_pred(lambda p: _set(3, 2)((p > 0).astype(np.int64)))),
)
METRIC_VALUE_ROWS = (
    Row("y_pred_label_3", ValueError, ("`y_pred`", "[0, 3)", "label 3"), mode="multiclass",
        values=True, only=METRICS, kwargs={"num_classes": 3},
        inputs=lambda p, t: (_set(5, 3)(t), t)),
)

# ----------------------------------------------------------------------------- other call forms

# deep_supervision(loss_fn, preds, y_true, ...): dice_loss over two scales
DS_PREDS = [X, X[..., ::2, ::2]]


def _ds_preds(change: Callable[[list[Any]], list[Any]]) -> Callable[..., tuple[Any, ...]]:
    return lambda fn, preds, t: (fn, change(list(preds)), t)


def _ds_true(change: Callable[[np.ndarray], Any]) -> Callable[..., tuple[Any, ...]]:
    return lambda fn, preds, t: (fn, preds, change(t))


DS_ALL = (
    Row("ds_pred_larger_than_target", ValueError,
        ("prediction 1", "(2, 3, 4, 10)", "`y_true`", "(2, 4, 5)", "larger"),
        inputs=_ds_preds(lambda ps: [ps[0], np.repeat(ps[0], 2, axis=-1)])),
    Row("ds_preds_foreign", TypeError, ("mixed namespaces", "`preds[1]`", "{lib}", "{other}"),
        inputs=_ds_preds(lambda ps: [ps[0], Foreign(ps[1])])),
    Row("ds_y_pred_int64", TypeError, ("`y_pred`", "real floating", "int64"),
        inputs=_ds_preds(lambda ps: [p.astype(np.int64) for p in ps])),
    Row("ds_y_true_none", TypeError, ("`y_true`", "None"), inputs=_ds_true(lambda t: None)),
    Row("ds_zero_size_batch", ValueError, ("`y_pred`", "(0, 3, 4, 5)"),
        inputs=lambda fn, ps, t: (fn, [p[:0] for p in ps], t[:0])),
)
DS_SHAPES = (
    Row("ds_batch_mismatch", ValueError, ("batch size 1", "`y_true`", "has 2"),
        inputs=_ds_preds(lambda ps: [p[:1] for p in ps])),
    Row("ds_y_true_rank", ValueError, ("`y_true`", "(4, 5)", "(2, 3, 4, 5)"),
        inputs=_ds_true(lambda t: t[0])),
    Row("ds_dense_target_wrong_classes", ValueError, ("`y_true`", "(2, 4, 4, 5)", "(2, 3, 4, 5)"),
        inputs=_ds_true(lambda t: np.moveaxis(np.eye(C + 1)[t], -1, 1))),
    Row("ds_preds_single_array", TypeError, ("`preds`", "single array", "(2, 3, 4, 5)"),
        inputs=lambda fn, ps, t: (fn, ps[0], t)),
    Row("ds_preds_empty", ValueError, ("`preds`", "empty"), inputs=_ds_preds(lambda ps: [])),
    Row("ds_y_true_list", TypeError, ("`y_true`", "must be an array", "list"),
        inputs=_ds_true(lambda t: t.tolist())),
    Row("ds_class_axis=7", ValueError, ("`class_axis`=7", "out of range"),
        kwargs={"class_axis": 7}),
    Row("ds_class_axis=0", ValueError, ("`class_axis`", "batch axis 0"),
        kwargs={"class_axis": 0}),
)
DS_ARGS = (
    Row("ds_loss_fn_not_callable", TypeError, ("`loss_fn`", "str"),
        inputs=lambda fn, ps, t: ("dice_loss", ps, t)),
    Row("ds_weights_short", ValueError, ("`weights`", "2 predictions", "1 weights"),
        kwargs={"weights": [1.0]}),
    Row("ds_weights_negative", ValueError, ("`weights`", ">= 0", "-1.0"),
        kwargs={"weights": [1.0, -1.0]}),
    Row("ds_weights_nan", ValueError, ("`weights`", "finite", "nan"),
        kwargs={"weights": [1.0, float("nan")]}),
    Row("ds_weights_scalar", TypeError, ("`weights`", "float"), kwargs={"weights": 1.0}),
    Row("ds_weights_string", TypeError, ("`weights`", "str"), kwargs={"weights": "ab"}),
    Row("ds_sampling_unknown", ValueError, ("`sampling`", "'nearest'", "'bilinear'"),
        kwargs={"sampling": "bilinear"}),
    Row("ds_class_axis_float", TypeError, ("`class_axis`", "float"),
        kwargs={"class_axis": 1.0}),
    Row("ds_forwarded_mode", ValueError, ("`mode`", "'multi-class'"),
        kwargs={"mode": "multi-class"}),
    Row("ds_forwarded_smooth", ValueError, ("`smooth`", "-1.0"), kwargs={"smooth": -1.0}),
    Row("ds_reduction_none", ValueError, ("scalar loss", "(2, 3)", "reduction="),
        kwargs={"reduction": "none"}),
)
DS_VALUES = (
    Row("ds_label_3", ValueError, ("`y_true`", "label 3", "[0, 3)"), values=True,
        inputs=_ds_true(lambda t: _set(0, 3)(t))),
    Row("ds_y_pred_nan", ValueError, ("`y_pred`", "non-finite"), values=True,
        inputs=_ds_preds(lambda ps: [ps[0], _set(2, np.nan)(ps[1])])),
)

# region_loss_from_stats(stats, ...): statistics of the multiclass base inputs
STATS = sx.soft_confusion(X, LABELS)
STATS4 = sx.soft_confusion(X, LABELS, count=True)


def _stats(change: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> Callable[..., tuple[Any]]:
    return lambda stats: (change(tuple(stats)),)


RLFS_ALL = (
    Row("rlfs_stats_shapes", ValueError, ("`stats`", "one shape", "(1, 3)", "(2, 3)"),
        inputs=_stats(lambda s: (s[0], s[1][:1], s[2]))),
    Row("rlfs_stats_foreign", TypeError, ("mixed namespaces", "`I`", "`G`", "{lib}", "{other}"),
        inputs=_stats(lambda s: (s[0], s[1], Foreign(s[2])))),
    Row("rlfs_stats_complex", TypeError, ("`I`", "complex128"),
        inputs=_stats(lambda s: tuple(a.astype(np.complex128) for a in s))),
    Row("rlfs_stats_0d", ValueError, ("`stats`", "()"),
        inputs=_stats(lambda s: tuple(a[0, 0, None].reshape(()) for a in s))),
    Row("rlfs_stats_none", TypeError, ("`P`", "None"), inputs=_stats(lambda s: (s[0], None, s[2]))),
)
RLFS_SHAPES = (
    Row("rlfs_stats_two", ValueError, ("`stats`", "(I, P, G)", "got 2"),
        inputs=_stats(lambda s: s[:2])),
    Row("rlfs_mcc_without_count", ValueError, ("`stats`", "(I, P, G, S)", "got 3"),
        kwargs={"kind": "mcc"}),
    Row("rlfs_stats_lists", TypeError, ("`I`", "must be an array", "list"),
        inputs=_stats(lambda s: tuple(a.tolist() for a in s))),
    *(Row(f"rlfs_{kind}_one_class_without_background", ValueError,
          ("include_background=False", "only class"),
          kwargs={"kind": kind, "include_background": False},
          inputs=lambda stats, s4=formula.needs_count: (
              tuple(a[:, :1] for a in (STATS4 if s4 else stats)),))
      for kind, formula in FORMULAS.items()),
)
RLFS_ARGS = (
    Row("rlfs_kind_unknown", ValueError, ("`kind`", "'dice'", "'generalized_dice'", "'lovasz'"),
        kwargs={"kind": "lovasz"}),
    Row("rlfs_reduction_unknown", ValueError, ("`reduction`", "'avg'"),
        kwargs={"reduction": "avg"}),
    Row("rlfs_include_background=1", TypeError, ("`include_background`", "int"),
        kwargs={"include_background": 1}),
    *_weights_rows("class_weights"),
    Row("rlfs_class_weights_scalar", TypeError, ("`class_weights`", "sequence", "float"),
        kwargs={"class_weights": 2.0}),
    Row("rlfs_class_weights_generalized_dice", TypeError, ("`class_weights`", "generalized_dice"),
        kwargs={"kind": "generalized_dice", "class_weights": [1.0, 1.0, 1.0]}),
    Row("rlfs_unknown_parameter", TypeError, ("'lam'", "unexpected"), kwargs={"lam": 1.0}),
    *_numeric_rows("smooth"),
    *(Row(f"rlfs_{kind}_{k}=-1", ValueError, (f"`{k}`", "-1.0"), kwargs={"kind": kind, k: -1.0})
      for kind in ("tversky", "focal_tversky") for k in ("alpha", "beta", "gamma")
      if k != "gamma" or kind == "focal_tversky"),
    Row("rlfs_gamma=0", ValueError, ("`gamma`", "> 0", "0.0"),
        kwargs={"kind": "focal_tversky", "gamma": 0.0}),
    Row("rlfs_eps=-1", ValueError, ("`eps`", "-1.0"), kwargs={"kind": "mcc", "eps": -1.0},
        inputs=lambda stats: (STATS4,)),
    Row("rlfs_weight_type_unknown", ValueError, ("`weight_type`", "'sqrt'"),
        kwargs={"kind": "generalized_dice", "weight_type": "sqrt"}),
)

# boundary_loss(y_pred, dist_maps, ...): the target's signed distance maps (any real
# values of y_pred's shape) in the place of y_true, the multiclass base logits
MAPS = np.random.default_rng(8).normal(scale=3.0, size=X.shape)


def _maps(change: Callable[[np.ndarray], Any]) -> Callable[..., tuple[Any, ...]]:
    return lambda p, m: (p, change(m))


BL_ALL = (
    Row("bl_maps_shape", ValueError, ("shape mismatch", "`dist_maps`", "(2, 3, 4, 5)",
                                      "(2, 2, 4, 5)"), inputs=_maps(lambda m: m[:, :2])),
    Row("bl_maps_int64", TypeError, ("`dist_maps`", "real floating", "int64"),
        inputs=_maps(lambda m: m.astype(np.int64))),
    Row("bl_maps_foreign", TypeError, ("mixed namespaces", "`y_pred`", "`dist_maps`", "{lib}",
                                       "{other}"), inputs=_maps(Foreign)),
    Row("bl_y_pred_int64", TypeError, ("`y_pred`", "real floating", "int64"),
        inputs=_pred(lambda p: (p > 0).astype(np.int64))),
)
BL_VALUES = (
    Row("bl_maps_nan", ValueError, ("`dist_maps`", "non-finite"), values=True,
        inputs=_maps(_set(3, np.nan))),
    Row("bl_y_pred_inf", ValueError, ("`y_pred`", "non-finite"), values=True,
        inputs=_pred(_set(7, np.inf))),
    Row("bl_probability_1.5", ValueError, ("`y_pred`", "probabilities", "[0, 1]", "1.5"),
        values=True, kwargs={"from_logits": False}, inputs=_probability(1.5)),
)
BL_ARGS = (
    Row("bl_maps_none", TypeError, ("`dist_maps`", "None"), inputs=_maps(lambda m: None)),
    Row("bl_maps_list", TypeError, ("`dist_maps`", "must be an array", "list"),
        inputs=_maps(lambda m: m.tolist())),
    Row("bl_mode_unknown", ValueError, ("`mode`", "'multi-class'"),
        kwargs={"mode": "multi-class"}),
    Row("bl_one_class_multiclass", ValueError, ("at least 2 classes", "(2, 1, 4, 5)"),
        inputs=lambda p, m: (BX, BX)),
    Row("bl_reduction_unknown", ValueError, ("`reduction`", "'avg'"),
        kwargs={"reduction": "avg"}),
    Row("bl_from_logits=1", TypeError, ("`from_logits`", "bool", "int"),
        kwargs={"from_logits": 1}),
    Row("bl_include_background=1", TypeError, ("`include_background`", "bool", "int"),
        kwargs={"include_background": 1}),
    Row("bl_class_axis=7", ValueError, ("`class_axis`=7", "out of range"),
        kwargs={"class_axis": 7}),
    Row("bl_class_axis_float", TypeError, ("`class_axis`", "float"), kwargs={"class_axis": 1.0}),
    Row("bl_misspelt_keyword", TypeError, ("smoth",), kwargs={UNKNOWN_KEYWORD: 1.0}),
)

# check_inputs(y_pred, y_true, *, loss=None, **loss_kwargs): the loss's checks, eagerly;
# the standard rows with the shared keywords (all it takes without `loss`, as documented),
# where the value rows must raise on dask too (it computes the arrays), and rows of its own
CHECK_INPUTS_KEYWORDS = ("mode", "from_logits", "class_axis", "ignore_index")


def _checker_rows(rows: Iterable[Row]) -> tuple[Row, ...]:
    return tuple(row for row in rows if row.only is None and row.mode != "unsupported"
                 and set(row.kwargs) <= set(CHECK_INPUTS_KEYWORDS))


CI_OWN = (
    Row("ci_keyword_needs_loss", TypeError, ("check_inputs", "loss=", "class_weights"),
        kwargs={"class_weights": [1.0, 1.0, 1.0]}),
    Row("ci_loss_not_callable", TypeError, ("`loss`", "str"), kwargs={"loss": "dice_loss"}),
    Row("ci_loss_keyword_checked", ValueError, ("`class_weights`", "expected 3", "got 2"),
        kwargs={"loss": sx.dice_loss, "class_weights": [1.0, 2.0]}),
    Row("ci_loss_value_checked", ValueError, ("`y_true`", "{{0, 1}}", "0.5"), mode="binary",
        kwargs={"loss": sx.lovasz_hinge_loss}, inputs=_true(_set(5, 0.5))),
)

# distance_transform_edt(mask, ...), signed_distance_map(y_true, ...) (integer labels of the
# multiclass base, num_classes=C) and unet_weight_map(instance_labels, ...) (instance ids)
MASK = LABELS > 0
INSTANCES = np.random.default_rng(9).integers(0, 4, size=(N, H, W))
EAGER = ("numpy", "torch", "jax")  # the distance maps' value checks need concrete data


def _one(change: Callable[[np.ndarray], Any]) -> Callable[..., tuple[Any]]:
    return lambda a: (change(a),)


EDT_ALL = (
    Row("edt_mask_complex", TypeError, ("`mask`", "complex128"),
        inputs=_one(lambda m: m.astype(np.complex128))),
    Row("edt_mask_0d", ValueError, ("`mask`", "0-d"), inputs=_one(lambda m: m[0, 0, 0])),
)
EDT_ARGS = (
    Row("edt_mask_list", TypeError, ("`mask`", "must be an array", "list"),
        inputs=_one(lambda m: m.tolist())),
    Row("edt_spacing_length", ValueError, ("`spacing`", "expected 3", "got 2"),
        kwargs={"spacing": (1.0, 2.0)}),
    Row("edt_spacing_negative", ValueError, ("`spacing`", "> 0", "-1.0"),
        kwargs={"spacing": (1.0, -1.0, 1.0)}),
    Row("edt_spacing_zero", ValueError, ("`spacing`", "> 0", "0"), kwargs={"spacing": 0.0}),
    Row("edt_spacing_nan", ValueError, ("`spacing`", "finite", "nan"),
        kwargs={"spacing": (1.0, float("nan"), 1.0)}),
    Row("edt_spacing_string", TypeError, ("`spacing`", "str"), kwargs={"spacing": "1,1,1"}),
    Row("edt_axes_out_of_range", ValueError, ("`axes`", "(1, 3)"), kwargs={"axes": (1, 3)}),
    Row("edt_axes_repeated", ValueError, ("`axes`", "repeat", "(1, -2)"),
        kwargs={"axes": (1, -2)}),
    Row("edt_axes_float", TypeError, ("`axes`", "1.0"), kwargs={"axes": (1.0,)}),
    Row("edt_misspelt_keyword", TypeError, ("smoth",), kwargs={UNKNOWN_KEYWORD: 1.0}),
)
SDM_ALL = (
    Row("sdm_y_true_complex", TypeError, ("`y_true`", "complex128"),
        inputs=_one(lambda t: t.astype(np.complex128))),
    Row("sdm_y_true_1d", ValueError, ("`y_true`", "(5,)"), inputs=_one(lambda t: t[0, 0])),
)
SDM_VALUES = (
    Row("sdm_label_3", ValueError, ("`y_true`", "label 3", "[0, 3)"), values=True,
        inputs=_one(_set(0, 3)), backends=EAGER),
    Row("sdm_soft_mask", ValueError, ("`y_true`", "0.5"), values=True,
        kwargs={"mode": "multilabel", "num_classes": None},
        inputs=_one(lambda t: _set(4, 0.5)(ML)), backends=EAGER),
)
SDM_ARGS = (
    Row("sdm_mode_unknown", ValueError, ("`mode`", "'multi-class'"),
        kwargs={"mode": "multi-class"}),
    Row("sdm_num_classes_missing", ValueError, ("`num_classes`", "required"),
        kwargs={"num_classes": None}),
    Row("sdm_num_classes_float", TypeError, ("`num_classes`", "3.0"),
        kwargs={"num_classes": 3.0}),
    Row("sdm_num_classes_0", ValueError, ("`num_classes`", "0"), kwargs={"num_classes": 0}),
    Row("sdm_num_classes_channels", ValueError, ("`num_classes`", "4", "3 channels"),
        kwargs={"mode": "multilabel", "num_classes": 4}, inputs=_one(lambda t: ML)),
    Row("sdm_spacing_length", ValueError, ("`spacing`", "expected 2", "got 3"),
        kwargs={"spacing": (1.0, 1.0, 1.0)}),
    Row("sdm_misspelt_keyword", TypeError, ("smoth",), kwargs={UNKNOWN_KEYWORD: 1.0}),
)
UWM_ALL = (
    Row("uwm_labels_float", TypeError, ("`instance_labels`", "float64"),
        inputs=_one(lambda t: t.astype(np.float64))),
    Row("uwm_labels_bool", TypeError, ("`instance_labels`", "bool"),
        inputs=_one(lambda t: t > 0)),
    Row("uwm_labels_1d", ValueError, ("`instance_labels`", "(5,)"),
        inputs=_one(lambda t: t[0, 0])),
)
UWM_VALUES = (
    Row("uwm_negative_id", ValueError, ("`instance_labels`", ">= 0", "-1"), values=True,
        inputs=_one(_set(0, -1)), backends=EAGER),
    Row("uwm_id_above_num_instances", ValueError, ("`instance_labels`", "`num_instances`=1"),
        values=True, kwargs={"num_instances": 1}, backends=EAGER),
)
UWM_ARGS = (
    Row("uwm_labels_list", TypeError, ("`instance_labels`", "must be an array", "list"),
        inputs=_one(lambda t: t.tolist())),
    Row("uwm_w0_negative", ValueError, ("`w0`", ">= 0", "-1.0"), kwargs={"w0": -1.0}),
    Row("uwm_w0_string", TypeError, ("`w0`", "str"), kwargs={"w0": "10"}),
    Row("uwm_sigma_0", ValueError, ("`sigma`", "> 0", "0.0"), kwargs={"sigma": 0.0}),
    Row("uwm_class_weights_3", ValueError, ("`class_weights`", "two", "(1.0, 1.0, 1.0)"),
        kwargs={"class_weights": (1.0, 1.0, 1.0)}),
    Row("uwm_class_weights_negative", ValueError, ("`class_weights`", ">= 0", "-1.0"),
        kwargs={"class_weights": (1.0, -1.0)}),
    Row("uwm_class_weights_string", TypeError, ("`class_weights`", "str"),
        kwargs={"class_weights": "ab"}),
    Row("uwm_spacing_negative", ValueError, ("`spacing`", "> 0", "-2.0"),
        kwargs={"spacing": (1.0, -2.0)}),
    Row("uwm_num_instances_float", TypeError, ("`num_instances`", "float"),
        kwargs={"num_instances": 3.0}),
    Row("uwm_num_instances_negative", ValueError, ("`num_instances`", ">= 0", "-1"),
        kwargs={"num_instances": -1}),
    Row("uwm_misspelt_keyword", TypeError, ("smoth",), kwargs={UNKNOWN_KEYWORD: 1.0}),
)

# ----------------------------------------------------------------------------- the cases

LIB_WORD = {"numpy": "numpy", "strict": "array_api_strict", "strict-dev1": "array_api_strict",
            "torch": "torch", "torch-cuda": "torch", "jax": "jax", "dask": "dask",
            "cupy": "cupy"}


@dataclass(frozen=True)
class Case:
    """One generated case: a row, a function (and its mode), a backend."""

    table: str  # "standard" or a function with its own call form (OWN_CALL_FORMS)
    row: Row
    name: str
    mode: str | None
    backend: str

    @property
    def id(self) -> str:
        return f"{self.row.id}-{self.name}-{self.backend}"


def _mode_for(row: Row, fn: Callable[..., Any]) -> str | None:
    """The mode ``row`` runs ``fn`` in, or None when the row is not generated for it."""
    modes = _modes(fn)
    if row.mode is None:
        return _default_mode(fn)
    if row.mode == "unsupported":
        return next((m for m in MODES if m not in modes), None)
    return row.mode if row.mode in modes else None


def _applies(row: Row, name: str) -> bool:
    """False for a row that does not apply to function ``name`` by design (reason inline)."""
    if name in METRICS and row.error is TypeError and "real floating" in row.words and \
            "complex" not in row.id:
        return False  # metrics take hard (integer/bool) predictions
    return not (name in METRICS and row.id == "threshold=-1")  # any real threshold is valid


def _standard_cases(rows: Iterable[Row], backends: Sequence[str]) -> Iterator[Case]:
    for row in rows:
        for name, fn in STANDARD.items():
            params = _params(fn)
            if (row.only is not None and name not in row.only) or not _applies(row, name):
                continue
            if any(k not in params and k != UNKNOWN_KEYWORD for k in row.kwargs):
                continue  # a row whose keyword the function lacks is not generated
            mode = _mode_for(row, fn)
            if mode is None:
                continue
            for backend in row.backends or backends:
                yield Case("standard", row, name, mode, backend)


def _own_cases(table: str, rows: Iterable[Row], backends: Sequence[str]) -> Iterator[Case]:
    for row in rows:
        mode = (row.mode or "multiclass") if table == "check_inputs" else None
        for backend in row.backends or backends:
            yield Case(table, row, table, mode, backend)


CASES: tuple[Case, ...] = (
    *_standard_cases(STRUCTURAL_ALL, ALL),
    *_standard_cases((*STRUCTURAL_CORE, *VALUE_ROWS), CORE),
    *_standard_cases((*SHAPE_ROWS, *ARGUMENT_ROWS, *VALUE_VARIANTS, *METRIC_ROWS), NUMPY),
    *_standard_cases(METRIC_VALUE_ROWS, CORE),
    *_own_cases("deep_supervision", DS_ALL, ALL),
    *_own_cases("deep_supervision", DS_VALUES, CORE),
    *_own_cases("deep_supervision", (*DS_SHAPES, *DS_ARGS), NUMPY),
    *_own_cases("boundary_loss", BL_ALL, ALL),
    *_own_cases("boundary_loss", BL_VALUES, CORE),
    *_own_cases("boundary_loss", BL_ARGS, NUMPY),
    *_own_cases("distance_transform_edt", EDT_ALL, ALL),
    *_own_cases("distance_transform_edt", EDT_ARGS, NUMPY),
    *_own_cases("signed_distance_map", SDM_ALL, ALL),
    *_own_cases("signed_distance_map", SDM_VALUES, CORE),
    *_own_cases("signed_distance_map", SDM_ARGS, NUMPY),
    *_own_cases("unet_weight_map", UWM_ALL, ALL),
    *_own_cases("unet_weight_map", UWM_VALUES, CORE),
    *_own_cases("unet_weight_map", UWM_ARGS, NUMPY),
    *_own_cases("region_loss_from_stats", RLFS_ALL, ALL),
    *_own_cases("region_loss_from_stats", (*RLFS_SHAPES, *RLFS_ARGS), NUMPY),
    *_own_cases("check_inputs", _checker_rows(STRUCTURAL_ALL), ALL),
    *_own_cases("check_inputs", _checker_rows((*STRUCTURAL_CORE, *VALUE_ROWS)), CORE),
    *_own_cases("check_inputs", CI_OWN, NUMPY),
)

# ----------------------------------------------------------------------------- known bugs


@dataclass(frozen=True)
class Bug:
    """A library bug: the cases it breaks (row ids, functions, backends; None = all)."""

    reason: str
    rows: tuple[str, ...]
    functions: tuple[str, ...] | None = None
    backends: tuple[str, ...] | None = None

    def breaks(self, case: Case) -> bool:
        return (case.row.id in self.rows
                and (self.functions is None or case.name in self.functions)
                and (self.backends is None or case.backend in self.backends))


BUGS: tuple[Bug, ...] = (
    # empty: the 13 bugs this matrix found first were fixed in the library (see git log)
)


def _marks(case: Case) -> list[pytest.MarkDecorator]:
    return [pytest.mark.xfail(strict=True, reason=bug.reason)
            for bug in BUGS if bug.breaks(case)]


# ----------------------------------------------------------------------------- running a case


def _shape(value: Any) -> str:
    if isinstance(value, Foreign):
        value = value.data
    return str(tuple(np.shape(value))) if value is not None else "None"


def _other_backend(backend_name: str, prefer: str) -> str:
    library = LIB_WORD[backend_name]
    if prefer == "torch":
        return "numpy" if library == "torch" else "torch"
    return "jax" if library == "numpy" else "numpy"


def _foreign_backend(backend: Backend, prefer: str) -> Backend:
    other, reason = load_backend(_other_backend(backend.name, prefer))
    if other is None:
        pytest.skip(f"mixed namespaces need a second library: {reason}")
    return other


def _convert(value: Any, backend: Backend) -> Any:
    """NumPy data -> the backend's arrays; Foreign -> another library's; the rest as is."""
    if isinstance(value, np.ndarray | np.generic):
        return backend.asarray(np.asarray(value))
    if isinstance(value, Foreign):
        return _foreign_backend(backend, value.prefer).asarray(value.data)
    if isinstance(value, list | tuple) and any(
            isinstance(v, np.ndarray | Foreign) for v in value):
        return type(value)(_convert(v, backend) for v in value)
    return value


def _build(case: Case) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any],
                                dict[str, Any]]:
    """The function, NumPy-level positionals and keywords, and the message context."""
    row, fn = case.row, FUNCTIONS[case.name]
    if case.table in ("standard", "check_inputs"):
        assert case.mode is not None
        args: tuple[Any, ...] = BASE[case.mode]
        kwargs: dict[str, Any] = {"mode": case.mode, **REQUIRED_KEYWORDS.get(case.name, {})}
        classes = 1 if case.mode == "binary" else C
    elif case.table == "deep_supervision":
        args, kwargs, classes = (sx.dice_loss, DS_PREDS, LABELS), {}, C
    elif case.table == "boundary_loss":
        args, kwargs, classes = (X, MAPS), {}, C
    elif case.table == "distance_transform_edt":
        args, kwargs, classes = (MASK,), {}, C
    elif case.table == "signed_distance_map":
        args, kwargs, classes = (LABELS,), {"num_classes": C}, C
    elif case.table == "unet_weight_map":
        args, kwargs, classes = (INSTANCES,), {}, C
    else:
        args, kwargs, classes = (STATS,), {}, C
    if row.inputs is not None:
        args = row.inputs(*args)
    for key, value in row.kwargs.items():
        kwargs[key] = value.make(classes) if isinstance(value, PerClass) else value
    ctx = {"mode": kwargs.get("mode"), "name": case.name, "C": classes,
           "reductions": ", ".join(map(repr, _literal(fn, "reduction")))
           if case.table == "standard" and "reduction" in _params(fn) else ""}
    if case.table in ("standard", "check_inputs"):
        ctx |= {"pred_shape": _shape(args[0]), "true_shape": _shape(args[1])}
    return fn, args, kwargs, ctx


def _host(x: Any) -> np.ndarray:
    """A NumPy copy of any backend's array (computing dask, leaving the device)."""
    if compat.is_torch_array(x):
        return x.detach().cpu().numpy().copy()
    if compat.is_dask_array(x):
        return np.asarray(x.compute()).copy()
    if compat.is_cupy_array(x):
        return x.get()
    if compat.is_numpy_array(x) or compat.is_jax_array(x):
        return np.array(x, copy=True)
    import array_api_strict as xps

    return np.array(xps.asarray(x, device=xps.Device("CPU_DEVICE")), copy=True)


@dataclass
class _Frozen:
    kind: type
    dtype: str
    shape: tuple[int, ...]
    values: np.ndarray


def _snapshot(value: Any) -> Any:
    if compat.is_array_api_obj(value):
        return _Frozen(type(value), str(value.dtype), tuple(value.shape), _host(value))
    if isinstance(value, list | tuple):
        return type(value)(_snapshot(v) for v in value)
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    return copy.deepcopy(value)


def _changed(before: Any, after: Any, where: str) -> str | None:
    """Where ``after`` (a fresh snapshot) differs from ``before``: a modified input."""
    if isinstance(before, _Frozen):
        if not isinstance(after, _Frozen):
            return f"{where} is no longer an array"
        if (before.kind, before.dtype, before.shape) != (after.kind, after.dtype, after.shape):
            return f"{where} changed type, dtype or shape"
        if not np.array_equal(before.values, after.values,
                              equal_nan=before.values.dtype.kind in "fc"):
            return f"{where} was modified"
        return None
    if isinstance(before, list | tuple | dict):
        if type(before) is not type(after) or len(before) != len(after):
            return f"{where} was modified"
        keys = list(before) if isinstance(before, dict) else range(len(before))
        return next((c for k in keys
                     if (c := _changed(before[k], after[k], f"{where}[{k!r}]"))), None)
    if isinstance(before, float) and before != before:
        return None if isinstance(after, float) and after != after else f"{where} was modified"
    return None if before == after else f"{where} was modified: {before!r} -> {after!r}"


def _outputs(result: Any) -> list[Any]:
    return list(result) if isinstance(result, tuple | list) else [result]


def _raised(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__}: {exc} [{frame.filename}:{frame.lineno}]"


def _problem(case: Case, backend: Backend, call: Callable[[], Any],
             words: Sequence[str]) -> str | None:
    """What is wrong with the outcome of ``call()``, or None.

    Failures are reported as one message (``pytest.fail(pytrace=False)``): formatting
    a traceback through the library for each of the matrix's xfailed cases would cost
    more than running the whole matrix.
    """
    # check_inputs computes lazy arrays: it must raise like on the eager backends
    lazy = case.row.values and backend.lazy and case.table != "check_inputs"
    expected = (ValueError, TypeError) if lazy else case.row.error
    try:
        result = call()
        outputs = [backend.to_numpy(o) for o in _outputs(result)] if lazy else []
    except Exception as exc:
        if not isinstance(exc, expected):
            return f"expected {case.row.error.__name__}, got {_raised(exc)}"
        # lazy: the value is unknown when the graph is built; the argument must be named
        missing = [w for w in (words[:1] if lazy else words) if w not in str(exc)]
        return f"the message lacks {missing}: {_raised(exc)}" if missing else None
    if not lazy:
        return f"DID NOT RAISE {case.row.error.__name__}; returned {result!r}"
    # a value check on lazy arrays: NaN in the loss (statistics: in one of them, as P
    # does not depend on the target), or an error when computed
    if not any(np.isnan(o).any() for o in outputs):
        return f"a bad value gave the finite {outputs} on {backend.name}"
    return None


def _run(case: Case, backend: Backend) -> None:
    if backend.lazy:
        require_capability(case.name, "dask", backend.name)
    fn, np_args, np_kwargs, ctx = _build(case)
    args = tuple(_convert(a, backend) for a in np_args)
    kwargs = {k: _convert(v, backend) for k, v in np_kwargs.items()}
    foreign = next((v for v in (*np_args, *np_kwargs.values(),
                                *(x for a in np_args if isinstance(a, list | tuple) for x in a))
                    if isinstance(v, Foreign)), None)
    ctx |= {"lib": LIB_WORD[backend.name],
            "other": LIB_WORD[_other_backend(backend.name, foreign.prefer)] if foreign else ""}
    words = [w.format(**ctx) for w in case.row.words]
    before = _snapshot((args, kwargs))
    problem = _problem(case, backend, lambda: fn(*args, **kwargs), words)
    problem = problem or _changed(before, _snapshot((args, kwargs)), "input")
    if problem:
        pytest.fail(f"{case.name}({case.row.id}) on {backend.name}: {problem}", pytrace=False)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # bad values: invalid-value warnings
@pytest.mark.parametrize(("case", "backend"),
                         [pytest.param(c, c.backend, id=c.id, marks=_marks(c)) for c in CASES],
                         indirect=["backend"])
def test_bad_input(case: Case, backend: Backend) -> None:
    _run(case, backend)


# ----------------------------------------------------------------------------- the matrix itself


def test_every_public_function_is_in_the_matrix() -> None:
    assert set(STANDARD) | set(OWN_CALL_FORMS) == set(FUNCTIONS), (
        "a public function with a new call form needs its own table of rows")
    assert {c.name for c in CASES} == set(FUNCTIONS)
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_keyword_has_a_row(name: str) -> None:
    # the positionals are what the input rows transform
    covered = {k for c in CASES if c.name == name for k in c.row.kwargs}
    keywords = {k for k, p in _params(FUNCTIONS[name]).items() if p.kind is p.KEYWORD_ONLY}
    assert not keywords - covered, f"{name}: no row for {keywords - covered}"


@pytest.mark.parametrize("backend", ["numpy", "torch"], indirect=True)
def test_the_mutation_check_sees_an_in_place_write(backend: Backend) -> None:
    x = backend.asarray(np.zeros((2, 3)))
    weights = [1.0, 2.0]
    before = _snapshot((x, {"class_weights": weights}))
    assert _changed(before, _snapshot((x, {"class_weights": weights})), "input") is None
    x[0, 0] = 1.0
    assert _changed(before, _snapshot((x, {"class_weights": weights})), "input")
    x[0, 0] = 0.0
    weights.append(3.0)
    assert _changed(before, _snapshot((x, {"class_weights": weights})), "input")


def test_every_known_bug_marks_a_case() -> None:
    stale = [bug.reason for bug in BUGS if not any(bug.breaks(c) for c in CASES)]
    assert not stale, f"BUGS entries that mark no case: {stale}"


# ----------------------------------------------------------------------------- jax.jit


def _jit_case(name: str) -> tuple[Callable[..., Any], tuple[np.ndarray, ...], str]:
    """A structurally bad call as ``f(*arrays)`` and the words of its error."""
    fn = FUNCTIONS[name]
    if name == "deep_supervision":
        return (lambda a, b, t: fn(sx.dice_loss, [a, b], t),
                (X, np.repeat(X, 2, axis=-1), LABELS), both("prediction 1", "larger"))
    if name == "region_loss_from_stats":
        return (lambda i, p, g: fn((i, p[:1], g)), STATS,
                both("`stats`", "one shape", "(1, 3)", "(2, 3)"))
    if name in ("distance_transform_edt", "signed_distance_map", "unet_weight_map"):
        keywords = {"signed_distance_map": {"num_classes": C},
                    "unet_weight_map": {"num_instances": 3}}.get(name, {})
        data = {"distance_transform_edt": MASK, "signed_distance_map": LABELS,
                "unet_weight_map": INSTANCES}[name]
        spacing = (1.0,) * (data.ndim + (name == "distance_transform_edt"))  # one too many
        return (lambda a: fn(a, spacing=spacing, **keywords), (data,),
                both("`spacing`", f"expected {len(spacing) - 1}", f"got {len(spacing)}"))
    p, t = BASE[_default_mode(fn) if name in STANDARD else "multiclass"]
    required = REQUIRED_KEYWORDS.get(name, {})
    return (lambda p, t: fn(p, t, **required), (p, t[..., :3]),
            both("shape mismatch", str(p.shape), str(t[..., :3].shape)))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_jit_structural_error_raises_at_trace_time(name: str) -> None:
    jax, reason = load_backend("jax")
    if jax is None:
        pytest.skip(reason)
    import jax as jax_module

    f, arrays, message = _jit_case(name)
    if not CAPABILITIES[name].supports("jit"):  # refused under jit: our TypeError, named
        with pytest.raises(TypeError, match=re.escape(name)):
            jax_module.jit(f)(*(jax.asarray(a) for a in arrays))
        return
    with pytest.raises(ValueError, match=message):
        jax_module.jit(f)(*(jax.asarray(a) for a in arrays))
    if name in STANDARD and name not in METRICS:  # an integer y_pred: our TypeError
        p, t = BASE[_default_mode(FUNCTIONS[name])]
        with pytest.raises(TypeError, match=both("`y_pred`", "real floating", "int64")):
            jax_module.jit(f)(jax.asarray((p > 0).astype(np.int64)), jax.asarray(t))


# ----------------------------------------------------------------------------- torch.compile


COMPILABLE = sorted(n for n in FUNCTIONS if CAPABILITIES[n].supports("compile"))


@pytest.mark.parametrize("name", COMPILABLE)
def test_compile_structural_error_raises_our_error(name: str) -> None:
    torch_backend, reason = load_backend("torch")
    if torch_backend is None:
        pytest.skip(reason)
    import torch

    f, arrays, message = _jit_case(name)
    torch._dynamo.reset()
    with pytest.raises(ValueError, match=message):
        torch.compile(f)(*(torch_backend.asarray(a) for a in arrays))
