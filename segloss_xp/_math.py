"""Numerically stable building blocks written with standard array-API ops only.

The standard has no softmax, log-softmax or sigmoid; the generic versions are
written once here (``_dispatch`` chooses them or a framework's fused kernel,
operation by operation). Each is exact for logits of magnitude 1e4 and has
finite gradients under torch autograd and ``jax.grad``.

Rules followed (each one bit a peer or a probe): arrays rather than Python
scalars go to ``logaddexp``/``maximum``/``minimum`` (scalars cause
``torch.compile`` graph breaks through array-api-compat), no in-place updates
(they break torch autograd), and every branch that is undefined somewhere is
guarded by a double ``where`` so that no NaN gradient leaks from the branch not
taken. ``xp`` is keyword-only and last everywhere.
"""

from __future__ import annotations

from ._namespace import Array, Namespace

__all__ = [
    "LOG_FLOOR",
    "clamped_log",
    "clamped_log1m",
    "generic_log_sigmoid",
    "generic_log_softmax",
    "generic_sigmoid",
    "generic_softmax",
    "safe_divide",
    "safe_pow",
]


def _guarded_max(x: Array, *, axis: int, xp: Namespace) -> Array:
    # A row of -inf would give (-inf) - (-inf) = NaN; replace a non-finite max by 0.
    m = xp.max(x, axis=axis, keepdims=True)
    return xp.where(xp.isfinite(m), m, xp.zeros_like(m))


def generic_log_softmax(x: Array, *, axis: int, xp: Namespace) -> Array:
    """``x − logsumexp(x)`` along ``axis``, max-shifted."""
    z = x - _guarded_max(x, axis=axis, xp=xp)
    return z - xp.log(xp.sum(xp.exp(z), axis=axis, keepdims=True))


def generic_softmax(x: Array, *, axis: int, xp: Namespace) -> Array:
    """``exp(x) / Σ exp(x)`` along ``axis``, max-shifted."""
    e = xp.exp(x - _guarded_max(x, axis=axis, xp=xp))
    return e / xp.sum(e, axis=axis, keepdims=True)


def generic_log_sigmoid(x: Array, *, xp: Namespace) -> Array:
    """``log σ(x) = −logaddexp(0, −x)``: −1e4 at x=−1e4, −0.0 at x=1e4."""
    return -xp.logaddexp(xp.zeros_like(x), -x)


def generic_sigmoid(x: Array, *, xp: Namespace) -> Array:
    """``σ(x) = exp(log σ(x))``: relative accuracy in both tails, no overflow."""
    return xp.exp(generic_log_sigmoid(x, xp=xp))


def safe_divide(num: Array, den: Array, *, fill: float, xp: Namespace) -> Array:
    """``num / den`` where ``den != 0``, else ``fill``; gradient finite everywhere.

    The inner ``where`` keeps the untaken branch finite so that JAX and torch
    do not multiply a zero cotangent by an infinite partial derivative.
    """
    nonzero = den != 0
    ratio = num / xp.where(nonzero, den, xp.ones_like(den))
    return xp.where(nonzero, ratio, xp.full_like(ratio, fill))


def safe_pow(base: Array, exponent: float, *, xp: Namespace) -> Array:
    """``base ** exponent`` for ``base >= 0`` with gradient 0 (not inf/NaN) at ``base == 0``.

    ``d/db b^γ = γ b^(γ−1)`` is infinite at 0 for ``γ < 1``; we take the
    subgradient 0 there, the convention of kornia's fix for NaN focal
    gradients (kornia#918).
    """
    if exponent == 1:
        return base
    if exponent == 0:
        return xp.ones_like(base)  # 0**0 == 1 (focal with gamma=0 is cross entropy)
    if exponent >= 1 and float(exponent).is_integer():
        # γ·b^(γ−1) is finite at 0 (the default focal γ = 2): no guard, no `where` passes
        return base ** int(exponent)
    positive = base > 0
    safe = xp.where(positive, base, xp.ones_like(base))
    return xp.where(positive, safe**exponent, xp.zeros_like(base))


LOG_FLOOR = -100.0  # torch's BCE clamps log(p) and log(1 − p) at −100


def clamped_log(p: Array, *, xp: Namespace) -> Array:
    """``max(log p, −100)`` with a finite gradient at ``p == 0`` (double where)."""
    positive = p > 0
    safe = xp.where(positive, p, xp.ones_like(p))
    out = xp.where(positive, xp.log(safe), xp.full_like(p, LOG_FLOOR))
    return xp.maximum(out, xp.full_like(out, LOG_FLOOR))


def clamped_log1m(p: Array, *, xp: Namespace) -> Array:
    """``max(log(1 − p), −100)`` via ``log1p``, finite gradient at ``p == 1``."""
    below = p < 1
    safe = xp.where(below, p, xp.zeros_like(p))
    out = xp.where(below, xp.log1p(-safe), xp.full_like(p, LOG_FLOOR))
    return xp.maximum(out, xp.full_like(out, LOG_FLOOR))
