"""What the benchmarks run: workloads, inputs, and one :class:`Row` per implementation.

A row is one implementation of one quantity in one framework on one device:
ours (``segloss_xp``, looked up lazily by module path so that a function another
helper has not written yet shows as ``n/a (not implemented)``), a peer's (MONAI,
segmentation-models-pytorch, kornia, optax, SciPy, cupyx) or a floor/reference
(``logits.sum()``, softmax, ``F.cross_entropy``). Every torch and JAX row has a
twin on the GPU (key suffix ``@cuda``), which reads ``n/a (no CUDA)`` on a
machine without one.

``Row.build(ctx)`` returns a :class:`Bench`: a plain function
``fn(pred, target) -> array`` written in the row's framework (the harness
applies ``jax.jit`` / ``torch.compile`` itself), an optional NumPy-level
``prepare`` of the inputs and an optional target adapter, both applied once,
outside the timing (MONAI wants labels ``(N, 1, ...)``, optax channels-last
logits, the boundary loss precomputed distance maps). It raises
:class:`NotApplicable` with the reason when the row does not apply (kornia's
2-D-only losses on W3D, a missing peer, no GPU, ...).

:func:`make_callables` turns a row and a workload into the timed calls
``fwd()`` (the value without autograd) and, for differentiable rows, ``fb()``
(forward + backward to the first input), shared by the subprocess worker
(:mod:`benchmarks.measure`) and the smoke test.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import numpy as np

from . import peers

__all__ = [
    "FAMILIES",
    "NO_CUDA",
    "ROWS",
    "TINY_SHAPES",
    "WORKLOADS",
    "Bench",
    "Callables",
    "Ctx",
    "NotApplicable",
    "Row",
    "Workload",
    "cuda_present",
    "make_callables",
    "make_numpy_inputs",
    "ours_status",
    "row_by_key",
    "to_numpy",
]

NO_CUDA = "n/a (no CUDA)"
NOT_IMPLEMENTED = "n/a (not implemented)"


class NotApplicable(Exception):
    """The row does not apply to this workload; ``str(exc)`` is the reason shown."""


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str  # "multiclass" (int64 labels), "binary" (float {0,1}), "mask", "mask-pair"
    shape: tuple[int, ...]  # logits (N, C, *spatial), or the mask shape
    description: str
    spatial: int = 0  # masks: number of trailing spatial axes (the rest are batch axes)
    spacing: tuple[float, ...] | None = None  # masks: voxel spacing of the spatial axes


WORKLOADS: dict[str, Workload] = {
    "W2D": Workload("W2D", "multiclass", (8, 4, 256, 256),
                    "logits f32 (8,4,256,256) + int64 labels (8,256,256)"),
    "W3D": Workload("W3D", "multiclass", (2, 14, 64, 128, 128),
                    "logits f32 (2,14,64,128,128) + int64 labels (2,64,128,128)"),
    "WBIN": Workload("WBIN", "binary", (16, 1, 256, 256),
                     "logits f32 (16,1,256,256) + f32 {0,1} targets (16,1,256,256)"),
    "TINY": Workload("TINY", "multiclass", (1, 2, 8, 8),
                     "logits f32 (1,2,8,8) + int64 labels (1,8,8): per-call overhead"),
    "EDT3D": Workload("EDT3D", "mask", (128, 128, 128),
                      "bool mask (128,128,128) of random balls, spacing (1,1,2.5)",
                      spatial=3, spacing=(1.0, 1.0, 2.5)),
    "EDT2D": Workload("EDT2D", "mask", (16, 512, 512),
                      "16 bool images (16,512,512) of random discs, unit spacing", spatial=2),
    "HD3D": Workload("HD3D", "mask-pair", (2, 3, 128, 128, 128),
                     "bool masks (2,3,128,128,128): target balls, prediction shifted and "
                     "resized by a few voxels", spatial=3),
}

#: shapes for the smoke test (every row runs once, in-process)
TINY_SHAPES: dict[str, tuple[int, ...]] = {
    "W2D": (2, 4, 8, 8),
    "W3D": (1, 3, 4, 6, 6),
    "WBIN": (2, 1, 8, 8),
    "TINY": (1, 2, 8, 8),
    "EDT3D": (8, 8, 6),
    "EDT2D": (2, 12, 12),
    "HD3D": (1, 2, 8, 8, 6),
}

LOSS_WORKLOADS = ("W2D", "W3D", "WBIN")

#: row families in report order; "floor" rows are lower bounds, not losses
FAMILIES = ("floor", "cross_entropy", "dice", "tversky", "generalized_dice", "focal",
            "dice_ce", "lovasz", "boundary", "edt", "hd95")


@dataclass(frozen=True)
class Ctx:
    """What a row's builder may look at."""

    workload: str
    kind: str  # Workload.kind
    framework: str  # "torch" | "torch-compile" | "jax" | "numpy" | "cupy"
    shape: tuple[int, ...]
    device: str = "cpu"  # "cpu" | "cuda"

    @property
    def binary(self) -> bool:
        return self.kind == "binary"

    @property
    def spatial_dims(self) -> int:
        return len(self.shape) - 2

    @property
    def workload_info(self) -> Workload:
        return WORKLOADS[self.workload]


