"""The conformance checks, shared by the pytest suite and the report.

Each check runs one :class:`~conformance.cases.LossSpec` on one
:class:`~conformance.cases.Case` and returns a number (an error) or raises:

* :func:`value_error` — library on a backend and dtype vs the float64 oracle on
  the same (rounded) inputs; also checks result namespace, dtype and device.
* :func:`gradients` — torch autograd and ``jax.grad`` (float64) vs central
  finite differences of the *oracle*, and torch vs JAX.
* :func:`trace_errors` — ``jax.jit`` vs eager, ``jax.vmap`` vs one call per slice.
* :func:`compile_check` — graph breaks (``fullgraph=True``; counted by
  ``torch._dynamo.explain`` when there is one), and the ``torch.compile``'d value vs eager.

The measurements are judged in one place, :func:`failures` (and :func:`check`, which
raises), against the bounds in :data:`BOUNDS` and :data:`MIN_GRADIENT_SCALE`: the pytest
suite and the report read the same numbers, so a report cell is ``FAIL`` exactly when
the test fails.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance.cases import Case, LossSpec
from segloss_xp.testing import Backend, assert_matches

__all__ = [
    "BOUNDS",
    "FD_STEP",
    "MIN_GRADIENT_SCALE",
    "NUM_DIRECTIONS",
    "TOLERANCES",
    "Bound",
    "check",
    "compile_check",
    "expected_value",
    "failures",
    "finite_gradients",
    "gradients",
    "result_dtype",
    "trace_errors",
    "value_error",
]

# (rtol, atol) per input dtype. float64: the oracle and the library differ only
# by summation order. Lower precisions are computed in float32 (DESIGN §2) from
# inputs rounded to that dtype, so the oracle gets the same rounded inputs and
# the difference is float32 arithmetic on O(100) terms.
TOLERANCES = {
    "float64": (1e-10, 1e-12),
    "float32": (2e-5, 2e-6),
    "float16": (2e-5, 2e-6),
    "bfloat16": (2e-5, 2e-6),
}


@dataclass(frozen=True)
class Bound:
    """``|measured| <= atol + rtol · scale`` (``scale``: the gradient scale, else 0)."""

    atol: float
    rtol: float = 0.0
    what: str = ""

    def limit(self, scale: float = 0.0) -> float:
        return self.atol + self.rtol * scale

    def __str__(self) -> str:
        return f"{self.atol:g}" + (f" + {self.rtol:g}·scale" if self.rtol else "")


# Central differences of the oracle with step FD_STEP along NUM_DIRECTIONS random unit
# directions; their error is truncation (step² times the third derivative) plus
# rounding (eps·|f|/step). Measured over the whole finite-difference selection (359
# pairs; `python -m conformance.suite` prints these): torch/jax vs FD at worst 6.2e-9
# absolute (a "sum" reduction), 6.9e-9 relative to the scale, 0.032 of the bound below
# (a ~30x margin; the former 1e-7 + 1e-6·scale let a gradient 1e-6 off pass); torch vs
# jax at worst 7.6e-15 absolute, 4.6e-15 relative, 0.004 of its bound (room for other
# platforms' summation orders). Smallest scale: 1.4e-3 (multiclass), 3.6e-3 (binary),
# 2.3e-3 (multilabel), so every mode clears MIN_GRADIENT_SCALE by >10x.
FD_STEP = 1e-5
NUM_DIRECTIONS = 4
BOUNDS: Mapping[str, Bound] = {
    "torch_vs_fd": Bound(1e-9, 1e-7, "torch autograd vs central differences of the oracle"),
    "jax_vs_fd": Bound(1e-9, 1e-7, "jax.grad vs central differences of the oracle"),
    "torch_vs_jax": Bound(1e-13, 1e-12, "torch autograd vs jax.grad, every component"),
    "jit": Bound(1e-12, 0.0, "jax.jit vs eager"),
    "vmap": Bound(1e-12, 0.0, "jax.vmap vs one jitted call per slice"),
    "compile": Bound(1e-12, 0.0, "torch.compile (fullgraph) vs eager"),
    "graph_breaks": Bound(0.0, 0.0, "torch._dynamo.explain graph breaks"),
}
# A gradient comparison is only meaningful when the gradient is not ~0: the largest
# |gradient component| or |directional derivative| must reach this, in every mode.
# At 1e-4 the FD bound's atol (1e-9) is still a 1e-5 relative check.
MIN_GRADIENT_SCALE = 1e-4


def failures(measured: Mapping[str, float]) -> dict[str, str]:
    """For each measurement beyond its bound in :data:`BOUNDS`: name -> message.

    ``measured`` maps names of :data:`BOUNDS` (and ``"scale"``, the gradient scale, which
    must reach :data:`MIN_GRADIENT_SCALE` when present) to numbers; NaN always fails.
    """
    scale = float(measured.get("scale", 0.0))
    out = {}
    if "scale" in measured and not scale >= MIN_GRADIENT_SCALE:
        out["scale"] = (f"gradient scale {scale:.1e} < {MIN_GRADIENT_SCALE:.0e}: "
                        "the comparison would be vacuous")
    for key, value in measured.items():
        if key == "scale":
            continue
        limit = BOUNDS[key].limit(scale if math.isfinite(scale) else 0.0)
        if not abs(float(value)) <= limit:
            out[key] = f"{key} {float(value):.2e} > {limit:.2e} ({BOUNDS[key]})"
    return out


def check(measured: Mapping[str, float]) -> Mapping[str, float]:
    """``measured``, or AssertionError naming every measurement beyond its bound."""
    found = failures(measured)
    if found:
        raise AssertionError("; ".join(found.values()) + f" — measured {dict(measured)}")
    return measured


def result_dtype(dtype: str) -> str:
    return "float64" if dtype == "float64" else "float32"


def _rounded(x: np.ndarray, dtype: str) -> np.ndarray:
    """``x`` rounded to ``dtype`` and back to float64 (what the library sees)."""
    if dtype == "bfloat16":
        import ml_dtypes

        return x.astype(ml_dtypes.bfloat16).astype(np.float64)
    return x.astype(dtype).astype(np.float64)


def _to_library_layout(expected: np.ndarray, case: Case) -> np.ndarray:
    """Move an oracle (channels-first) per-element map into the library's layout."""
    out = np.asarray(expected, dtype=np.float64)
    if out.ndim == case.y_pred.ndim:
        if case.channels_last:
            out = np.moveaxis(out, 1, -1)
        if case.no_channel:
            out = out[:, 0]
    return out


