"""Per-parameter documentation: each shared parameter is worded once.

Public docstrings write ``%(name)s`` on a line of its own where a shared entry
belongs (SciPy ``ndimage``'s ``docfiller``); :func:`docfiller` replaces it by
the entry of :data:`DOCS`, indented like the placeholder. An unknown
placeholder raises ``KeyError`` at import time, and a test checks that no
placeholder is left and that every parameter of every public function is
documented.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["DOCS", "docfiller", "fill"]

F = TypeVar("F", bound=Callable[..., Any])

_BINARY_ONE_HOT = (
    "\n    A binary ``(N, K, *spatial)`` target that is exactly one-hot over axis 1 is refused"
    "\n    as a channel mix-up; give such a volume its channel axis, ``(N, 1, K, *spatial)``.")

DOCS: dict[str, str] = {
    "y_pred": """\
y_pred : array
    Real floating scores ``(N, C, *spatial)`` with the class axis at ``class_axis``
    (binary mode also ``(N, *spatial)``); logits unless ``from_logits=False``.""",
    "y_true": """\
y_true : array
    Multiclass: integer class ids ``(N, *spatial)`` or a one-hot / soft-label float
    array of ``y_pred``'s shape. Binary / multilabel: ``y_pred``'s shape, values in
    [0, 1] (bool, int or float; soft labels allowed).""",
    "mode": """\
mode : {"multiclass", "binary", "multilabel"}
    ``"multiclass"``: softmax over the class axis; ``"binary"`` (one channel) and
    ``"multilabel"`` (one independent channel per class): elementwise sigmoid.""" +
    _BINARY_ONE_HOT,
    "mode_sigmoid": """\
mode : {"binary", "multilabel"}
    Elementwise sigmoid: one channel (``"binary"``) or one independent channel per
    class (``"multilabel"``). ``"multiclass"`` raises ``ValueError``.""" + _BINARY_ONE_HOT,
    "mode_softmax": """\
mode : {"multiclass"}
    Softmax over the class axis; other modes raise ``ValueError``.""",
    "from_logits": """\