@dataclass
class Bench:
    fn: Callable[[Any, Any], Any]
    target: Callable[[Any], Any] | None = None  # adapter applied once, outside timing
    # NumPy-level preparation of (pred, target), applied once before the framework sees them
    prepare: Callable[[np.ndarray, Any], tuple[np.ndarray, Any]] | None = None


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    family: str
    origin: str  # "ours" | "peer" | "ref" | "floor"
    framework: str  # "torch" | "torch-compile" | "jax" | "numpy" | "cupy"
    build: Callable[[Ctx], Bench]
    workloads: tuple[str, ...] = LOSS_WORKLOADS
    slow_on: tuple[str, ...] = ()  # skipped unless --slow (one call takes many seconds)
    optional: bool = False  # only with --compile
    note: str = ""
    device: str = "cpu"  # "cpu" | "cuda"
    grad: bool = True  # False: the value only (distances, metrics, CuPy): no f+b mode

    @property
    def library(self) -> str:
        return self.key.split(".")[0]


# --------------------------------------------------------------------------- inputs


def _balls(rng: np.random.Generator, shape: tuple[int, ...], count: int,
           jitter: float = 0.0, rng_jitter: np.random.Generator | None = None) -> np.ndarray:
    """A bool image of ``count`` random balls (radius 12–30 % of the smallest side).

    With ``jitter`` the centres move and the radii change by up to that many
    voxels (drawn from ``rng_jitter``): a prediction near the target.
    """
    grids = np.ogrid[tuple(slice(0, s) for s in shape)]
    out = np.zeros(shape, dtype=bool)
    side = min(shape)
    for _ in range(count):
        centre = rng.uniform(0, 1, len(shape)) * np.array(shape)
        radius = rng.uniform(0.12, 0.30) * side
        if jitter and rng_jitter is not None:
            centre = centre + rng_jitter.uniform(-jitter, jitter, len(shape))
            radius = max(1.0, radius + rng_jitter.uniform(-jitter, jitter))
        d2 = sum((g - c) ** 2 for g, c in zip(grids, centre, strict=True))
        out |= d2 <= radius**2
    return out


def _mask_batch(rng: np.random.Generator, shape: tuple[int, ...], spatial: int,
                jitter: float = 0.0, rng_jitter: np.random.Generator | None = None
                ) -> np.ndarray:
    lead, space = shape[:len(shape) - spatial], shape[len(shape) - spatial:]
    out = np.empty(shape, dtype=bool)
    for idx in np.ndindex(*lead):
        out[idx] = _balls(rng, space, 3, jitter, rng_jitter)
    return out