def expected_value(spec: LossSpec, case: Case, dtype: str = "float64",
                   y_pred: np.ndarray | None = None) -> np.ndarray:
    """The oracle's value (library layout) for ``case`` with inputs rounded to ``dtype``."""
    x = _rounded(case.y_pred if y_pred is None else y_pred, dtype)
    out = spec.oracle(x, case.y_true, mode=case.mode, **case.kwargs, **spec.kwargs)
    return _to_library_layout(out, case)


def _call(spec: LossSpec, x: Any, y: Any, kw: dict[str, Any]) -> Any:
    return _bind(spec, kw)(x, y)


def _bind(spec: LossSpec, kw: dict[str, Any]) -> Callable[[Any, Any], Any]:
    """``f(y_pred, y_true)`` calling the library function with the case's keywords.

    The function is looked up here, outside any traced region.
    """
    fn = spec.resolve()
    if fn is None:
        raise LookupError(f"{spec.function} is not implemented")
    kwargs = {**kw, **spec.kwargs}

    def bound(x: Any, y: Any) -> Any:
        return fn(x, y, **kwargs)

    return bound


def _library_kwargs(case: Case) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    x, y, kw = case.library_inputs()
    kw["mode"] = case.mode
    return x, y, kw


def value_error(spec: LossSpec, case: Case, backend: Backend, dtype: str = "float64") -> float:
    """Max abs error vs the oracle; raises AssertionError beyond the tolerance."""
    x, y, kw = _library_kwargs(case)
    xb = backend.asarray(x, dtype)
    yb = backend.asarray(y)
    out = _call(spec, xb, yb, kw)
    if backend.lazy:  # compute the graph once (both checks below read the values)
        out = out.persist()
    want = expected_value(spec, case, dtype)
    rtol, atol = TOLERANCES[dtype]
    assert_matches(out, want, backend, dtype=result_dtype(dtype), rtol=rtol,
                   atol=atol + spec.scale_atol, ref=xb)
    got = backend.to_numpy(out).astype(np.float64)
    return float(np.max(np.abs(got - want))) if got.size else 0.0


