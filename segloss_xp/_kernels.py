"""The hot ``(N, C, S)`` kernels, each with a closed-form gradient, written once.

All the full-size work of a region loss is its soft statistics ``(I, P, G)``; all
of it for a multiclass pixel loss with integer labels is one per-pixel term. Autograd
through the plain chain (activation, masking, products, sums, gathers) keeps every
full-size temporary for the backward and runs one backward kernel per step. Here a
forward keeps only its inputs, and the backward recomputes the activation from the
logits (or keeps it, where that is cheaper: see each forward) and applies the chain
rule in closed form. What follows a kernel (the formula
on ``(N, C)`` statistics, pixel weights and the reduction on ``(N, S)``) stays plain
array code: autograd through those costs little.

**Statistics** (:data:`STATISTICS`), ``k = 2`` when squared, ``m`` the mask::

    I = Σ_s m·p·t      P = Σ_s m·p^k      G = Σ_s m·t^k
    u  = m·(dI·t + dP·k·p^(k−1))
    dx = p ⊙ (u − Σ_c p_c u_c)   softmax;   p(1 − p) ⊙ u   sigmoid;   u   probabilities
    dt = m·(dI·p + dG·k·t^(k−1))  (dense targets: soft labels may carry a gradient)

**Label term** (:data:`LABEL_TERM`), softmax with integer labels ``y``, ``q = p_y``::

    l  = (1 − ε)·α_y·(1 − q)^γ·(−log q) + (ε/C)·Σ_c w_c (−log p_c)
    dx = g·[(1 − ε)·h·(p − δ_y) + (ε/C)·(p·Σ_c w_c − w)]
    h  = α_y·[(1 − q)^γ − γ·q·(1 − q)^γ·log q / (1 − q)]

(cross entropy: ``γ = 0``, ``α = w``; focal: ``ε = 0``.)

**Binary term** (:data:`BINARY_TERM`), BCE with logits, ``pw`` the positive weight::

    l  = pw·y·softplus(−x) + (1 − y)·softplus(x)
    dx = g·(σ(x)·(1 + (pw − 1)·y) − pw·y)        (σ(x) − y without pw)
    dy = g·(pw·softplus(−x) − softplus(x))

Integer labels enter as a gather and a scatter-add of the label class (``_dispatch``),
never as a float one-hot; ``Σ_c p_c u_c`` and ``Σ_c w_c x_c`` are matrix-vector products.

Each kernel is registered with torch as an ``autograd.Function`` (``setup_context``
form, so ``torch.func`` and ``torch.compile`` work) and with JAX as a
``custom_vjp``; the other libraries (no autograd) run the forward alone. The Lovász
extension (``lovasz.EXTENSION``, its family's own module) goes through the same
:func:`run`. Second derivatives: torch differentiates the backward's own operations
(``create_graph=True`` works) and JAX's ``custom_vjp`` supports reverse-over-reverse,
but not forward mode (``jax.jvp``, ``jax.jacfwd``, ``jax.hessian``):
``options(closed_form=False)`` runs plain autograd through the forward instead.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._dispatch import (
    binary_cross_entropy,
    label_counts,
    label_sums,
    log_softmax,
    multiply_temporary,
    product_difference,
    scatter_labels,
    sigmoid,
    softmax,
    take_labels,
)
from ._math import safe_divide, safe_pow
from ._namespace import Array, Namespace, device, library
from ._options import get_option

__all__ = ["BINARY_TERM", "LABEL_TERM", "STATISTICS", "LabelConfig", "StatsConfig", "run"]

Arrays = tuple[Any, ...]  # arrays, some may be None


@dataclass(frozen=True)
class Kernel:
    """A forward ``f(*arrays, config, xp) -> (outputs, residuals)`` and its closed-form
    backward ``b(residuals, cotangents, config, xp) -> one gradient (or None) per array``.

    A cotangent may be ``None`` (that output is unused: zero). ``plain_on``: the
    libraries where the kernel runs under plain autograd because that was measured
    faster: a fused operation of the library (``log_softmax``, BCE with logits) does
    most of the forward and brings a fused backward, and a closed form would only add
    passes and fresh buffers. ``plain_for``: the configurations that rule applies to
    (default: all).
    """

    name: str
    forward: Callable[..., tuple[Arrays, Arrays]]
    backward: Callable[..., Arrays]
    plain_on: frozenset[str] = frozenset()
    plain_for: Callable[[Any], bool] = lambda config: True


# torch: below this many elements in a kernel's first input, plain autograd. The
# closed form's fixed cost per call (autograd.Function binds its arguments through
# inspect.signature, and its backward is a dozen small operations) outweighs what it
# saves, and the memory it saves is below 4 MiB per array (./dev bench TINY dice ÷
# MONAI: 2.43× on 2026-12-01, 1.12× and 2.21× in the two runs of 2026-12-02). W2D
# (2^21 elements) and W3D keep the closed form.
PLAIN_BELOW = 2**20


def run(kernel: Kernel, *arrays: Array | None, config: Any, xp: Namespace) -> Arrays:
    """``kernel``'s outputs, differentiable by its closed-form backward where registered."""
    name = library(xp)
    if name == "torch" and sys.modules["torch"].compiler.is_compiling():
        name = "torch.compile"  # see _LOADERS
    closed_form = get_option("closed_form") and not (
        name in kernel.plain_on and kernel.plain_for(config)) and not (
        name == "torch" and _size(arrays[0]) < PLAIN_BELOW)
    rule = _rule(kernel, name) if closed_form else None
    if rule is None:
        return kernel.forward(*arrays, config=config, xp=xp)[0]
    return rule(*arrays, config=config, xp=xp)