def make_numpy_inputs(workload: str, shape: tuple[int, ...] | None = None,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """The same NumPy inputs for every framework, so rows with one definition agree.

    Losses: logits ``N(0, 1)`` float32 and labels uniform in ``[0, C)`` int64
    (binary: {0,1} float32). Masks: random balls (``mask``: ``(mask, None)``;
    ``mask-pair``: ``(prediction, target)``, the prediction's balls shifted and
    resized by up to 3 voxels).
    """
    wl = WORKLOADS[workload]
    shape = wl.shape if shape is None else tuple(shape)
    rng = np.random.default_rng(seed)
    if wl.kind == "mask":
        return _mask_batch(rng, shape, wl.spatial), None
    if wl.kind == "mask-pair":
        state = rng.bit_generator.state
        target = _mask_batch(rng, shape, wl.spatial)
        rng.bit_generator.state = state  # same balls, then jittered
        pred = _mask_batch(rng, shape, wl.spatial, 3.0, np.random.default_rng(seed + 1))
        return pred, target
    logits = rng.standard_normal(shape, dtype=np.float32)
    if wl.kind == "binary":
        target = (rng.random(shape, dtype=np.float32) < 0.5).astype(np.float32)
    else:
        n, c, *spatial = shape
        target = rng.integers(0, c, size=(n, *spatial), dtype=np.int64)
    return logits, target


# --------------------------------------------------------------------------- frameworks, GPU


@cache
def cuda_present() -> bool:
    """Whether torch sees a CUDA device (the runner's cheap check before a GPU row)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _require_cuda(framework: str) -> None:
    """Raise ``NotApplicable(NO_CUDA)`` unless ``framework`` has a GPU here."""
    if framework == "cupy":
        try:
            import cupy

            ok = cupy.cuda.runtime.getDeviceCount() > 0
        except Exception:  # ImportError, or CUDARuntimeError without a driver
            ok = False
    elif framework == "jax":
        import jax

        try:
            ok = bool(jax.devices("gpu"))
        except RuntimeError:
            ok = False
    elif framework == "numpy":
        ok = False
    else:
        ok = cuda_present()
    if not ok:
        raise NotApplicable(NO_CUDA)


def _to_framework(framework: str, device: str, *arrays: np.ndarray | None) -> list[Any]:
    if framework.startswith("torch"):
        import torch

        return [None if a is None else torch.from_numpy(a).to(device) for a in arrays]
    if framework == "jax":
        import jax
        import jax.numpy as jnp

        dev = jax.devices("gpu")[0] if device == "cuda" else jax.devices("cpu")[0]
        out = []
        for a in arrays:
            if a is not None and a.dtype == np.int64 and not jax.config.jax_enable_x64:
                a = a.astype(np.int32)
            out.append(None if a is None else jax.device_put(jnp.asarray(a), dev))
        return out
    if framework == "cupy":
        import cupy

        return [None if a is None else cupy.asarray(a) for a in arrays]
    return list(arrays)


def to_numpy(x: Any) -> np.ndarray:
    """A host NumPy copy of a torch (any device), JAX, CuPy or NumPy array."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    if hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


def _synchronizer(framework: str, device: str) -> Callable[[], None]:
    if device != "cuda" or framework == "jax":  # jax: results are blocked on instead
        return lambda: None
    if framework == "cupy":
        import cupy

        return lambda: cupy.cuda.get_current_stream().synchronize()
    import torch

    return torch.cuda.synchronize


# --------------------------------------------------------------------------- ours

_OURS: dict[str, tuple[str, str | None]] = {
    # family -> (multiclass function path, binary function path); masks use the first
    "dice": ("segloss_xp.dice_loss", "segloss_xp.dice_loss"),
    "tversky": ("segloss_xp.tversky_loss", "segloss_xp.tversky_loss"),
    "generalized_dice": ("segloss_xp.generalized_dice_loss",
                         "segloss_xp.generalized_dice_loss"),
    "cross_entropy": ("segloss_xp.pixel.cross_entropy", "segloss_xp.pixel.cross_entropy"),
    "focal": ("segloss_xp.pixel.focal_loss", "segloss_xp.pixel.focal_loss"),
    "dice_ce": ("segloss_xp.compound.dice_ce_loss", "segloss_xp.compound.dice_ce_loss"),
    "lovasz": ("segloss_xp.lovasz.lovasz_softmax_loss", "segloss_xp.lovasz.lovasz_hinge_loss"),
    "boundary": ("segloss_xp.boundary_loss", None),
    "edt": ("segloss_xp.distance_transform_edt", None),
    "hd95": ("segloss_xp.hausdorff_distance", None),
}

_OURS_LABEL = {
    "dice": "dice_loss",
    "tversky": "tversky_loss",
    "generalized_dice": "generalized_dice_loss",
    "cross_entropy": "pixel.cross_entropy",
    "focal": "pixel.focal_loss (gamma=2)",
    "dice_ce": "compound.dice_ce_loss",
    "lovasz": "lovasz.lovasz_softmax_loss [WBIN: lovasz_hinge_loss]",
    "boundary": "boundary_loss (precomputed signed distance maps)",
    "edt": "distance_transform_edt",
    "hd95": "hausdorff_distance(percentile=95)",
}

#: the workloads of each family of ours (losses: LOSS_WORKLOADS)
_OURS_WORKLOADS = {"dice": (*LOSS_WORKLOADS, "TINY"), "boundary": ("W2D",),
                   "edt": ("EDT3D", "EDT2D"), "hd95": ("HD3D",)}
_VALUE_ONLY = ("edt", "hd95")  # no gradient: the fwd mode alone


def _lookup(path: str) -> Callable[..., Any] | None:
    module, _, name = path.rpartition(".")
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return getattr(mod, name, None)


def ours_status(family: str, kind: str = "multiclass") -> str | None:
    """``None`` if our function for ``family`` exists, else the n/a reason."""
    path = _OURS[family][1 if kind == "binary" else 0]
    if path is None:
        return "n/a (no such mode)"
    return None if _lookup(path) is not None else f"{NOT_IMPLEMENTED}: {path}"


def _features(framework: str, grad: bool) -> tuple[str, ...]:
    """What a framework row needs of a function, in its declared capabilities."""
    need = {"torch-compile": ("compile",), "jax": ("jit",)}.get(framework, ())
    return (("autograd",) if grad else ()) + need


def _unsupported(name: str, framework: str, grad: bool) -> str | None:
    """The declared reason ``name`` cannot run a ``framework`` row, or None."""
    from segloss_xp._capabilities import CAPABILITIES

    caps = CAPABILITIES.get(name)
    if caps is None:  # not declared (yet): let the call itself tell
        return None
    reasons = [getattr(caps, f) for f in _features(framework, grad) if not caps.supports(f)]
    return "; ".join(reasons) if reasons else None


def _signed_distance_maps(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """Boundary-loss maps from the labels, with SciPy (negative inside; empty class: 0)."""
    from scipy import ndimage

    n, c = logits.shape[:2]
    maps = np.zeros(logits.shape, dtype=np.float32)
    for i in range(n):
        for k in range(c):
            inside = labels[i] == k
            if inside.any():
                maps[i, k] = np.where(inside, -ndimage.distance_transform_edt(inside),
                                      ndimage.distance_transform_edt(~inside))
    return logits, maps


def _mask_axes(ctx: Ctx) -> tuple[int, ...]:
    ndim = len(ctx.shape)
    return tuple(range(ndim - ctx.workload_info.spatial, ndim))


def _ours_builder(family: str, **options: Any) -> Callable[[Ctx], Bench]:
    """Our ``family`` loss; ``options``: ``segloss_xp.options`` for the timed call."""
    def build(ctx: Ctx) -> Bench:
        path = _OURS[family][1 if ctx.binary else 0]
        func = _lookup(path) if path is not None else None
        if func is None:
            raise NotApplicable(f"{NOT_IMPLEMENTED}: {path}")
        grad = family not in _VALUE_ONLY and ctx.framework != "cupy"
        unsupported = _unsupported(func.__name__, ctx.framework, grad)
        if unsupported is not None:
            raise NotApplicable(f"n/a ({unsupported})")
        kwargs: dict[str, Any] = {"mode": "binary"} if ctx.binary else {}
        prepare = None
        if family == "edt":
            kwargs = {"spacing": ctx.workload_info.spacing, "axes": _mask_axes(ctx)}
        elif family == "hd95":  # per-class masks, as MONAI's one-hot (N, C) table
            kwargs = {"mode": "multilabel", "percentile": 95, "include_background": True,
                      "reduction": "none"}
        elif family == "boundary":
            kwargs = {"mode": "multiclass"}
            prepare = _signed_distance_maps
        if not options:
            def fn(x: Any, t: Any) -> Any:
                return func(x, t, **kwargs) if t is not None else func(x, **kwargs)
        else:
            import segloss_xp

            def fn(x: Any, t: Any) -> Any:
                with segloss_xp.options(**options):
                    return func(x, t, **kwargs)
        return Bench(fn, prepare=prepare)

    return build


# --------------------------------------------------------------------------- floors, references


def _floor_sum(ctx: Ctx) -> Bench:
    if ctx.framework == "jax":
        import jax.numpy as jnp

        return Bench(lambda x, t: jnp.sum(x))
    return Bench(lambda x, t: x.sum())


def _floor_activation(ctx: Ctx) -> Bench:
    import torch

    if ctx.binary:
        return Bench(lambda x, t: torch.sigmoid(x).mean())
    return Bench(lambda x, t: torch.softmax(x, 1)[:, 0].mean())


def _torch_ce(ctx: Ctx) -> Bench:
    import torch.nn.functional as F

    if ctx.binary:
        return Bench(lambda x, t: F.binary_cross_entropy_with_logits(x, t))
    return Bench(lambda x, t: F.cross_entropy(x, t))


# --------------------------------------------------------------------------- peers


def _channel_labels(t: Any) -> Any:
    """MONAI takes labels with a channel axis, ``(N, 1, *spatial)``."""
    return t[:, None]


def _monai(cls_name: str, **extra: Any) -> Callable[[Ctx], Bench]:
    def build(ctx: Ctx) -> Bench:
        ml = peers.monai_losses()
        if ctx.binary:
            act = {"use_softmax": False} if cls_name == "FocalLoss" else {"sigmoid": True}
            loss = getattr(ml, cls_name)(**act, **extra)
            return Bench(loss)
        act = {"use_softmax": True} if cls_name == "FocalLoss" else {"softmax": True}
        loss = getattr(ml, cls_name)(**act, to_onehot_y=True, **extra)
        return Bench(loss, target=_channel_labels)

    return build


def _smp(cls_name: str) -> Callable[[Ctx], Bench]:
    def build(ctx: Ctx) -> Bench:
        sl = peers.smp_losses()
        return Bench(getattr(sl, cls_name)("binary" if ctx.binary else "multiclass"))

    return build


def _kornia_2d_softmax(name: str, **kwargs: Any) -> Callable[[Ctx], Bench]:
    def build(ctx: Ctx) -> Bench:
        if ctx.binary:
            raise NotApplicable("n/a (kornia's dice/tversky are softmax-only; C=1 degenerate)")
        if ctx.spatial_dims != 2:
            raise NotApplicable("n/a (kornia dice/tversky/lovasz_softmax accept only (B,C,H,W))")
        func = getattr(peers.kornia_losses(), name)
        return Bench(lambda x, t: func(x, t, **kwargs))

    return build


def _kornia_focal(ctx: Ctx) -> Bench:
    kl = peers.kornia_losses()
    if ctx.binary:
        f = kl.binary_focal_loss_with_logits
        return Bench(lambda x, t: f(x, t, alpha=None, gamma=2.0, reduction="mean"))
    f = kl.focal_loss
    return Bench(lambda x, t: f(x, t, alpha=None, gamma=2.0, reduction="mean"))


def _kornia_lovasz(ctx: Ctx) -> Bench:
    if ctx.spatial_dims != 2:
        raise NotApplicable("n/a (kornia lovasz losses accept only 2-D images)")
    kl = peers.kornia_losses()
    if ctx.binary:
        # (B,1,H,W) logits take (B,H,W) targets
        return Bench(kl.lovasz_hinge_loss, target=lambda t: t[:, 0])
    return Bench(kl.lovasz_softmax_loss)


def _optax_ce(ctx: Ctx) -> Bench:
    import jax.numpy as jnp

    ol = peers.optax_losses()
    if ctx.binary:
        f = ol.sigmoid_binary_cross_entropy
        return Bench(lambda x, t: jnp.mean(f(x, t)))
    g = ol.softmax_cross_entropy_with_integer_labels
    return Bench(lambda x, t: jnp.mean(g(x, t, axis=1)))


def _channels_last(x: np.ndarray, t: Any) -> tuple[np.ndarray, Any]:
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)), t


