"""Per-operation delegation: a framework's fused kernel where it has one, else the generic one.

Each operation is one row of a table, keyed by the library of the namespace
(``_namespace.library``): torch and JAX get their fused kernels (one kernel and
one backward instead of ~6 elementwise passes, each with a full-size
temporary); every other namespace (NumPy, CuPy, dask, ``array_api_strict``)
runs the standard-only versions of ``_math``. Losses call the operations here
and never branch on the library themselves. Later rows (closed-form gradient
kernels, the distance transform, the all-reduce) sit on the same seam.

The kernels are looked up in a plain dict (no ``functools.cache``: torch.compile
warns on every cached call it traces through).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _math
from ._namespace import Array, Namespace, library
from ._namespace import device as _device

__all__ = ["binary_cross_entropy", "cumulative_sum", "extrema", "host_arrays", "host_extrema",
           "label_counts", "label_hits", "label_sums", "lazy_assert", "log_sigmoid",
           "log_softmax", "multiply_temporary", "native",
           "product_difference", "same_chunks", "scatter_labels", "sigmoid", "softmax",
           "sort_order", "stop_gradient", "take_labels", "take_order", "unsort"]

Kernel = Callable[..., Array]
_UNROLLED_CLASSES = 32  # JAX: class axes up to this size are reduced elementwise


def _torch_kernels() -> dict[str, Kernel]:
    torch = sys.modules["torch"]
    functional = torch.nn.functional
    return {
        "softmax": lambda x, *, axis: functional.softmax(x, dim=axis),
        "log_softmax": lambda x, *, axis: functional.log_softmax(x, dim=axis),
        "sigmoid": torch.sigmoid,
        "log_sigmoid": functional.logsigmoid,
        # array_api_compat's cumulative_sum looks the namespace up again through a
        # functools cache, which torch.compile warns about
        "cumulative_sum": lambda x, *, axis, dtype: torch.cumsum(x, dim=axis, dtype=dtype),
        # integer labels as a gather / scatter-add / bincount: no (N, C, S) compare or
        # `where` temporary (each a full pass; `where` was the costliest op of dice_loss)
        "take_labels": lambda x, labels: (
            torch.gather(x, 1, _long(labels)) if x.ndim == 2
            else torch.gather(x, 1, _long(labels)[:, None, :])[:, 0, :]),
        "label_sums": lambda values, labels, *, num_classes: values.new_zeros(
            (values.shape[0], num_classes)).scatter_add_(1, _long(labels), values),
        "label_counts": _torch_label_counts,
        "extrema": lambda x: tuple(torch.aminmax(x)),  # one pass, not two
        "host_extrema": _torch_host_extrema,
        "binary_cross_entropy": lambda x, y, pos_weight, reduction="none": (
            functional.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight,
                                                        reduction=reduction)),
        "sort_order": _torch_sort_order,
        # array_api_compat's take_along_axis wraps negative indices: four more passes
        "take_order": lambda values, order: torch.gather(values, -1, order),
        "unsort": lambda values, order: torch.empty_like(values).scatter_(-1, order, values),
        "multiply_temporary": _torch_multiply_temporary,
        "scatter_labels": lambda base, labels, values: base.scatter_add_(
            1, _long(labels)[:, None, :], values[:, None, :]),
        "stop_gradient": lambda x: x.detach(),
    }


def _torch_host_extrema(x: Array) -> tuple[Any, Any]:
    # one pass; on the CPU each 0-d result read directly, no stack (./dev bench TINY
    # dice ÷ MONAI 1.33× -> 1.24×, 2026-12-02 run2 -> run3), elsewhere one stacked
    # transfer (one sync, not two)
    low, high = sys.modules["torch"].aminmax(x)
    if x.device.type == "cpu":
        return low.item(), high.item()
    return tuple(sys.modules["torch"].stack((low, high)).tolist())


def _torch_multiply_temporary(temporary: Array, factor: Array) -> Array:
    # in place: no second full-size buffer (product_difference: a − b, then ·p, two passes
    # where p·a − p·b takes three; ./dev bench W3D dice ÷ MONAI 0.90× before, 0.84× and
    # 0.95× in two runs after, 2026-12-02: within this machine's spread)
    return temporary.mul_(factor) if temporary.shape == factor.shape else temporary * factor


def _torch_sort_order(keys: Array) -> Array:
    torch = sys.modules["torch"]
    eager_cpu = (keys.device.type == "cpu" and not torch.compiler.is_compiling()
                 and not torch._C._functorch.is_functorch_wrapped_tensor(keys))
    if eager_cpu and _host_sortable(keys):
        # NumPy's vectorised sort of packed keys: the permutation of torch's stable sort
        # (./dev bench W2D lovasz ÷ kornia 1.30× -> 0.42×, 2026-12-01 -> 12-02)
        return torch.from_numpy(host_descending_order(keys.detach().numpy()))
    return torch.sort(keys.detach(), dim=-1, descending=True, stable=True)[1]


def _host_sortable(keys: Array) -> bool:
    """Float32 keys whose last axis an index fits in 32 bits beside them (packed sort)."""
    return str(keys.dtype).rsplit(".", 1)[-1] == "float32" and keys.shape[-1] < 2**32


def host_descending_order(keys: np.ndarray) -> np.ndarray:
    """Stable descending order (int64) along the last axis of real keys.

    Float32 keys are sorted by value alone: each becomes one int64
    ``rank(key)·2³² + index``, whose ascending order is the keys' descending order
    with ties in index order (a stable sort); NumPy's vectorised in-place sort of
    those integers (x86-simd-sort) is several times faster than an argsort through a
    comparator (torch's CPU sort, XLA's CPU sort). ``rank`` is ``−bits`` for a key
    with the sign bit clear and ``+bits`` without the sign bit otherwise (the bits of a
    float32 grow with its magnitude), so ``−0.0`` ties with ``0.0``; a NaN sorts by
    its sign bit (first if positive). Other dtypes: NumPy's stable argsort.
    """
    keys = np.ascontiguousarray(keys)
    if keys.dtype != np.float32:
        return np.argsort(-keys, axis=-1, kind="stable")
    packed = keys.view(np.int32).astype(np.int64)
    positive = packed >= 0
    packed &= 0x7FFFFFFF
    np.negative(packed, out=packed, where=positive)
    packed <<= 32
    packed |= np.arange(keys.shape[-1], dtype=np.int64)
    packed.sort(axis=-1)
    packed &= 0xFFFFFFFF
    return packed


def _long(labels: Array) -> Array:
    torch = sys.modules["torch"]
    return labels if labels.dtype == torch.int64 else labels.to(torch.int64)


def _torch_label_counts(labels: Array, *, num_classes: int, like: Array) -> Array:
    # a scatter-add of ones: bincount would scan the labels twice more for its range
    ones = like.new_ones(()).expand(labels.shape)
    return like.new_zeros((labels.shape[0], num_classes)).scatter_add_(1, _long(labels), ones)


def _jax_kernels() -> dict[str, Kernel]:
    nn = sys.modules["jax"].nn
    lax = sys.modules["jax"].lax

    def sort_order(keys: Array) -> Array:
        jax = sys.modules["jax"]
        keys = lax.stop_gradient(keys)
        if _host_sortable(keys) and jax.default_backend() == "cpu":
            # XLA's CPU sort compares through a generated comparator (./dev bench W2D
            # JAX lovasz ÷ our torch lovasz 5.93× -> 1.27×, 2026-12-01 -> 12-02)
            return jax.pure_callback(
                lambda k: host_descending_order(np.asarray(k)).astype(np.int32),
                jax.ShapeDtypeStruct(keys.shape, np.int32), keys, vmap_method="expand_dims")
        iota = lax.broadcasted_iota(np.int32, keys.shape, keys.ndim - 1)
        return lax.sort((-keys, iota), dimension=keys.ndim - 1, num_keys=1, is_stable=True)[1]

    def shifted(x: Array, axis: int) -> tuple[Array, Array]:
        """``(x − m, Σ exp(x − m))`` over a small class axis that is not the last one.

        XLA's CPU reductions over a non-minor axis are slow; the max and the sum as
        C − 1 elementwise maxima / additions fuse into one loop (the JAX rows of
        ``./dev bench`` measure the effect).
        """
        jnp = sys.modules["jax"].numpy

        def over_classes(op: Callable[[Array, Array], Array], y: Array) -> Array:
            parts = [lax.index_in_dim(y, i, axis) for i in range(y.shape[axis])]
            return functools.reduce(op, parts)
        m = over_classes(jnp.maximum, x)
        m = lax.stop_gradient(jnp.where(jnp.isfinite(m), m, 0.0))
        z = x - m
        return z, over_classes(jnp.add, jnp.exp(z))

    def small_axis(x: Array, axis: int) -> bool:
        return bool(axis % x.ndim != x.ndim - 1 and x.shape[axis] <= _UNROLLED_CLASSES)

    def softmax(x: Array, *, axis: int) -> Array:
        if not small_axis(x, axis):
            return nn.softmax(x, axis=axis)
        z, total = shifted(x, axis)
        return sys.modules["jax"].numpy.exp(z) / total

    def log_softmax(x: Array, *, axis: int) -> Array:
        if not small_axis(x, axis):
            return nn.log_softmax(x, axis=axis)
        z, total = shifted(x, axis)
        return z - sys.modules["jax"].numpy.log(total)

    def label_sums(values: Array, labels: Array, *, num_classes: int) -> Array:
        # a segment sum over (image, class) ids instead of XLA's compare-select-reduce
        # over (N, C, S), C-fold work
        n = labels.shape[0]
        ids = labels + sys.modules["jax"].numpy.arange(n)[:, None] * num_classes
        total = sys.modules["jax"].ops.segment_sum(
            values.reshape(-1), ids.reshape(-1), num_segments=n * num_classes)
        return total.reshape(n, num_classes)

    return {
        "sort_order": sort_order,
        "take_order": lambda values, order: sys.modules["jax"].numpy.take_along_axis(
            values, order, axis=-1, mode="promise_in_bounds"),
        "unsort": lambda values, order: sys.modules["jax"].numpy.put_along_axis(
            values, order, values, axis=-1, inplace=False),
        "softmax": softmax,
        "log_softmax": log_softmax,
        "label_sums": label_sums,
        "label_counts": lambda labels, *, num_classes, like: label_sums(
            sys.modules["jax"].numpy.ones(labels.shape, like.dtype), labels,
            num_classes=num_classes),
        "sigmoid": nn.sigmoid,
        "log_sigmoid": nn.log_sigmoid,
        "stop_gradient": sys.modules["jax"].lax.stop_gradient,
        # jitted once here: eager calls reuse the compiled loop (cached per shape; the
        # scale is traced, so another spacing compiles nothing)
        "lower_envelope": sys.modules["jax"].jit(_jax_lower_envelope),
    }


def _jax_lower_envelope(lines: Array, *, scale: float) -> Array:
    """``min_d f(x + d) + scale·d²`` along rows ``(count, n)``, offsets while they can help.

    A ``lax.while_loop`` over offset pairs ``±d`` that stops once ``scale·d²`` reaches
    the largest value left on the rows holding a finite one (no larger offset can lower
    any element): exact, static shapes, jit- and vmap-safe, O(n·reach) instead of O(n²).
    """
    jnp, lax = sys.modules["jax"].numpy, sys.modules["jax"].lax
    count, n = lines.shape
    border = jnp.full((count, n), jnp.inf, dtype=lines.dtype)
    padded = jnp.concatenate([border, lines, border], axis=1)
    finite = jnp.any(jnp.isfinite(lines), axis=1, keepdims=True)

    def more(state: tuple[Array, Array]) -> Array:
        d, g = state
        return (d < n) & (jnp.max(jnp.where(finite, g, 0.0)) > scale * d * d)

    def step(state: tuple[Array, Array]) -> tuple[Array, Array]:
        d, g = state
        pair = jnp.minimum(lax.dynamic_slice_in_dim(padded, n - d, n, axis=1),
                           lax.dynamic_slice_in_dim(padded, n + d, n, axis=1))
        return d + 1, jnp.minimum(g, pair + scale * d * d)

    return lax.while_loop(more, step, (jnp.asarray(1), lines))[1]


def _ndimage_edt(ndimage: str, array: str) -> Kernel:
    """``ndimage.distance_transform_edt`` per image (the axes not in ``axes`` are a batch)."""
    def edt(mask: Array, *, sampling: tuple[float, ...], axes: tuple[int, ...]) -> Array:
        module, xp = importlib.import_module(ndimage), importlib.import_module(array)
        spatial = tuple(range(mask.ndim - len(axes), mask.ndim))
        moved = xp.moveaxis(mask, axes, spatial)
        images = xp.reshape(moved, (-1, *moved.shape[len(moved.shape) - len(axes):]))
        out = xp.stack([module.distance_transform_edt(image, sampling=sampling)
                        for image in images])
        return xp.moveaxis(xp.reshape(out, moved.shape), spatial, axes)
    return edt


def _numpy_kernels() -> dict[str, Kernel]:
    return {"distance_transform_edt": _ndimage_edt("scipy.ndimage", "numpy"),
            "sort_order": lambda keys: host_descending_order(keys),
            "unsort": _numpy_unsort}


def _numpy_unsort(values: Array, order: Array) -> Array:
    out = np.empty_like(values)
    np.put_along_axis(out, order, values, axis=-1)
    return out


def _dask_edt(mask: Array, *, sampling: tuple[float, ...], axes: tuple[int, ...]) -> Array:
    """SciPy per image, lazily: each image whole in one block (rechunked along ``axes``)."""
    numpy_edt = _ndimage_edt("scipy.ndimage", "numpy")
    whole = mask.rechunk({axis: -1 for axis in axes})
    return whole.map_blocks(lambda block: numpy_edt(block, sampling=sampling, axes=axes),
                            dtype="float64")


def _dask_kernels() -> dict[str, Kernel]:
    return {"distance_transform_edt": _dask_edt}


def _cupy_kernels() -> dict[str, Kernel]:
    if importlib.util.find_spec("cupyx") is None:
        return {}
    return {"distance_transform_edt": _ndimage_edt("cupyx.scipy.ndimage", "cupy")}


_LOADERS: dict[str, Callable[[], dict[str, Kernel]]] = {
    "torch": _torch_kernels,
    "jax": _jax_kernels,
    "numpy": _numpy_kernels,
    "cupy": _cupy_kernels,
    "dask": _dask_kernels,
}
_KERNELS: dict[str, dict[str, Kernel]] = {}


def native(operation: str, *, xp: Namespace) -> Kernel | None:
    """The fused kernel of ``xp``'s library for ``operation``, or ``None``."""
    name = library(xp)
    table = _KERNELS.get(name)
    if table is None:
        loader = _LOADERS.get(name)
        table = {} if loader is None else loader()
        if not (name == "torch" and sys.modules["torch"].compiler.is_compiling()):
            # storing while torch.compile traces is a graph break ("dict mutation"); a
            # first call under compile builds the table again each trace instead
            _KERNELS[name] = table
    return table.get(operation)


