"""What the benchmarks run: workloads, inputs, and one :class:`Row` per loss implementation.

A row is one implementation of one loss family in one framework: ours
(``segloss_xp``, looked up lazily by module path so that a loss another
helper has not written yet shows as ``n/a (not implemented)``), a peer's
(MONAI, segmentation-models-pytorch, kornia, optax) or a floor/reference
(``logits.sum()``, softmax, ``F.cross_entropy``).

``Row.build(ctx)`` returns a :class:`Bench`: a plain function
``fn(pred, target) -> scalar`` written in the row's framework (the harness
applies ``jax.jit`` / ``torch.compile`` itself) and an optional target adapter
applied once, outside the timing (MONAI wants labels ``(N, 1, ...)``).
It raises :class:`NotApplicable` with the reason when the row does not apply
to the workload (kornia's 2-D-only losses on W3D, a missing peer, ...).

:func:`make_callables` turns a row and a workload into the two timed calls
``fwd()`` (loss value without autograd) and ``fb()`` (forward + backward to the
logits), shared by the subprocess worker (:mod:`benchmarks.measure`) and the
smoke test.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import peers

__all__ = [
    "FAMILIES",
    "ROWS",
    "TINY_SHAPES",
    "WORKLOADS",
    "Bench",
    "Callables",
    "Ctx",
    "NotApplicable",
    "Row",
    "Workload",
    "make_callables",
    "make_numpy_inputs",
    "ours_status",
    "row_by_key",
]


class NotApplicable(Exception):
    """The row does not apply to this workload; ``str(exc)`` is the reason shown."""


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str  # "multiclass" (int64 labels) or "binary" (float {0,1} targets)
    shape: tuple[int, ...]  # logits shape (N, C, *spatial)
    description: str


WORKLOADS: dict[str, Workload] = {
    "W2D": Workload("W2D", "multiclass", (8, 4, 256, 256),
                    "logits f32 (8,4,256,256) + int64 labels (8,256,256)"),
    "W3D": Workload("W3D", "multiclass", (2, 14, 64, 128, 128),
                    "logits f32 (2,14,64,128,128) + int64 labels (2,64,128,128)"),
    "WBIN": Workload("WBIN", "binary", (16, 1, 256, 256),
                     "logits f32 (16,1,256,256) + f32 {0,1} targets (16,1,256,256)"),
}

#: shapes for the smoke test (every row runs once, in-process)
TINY_SHAPES: dict[str, tuple[int, ...]] = {
    "W2D": (2, 4, 8, 8),
    "W3D": (1, 3, 4, 6, 6),
    "WBIN": (2, 1, 8, 8),
}

#: loss families in report order; "floor" rows are lower bounds, not losses
FAMILIES = ("floor", "cross_entropy", "dice", "tversky", "generalized_dice", "focal",
            "dice_ce", "lovasz")


@dataclass(frozen=True)
class Ctx:
    """What a row's builder may look at."""

    workload: str
    kind: str  # "multiclass" | "binary"
    framework: str  # "torch" | "torch-compile" | "jax"
    shape: tuple[int, ...]

    @property
    def binary(self) -> bool:
        return self.kind == "binary"

    @property
    def spatial_dims(self) -> int:
        return len(self.shape) - 2


@dataclass
class Bench:
    fn: Callable[[Any, Any], Any]
    target: Callable[[Any], Any] | None = None  # adapter applied once, outside timing


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    family: str
    origin: str  # "ours" | "peer" | "ref" | "floor"
    framework: str  # "torch" | "torch-compile" | "jax"
    build: Callable[[Ctx], Bench]
    workloads: tuple[str, ...] = ("W2D", "W3D", "WBIN")
    slow_on: tuple[str, ...] = ()  # skipped unless --slow (one call takes seconds)
    optional: bool = False  # only with --compile
    note: str = ""

    @property
    def library(self) -> str:
        return self.key.split(".")[0]


# --------------------------------------------------------------------------- inputs


