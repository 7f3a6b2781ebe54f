"""The hot ``(N, C, S)`` kernels, each with a closed-form gradient, written once.

All the full-size work of a region loss is its soft statistics ``(I, P, G)``; all
of it for a multiclass pixel loss with integer labels is one per-pixel term. Autograd
through the plain chain (activation, masking, products, sums, gathers) keeps every
full-size temporary for the backward and runs one backward kernel per step. Here a
forward keeps only its inputs, and the backward recomputes the activation from the
logits and applies the chain rule in closed form. What follows a kernel (the formula
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

(cross entropy: ``γ = 0``, ``α = w``; focal: ``ε = 0``.) Integer labels enter as a
gather and a scatter-add of the label class (``_dispatch``), never as a float
one-hot; ``Σ_c p_c u_c`` and ``Σ_c w_c x_c`` are matrix-vector products.

Each kernel is registered with torch as an ``autograd.Function`` (``setup_context``
form, so ``torch.func`` and ``torch.compile`` work) and with JAX as a
``custom_vjp``; the other libraries (no autograd) run the forward alone. Second
derivatives: torch differentiates the backward's own operations
(``create_graph=True`` works) and JAX's ``custom_vjp`` supports reverse-over-reverse,
but not forward mode (``jax.jvp``, ``jax.jacfwd``, ``jax.hessian``):
``options(closed_form=False)`` runs plain autograd through the forward instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._dispatch import (
    label_counts,
    label_sums,
    log_softmax,
    scatter_labels,
    sigmoid,
    softmax,
    take_labels,
)
from ._math import safe_divide, safe_pow
from ._namespace import Array, Namespace, library
from ._options import get_option

__all__ = ["LABEL_TERM", "STATISTICS", "LabelConfig", "StatsConfig", "run"]

Arrays = tuple[Any, ...]  # arrays, some may be None


@dataclass(frozen=True)
class Kernel:
    """A forward ``f(*arrays, config, xp) -> outputs`` and its closed-form backward
    ``b(*arrays, *cotangents, config, xp) -> one gradient (or None) per array``."""

    name: str
    forward: Callable[..., Arrays]
    backward: Callable[..., Arrays]


def run(kernel: Kernel, *arrays: Array | None, config: Any, xp: Namespace) -> Arrays:
    """``kernel``'s outputs, differentiable by its closed-form backward where registered."""
    name = library(xp)
    if name == "torch" and sys.modules["torch"].compiler.is_compiling():
        name = "torch.compile"  # see _torch_rule
    rule = _rule(kernel, name) if get_option("closed_form") else None
    if rule is None:
        return kernel.forward(*arrays, config=config, xp=xp)
    return rule(*arrays, config=config, xp=xp)


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
                   xp: Namespace) -> Arrays:
    """``(I, P, G)`` each ``(N, C)``. ``target``: labels ``(N, S)`` or float ``(N, C, S)``;
    ``mask``: bool ``(N, 1 or C, S)``, True where an element counts, or None."""
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
        return inter, pred_sum, target_sum
    t = target if m is None else target * m
    inter = xp.sum(p * t, axis=2)
    target_sum = xp.sum(t * t if config.squared else t, axis=2)
    return inter, pred_sum, target_sum


def _stats_backward(x: Array, target: Array, mask: Array | None, d_inter: Array,
                    d_pred: Array, d_target: Array, *, config: StatsConfig,
                    xp: Namespace) -> Arrays:
    p = _activate(x, config.activation, xp=xp)
    m = None if mask is None else xp.astype(mask, p.dtype)
    d_p = d_pred[:, :, None] * (2 * p) if config.squared else d_pred[:, :, None]
    if m is not None:
        d_p = d_p * m
    if _is_labels(target, xp=xp):
        labels = _safe_labels(target, mask, xp=xp)
        hit = take_labels(d_inter, labels, xp=xp)  # dI at each element's label
        if m is not None:
            hit = hit * m[:, 0, :]
        dx = _labels_backward(p, labels, d_p, hit, d_pred, config=config, xp=xp)
        return dx, None, None
    t = target if m is None else target * m
    u = d_inter[:, :, None] * t + d_p
    if config.activation == "softmax":
        dx = p * (u - xp.sum(p * u, axis=1, keepdims=True))
    else:
        dx = p * (1 - p) * u if config.activation == "sigmoid" else u
    d_t = d_inter[:, :, None] * p + (d_target[:, :, None] * (2 * target) if config.squared
                                    else d_target[:, :, None])
    return dx, (d_t if m is None else d_t * m), None


def _labels_backward(p: Array, labels: Array, d_p: Array, hit: Array, d_pred: Array, *,
                     config: StatsConfig, xp: Namespace) -> Array:
    """``dx`` for integer labels: ``u = d_p + hit`` at the label class, never materialised."""
    if config.activation != "softmax":
        u = scatter_labels(xp.zeros_like(p) + d_p, labels, hit, xp=xp)  # a fresh buffer
        return p * (1 - p) * u if config.activation == "sigmoid" else u
    at = take_labels(p, labels, xp=xp)
    if d_p.shape[2] == p.shape[2]:  # squared or masked: a full map
        mean = xp.sum(p * d_p, axis=1)
    else:  # Σ_c p_c dP_c as a matrix-vector product
        mean = xp.matmul(d_pred[:, None, :], p)[:, 0, :]
    mean = mean + hit * at
    dx = p * (d_p - mean[:, None, :])
    return scatter_labels(dx, labels, hit * at, xp=xp)