from_logits : bool
    Apply the activation of ``mode`` inside, in log space where logs are needed
    (exact for logits of magnitude 1e4). ``False``: ``y_pred`` are probabilities
    already; their logs are clamped at −100 (torch's BCE convention).""",
    "class_axis": """\
class_axis : int
    Class axis of ``y_pred`` (``-1`` for channels-last data). Integer ``y_true`` has
    no class axis. A square channels-last batch such as ``(2, 4, 4, 4)`` is also a
    valid channels-first one: pass ``class_axis=-1`` for such data; under
    ``jax.vmap`` keep a batch axis in each mapped example.""",
    "ignore_index": """\
ignore_index : int, optional
    Elements whose integer label (binary/multilabel: target value) equals it count in
    no term: no sum, no count of a mean. It must lie outside {0, 1} in
    binary/multilabel mode. For one-hot/soft multiclass targets an in-range index
    ignores pixels whose target for that class is 1, an out-of-range one pixels whose
    target sums to 0 (MONAI).""",
    "class_weights": """\
class_weights : sequence of float, optional
    One non-negative weight per class, length C (background included, also when it
    is dropped), multiplying each class's loss before the plain mean (MONAI).""",
    "include_background": """\
include_background : bool
    If False, class 0 is dropped (multiclass and multilabel; no effect in binary
    mode, where class 0 is the foreground).""",
    "smooth": """\
smooth : float
    Added once to numerator and denominator (MONAI ``smooth_nr = smooth_dr``; smp 0.6
    and optax effectively add ``2·smooth``).""",
    "squared": """\
squared : bool
    V-Net denominator ``Σp² + Σg²`` (Milletari et al. 2016).""",
    "batch": """\
batch : bool
    Pool the sums over the batch too ("batch dice"): one value per class.""",
    "soft_label": """\
soft_label : bool
    ``I = (Σp + Σg − Σ|p − g|)/2``, so the loss is minimal at ``p = g`` for soft
    targets too (identical for hard targets; MONAI ``soft_label``). With ``squared``
    the L2 form ``(Σp² + Σg² − Σ(p − g)²)/2 = Σ p·g`` applies.""",
    "reduction_region": """\
reduction : {"mean", "sum", "none"}
    Mean or sum over images and included classes, or the ``(N, C)`` table itself
    (``(C,)`` with ``batch=True``).""",
    "reduction_pixel": """\
reduction : {"mean", "sum", "none"}
    ``"mean"`` averages over the counted (non-ignored) pixels (multiclass) or elements
    (binary/multilabel); ``"none"``: see Returns.""",
    "reduction_compound": """\
reduction : {"mean", "sum"}
    Applied to each term before they are added. ``"none"`` raises ``ValueError``: the
    terms have different shapes (per image and class, per element), as in MONAI.""",
    "returns_region": """\
Returns
-------
array
    Scalar for ``"mean"``/``"sum"``; ``(N, C)`` (``(C,)`` with ``batch``) for
    ``"none"``. float32 for half/single precision inputs, float64 for float64; the
    input's namespace and device.""",
    "returns_pixel": """\
Returns
-------
array
    0-d for ``"mean"``/``"sum"``; for ``"none"`` the per-element loss, 0 where
    ignored: ``(N, *spatial)`` in multiclass mode, ``y_pred``'s shape in
    binary/multilabel mode. float32 for float16/bfloat16/float32 input, float64 for
    float64; the input's namespace and device.""",
    "returns_scalar": """\
Returns
-------
array
    Scalar, float32 for half/single precision and float64 for float64 inputs, in the
    input's namespace and device.""",
    "spacing": """\
spacing : float or sequence of float, optional
    Physical size of an element along each spatial axis (one number for all axes, or
    one per spatial axis, in axis order; each finite and > 0); ``None`` means 1. The
    ``sampling`` of ``scipy.ndimage`` and the ``spacing`` of MONAI.""",
    "raises": """\
Raises
------
TypeError
    Integer/bool ``y_pred``, mixed namespaces, wrong option types.
ValueError
    Shape mismatch, unknown ``mode``/``reduction``, ``mode="multiclass"`` with one
    channel, bad hyper-parameters, and on concrete arrays labels out of range,
    probabilities outside [0, 1] or non-finite input.""",
}


def _join(*keys: str) -> str:
    return "\n".join(DOCS[k] for k in keys)


_HEADER = "Parameters\n----------\n"
# the Parameters section up to the leading keywords every loss shares, in signature order
DOCS["inputs"] = _HEADER + _join("y_pred", "y_true", "mode", "from_logits", "class_axis",
                                 "ignore_index")
DOCS["inputs_sigmoid"] = _HEADER + _join("y_pred", "y_true", "mode_sigmoid", "from_logits",
                                         "class_axis", "ignore_index")
DOCS["inputs_softmax"] = _HEADER + _join("y_pred", "y_true", "mode_softmax", "from_logits",
                                         "class_axis", "ignore_index")
# ... without ignore_index, and with include_background: the boundary losses (their edges,
# distances and skeletons read the neighbours of an ignored element)
DOCS["inputs_boundary"] = _HEADER + _join("y_pred", "y_true", "mode", "from_logits",
                                          "class_axis", "include_background")
# ... and those the region losses share next
DOCS["inputs_region"] = DOCS["inputs"] + "\n" + _join("class_weights", "include_background")

# the closing parameters and Returns of the region losses
DOCS["region_result"] = _join("batch", "soft_label", "reduction_region") + "\n\n" + \
    DOCS["returns_region"]
# the closing sections of the compound losses (scalar result, shared errors)
DOCS["compound_result"] = "\n\n".join(DOCS[k] for k in ("reduction_compound", "returns_scalar",
                                                          "raises"))
DOCS["returns_lovasz"] = """\
Returns
-------
array
    Scalar for ``"mean"``/``"sum"``; see ``reduction`` for ``"none"``. float32 for half
    or single precision inputs, float64 for float64; input namespace and device."""