def softmax(x: Array, *, axis: int, xp: Namespace) -> Array:
    """Softmax along ``axis``."""
    kernel = native("softmax", xp=xp)
    return kernel(x, axis=axis) if kernel else _math.generic_softmax(x, axis=axis, xp=xp)


def log_softmax(x: Array, *, axis: int, xp: Namespace) -> Array:
    """Log-softmax along ``axis`` (exact for logits of magnitude 1e4)."""
    kernel = native("log_softmax", xp=xp)
    return kernel(x, axis=axis) if kernel else _math.generic_log_softmax(x, axis=axis, xp=xp)


def sigmoid(x: Array, *, xp: Namespace) -> Array:
    """Logistic sigmoid, elementwise."""
    kernel = native("sigmoid", xp=xp)
    return kernel(x) if kernel else _math.generic_sigmoid(x, xp=xp)


def log_sigmoid(x: Array, *, xp: Namespace) -> Array:
    """``log σ(x)``, elementwise, exact in both tails."""
    kernel = native("log_sigmoid", xp=xp)
    return kernel(x) if kernel else _math.generic_log_sigmoid(x, xp=xp)


def stop_gradient(x: Array, *, xp: Namespace) -> Array:
    """``x`` as a constant for autograd (torch ``detach``, ``jax.lax.stop_gradient``)."""
    kernel = native("stop_gradient", xp=xp)
    return kernel(x) if kernel else x