STATISTICS = Kernel("statistics", _stats_forward, _stats_backward)


# --------------------------------------------------------------------------- label term


@dataclass(frozen=True)
class LabelConfig:
    """Static part of a label-term call: focal ``gamma`` and label smoothing ``epsilon``."""

    gamma: float = 0.0
    epsilon: float = 0.0


def _label_forward(x: Array, labels: Array, alpha: Array | None, weights: Array | None, *,
                   config: LabelConfig, xp: Namespace) -> Arrays:
    """Per-pixel ``l`` ``(N, S)`` (module docstring); labels in ``[0, C)``, ``alpha`` and
    ``weights`` ``(N, C)`` (broadcast) or None."""
    log_p = log_softmax(x, axis=1, xp=xp)  # one fused pass; exact for logits of 1e4
    log_q = take_labels(log_p, labels, xp=xp)
    loss = -log_q
    if config.gamma != 0:
        loss = safe_pow(-xp.expm1(log_q), config.gamma, xp=xp) * loss
    if alpha is not None:
        loss = take_labels(alpha, labels, xp=xp) * loss
    if config.epsilon == 0:
        return (loss,)
    c = x.shape[1]
    # Σ_c w_c (−log p_c), a matrix-vector product
    smooth = -(xp.sum(log_p, axis=1) if weights is None
               else xp.matmul(weights[:, None, :], log_p)[:, 0, :])
    return ((1 - config.epsilon) * loss + (config.epsilon / c) * smooth,)


def _label_backward(x: Array, labels: Array, alpha: Array | None, weights: Array | None,
                    grad: Array, *, config: LabelConfig, xp: Namespace) -> Arrays:
    h = None if alpha is None else take_labels(alpha, labels, xp=xp)
    if config.gamma == 0:
        p = softmax(x, axis=1, xp=xp)
    else:
        log_p = log_softmax(x, axis=1, xp=xp)
        p = xp.exp(log_p)
        log_q = take_labels(log_p, labels, xp=xp)
        rest = -xp.expm1(log_q)  # 1 − q, accurate near q = 1
        # q·log q / (1 − q) → −1 as q → 1
        ratio = safe_divide(xp.exp(log_q) * log_q, rest, fill=-1.0, xp=xp)
        focal = safe_pow(rest, config.gamma, xp=xp) * (1 - config.gamma * ratio)
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


LABEL_TERM = Kernel("label_term", _label_forward, _label_backward)


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
            return kernel.forward(*arrays, config=config, xp=xp)

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Arrays) -> None:
            *arrays, config, xp = inputs
            ctx.save_for_backward(*arrays)
            ctx.config, ctx.xp = config, xp

        @staticmethod
        def backward(ctx: Any, *cotangents: Array) -> tuple[Array | None, ...]:
            grads = kernel.backward(*ctx.saved_tensors, *cotangents, config=ctx.config,
                                    xp=ctx.xp)
            needed = ctx.needs_input_grad
            return (*(g if need else None for g, need in zip(grads, needed, strict=False)),
                    None, None)

    def rule(*arrays: Array | None, config: Any, xp: Namespace) -> Arrays:
        if (not torch.is_grad_enabled()
                or not any(a is not None and a.requires_grad for a in arrays)):
            return kernel.forward(*arrays, config=config, xp=xp)
        return Function.apply(*arrays, config, xp)  # type: ignore[no-any-return]
    return rule


def _jax_rule(kernel: Kernel) -> Rule:
    jax = sys.modules["jax"]
    jnp = jax.numpy

    def primal(arrays: Arrays, config: Any) -> Arrays:
        return kernel.forward(*arrays, config=config, xp=jnp)

    def fwd(arrays: Arrays, config: Any) -> tuple[Arrays, Arrays]:
        return primal(arrays, config), arrays

    def bwd(config: Any, arrays: Arrays, cotangents: Arrays) -> tuple[Arrays]:
        grads = kernel.backward(*arrays, *cotangents, config=config, xp=jnp)
        return (tuple(grads),)

    differentiable = jax.custom_vjp(primal, nondiff_argnums=(1,))
    differentiable.defvjp(fwd, bwd)

    def rule(*arrays: Array | None, config: Any, xp: Namespace) -> Arrays:
        return differentiable(arrays, config)  # type: ignore[no-any-return]
    return rule


# torch.compile traces the plain forward (no rule): inductor fuses it and derives the
# backward itself, and building a Function class while tracing would be a graph break
_LOADERS: dict[str, Callable[[Kernel], Rule]] = {"torch": _torch_rule, "jax": _jax_rule}