def _size(x: Array | None) -> int:
    return 0 if x is None else math.prod(x.shape)


def _differentiating_the_backward(xp: Namespace) -> bool:
    """torch runs a backward with grad mode on for ``create_graph=True``: a kept
    activation must then be recomputed from the input, so that it carries a graph."""
    return library(xp) == "torch" and bool(sys.modules["torch"].is_grad_enabled())


def _wants_gradient(target: Array) -> bool:
    """Whether a (soft) target's gradient is asked for: a torch tensor says so; JAX
    computes it and drops it unused (dead code under ``jit``)."""
    return bool(getattr(target, "requires_grad", True))


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class StatsConfig:
    """The static part of a statistics call (hashable: a JAX ``nondiff`` argument)."""

    activation: str  # "softmax" (over axis 1), "sigmoid" or "identity"
    squared: bool  # P = Σ p², G = Σ t²


def _activate(x: Array, activation: str, *, xp: Namespace) -> Array:
    if activation == "softmax":
        return softmax(x, axis=1, xp=xp)
    return sigmoid(x, xp=xp) if activation == "sigmoid" else x


def _is_labels(target: Array, *, xp: Namespace) -> bool:
    return bool(target.ndim == 2 and not xp.isdtype(target.dtype, "real floating"))


def _safe_labels(labels: Array, mask: Array | None, *, xp: Namespace) -> Array:
    """Labels with ignored elements set to class 0 (their weight is 0 by the mask)."""
    return labels if mask is None else xp.where(mask[:, 0, :], labels, 0)


def _masked_sum(x: Array, m: Array | None, *, xp: Namespace) -> Array:
    """``Σ_s x·m`` ``(N, C)``; a ``(N, 1, S)`` mask as a matrix-vector product (no temporary)."""
    if m is None:
        return xp.sum(x, axis=2)
    if m.shape[1] == 1:
        return xp.matmul(x, xp.permute_dims(m, (0, 2, 1)))[:, :, 0]
    return xp.sum(x * m, axis=2)


def _stats_forward(x: Array, target: Array, mask: Array | None, *, config: StatsConfig,
                   xp: Namespace) -> tuple[Arrays, Arrays]:
    """``(I, P, G)`` each ``(N, C)``. ``target``: labels ``(N, S)`` or float ``(N, C, S)``;
    ``mask``: bool ``(N, 1 or C, S)``, True where an element counts, or None.

    Keeps the activation ``p`` for the backward (one ``(N, C, S)`` buffer instead of a
    second softmax pass), and with labels ``p`` at the label (gathering it again from
    ``p`` took 4.1–6.6 ms on W3D, against 8 MiB kept).
    """
    p = _activate(x, config.activation, xp=xp)
    m = None if mask is None else xp.astype(mask, p.dtype)
    pred_sum = _masked_sum(p * p if config.squared else p, m, xp=xp)
    if _is_labels(target, xp=xp):
        labels = _safe_labels(target, mask, xp=xp)
        at = take_labels(p, labels, xp=xp)
        weight = None if m is None else m[:, 0, :]
        c = p.shape[1]
        inter = label_sums(at if weight is None else at * weight, labels, num_classes=c, xp=xp)
        target_sum = (label_counts(labels, num_classes=c, like=p, xp=xp) if weight is None
                      else label_sums(weight, labels, num_classes=c, xp=xp))
        return (inter, pred_sum, target_sum), (x, p, labels, weight, at)
    t = target if m is None else target * m
    inter = xp.sum(p * t, axis=2)
    target_sum = xp.sum(t * t if config.squared else t, axis=2)
    return (inter, pred_sum, target_sum), (x, p, target, m)


