"""The case table of the public functions that are not losses: distances and metrics.

``FUNCTION_CASES`` lists deterministic NumPy inputs (float64, float32, bool and integer)
per function of ``segloss_xp.distance`` and ``segloss_xp.metrics``: 2-D and 3-D,
anisotropic spacing, empty masks, single voxels, objects touching the border,
all-background images (and a full one), each with the call's keywords and the float64
oracle it is compared with (``conformance/oracle_distance.py``,
``conformance/oracle_metrics.py``). :func:`value_error` runs one case on one backend
(eager, or under ``jax.jit``) and returns its error relative to the oracle, raising
beyond :data:`BOUNDS`; the report (``conformance/report.py``) and
``conformance/test_functions.py`` both call it. The input builders are shared with
``tests/test_distance.py`` and ``tests/test_metrics.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import segloss_xp
from conformance import oracle_distance, oracle_metrics
from conformance.helpers import one_hot
from segloss_xp.testing import Backend, assert_matches

__all__ = [
    "BOUNDS",
    "FUNCTIONS",
    "FUNCTION_CASES",
    "SURFACE",
    "FunctionCase",
    "assert_table",
    "balls",
    "binary_edge_cases",
    "blobs",
    "cells",
    "class_labels",
    "make_case",
    "result_dtype",
    "single",
    "value_error",
]

# Largest error relative to (1 + |oracle|) per result dtype: |Δ| ≤ b + b·|oracle|. float64:
# the library and the oracle differ only in summation order (and SciPy's vs the brute-force
# transform's rounding of a square root); float32: the square root of a float32 sum of
# squares (distances) or a float32 ratio of counts (metrics). Integer results are exact.
BOUNDS: Mapping[str, float] = {"float64": 1e-10, "float32": 2e-6}


# ----------------------------------------------------------------------------- inputs


def balls(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Two random balls, one touching the border (bool)."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape).astype(float)
    mask = np.zeros(shape, bool)
    for center in (rng.uniform(0, np.array(shape)), np.zeros(len(shape))):
        radius = rng.uniform(1.5, max(shape) / 3)
        mask |= ((grid - center.reshape((-1,) + (1,) * len(shape))) ** 2).sum(0) < radius ** 2
    return mask


def single(shape: tuple[int, ...], value: bool) -> np.ndarray:
    """``value`` at the centre element, ``not value`` elsewhere."""
    mask = np.full(shape, not value)
    mask[tuple(s // 2 for s in shape)] = value
    return mask


def class_labels() -> np.ndarray:
    """Two images of three classes; class 2 is absent from the second image."""
    labels = np.zeros((2, 6, 7), np.int64)
    labels[0, 1:4, 2:6] = 1
    labels[0, 4:, :2] = 2
    labels[1, :, 3:] = 1
    return labels


def cells() -> np.ndarray:
    """Touching cells: 1 and 2 share a border, 3 is one pixel from 2, 4 stands apart."""
    labels = np.zeros((2, 12, 14), np.int64)
    labels[0, 1:5, 1:6] = 1
    labels[0, 1:5, 6:10] = 2
    labels[0, 6:10, 6:10] = 3
    labels[0, 8:11, 1:3] = 4
    labels[1, 3:7, 3:8] = 2  # one instance: no border term
    return labels


def _cells_3d() -> np.ndarray:
    """Two 3-D images: touching instances (one at the border) and a single voxel; empty."""
    labels = np.zeros((2, 5, 6, 7), np.int64)
    labels[0, :3, :3, :3] = 1
    labels[0, :3, 3:, 1:4] = 2
    labels[0, 4, 2, 6] = 3
    return labels  # image 1: all background


def blobs(rng: np.random.Generator, shape: tuple[int, ...], share: float) -> np.ndarray:
    """Smooth random blobs covering about ``share`` of each image (bool)."""
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(rng.random(shape), sigma=1.2, axes=range(1, len(shape)))
    cut = np.quantile(smooth.reshape(shape[0], -1), 1 - share, axis=1)
    return smooth > cut.reshape((-1,) + (1,) * (len(shape) - 1))


def binary_edge_cases() -> tuple[np.ndarray, np.ndarray]:
    """Bool ``(7, 1, 9, 10)`` images: single voxels, border objects, empty and full masks."""
    pred = np.zeros((7, 1, 9, 10), dtype=bool)
    true = np.zeros_like(pred)
    pred[0, 0, 4, 5] = True  # single voxels, a knight's move apart
    true[0, 0, 6, 6] = True
    pred[1, 0, :4, :3] = True  # objects touching the border
    true[1, 0, :3, 2:6] = True
    true[2, 0, 2:5, 3:7] = True  # empty prediction
    pred[3, 0, 0:2, 0:9] = True  # empty target
    # image 4: both empty
    pred[5] = True  # a full image: its surface is the image border
    true[5, 0, 1:8, 1:9] = True
    pred[6, 0, 2:7, 2:8] = True  # an identical pair
    true[6, 0, 2:7, 2:8] = True
    return pred, true


def make_case(case: str) -> dict[str, Any]:
    """Metric inputs: ``x``, ``y``, keywords and the surface metrics' ``spacing`` of one case."""
    rng = np.random.default_rng(11)
    if case == "multiclass_2d":  # float64 logits; image 0 lacks class 2, image 2 is background
        labels = np.argmax(rng.normal(size=(3, 3, 10, 12)) + 2 * blobs(
            rng, (3, 3, 10, 12), 0.3), axis=1)
        labels[0][labels[0] == 2] = 1
        labels[2] = 0
        logits = 3.0 * one_hot(labels, 3) + rng.normal(size=(3, 3, 10, 12))
        logits[2, 0] += 100.0  # all-background prediction on the all-background image
        return {"x": logits, "y": labels, "kw": {}, "spacing": None}
    if case == "labels_3d":  # integer label maps, anisotropic spacing
        pred = np.where(blobs(rng, (2, 7, 6, 8), 0.3), 1, 0)
        pred[blobs(rng, (2, 7, 6, 8), 0.2)] = 2
        true = np.where(blobs(rng, (2, 7, 6, 8), 0.35), 2, 0)
        true[1][true[1] == 2] = 1  # image 1: class 2 only predicted
        return {"x": pred, "y": true, "kw": {"num_classes": 3},
                "spacing": (2.5, 0.7, 1.0)}
    if case == "binary_edges":
        pred, true = binary_edge_cases()
        return {"x": pred, "y": true, "kw": {"mode": "binary"}, "spacing": (1.0, 1.5)}
    if case == "multilabel":  # float32 probabilities, float targets, no background
        probs = rng.random((2, 3, 8, 9)).astype(np.float32)
        true = blobs(rng, (2, 3, 8, 9), 0.3).astype(np.float32)
        true[1, 2] = 0.0
        return {"x": probs, "y": true, "spacing": 0.5,
                "kw": {"mode": "multilabel", "threshold": 0.6, "include_background": False}}
    raise ValueError(case)