def cumulative_sum(x: Array, *, axis: int, dtype: Any = None, xp: Namespace) -> Array:
    """Inclusive cumulative sum along ``axis`` (accumulated in ``dtype`` if given: a bool
    ``x`` is counted without a float copy of it)."""
    kernel = native("cumulative_sum", xp=xp)
    if kernel:
        return kernel(x, axis=axis, dtype=dtype)
    # the standard sums numeric dtypes only (array_api_strict rejects a bool x)
    return xp.cumulative_sum(x if dtype is None else xp.astype(x, dtype), axis=axis)


def binary_cross_entropy(x: Array, y: Array, pos_weight: Array | None, *,
                         xp: Namespace) -> Array:
    """Elementwise ``pw·y·softplus(−x) + (1 − y)·softplus(x)`` from logits (BCE with logits)."""
    kernel = native("binary_cross_entropy", xp=xp)
    if kernel:
        return kernel(x, y, pos_weight)
    positive = -log_sigmoid(x, xp=xp) * y
    if pos_weight is not None:
        positive = pos_weight * positive
    return positive - (1 - y) * log_sigmoid(-x, xp=xp)


def extrema(x: Array, *, xp: Namespace) -> tuple[Array, Array]:
    """``(min(x), max(x))`` as 0-d arrays (NaN propagates into both)."""
    kernel = native("extrema", xp=xp)
    if kernel:
        low, high = kernel(x)
        return low, high
    return xp.min(x), xp.max(x)