def _stats_backward(residuals: Arrays, cotangents: Arrays, *, config: StatsConfig,
                    xp: Namespace) -> Arrays:
    x, p = residuals[:2]
    if _differentiating_the_backward(xp):  # torch create_graph: p as a function of x
        p = _activate(x, config.activation, xp=xp)
    d_inter, d_pred, d_target = (xp.zeros(p.shape[:2], dtype=p.dtype, device=device(p))
                                 if d is None else d for d in cotangents)
    d_p = d_pred[:, :, None] * (2 * p) if config.squared else d_pred[:, :, None]
    if len(residuals) == 5:  # integer labels
        _, _, labels, weight, at = residuals
        if _differentiating_the_backward(xp):
            at = take_labels(p, labels, xp=xp)
        if weight is not None:
            d_p = d_p * weight[:, None, :]

        def hit() -> Array:  # dI at each element's label
            at_label = take_labels(d_inter, labels, xp=xp)
            return at_label if weight is None else at_label * weight
        return _labels_backward(p, labels, at, d_p, hit, d_pred, config=config, xp=xp), None, None
    _, _, target, m = residuals
    if m is not None:
        d_p = d_p * m
    t = target if m is None else target * m
    u = d_inter[:, :, None] * t + d_p
    if config.activation == "softmax":
        dx = product_difference(p, u, xp.sum(p * u, axis=1, keepdims=True), xp=xp)
    else:
        dx = p * (1 - p) * u if config.activation == "sigmoid" else u
    if not _wants_gradient(target):
        return dx, None, None
    d_t = d_inter[:, :, None] * p + (d_target[:, :, None] * (2 * target) if config.squared
                                    else d_target[:, :, None])
    return dx, (d_t if m is None else d_t * m), None


def _labels_backward(p: Array, labels: Array, at: Array, d_p: Array,
                     hit: Callable[[], Array], d_pred: Array, *, config: StatsConfig,
                     xp: Namespace) -> Array:
    """``dx`` for integer labels: ``u = d_p + hit()`` at the label class, never materialised.

    ``at`` is ``p`` at each element's label; ``hit()`` is ``dI`` there, an ``(N, S)`` array
    made when needed (twice: a gather from ``(N, C)`` costs less than the memory): beside
    ``p`` and the fresh ``(N, C, S)`` gradient two ``(N, S)`` arrays are alive, ``at``
    and the class mean.
    """
    if config.activation != "softmax":
        u = scatter_labels(xp.zeros_like(p) + d_p, labels, hit(), xp=xp)  # a fresh buffer
        return p * (1 - p) * u if config.activation == "sigmoid" else u
    # softmax: dx = p ⊙ (d_p + δ_y·hit − mean), mean = Σ_c p_c d_p_c + hit·p_y
    label_part = hit() * at
    if d_p.shape[2] == p.shape[2]:  # squared or masked: a full map
        mean = xp.sum(p * d_p, axis=1) + label_part
    else:  # Σ_c p_c dP_c as a matrix-vector product
        mean = xp.matmul(d_pred[:, None, :], p)[:, 0, :] + label_part
    del label_part
    u = d_p - mean[:, None, :]  # a fresh buffer
    del mean
    return multiply_temporary(scatter_labels(u, labels, hit(), xp=xp), p, xp=xp)


# torch, sigmoid and identity activations (binary / multilabel): plain autograd, whose
# fused sigmoid backward beats p(1 − p)·u on fresh buffers (./dev bench WBIN binary Dice
# forward+backward: 2.38 -> 1.22 ms, peak 16 -> 12 MiB). The softmax keeps the closed
# form: leaner on W3D (256 against 352 MiB).
STATISTICS = Kernel("statistics", _stats_forward, _stats_backward,
                    plain_on=frozenset({"torch"}),
                    plain_for=lambda config: config.activation != "softmax")


# --------------------------------------------------------------------------- label term


@dataclass(frozen=True)
class LabelConfig:
    """Static part of a label-term call: focal ``gamma`` and label smoothing ``epsilon``."""

    gamma: float = 0.0
    epsilon: float = 0.0