# ----------------------------------------------------------------------- gradients


def _torch_grad(spec: LossSpec, case: Case) -> np.ndarray:
    import torch

    x, y, kw = _library_kwargs(case)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = _call(spec, xt, torch.asarray(y), kw)
    torch.sum(out).backward()
    assert xt.grad is not None
    return xt.grad.numpy()


def _jax_grad(spec: LossSpec, case: Case) -> np.ndarray:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    x, y, kw = _library_kwargs(case)
    yj = jnp.asarray(y)
    fn = _bind(spec, kw)
    # jitted: eager JAX compiles every primitive separately, which is slow; eager vs
    # jit values are compared in trace_errors
    return np.asarray(jax.jit(jax.grad(lambda p: jnp.sum(fn(p, yj))))(jnp.asarray(x)))


def _directional_fd(spec: LossSpec, case: Case, directions: np.ndarray,
                    step: float = FD_STEP) -> np.ndarray:
    """Central differences of the (summed) oracle along each direction (channels-first)."""
    def f(x: np.ndarray) -> float:
        return float(np.sum(expected_value(spec, case, y_pred=x)))

    x0 = case.y_pred
    return np.array([(f(x0 + step * v) - f(x0 - step * v)) / (2 * step) for v in directions])


def gradients(spec: LossSpec, case: Case,
              num_directions: int = NUM_DIRECTIONS) -> dict[str, float]:
    """Gradient agreement in float64, as max abs differences.

    ``torch_vs_fd`` / ``jax_vs_fd``: the autodiff gradient projected on random
    unit directions vs central differences of the *oracle* along them (the
    "fast mode" of ``torch.autograd.gradcheck``; error O(step²)).
    ``torch_vs_jax``: the full gradients against each other. A backend that is
    not installed is absent from the result. ``scale``: the largest |directional
    derivative| or |gradient component| seen (what the bounds are relative to).
    Judge the result with :func:`failures` / :func:`check`.
    """
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(num_directions, *case.y_pred.shape))
    directions /= np.sqrt(np.sum(directions**2, axis=tuple(range(1, directions.ndim)),
                                 keepdims=True))
    fd = _directional_fd(spec, case, directions)
    found: dict[str, np.ndarray] = {}
    for name, fn in (("torch", _torch_grad), ("jax", _jax_grad)):
        try:
            found[name] = fn(spec, case)
        except ImportError:
            continue
    lib_dirs = np.stack([_to_library_layout(v, case) for v in directions])
    out: dict[str, float] = {}
    for name, grad in found.items():
        projected = np.sum(lib_dirs * grad[None], axis=tuple(range(1, lib_dirs.ndim)))
        out[f"{name}_vs_fd"] = float(np.max(np.abs(projected - fd)))
    if len(found) == 2:
        out["torch_vs_jax"] = float(np.max(np.abs(found["torch"] - found["jax"])))
    out["scale"] = float(max(np.max(np.abs(fd)), max(
        (float(np.max(np.abs(g))) for g in found.values()), default=0.0)))
    return out


def finite_gradients(spec: LossSpec, case: Case) -> dict[str, bool]:
    """Whether torch and JAX gradients are all finite (for saturated inputs)."""
    out: dict[str, bool] = {}
    for name, fn in (("torch", _torch_grad), ("jax", _jax_grad)):
        try:
            out[name] = bool(np.all(np.isfinite(fn(spec, case))))
        except ImportError:
            continue
    return out


# ----------------------------------------------------------------------- tracing


def _jax_inputs(case: Case) -> tuple[Any, Any, dict[str, Any], Callable[..., Any]]:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    x, y, kw = _library_kwargs(case)
    return jnp.asarray(x), jnp.asarray(y), kw, jax