def host_extrema(x: Array, *, xp: Namespace) -> tuple[float, float]:
    """``(min(x), max(x))`` of a concrete array as Python numbers (torch: one pass and
    one transfer to the host; the value checks then compare on the host)."""
    kernel = native("host_extrema", xp=xp)
    if kernel:
        low, high = kernel(x)
        return low, high
    cast = int if xp.isdtype(x.dtype, "integral") else float
    low, high = extrema(x, xp=xp)
    return cast(low), cast(high)


def product_difference(p: Array, a: Array, b: Array, *, xp: Namespace) -> Array:
    """``p·(a − b)`` for ``a``, ``b`` broadcasting to ``p``'s shape (one full-size buffer)."""
    return multiply_temporary(a - b, p, xp=xp)


def multiply_temporary(temporary: Array, factor: Array, *, xp: Namespace) -> Array:
    """``temporary·factor``; may overwrite ``temporary`` when it has the result's shape
    (torch: in place), so pass a fresh buffer only."""
    kernel = native("multiply_temporary", xp=xp)
    return kernel(temporary, factor) if kernel else temporary * factor


def sort_order(keys: Array, *, xp: Namespace) -> Array:
    """The stable descending order of ``keys`` along the last axis (an integer array,
    no gradient): ``take_along_axis(keys, order)`` is ``keys`` sorted.

    On the CPU, torch, JAX and NumPy float32 keys are ordered on the host by
    :func:`host_descending_order` (JAX: through a ``pure_callback``, so such a
    function cannot be exported with ``jax.export``); elsewhere by the library's
    stable sort.
    """
    kernel = native("sort_order", xp=xp)
    if kernel:
        return kernel(keys)
    return xp.argsort(keys, axis=-1, descending=True, stable=True)