def _optax_dice(ctx: Ctx) -> Bench:
    import jax
    import jax.numpy as jnp

    if ctx.binary:
        raise NotApplicable("n/a (optax dice_loss applies a softmax; no sigmoid mode)")
    f = peers.optax_losses().dice_loss
    c = ctx.shape[1]
    # channels-last logits made once outside the timing; the one-hot is part of the loss
    # (as MONAI's to_onehot_y)
    return Bench(lambda x, t: jnp.mean(f(x, jax.nn.one_hot(t, c, dtype=x.dtype))),
                 prepare=_channels_last)


def _optax_focal(ctx: Ctx) -> Bench:
    import jax.numpy as jnp

    if not ctx.binary:
        raise NotApplicable("n/a (optax has only the sigmoid focal loss)")
    f = peers.optax_losses().sigmoid_focal_loss
    return Bench(lambda x, t: jnp.mean(f(x, t, alpha=None, gamma=2.0)))


def _ndimage_edt(module: Callable[[], Any]) -> Callable[[Ctx], Bench]:
    """SciPy / cupyx ``distance_transform_edt``, one call per image of the batch axes."""
    def build(ctx: Ctx) -> Bench:
        edt = module().distance_transform_edt
        spatial = ctx.workload_info.spatial
        sampling = ctx.workload_info.spacing

        def fn(m: Any, t: Any) -> Any:
            lead = m.shape[:m.ndim - spatial]
            if not lead:
                return edt(m, sampling=sampling)
            return _stack([edt(m[idx], sampling=sampling) for idx in np.ndindex(*lead)],
                          lead)

        return Bench(fn)

    return build