METRIC_DATA = ("multiclass_2d", "labels_3d", "binary_edges", "multilabel")


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class FunctionCase:
    """One call ``segloss_xp.<function>(*inputs, **kwargs)`` and its oracle.

    ``oracle(*inputs, **oracle_kwargs)`` (``oracle_kwargs`` default to ``kwargs``) gives
    the expected float64 NumPy result (a tuple where the function returns several).
    ``dtype``: the result's dtype name; None for the namespace's default real floating
    dtype (float32 on torch), ``"integral"`` for its default integer dtype.
    """

    id: str
    function: str
    inputs: tuple[np.ndarray, ...]
    kwargs: Mapping[str, Any]
    oracle: Callable[..., Any]
    dtype: str | None
    oracle_kwargs: Mapping[str, Any] | None = field(default=None)

    def expected(self) -> Any:
        kwargs = self.kwargs if self.oracle_kwargs is None else self.oracle_kwargs
        return self.oracle(*self.inputs, **kwargs)


def _signed_oracle(y_true: np.ndarray, *, mode: str = "multiclass",
                   num_classes: int | None = None, spacing: Any = None) -> np.ndarray:
    """:func:`oracle_distance.signed_distance_map` on the masks of ``y_true``'s layout."""
    if mode == "multiclass" and np.issubdtype(y_true.dtype, np.integer):
        assert num_classes is not None
        masks = one_hot(y_true, num_classes).astype(bool)
    else:
        masks = y_true != 0
    return oracle_distance.signed_distance_map(masks, spacing=spacing)


