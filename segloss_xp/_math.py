"""Numerically stable building blocks written with standard array-API ops only.

The standard has no softmax, log-softmax, sigmoid or logsumexp; these are
written once here and used by every loss. Each is exact for logits of
magnitude 1e4 and has finite gradients under torch autograd and ``jax.grad``.

Rules followed (each one bit a peer or a probe, see ``notes/array-api.md``):
arrays rather than Python scalars go to ``logaddexp``/``maximum``/``minimum``
(scalars cause ``torch.compile`` graph breaks through array-api-compat), no
in-place updates (they break torch autograd), and every branch that is
undefined somewhere is guarded by a double ``where`` so that no NaN gradient
leaks from the branch not taken.
"""

from __future__ import annotations

from ._namespace import Array, Namespace, native_nn

__all__ = [
    "clamped_log",
    "clamped_log1m",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "safe_divide",
    "safe_pow",
    "sigmoid",
    "softmax",
    "softplus",
]


def _guarded_max(x: Array, axis: int, xp: Namespace) -> Array:
    # A row of -inf would give (-inf) - (-inf) = NaN; replace a non-finite max by 0.
    m = xp.max(x, axis=axis, keepdims=True)
    return xp.where(xp.isfinite(m), m, xp.zeros_like(m))


def logsumexp(x: Array, axis: int, xp: Namespace) -> Array:
    """``log Σ exp(x)`` along ``axis`` (kept as a size-1 axis), max-shifted."""
    m = _guarded_max(x, axis, xp)
    return m + xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True))


def log_softmax(x: Array, axis: int, xp: Namespace) -> Array:
    """``x − logsumexp(x)`` along ``axis`` (torch/JAX: their fused kernel)."""
    native = native_nn(xp)
    if native is not None:
        name, nn = native
        return nn.log_softmax(x, dim=axis) if name == "torch" else nn.log_softmax(x, axis=axis)
    z = x - _guarded_max(x, axis, xp)
    return z - xp.log(xp.sum(xp.exp(z), axis=axis, keepdims=True))


def softmax(x: Array, axis: int, xp: Namespace) -> Array:
    """``exp(x) / Σ exp(x)`` along ``axis``, max-shifted (torch/JAX: fused kernel)."""
    native = native_nn(xp)
    if native is not None:
        name, nn = native
        return nn.softmax(x, dim=axis) if name == "torch" else nn.softmax(x, axis=axis)
    e = xp.exp(x - _guarded_max(x, axis, xp))
    return e / xp.sum(e, axis=axis, keepdims=True)


def softplus(x: Array, xp: Namespace) -> Array:
    """``log(1 + exp(x))`` as ``logaddexp(0, x)``."""
    return xp.logaddexp(xp.zeros_like(x), x)


def log_sigmoid(x: Array, xp: Namespace) -> Array:
    """``log σ(x) = −logaddexp(0, −x)``: −1e4 at x=−1e4, −0.0 at x=1e4."""
    native = native_nn(xp)
    if native is not None:
        name, nn = native
        return nn.logsigmoid(x) if name == "torch" else nn.log_sigmoid(x)
    return -xp.logaddexp(xp.zeros_like(x), -x)


def sigmoid(x: Array, xp: Namespace) -> Array:
    """``σ(x) = exp(log σ(x))``: relative accuracy in both tails, no overflow."""
    native = native_nn(xp)
    if native is not None:
        return native[1].sigmoid(x)
    return xp.exp(log_sigmoid(x, xp))


def safe_divide(num: Array, den: Array, fill: float, xp: Namespace) -> Array:
    """``num / den`` where ``den != 0``, else ``fill``; gradient finite everywhere.

    The inner ``where`` keeps the untaken branch finite so that JAX and torch
    do not multiply a zero cotangent by an infinite partial derivative.
    """
    nonzero = den != 0
    ratio = num / xp.where(nonzero, den, xp.ones_like(den))
    return xp.where(nonzero, ratio, xp.full_like(ratio, fill))


def safe_pow(base: Array, exponent: float, xp: Namespace) -> Array:
    """``base ** exponent`` for ``base >= 0`` with gradient 0 (not inf/NaN) at ``base == 0``.

    ``d/db b^γ = γ b^(γ−1)`` is infinite at 0 for ``γ < 1``; we take the
    subgradient 0 there, the convention of kornia's fix for NaN focal
    gradients (kornia#918).
    """
    if exponent == 1:
        return base
    if exponent == 0:
        return xp.ones_like(base)  # 0**0 == 1 (focal with gamma=0 is cross entropy)
    positive = base > 0
    safe = xp.where(positive, base, xp.ones_like(base))
    return xp.where(positive, safe**exponent, xp.zeros_like(base))


LOG_FLOOR = -100.0  # torch's BCE clamps log(p) and log(1 − p) at −100


def clamped_log(p: Array, xp: Namespace) -> Array:
    """``max(log p, −100)`` with a finite gradient at ``p == 0`` (double where)."""
    positive = p > 0
    safe = xp.where(positive, p, xp.ones_like(p))
    out = xp.where(positive, xp.log(safe), xp.full_like(p, LOG_FLOOR))
    return xp.maximum(out, xp.full_like(out, LOG_FLOOR))


def clamped_log1m(p: Array, xp: Namespace) -> Array:
    """``max(log(1 − p), −100)`` via ``log1p``, finite gradient at ``p == 1``."""
    below = p < 1
    safe = xp.where(below, p, xp.zeros_like(p))
    out = xp.where(below, xp.log1p(-safe), xp.full_like(p, LOG_FLOOR))
    return xp.maximum(out, xp.full_like(out, LOG_FLOOR))