def trace_errors(spec: LossSpec, case: Case) -> dict[str, float]:
    """``{"jit": |jit − eager|, "vmap": |vmap − one call per slice|}``, max abs.

    One jitted function serves both (each ``jax.jit`` of a new closure compiles again:
    compiling, not running, is nearly all the time on the tiny cases).
    """
    xj, yj, kw, jax = _jax_inputs(case)
    import jax.numpy as jnp

    fn = _bind(spec, kw)
    single = jax.jit(fn)
    eager = np.asarray(fn(xj, yj))
    jit = float(np.max(np.abs(eager - np.asarray(single(xj, yj)))))
    # a second, different input: −x/2 for logits; probabilities must stay in [0, 1] (and
    # sum to 1 over classes), so there the last axis is reversed instead
    second = -0.5 * xj if case.from_logits else jnp.flip(xj, axis=-1)
    xs = jnp.stack([xj, second])
    ys = jnp.stack([yj, yj])
    mapped = np.asarray(jax.jit(jax.vmap(fn))(xs, ys))
    one_by_one = np.stack([np.asarray(single(xs[i], ys[i])) for i in range(2)])
    return {"jit": jit, "vmap": float(np.max(np.abs(mapped - one_by_one)))}


def compile_check(spec: LossSpec, case: Case) -> tuple[int, float]:
    """``(graph breaks, |compiled − eager|)`` for ``torch.compile`` (backend "eager")."""
    import torch
    import torch._dynamo

    x, y, kw = _library_kwargs(case)
    xt, yt = torch.asarray(x), torch.asarray(y)
    fn = _bind(spec, kw)

    torch._dynamo.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # backend="eager": runs the captured graph as is, so this checks what dynamo
        # traced; inductor code generation would add minutes and test torch, not us.
        # fullgraph=True raises at a graph break; only then are the breaks counted
        # (explain traces once more: a second trace of every case doubled the cost)
        try:
            compiled, breaks = torch.compile(fn, backend="eager", fullgraph=True)(xt, yt), 0
        except torch._dynamo.exc.Unsupported:
            torch._dynamo.reset()
            breaks = max(1, torch._dynamo.explain(fn)(xt, yt).graph_break_count)
            compiled = fn(xt, yt)
    eager = fn(xt, yt)
    return breaks, float(torch.max(torch.abs(compiled - eager)))


# ----------------------------------------------------------------------- measurements


def measure_gradients() -> list[str]:
    """Over the whole finite-difference selection (``cases.gradient_cases``): per
    measurement the worst absolute error, the worst error relative to the scale, the
    worst fraction of its bound (each with where), and the smallest scale per mode.
    What :data:`BOUNDS` and :data:`MIN_GRADIENT_SCALE` are set from."""
    from conformance.cases import LOSSES, gradient_cases

    absolute: dict[str, tuple[float, str]] = {}
    relative: dict[str, tuple[float, str]] = {}
    of_bound: dict[str, tuple[float, str]] = {}
    low_scale: dict[str, tuple[float, str]] = {}

    def keep(table: dict[str, tuple[float, str]], key: str, value: float, where: str,
             smallest: bool = False) -> None:
        old = table.get(key)
        if old is None or (value < old[0] if smallest else value > old[0]):
            table[key] = (value, where)

    for spec in LOSSES:
        if not spec.smooth_gradient:
            continue
        for case in gradient_cases(spec):
            measured = gradients(spec, case)
            where = f"{spec.name} / {case.id}"
            scale = measured.pop("scale")
            keep(low_scale, case.mode, scale, where, smallest=True)
            for key, value in measured.items():
                keep(absolute, key, value, where)
                keep(relative, key, value / scale, where)
                keep(of_bound, key, value / BOUNDS[key].limit(scale), where)
    lines = [f"smallest scale, {mode}: {v:.2e} at {w}" for mode, (v, w) in low_scale.items()]
    for key in absolute:
        lines.append(f"{key}: worst {absolute[key][0]:.2e} at {absolute[key][1]}; relative "
                     f"to the scale {relative[key][0]:.2e} at {relative[key][1]}; "
                     f"{of_bound[key][0]:.3f} of the bound {BOUNDS[key]} at {of_bound[key][1]}")
    return lines


def main() -> None:
    """``python -m conformance.suite``: print the gradient errors the bounds rest on."""
    print("\n".join(measure_gradients()))


if __name__ == "__main__":
    main()