def _counts_oracle(y_pred: np.ndarray, y_true: np.ndarray, *, reduction: str = "none",
                   **kw: Any) -> tuple[np.ndarray, ...]:
    """:func:`oracle_metrics.confusion_counts`, summed over the images with ``"sum"``."""
    counts = oracle_metrics.confusion_counts(y_pred, y_true, **kw)
    return tuple(c.sum(axis=0) for c in counts) if reduction == "sum" else counts


def _distance_cases() -> list[FunctionCase]:
    binary = np.zeros((3, 1, 5, 6, 4))
    binary[0, 0, 2, 3, 1] = 1.0  # a single voxel
    binary[1, 0, :2, 2:, :3] = 1.0  # an object touching the border; image 2 is empty
    edt, sdm, unet = "distance_transform_edt", "signed_distance_map", "unet_weight_map"
    return [
        FunctionCase("2d-aniso-border", edt, (balls((9, 11), 0),), {"spacing": (1.0, 2.5)},
                     oracle_distance.edt, None),
        FunctionCase("3d-single-voxel-f64", edt, (single((5, 6, 7), True).astype(np.float64),),
                     {"spacing": (2.0, 1.0, 0.5)}, oracle_distance.edt, "float64"),
        FunctionCase("3d-aniso-f32", edt, (balls((6, 7, 8), 1).astype(np.float32),),
                     {"spacing": (1.0, 1.0, 2.5)}, oracle_distance.edt, "float32"),
        FunctionCase("batched-full-empty-int", edt, (np.stack(
            [balls((7, 6), 3), np.ones((7, 6), bool), np.zeros((7, 6), bool)]).astype(np.int64),),
            {"spacing": (2.0, 1.0), "axes": (1, 2)}, oracle_distance.edt, None),
        FunctionCase("labels-2d-aniso-absent-class", sdm, (class_labels(),),
                     {"num_classes": 3, "spacing": (1.0, 2.0)}, _signed_oracle, None),
        FunctionCase("binary-3d-voxel-border-empty", sdm, (binary,),
                     {"mode": "binary", "spacing": (2.0, 1.0, 0.5)}, _signed_oracle, "float64"),
        FunctionCase("onehot-full-class", sdm, (one_hot(np.ones((1, 3, 4), np.int64), 2) > 0,),
                     {}, _signed_oracle, None),
        FunctionCase("cells-2d", unet, (cells(),), {"num_instances": 4},
                     oracle_distance.unet_weight_map, None, {}),
        FunctionCase("cells-2d-aniso-options", unet, (cells(),),
                     {"num_instances": 4, "w0": 5.0, "sigma": 3.0, "class_weights": (0.5, 2.0),
                      "spacing": (1.0, 0.5)}, oracle_distance.unet_weight_map, None,
                     {"w0": 5.0, "sigma": 3.0, "class_weights": (0.5, 2.0),
                      "spacing": (1.0, 0.5)}),
        FunctionCase("cells-3d-border-voxel-background", unet, (_cells_3d(),),
                     {"num_instances": 3, "sigma": 2.0, "spacing": (2.0, 1.0, 1.0)},
                     oracle_distance.unet_weight_map, None,
                     {"sigma": 2.0, "spacing": (2.0, 1.0, 1.0)}),
    ]


SURFACE = ("hausdorff_distance", "average_surface_distance", "normalized_surface_dice")
# (function, own keywords, the metric inputs it runs on): the defaults on every input, the
# variants on one or two
_METRIC_VARIANTS: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("confusion_counts", {}, METRIC_DATA),
    ("confusion_counts", {"reduction": "sum"}, ("labels_3d",)),
    ("dice_score", {"reduction": "none"}, METRIC_DATA),
    ("dice_score", {"empty": "ignore", "reduction": "mean"}, ("multiclass_2d",)),
    ("iou_score", {"reduction": "none"}, METRIC_DATA),
    ("iou_score", {"empty": "nan", "reduction": "sum"}, ("binary_edges",)),
    ("hausdorff_distance", {"reduction": "none"}, METRIC_DATA),
    ("hausdorff_distance", {"reduction": "none", "percentile": 95}, ("labels_3d",)),
    ("hausdorff_distance", {"reduction": "none", "percentile": 37.5, "directed": True},
     ("binary_edges",)),
    ("hausdorff_distance", {"reduction": "mean", "percentile": 95}, ("multiclass_2d",)),
    ("average_surface_distance", {"reduction": "none"}, METRIC_DATA),
    ("average_surface_distance", {"reduction": "none", "symmetric": False}, ("binary_edges",)),
    ("normalized_surface_dice", {"reduction": "none", "tolerance": 1.0}, METRIC_DATA),
    ("normalized_surface_dice", {"reduction": "none", "tolerance": [0.0, 2.0, 1.2]},
     ("labels_3d",)),
]