def _stack(images: list[Any], lead: tuple[int, ...]) -> Any:
    xp = importlib.import_module(type(images[0]).__module__.split(".")[0])
    return xp.stack(images).reshape(*lead, *images[0].shape)


def _scipy_ndimage() -> Any:
    return peers.import_peer("scipy.ndimage", "scipy")


def _cupyx_ndimage() -> Any:
    return peers.import_peer("cupyx.scipy.ndimage", "cupy")


def _monai_hd95(ctx: Ctx) -> Bench:
    hd = peers.monai_metrics().compute_hausdorff_distance

    def fn(p: Any, t: Any) -> Any:
        with warnings.catch_warnings():  # a deprecation warning per call (MONAI 1.6)
            warnings.simplefilter("ignore", FutureWarning)
            return hd(p, t, include_background=True, percentile=95)

    return Bench(fn)


# --------------------------------------------------------------------------- the rows


_TWIN_FRAMEWORKS = ("torch", "torch-compile", "jax")


def cuda_twin(row: Row) -> Row:
    """The same row on the GPU: key ``<key>@cuda``, label ``[CUDA]`` (JAX: ``[GPU]``)."""
    tag = "[GPU]" if row.framework == "jax" else "[CUDA]"
    # compile rows run by default on the GPU (compile time is excluded and cheap there)
    return replace(row, key=f"{row.key}@cuda", label=f"{row.label} {tag}", device="cuda",
                   optional=False, slow_on=())