def take_order(values: Array, order: Array, *, xp: Namespace) -> Array:
    """``values`` permuted along the last axis by ``order`` (of :func:`sort_order`)."""
    kernel = native("take_order", xp=xp)
    return kernel(values, order) if kernel else xp.take_along_axis(values, order, axis=-1)


def unsort(values: Array, order: Array, *, xp: Namespace) -> Array:
    """The inverse of ``take_along_axis(·, order, axis=-1)`` for a permutation ``order``:
    ``out[..., order[..., k]] = values[..., k]`` (a scatter)."""
    kernel = native("unsort", xp=xp)
    if kernel:
        return kernel(values, order)
    return xp.take_along_axis(values, xp.argsort(order, axis=-1), axis=-1)


def take_labels(x: Array, labels: Array, *, xp: Namespace) -> Array:
    """``x[n, labels[n, s], s]`` (``x[n, labels[n, s]]`` for a 2-D ``x``): ``(N, S)``.

    ``x`` is ``(N, C, S)`` or ``(N, C)``, labels ``(N, S)`` in ``[0, C)``.
    """
    kernel = native("take_labels", xp=xp)
    if kernel:
        return kernel(x, labels)
    if x.ndim == 2:
        x = xp.broadcast_to(x[:, :, None], (*x.shape, labels.shape[1]))
    if hasattr(xp, "take_along_axis"):  # 2024.12; not in dask's namespace
        return xp.take_along_axis(x, labels[:, None, :], axis=1)[:, 0, :]
    return xp.sum(xp.where(label_hits(labels, x.shape[1], xp=xp), x, 0.0), axis=1)