def _label_forward(x: Array, labels: Array, alpha: Array | None, weights: Array | None, *,
                   config: LabelConfig, xp: Namespace) -> tuple[Arrays, Arrays]:
    """Per-pixel ``l`` ``(N, S)`` (module docstring); labels in ``[0, C)``, ``alpha`` and
    ``weights`` ``(N, C)`` (broadcast) or None."""
    log_p = log_softmax(x, axis=1, xp=xp)  # one fused pass; exact for logits of 1e4
    log_q = take_labels(log_p, labels, xp=xp)
    # −(1 − q)^γ·log q, negated once after the product
    loss = -log_q if config.gamma == 0 else -(
        _focal_factor(xp.expm1(log_q), config.gamma, xp=xp) * log_q)
    if alpha is not None:
        loss = take_labels(alpha, labels, xp=xp) * loss
    # the backward recomputes p (one fused softmax): no full-size buffer is kept
    residuals = (x, labels, alpha, weights, log_q)
    if config.epsilon == 0:
        return (loss,), residuals
    c = x.shape[1]
    # Σ_c w_c (−log p_c), a matrix-vector product
    smooth = -(xp.sum(log_p, axis=1) if weights is None
               else xp.matmul(weights[:, None, :], log_p)[:, 0, :])
    return ((1 - config.epsilon) * loss + (config.epsilon / c) * smooth,), residuals


def _focal_factor(e: Array, gamma: float, *, xp: Namespace) -> Array:
    """The focal factor ``(1 − q)^γ`` from ``e = q − 1 = expm1(log q)`` (accurate near
    ``q = 1``); ``γ = 2`` (the default) as ``e·e``: no negation, no power."""
    return e * e if gamma == 2 else safe_pow(-e, gamma, xp=xp)


def _label_backward(residuals: Arrays, cotangents: Arrays, *, config: LabelConfig,
                    xp: Namespace) -> Arrays:
    x, labels, alpha, weights, log_q = residuals
    (grad,) = cotangents
    if grad is None:
        return None, None, None, None
    h = None if alpha is None else take_labels(alpha, labels, xp=xp)
    p = softmax(x, axis=1, xp=xp)
    if config.gamma != 0:
        if _differentiating_the_backward(xp):
            log_q = take_labels(log_softmax(x, axis=1, xp=xp), labels, xp=xp)
        e = xp.expm1(log_q)  # q − 1, accurate near q = 1
        # q·log q / (1 − q) → −1 as q → 1
        ratio = safe_divide(xp.exp(log_q) * log_q, -e, fill=-1.0, xp=xp)
        focal = _focal_factor(e, config.gamma, xp=xp) * (1 - config.gamma * ratio)
        h = focal if h is None else h * focal
    g = grad if h is None else grad * h
    if config.epsilon != 0:
        g = (1 - config.epsilon) * g
    c = x.shape[1]
    if config.epsilon == 0:
        dx = p * g[:, None, :]
    else:
        w_sum = c if weights is None else xp.sum(weights, axis=1)[:, None]
        scale = config.epsilon / c * grad
        w = 1.0 if weights is None else weights[:, :, None]
        dx = p * (g + scale * w_sum)[:, None, :] - scale[:, None, :] * w
    return scatter_labels(dx, labels, -g, xp=xp), None, None, None


# torch: plain autograd through log_softmax and the (N, S) focal algebra (./dev bench rows
# ours.focal.torch vs ours.focal.torch-plain, forward+backward: W2D 10.7 -> 9.78 ms, W3D
# 86.9 vs 90.8 ms, within this machine's run-to-run spread; more memory kept, W3D 310 ->
# 434 MiB). Cross entropy too (pixel._label_term: how it compares with F.cross_entropy).
LABEL_TERM = Kernel("label_term", _label_forward, _label_backward,
                    plain_on=frozenset({"torch"}))


# --------------------------------------------------------------------------- binary term


def _binary_forward(x: Array, y: Array, pos_weight: Array | None, *, config: None,
                    xp: Namespace) -> tuple[Arrays, Arrays]:
    """Elementwise BCE with logits ``(N, C, S)``; ``pos_weight`` broadcasts, or None."""
    return (binary_cross_entropy(x, y, pos_weight, xp=xp),), (x, y, pos_weight)


def _binary_backward(residuals: Arrays, cotangents: Arrays, *, config: None,
                     xp: Namespace) -> Arrays:
    x, y, pos_weight = residuals
    (grad,) = cotangents
    if grad is None:
        return None, None, None
    p = sigmoid(x, xp=xp)
    if pos_weight is None:
        dx = grad * (p - y)
    else:
        dx = grad * (p * (1 + (pos_weight - 1) * y) - pos_weight * y)
    if not _wants_gradient(y):
        return dx, None, None
    d_y = grad * (binary_cross_entropy(x, xp.ones_like(y), pos_weight, xp=xp)
                  - binary_cross_entropy(x, xp.zeros_like(y), None, xp=xp))
    return dx, d_y, None