def _loss_rows() -> list[Row]:
    tiny = (*LOSS_WORKLOADS, "TINY")
    return [
        Row("floor.sum.torch", "floor: torch `logits.sum()`", "floor", "floor", "torch",
            _floor_sum),
        Row("floor.act.torch", "floor: torch softmax(logits,1) [WBIN: sigmoid]", "floor",
            "floor", "torch", _floor_activation),
        Row("floor.sum.jax", "floor: jax `logits.sum()` (jit)", "floor", "floor", "jax",
            _floor_sum),
        Row("torch.ce", "torch F.cross_entropy [WBIN: F.binary_cross_entropy_with_logits]",
            "cross_entropy", "ref", "torch", _torch_ce, workloads=tiny),
        Row("optax.ce", "optax softmax_cross_entropy_with_integer_labels(axis=1) "
            "[WBIN: sigmoid_binary_cross_entropy] (jit)", "cross_entropy", "peer", "jax",
            _optax_ce),
        Row("monai.dice", "MONAI DiceLoss(softmax,to_onehot_y) [WBIN: sigmoid]", "dice",
            "peer", "torch", _monai("DiceLoss"), workloads=tiny),
        Row("smp.dice", "smp DiceLoss('multiclass') [WBIN: 'binary']", "dice", "peer",
            "torch", _smp("DiceLoss")),
        Row("kornia.dice", "kornia dice_loss", "dice", "peer", "torch",
            _kornia_2d_softmax("dice_loss")),
        Row("optax.dice", "optax dice_loss (channels-last logits, one-hot in the loss) (jit)",
            "dice", "peer", "jax", _optax_dice, workloads=("W2D", "W3D"),
            note="smooth=1 (ours: 1e-5 by default), so values differ slightly"),
        Row("monai.tversky", "MONAI TverskyLoss(softmax,to_onehot_y) [WBIN: sigmoid]",
            "tversky", "peer", "torch", _monai("TverskyLoss")),
        Row("kornia.tversky", "kornia tversky_loss(0.5,0.5)", "tversky", "peer", "torch",
            _kornia_2d_softmax("tversky_loss", alpha=0.5, beta=0.5)),
        Row("monai.gdice",
            "MONAI GeneralizedDiceLoss(softmax,to_onehot_y) [WBIN: sigmoid]",
            "generalized_dice", "peer", "torch", _monai("GeneralizedDiceLoss")),
        Row("monai.focal", "MONAI FocalLoss(use_softmax,to_onehot_y) [WBIN: sigmoid]",
            "focal", "peer", "torch", _monai("FocalLoss"),
            note="mean over N·C·S elements (ours: over N·S pixels), so value = ours / C"),
        Row("smp.focal", "smp FocalLoss('multiclass') [WBIN: 'binary']", "focal", "peer",
            "torch", _smp("FocalLoss"),
            note="multiclass is one-vs-rest sigmoid focal, a different loss"),
        Row("kornia.focal", "kornia focal_loss(alpha=None) "
            "[WBIN: binary_focal_loss_with_logits(alpha=None)]", "focal", "peer", "torch",
            _kornia_focal, note="multiclass mean over N·C·S elements (value = ours / C)"),
        Row("optax.focal", "optax sigmoid_focal_loss(alpha=None) (jit)", "focal", "peer",
            "jax", _optax_focal, workloads=("WBIN",)),
        Row("monai.dice_ce", "MONAI DiceCELoss(softmax,to_onehot_y) [WBIN: sigmoid]",
            "dice_ce", "peer", "torch", _monai("DiceCELoss")),
        Row("smp.lovasz", "smp LovaszLoss('multiclass') [WBIN: 'binary']", "lovasz", "peer",
            "torch", _smp("LovaszLoss"),
            note="WBIN: per_image=False (ours and kornia: per image)"),
        Row("kornia.lovasz", "kornia lovasz_softmax_loss [WBIN: lovasz_hinge_loss]", "lovasz",
            "peer", "torch", _kornia_lovasz,
            note="all classes, per image (ours and smp: present classes, pooled)"),
    ]