# the metrics (segloss_xp/metrics.py): hard inputs, their empty policy and reduction
DOCS["inputs_metric"] = _HEADER + """\
y_pred : array
    Hard or scored prediction. Multiclass: an integer label map ``(N, *spatial)``
    (needs ``num_classes``), bool one-hot masks ``(N, C, *spatial)``, or float scores
    ``(N, C, *spatial)`` made hard by the argmax over axis 1. Binary/multilabel: bool
    or 0/1 integer masks, or float scores made hard by ``> threshold``, of shape
    ``(N, C, *spatial)`` (binary also ``(N, *spatial)``).
y_true : array
    Multiclass: integer class ids ``(N, *spatial)`` or a bool/float one-hot array of
    the prediction's ``(N, C, *spatial)`` shape (a float one is made hard by the
    argmax). Binary/multilabel: ``y_pred``'s shape, bool or values in [0, 1]
    binarised at 0.5.
mode : {"multiclass", "binary", "multilabel"}
    How ``y_pred`` is read (above); the class axis is axis 1 (move a channels-last
    class axis there first).
num_classes : int, optional
    The number of classes C: required for an integer label map ``y_pred``, else
    checked against the channels of ``y_pred`` when given.
threshold : float
    Float binary/multilabel scores above it are foreground (0.5 for probabilities,
    0 for logits); unused for hard inputs and in multiclass mode.
""" + DOCS["include_background"]
DOCS["empty"] = """\
empty : {"one", "nan", "ignore"}
    A class absent from both target and prediction scores ``"one"``: 1.0 (MONAI
    ``ignore_empty=False``), ``"nan"``: NaN. ``"ignore"``: NaN whenever the target is
    empty, whatever the prediction (MONAI ``DiceMetric``/``MeanIoU`` default
    ``ignore_empty=True``)."""
DOCS["reduction_metric"] = """\
reduction : {"mean", "sum", "none"}
    ``"none"``: the ``(N, C)`` table (``C − 1`` classes without background).
    ``"mean"``: per image the mean over its non-NaN classes, then the mean over the
    images that have one (MONAI's ``do_metric_reduction``; NaN when every entry is
    NaN, where MONAI gives 0); ``"sum"``: the sum of the non-NaN entries."""
DOCS["returns_metric"] = """\
Returns
-------
array
    0-d for ``"mean"``/``"sum"``, ``(N, C)`` for ``"none"``; float64 when an input is
    float64, else float32; the input's namespace and device. Under ``jax.jit`` and on
    dask an invalid input value gives NaN (dask: an error when computed)."""
DOCS["raises_metric"] = """\
Raises
------
TypeError
    Complex inputs, mixed namespaces, wrong option types.
ValueError
    Shape mismatch, unknown ``mode``/``reduction``/``empty``, a missing or wrong
    ``num_classes``, bad ``percentile``/``tolerance``/``spacing``, and on concrete
    arrays labels outside ``[0, num_classes)``, target values outside [0, 1] or
    non-finite scores."""
# the closing sections of every metric, and the parameters the overlap scores end with
DOCS["metric_result"] = DOCS["returns_metric"] + "\n\n" + DOCS["raises_metric"]
DOCS["overlap_result"] = _join("empty", "reduction_metric") + "\n\n" + DOCS["metric_result"]

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<key>\w+)\)s[ \t]*$", re.MULTILINE)


def fill(doc: str) -> str:
    """Replace each ``%(key)s`` line of ``doc`` by ``DOCS[key]``, indented like the line."""
    def entry(match: re.Match[str]) -> str:
        indent = match["indent"]
        return "\n".join(indent + line if line else line
                         for line in DOCS[match["key"]].splitlines())
    return _PLACEHOLDER.sub(entry, doc)


def docfiller(func: F) -> F:
    """Fill ``func``'s docstring from :data:`DOCS`; the function itself is unchanged."""
    func.__doc__ = fill(func.__doc__ or "")
    return func