def label_sums(values: Array, labels: Array, *, num_classes: int, xp: Namespace) -> Array:
    """``Σ_s values[n, s]·[labels[n, s] == c]`` ``(N, C)``: per-class sums of ``(N, S)`` values."""
    kernel = native("label_sums", xp=xp)
    if kernel:
        return kernel(values, labels, num_classes=num_classes)
    hits = label_hits(labels, num_classes, xp=xp)
    return xp.sum(xp.where(hits, values[:, None, :], 0.0), axis=2)


def label_counts(labels: Array, *, num_classes: int, like: Array, xp: Namespace) -> Array:
    """How often each class occurs per image, ``(N, C)`` in ``like``'s dtype."""
    kernel = native("label_counts", xp=xp)
    if kernel:
        return kernel(labels, num_classes=num_classes, like=like)
    counts = xp.count_nonzero(label_hits(labels, num_classes, xp=xp), axis=2)
    return xp.astype(counts, like.dtype)


def scatter_labels(base: Array, labels: Array, values: Array, *, xp: Namespace) -> Array:
    """``base`` ``(N, C, S)`` plus ``values`` ``(N, S)`` at each element's label class.

    May update ``base`` in place: pass a fresh temporary only.
    """
    kernel = native("scatter_labels", xp=xp)
    if kernel:
        return kernel(base, labels, values)
    hits = label_hits(labels, base.shape[1], xp=xp)
    return base + xp.where(hits, values[:, None, :], 0.0)


def label_hits(labels: Array, num_classes: int, *, xp: Namespace) -> Array:
    """Bool ``(N, C, S)``: ``labels (N, S) == c``."""
    ids = xp.arange(num_classes, dtype=labels.dtype, device=_device(labels))
    return labels[:, None, :] == xp.reshape(ids, (1, num_classes, 1))


def _dask_assert(flag: Array, message: str) -> Array:
    def check(block: Array) -> Array:
        if block.any():
            raise ValueError(message)
        return block
    return flag.map_blocks(check, dtype=flag.dtype)


_LAZY_ASSERTS: dict[str, Callable[[Array, str], Array]] = {"dask": _dask_assert}


def same_chunks(result: Array, like: Array, *, xp: Namespace) -> Array:
    """``result`` laid out in ``like``'s chunks (dask; elsewhere ``result`` itself).

    A padded shift (a slice concatenated with a border) splits dask chunks; iterated
    (clDice's soft skeleton) the pieces multiply into tens of thousands of tasks.
    """
    return result.rechunk(like.chunks) if library(xp) == "dask" else result


def lazy_assert(flag: Array, message: str, *, xp: Namespace) -> Array:
    """``flag`` itself; on dask, computing it raises ``ValueError(message)`` when True.

    Elsewhere (traced JAX or torch arrays) a set flag only makes the loss NaN.
    """
    check = _LAZY_ASSERTS.get(library(xp))
    return flag if check is None else check(flag, message)


def _torch_host_view(x: Array) -> object:
    return x.numpy() if x.device.type == "cpu" else None


# the NumPy view of an array whose data already is in host memory (no copy)
_HOST_VIEWS: dict[str, Callable[[Array], object]] = {
    "numpy": lambda x: x,
    "torch": _torch_host_view,
}


def host_arrays(*arrays: Array, xp: Namespace) -> list[object] | None:
    """NumPy views of ``arrays`` when all hold their data in host memory (NumPy, torch on
    the CPU), for a SciPy host path; ``None`` otherwise (the caller runs its generic path).
    """
    view = _HOST_VIEWS.get(library(xp))
    views = [] if view is None else [view(a) for a in arrays]
    return views if view is not None and all(v is not None for v in views) else None