def _distance_rows() -> list[Row]:
    edt = ("EDT3D", "EDT2D")
    return [
        Row("scipy.edt", "SciPy ndimage.distance_transform_edt (one call per image)", "edt",
            "peer", "numpy", _ndimage_edt(_scipy_ndimage), workloads=edt, grad=False),
        Row("cupyx.edt", "cupyx.scipy.ndimage.distance_transform_edt (one call per image) "
            "[CUDA]", "edt", "peer", "cupy", _ndimage_edt(_cupyx_ndimage), workloads=edt,
            grad=False, device="cuda"),
        Row("monai.hd95", "MONAI compute_hausdorff_distance(percentile=95) (torch tensors)",
            "hd95", "peer", "torch", _monai_hd95, workloads=("HD3D",), grad=False,
            note="SciPy on the host: CUDA tensors are copied to the CPU"),
    ]


def _ours_rows() -> list[Row]:
    rows = []
    for family in FAMILIES[1:]:
        label = _OURS_LABEL[family]
        grad = family not in _VALUE_ONLY
        wls = _OURS_WORKLOADS.get(family, LOSS_WORKLOADS)
        slow = ("W3D",) if family == "lovasz" else ()
        rows.append(Row(f"ours.{family}.torch", f"ours {label} (torch)", family, "ours",
                        "torch", _ours_builder(family), workloads=wls, grad=grad))
        if family == "dice":
            rows.append(Row("ours.dice.torch-novalidate",
                            "ours dice_loss (torch, options(validate=False))", family, "ours",
                            "torch", _ours_builder(family, validate=False),
                            workloads=("W2D",)))
        if family in ("dice", "focal"):  # the closed-form kernels against plain autograd
            rows.append(Row(f"ours.{family}.torch-plain",
                            f"ours {label} (torch, options(closed_form=False))", family,
                            "ours", "torch", _ours_builder(family, closed_form=False),
                            workloads=wls))
        if family == "dice":
            rows.append(Row("ours.dice.cupy", "ours dice_loss (CuPy, forward only) [CUDA]",
                            family, "ours", "cupy", _ours_builder(family),
                            workloads=("W2D", "W3D"), grad=False, device="cuda",
                            note="CuPy has no autograd: the forward alone"))
        if family != "hd95":
            rows.append(Row(f"ours.{family}.jax", f"ours {label} (jax jit)", family, "ours",
                            "jax", _ours_builder(family), workloads=wls, grad=grad,
                            slow_on=slow))
        if grad:
            # compile rows of dice run by default (an issue-8 row); the others with --compile
            rows.append(Row(f"ours.{family}.torch-compile", f"ours {label} (torch.compile)",
                            family, "ours", "torch-compile", _ours_builder(family),
                            workloads=wls, optional=family != "dice"))
    return rows


def _rows() -> list[Row]:
    cpu = _loss_rows() + _distance_rows() + _ours_rows()
    twins = [cuda_twin(r) for r in cpu
             if r.device == "cpu" and r.framework in _TWIN_FRAMEWORKS
             and not r.key.endswith(("-novalidate", "-plain"))]
    return cpu + twins


ROWS: list[Row] = _rows()


def row_by_key(key: str) -> Row:
    for row in ROWS:
        if row.key == key:
            return row
    raise KeyError(f"no benchmark row {key!r}; known: {[r.key for r in ROWS]}")


# --------------------------------------------------------------------------- timed calls


@dataclass
class Callables:
    """The timed calls of one row on one workload, and how to read their results."""

    fwd: Callable[[], Any]  # -> the value (no autograd)
    fb: Callable[[], Any] | None  # -> (loss, gradient w.r.t. the first input); None: no grad
    framework: str
    input_bytes: int
    device: str = "cpu"
    memory: str | None = "rss"  # how peak memory is read: "rss", "cuda", or None (why: extra)
    extra: dict[str, Any] = field(default_factory=dict)

    def value(self, out: Any) -> float:
        """The mean of an output (a loss is 0-d; a distance map or metric is not)."""
        return float(np.mean(to_numpy(out), dtype=np.float64))

    def finite(self, out: Any) -> bool:
        loss, grad = out
        return bool(np.isfinite(to_numpy(loss)).all()) and bool(
            np.all(np.isfinite(to_numpy(grad))))

    @property
    def modes(self) -> dict[str, Callable[[], Any]]:
        return {"fwd": self.fwd} | ({"fb": self.fb} if self.fb is not None else {})