def make_numpy_inputs(workload: str, shape: tuple[int, ...] | None = None,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits ``N(0, 1)`` float32 and labels uniform in ``[0, C)`` int64 (binary: {0,1} float32).

    The same arrays feed every framework, so loss values agree across rows
    whose definitions agree.
    """
    wl = WORKLOADS[workload]
    shape = wl.shape if shape is None else tuple(shape)
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal(shape, dtype=np.float32)
    if wl.kind == "binary":
        target = (rng.random(shape, dtype=np.float32) < 0.5).astype(np.float32)
    else:
        n, c, *spatial = shape
        target = rng.integers(0, c, size=(n, *spatial), dtype=np.int64)
    return logits, target


def _to_framework(framework: str, logits: np.ndarray, target: np.ndarray) -> tuple[Any, Any]:
    if framework.startswith("torch"):
        import torch

        return torch.from_numpy(logits), torch.from_numpy(target)
    import jax
    import jax.numpy as jnp

    if target.dtype == np.int64 and not jax.config.jax_enable_x64:
        target = target.astype(np.int32)
    return jnp.asarray(logits), jnp.asarray(target)


# --------------------------------------------------------------------------- ours


_OURS: dict[str, tuple[str, str | None]] = {
    # family -> (multiclass function path, binary function path)
    "dice": ("segloss_xp.dice_loss", "segloss_xp.dice_loss"),
    "tversky": ("segloss_xp.tversky_loss", "segloss_xp.tversky_loss"),
    "generalized_dice": ("segloss_xp.generalized_dice_loss",
                         "segloss_xp.generalized_dice_loss"),
    "cross_entropy": ("segloss_xp.pixel.cross_entropy", "segloss_xp.pixel.cross_entropy"),
    "focal": ("segloss_xp.pixel.focal_loss", "segloss_xp.pixel.focal_loss"),
    "dice_ce": ("segloss_xp.compound.dice_ce_loss", "segloss_xp.compound.dice_ce_loss"),
    "lovasz": ("segloss_xp.lovasz.lovasz_softmax_loss", "segloss_xp.lovasz.lovasz_hinge_loss"),
}

_OURS_LABEL = {
    "dice": "dice_loss",
    "tversky": "tversky_loss",
    "generalized_dice": "generalized_dice_loss",
    "cross_entropy": "pixel.cross_entropy",
    "focal": "pixel.focal_loss (gamma=2)",
    "dice_ce": "compound.dice_ce_loss",
    "lovasz": "lovasz.lovasz_softmax_loss [WBIN: lovasz_hinge_loss]",
}

NOT_IMPLEMENTED = "n/a (not implemented)"


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


# what each framework row needs of a function, in its declared capabilities
_FEATURES = {"torch": ("autograd",), "torch-compile": ("autograd", "compile"),
             "jax": ("autograd", "jit")}


def _unsupported(name: str, framework: str) -> str | None:
    """The declared reason ``name`` cannot run a ``framework`` row, or None."""
    from segloss_xp._capabilities import CAPABILITIES

    caps = CAPABILITIES[name]
    reasons = [getattr(caps, f) for f in _FEATURES[framework] if not caps.supports(f)]
    return "; ".join(reasons) if reasons else None


def _ours_builder(family: str, validate: bool = True) -> Callable[[Ctx], Bench]:
    def build(ctx: Ctx) -> Bench:
        path = _OURS[family][1 if ctx.binary else 0]
        func = _lookup(path) if path is not None else None
        if func is None:
            raise NotApplicable(f"{NOT_IMPLEMENTED}: {path}")
        unsupported = _unsupported(func.__name__, ctx.framework)
        if unsupported is not None:
            raise NotApplicable(f"n/a ({unsupported})")
        kwargs = {"mode": "binary"} if ctx.binary else {}
        if validate:
            def fn(x: Any, t: Any) -> Any:
                return func(x, t, **kwargs)
        else:
            import segloss_xp

            def fn(x: Any, t: Any) -> Any:
                with segloss_xp.options(validate=False):
                    return func(x, t, **kwargs)
        return Bench(fn)

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


def _optax_focal(ctx: Ctx) -> Bench:
    import jax.numpy as jnp

    if not ctx.binary:
        raise NotApplicable("n/a (optax has only the sigmoid focal loss)")
    f = peers.optax_losses().sigmoid_focal_loss
    return Bench(lambda x, t: jnp.mean(f(x, t, alpha=None, gamma=2.0)))


# --------------------------------------------------------------------------- the rows


def _rows() -> list[Row]:
    rows = [
        Row("floor.sum.torch", "floor: torch `logits.sum()`", "floor", "floor", "torch",
            _floor_sum),
        Row("floor.act.torch", "floor: torch softmax(logits,1) [WBIN: sigmoid]", "floor",
            "floor", "torch", _floor_activation),
        Row("floor.sum.jax", "floor: jax `logits.sum()` (jit)", "floor", "floor", "jax",
            _floor_sum),
        Row("torch.ce", "torch F.cross_entropy [WBIN: F.binary_cross_entropy_with_logits]",
            "cross_entropy", "ref", "torch", _torch_ce),
        Row("optax.ce", "optax softmax_cross_entropy_with_integer_labels(axis=1) "
            "[WBIN: sigmoid_binary_cross_entropy] (jit)", "cross_entropy", "peer", "jax",
            _optax_ce),
        Row("monai.dice", "MONAI DiceLoss(softmax,to_onehot_y) [WBIN: sigmoid]", "dice",
            "peer", "torch", _monai("DiceLoss")),
        Row("smp.dice", "smp DiceLoss('multiclass') [WBIN: 'binary']", "dice", "peer",
            "torch", _smp("DiceLoss")),
        Row("kornia.dice", "kornia dice_loss", "dice", "peer", "torch",
            _kornia_2d_softmax("dice_loss")),
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
            "torch", _smp("LovaszLoss"), slow_on=("W3D",),
            note="WBIN: per_image=False (ours and kornia: per image)"),
        Row("kornia.lovasz", "kornia lovasz_softmax_loss [WBIN: lovasz_hinge_loss]", "lovasz",
            "peer", "torch", _kornia_lovasz,
            note="all classes, per image (ours and smp: present classes, pooled)"),
    ]
    for family in FAMILIES[1:]:
        label = _OURS_LABEL[family]
        slow = ("W3D",) if family == "lovasz" else ()
        rows.append(Row(f"ours.{family}.torch", f"ours {label} (torch)", family, "ours",
                        "torch", _ours_builder(family), slow_on=slow))
        if family == "dice":
            rows.append(Row("ours.dice.torch-novalidate",
                            "ours dice_loss (torch, options(validate=False))", family, "ours",
                            "torch", _ours_builder(family, validate=False),
                            workloads=("W2D",)))
        rows.append(Row(f"ours.{family}.jax", f"ours {label} (jax jit)", family, "ours",
                        "jax", _ours_builder(family), slow_on=slow))
        rows.append(Row(f"ours.{family}.torch-compile", f"ours {label} (torch.compile)",
                        family, "ours", "torch-compile", _ours_builder(family),
                        slow_on=slow, optional=True))
    return rows


ROWS: list[Row] = _rows()


def row_by_key(key: str) -> Row:
    for row in ROWS:
        if row.key == key:
            return row
    raise KeyError(f"no benchmark row {key!r}; known: {[r.key for r in ROWS]}")


# --------------------------------------------------------------------------- timed calls


@dataclass
class Callables:
    """The two timed calls of one row on one workload, and how to read their results."""

    fwd: Callable[[], Any]  # -> loss value (no autograd)
    fb: Callable[[], Any]  # -> (loss, gradient w.r.t. the logits)
    framework: str
    input_bytes: int
    extra: dict[str, Any] = field(default_factory=dict)

    def value(self, out: Any) -> float:
        return float(np.asarray(out))

    def finite(self, out: Any) -> bool:
        loss, grad = out
        return bool(np.isfinite(np.asarray(loss))) and bool(np.all(np.isfinite(np.asarray(
            grad))))


def make_callables(row: Row, workload: str, shape: tuple[int, ...] | None = None,
                   seed: int = 0) -> Callables:
    """Build the row's loss for ``workload`` and wrap it in ``fwd()`` / ``fb()``.

    Raises :class:`NotApplicable` (reason in the message) when the row does not
    apply. ``fwd`` runs under ``torch.no_grad`` (torch) or ``jax.jit(loss)``;
    ``fb`` returns ``(loss, dloss/dlogits)`` via ``torch.autograd.grad`` or
    ``jax.jit(jax.value_and_grad(loss))``. JAX results are blocked on.
    """
    if workload not in row.workloads:
        raise NotApplicable(f"n/a (row not defined on {workload})")
    wl = WORKLOADS[workload]
    shape = wl.shape if shape is None else tuple(shape)
    ctx = Ctx(workload, wl.kind, row.framework, shape)
    try:
        bench = row.build(ctx)
    except peers.PeerMissing as exc:
        raise NotApplicable(f"n/a ({exc})") from exc
    logits_np, target_np = make_numpy_inputs(workload, shape, seed)
    x, t = _to_framework(row.framework, logits_np, target_np)
    if bench.target is not None:
        t = bench.target(t)
    fn = bench.fn
    nbytes = int(math.prod(shape)) * 4
    if row.framework == "jax":
        import jax

        f_fwd = jax.jit(fn)
        f_fb = jax.jit(jax.value_and_grad(fn))
        return Callables(fwd=lambda: f_fwd(x, t).block_until_ready(),
                         fb=lambda: jax.block_until_ready(f_fb(x, t)),
                         framework="jax", input_bytes=nbytes)
    import torch

    if row.framework == "torch-compile":
        fn = torch.compile(fn)
    xg = x.detach().requires_grad_(True)

    def fwd() -> Any:
        with torch.no_grad():
            return fn(x, t)

    def fb() -> Any:
        loss = fn(xg, t)
        (grad,) = torch.autograd.grad(loss, xg)
        return loss.detach(), grad

    return Callables(fwd=fwd, fb=fb, framework=row.framework, input_bytes=nbytes)