def _metric_cases() -> list[FunctionCase]:
    out = []
    for name, own, names in _METRIC_VARIANTS:
        for data_name in names:
            data = make_case(data_name)
            kw = {**data["kw"], **own}
            if name in SURFACE:
                kw["spacing"] = data["spacing"]
            floats = np.float64 in (data["x"].dtype, data["y"].dtype)
            dtype = "integral" if name == "confusion_counts" else (
                "float64" if floats else "float32")
            variant = ",".join(f"{k}={v}" for k, v in own.items() if k != "reduction" or
                               v != "none")
            oracle = _counts_oracle if name == "confusion_counts" else getattr(oracle_metrics,
                                                                               name)
            out.append(FunctionCase(data_name + (f"({variant})" if variant else ""), name,
                                    (data["x"], data["y"]), kw, oracle, dtype))
    return out


FUNCTION_CASES: tuple[FunctionCase, ...] = (*_distance_cases(), *_metric_cases())
#: The functions of the table, in its order.
FUNCTIONS: tuple[str, ...] = tuple(dict.fromkeys(c.function for c in FUNCTION_CASES))


# ----------------------------------------------------------------------------- checks


def result_dtype(case: FunctionCase, backend: Backend) -> str:
    """The dtype name ``case``'s result must have on ``backend``."""
    if case.dtype is not None and case.dtype != "integral":
        return case.dtype
    kind = "integral" if case.dtype == "integral" else "real floating"
    default = backend.xp.__array_namespace_info__().default_dtypes(device=backend.device)[kind]
    return str(default).rsplit(".", 1)[-1]


def assert_table(actual: Any, expected: Any, backend: Backend, *, dtype: str, ref: Any,
                 rtol: float) -> float:
    """``assert_matches`` that also expects NaN and ``inf`` where the oracle has them.

    Returns the largest ``|Δ| / (1 + |oracle|)`` over the finite entries (checked
    ``<= rtol``; ``rtol = 0`` asks for equality).
    """
    got = backend.to_numpy(actual).astype(np.float64)
    want = np.asarray(expected, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg="NaN pattern")
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want), err_msg="inf pattern")
    xp = backend.xp
    finite = xp.where(xp.isfinite(actual), actual, xp.zeros_like(actual))
    want = np.where(np.isfinite(want), want, 0.0)
    assert_matches(finite, want, backend, dtype=dtype, rtol=rtol, atol=rtol, ref=ref)
    got = np.where(np.isfinite(got), got, 0.0)
    return float(np.max(np.abs(got - want) / (1.0 + np.abs(want)))) if got.size else 0.0


def value_error(case: FunctionCase, backend: Backend, *, jit: bool = False) -> float:
    """Worst error of ``case`` on ``backend`` (under ``jax.jit`` with ``jit``) vs its oracle.

    Checks each result's namespace, dtype, device (the first input's), shape, NaN and
    ``inf`` entries; raises AssertionError beyond :data:`BOUNDS`.
    """
    fn = getattr(segloss_xp, case.function)
    if jit:
        from conformance.jit import jitted

        fn = jitted(fn)
    args = [backend.asarray(a) for a in case.inputs]
    out = fn(*args, **case.kwargs)
    want = case.expected()
    outputs = list(out) if isinstance(out, tuple) else [out]
    wanted = list(want) if isinstance(want, tuple) else [want]
    assert len(outputs) == len(wanted), (len(outputs), len(wanted))
    dtype = result_dtype(case, backend)
    bound = BOUNDS.get(dtype, 0.0)
    return max(assert_table(o, w, backend, dtype=dtype, ref=args[0], rtol=bound)
               for o, w in zip(outputs, wanted, strict=True))