def _compile_counters() -> int:
    from torch._dynamo.utils import counters

    return sum(counters["graph_break"].values())


def _compiled(fn: Callable[..., Any], backend: str, extra: dict[str, Any]) -> Callable[..., Any]:
    """``torch.compile(fn)``; the first call's graph breaks and warnings go to ``extra``."""
    import torch

    torch._dynamo.reset()  # a fresh cache per row (rows in one process share code objects)
    compiled = torch.compile(fn, backend=backend)
    first = [True]

    def call(*args: Any) -> Any:
        if not first[0]:
            return compiled(*args)
        first[0] = False
        before = _compile_counters()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = compiled(*args)
        extra["graph_breaks"] = extra.get("graph_breaks", 0) + _compile_counters() - before
        extra["compile_warnings"] = extra.get("compile_warnings", 0) + len(caught)
        if caught:
            extra.setdefault("first_warning", str(caught[0].message)[:300])
        return out

    return call


def make_callables(row: Row, workload: str, shape: tuple[int, ...] | None = None,
                   seed: int = 0, compile_backend: str = "inductor") -> Callables:
    """Build the row's function for ``workload`` and wrap it in ``fwd()`` / ``fb()``.

    Raises :class:`NotApplicable` (reason in the message) when the row does not
    apply. ``fwd`` runs under ``torch.no_grad`` (torch) or ``jax.jit(f)``;
    ``fb`` returns ``(loss, dloss/dinput)`` via ``torch.autograd.grad`` or
    ``jax.jit(jax.value_and_grad(f))``. JAX results are blocked on, CUDA and
    CuPy calls synchronized. ``compile_backend`` is for ``torch-compile`` rows
    (the smoke test uses ``"eager"``: the same tracing, no code generation).
    """
    if workload not in row.workloads:
        raise NotApplicable(f"n/a (row not defined on {workload})")
    if row.device == "cuda":
        _require_cuda(row.framework)
    wl = WORKLOADS[workload]
    shape = wl.shape if shape is None else tuple(shape)
    ctx = Ctx(workload, wl.kind, row.framework, shape, row.device)
    try:
        bench = row.build(ctx)
    except peers.PeerMissing as exc:
        raise NotApplicable(f"n/a ({exc})") from exc
    x_np, t_np = make_numpy_inputs(workload, shape, seed)
    if bench.prepare is not None:
        x_np, t_np = bench.prepare(x_np, t_np)
    x, t = _to_framework(row.framework, row.device, x_np, t_np)
    if bench.target is not None:
        t = bench.target(t)
    fn = bench.fn
    nbytes = int(x_np.nbytes)
    if row.framework == "jax":
        return _jax_callables(fn, x, t, row, nbytes)
    sync = _synchronizer(row.framework, row.device)
    memory = "cuda" if row.device == "cuda" and row.framework != "cupy" else "rss"
    if row.framework == "cupy":
        memory = None
    calls = Callables(fwd=lambda: None, fb=None, framework=row.framework, input_bytes=nbytes,
                      device=row.device, memory=memory)
    if memory is None:
        calls.extra["memory"] = "not measured (CuPy)"
    if row.framework in ("numpy", "cupy"):
        def plain() -> Any:
            out = fn(x, t)
            sync()
            return out

        calls.fwd = plain
        return calls
    import torch

    if row.framework == "torch-compile":
        fn = _compiled(fn, compile_backend, calls.extra)

    def fwd() -> Any:
        with torch.no_grad():
            out = fn(x, t)
        sync()
        return out

    calls.fwd = fwd
    if row.grad:
        xg = x.detach().requires_grad_(True)

        def fb() -> Any:
            loss = fn(xg, t)
            (grad,) = torch.autograd.grad(loss, xg)
            sync()
            return loss.detach(), grad

        calls.fb = fb
    return calls


def _jax_callables(fn: Callable[[Any, Any], Any], x: Any, t: Any, row: Row,
                   nbytes: int) -> Callables:
    import jax

    f_fwd = jax.jit(fn)
    calls = Callables(fwd=lambda: jax.block_until_ready(f_fwd(x, t)), fb=None,
                      framework="jax", input_bytes=nbytes, device=row.device,
                      memory="rss" if row.device == "cpu" else None)
    if row.device != "cpu":
        calls.extra["memory"] = "not measured (JAX on a GPU)"
    if row.grad:
        f_fb = jax.jit(jax.value_and_grad(fn))
        calls.fb = lambda: jax.block_until_ready(f_fb(x, t))
    return calls