# torch: F.binary_cross_entropy_with_logits and its fused backward (./dev bench WBIN row
# ours.cross_entropy.torch: 2.13× -> 1.38× of the peer, peak memory 2.0× -> 0.67×)
BINARY_TERM = Kernel("binary_term", _binary_forward, _binary_backward,
                     plain_on=frozenset({"torch"}))


# --------------------------------------------------------------------------- registration


Rule = Callable[..., Arrays]
_RULES: dict[tuple[str, str], Rule | None] = {}


def _rule(kernel: Kernel, name: str) -> Rule | None:
    """The registered differentiable version of ``kernel`` for library ``name`` (or None)."""
    loader = _LOADERS.get(name)
    if loader is None:
        return None
    key = (kernel.name, name)
    if key not in _RULES:
        _RULES[key] = loader(kernel)
    return _RULES[key]


def _torch_rule(kernel: Kernel) -> Rule:
    torch = sys.modules["torch"]

    class Function(torch.autograd.Function):  # type: ignore[misc, name-defined]
        generate_vmap_rule = True

        @staticmethod
        def forward(*inputs: Any) -> Arrays:
            *arrays, config, xp = inputs
            outputs, residuals = kernel.forward(*arrays, config=config, xp=xp)
            # setup_context may keep only inputs and outputs: each residual is an input
            # (by position), None, or leaves as an extra (non-differentiable) output
            spec: list[tuple[str, int]] = []
            extra: list[Array] = []
            for r in residuals:
                where = next((i for i, a in enumerate(arrays) if a is r), None)
                if r is None:
                    spec.append(("none", 0))
                elif where is not None:
                    spec.append(("input", where))
                else:
                    spec.append(("output", len(extra)))
                    extra.append(r)
            return (*outputs, _Spec(len(outputs), tuple(spec)), *extra)

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Arrays) -> None:
            *arrays, config, xp = inputs
            spec = next(o for o in output if isinstance(o, _Spec))
            extra = output[spec.count + 1:]
            residuals = [None if kind == "none" else arrays[i] if kind == "input" else extra[i]
                         for kind, i in spec.residuals]
            ctx.save_for_backward(*residuals)
            ctx.mark_non_differentiable(*extra)
            ctx.set_materialize_grads(False)
            ctx.config, ctx.xp, ctx.count = config, xp, spec.count

        @staticmethod
        def backward(ctx: Any, *cotangents: Array | None) -> tuple[Array | None, ...]:
            grads = kernel.backward(tuple(ctx.saved_tensors), cotangents[:ctx.count],
                                    config=ctx.config, xp=ctx.xp)
            needed = ctx.needs_input_grad
            return (*(g if need else None for g, need in zip(grads, needed, strict=False)),
                    None, None)

    def rule(*arrays: Array | None, config: Any, xp: Namespace) -> Arrays:
        if not (torch.is_grad_enabled()
                and any(a is not None and a.requires_grad for a in arrays)):
            return kernel.forward(*arrays, config=config, xp=xp)[0]
        output = Function.apply(*arrays, config, xp)
        count = next(o for o in output if isinstance(o, _Spec)).count
        return tuple(output[:count])
    return rule


@dataclass(frozen=True)
class _Spec:
    """Where each residual of a torch forward went (see ``_torch_rule``)."""

    count: int  # number of real outputs
    residuals: tuple[tuple[str, int], ...]


def _jax_rule(kernel: Kernel) -> Rule:
    jax = sys.modules["jax"]
    jnp = jax.numpy

    def primal(arrays: Arrays, config: Any) -> Arrays:
        return kernel.forward(*arrays, config=config, xp=jnp)[0]

    def fwd(arrays: Arrays, config: Any) -> tuple[Arrays, Arrays]:
        return kernel.forward(*arrays, config=config, xp=jnp)

    def bwd(config: Any, residuals: Arrays, cotangents: Arrays) -> tuple[Arrays]:
        return (tuple(kernel.backward(residuals, cotangents, config=config, xp=jnp)),)

    differentiable = jax.custom_vjp(primal, nondiff_argnums=(1,))
    differentiable.defvjp(fwd, bwd)

    def rule(*arrays: Array | None, config: Any, xp: Namespace) -> Arrays:
        return differentiable(arrays, config)  # type: ignore[no-any-return]
    return rule


# torch.compile traces the plain forward (no rule): inductor fuses it and derives the
# backward itself, and building a Function class while tracing would be a graph break
_LOADERS: dict[str, Callable[[Kernel], Rule]] = {"torch": _torch_rule, "jax": _jax_rule}
