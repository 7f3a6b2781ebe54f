"""Shared test data and helpers: written once, used by ``tests/`` and ``conformance/``.

* NumPy data builders (:func:`softmax`, :func:`one_hot`) for expected values and inputs;
* the public functions, derived from the package (``segloss_xp.__all__`` and the declared
  capabilities), never retyped: :func:`public_functions`, :func:`losses`;
* :func:`require_capability`: skip (with the declared reason) a backend that a function
  declares unsupported; :func:`takes`: whether a function has a keyword, :func:`modes`:
  the ``mode`` values it accepts;
* :func:`value_and_grad`: a loss and its gradient on an autograd backend (torch, jax);
* :func:`run_with_x64_off`: run a script in a subprocess with JAX's x64 mode off (the test
  session enables it once, process-wide, in ``conftest.py``).
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import segloss_xp as sx
from segloss_xp._capabilities import CAPABILITIES
from segloss_xp.testing import Backend

__all__ = [
    "AUTOGRAD_BACKENDS",
    "REQUIRED_KEYWORDS",
    "ROOT",
    "losses",
    "modes",
    "one_hot",
    "public_functions",
    "region_losses",
    "require_capability",
    "run_with_x64_off",
    "softmax",
    "takes",
    "value_and_grad",
]

ROOT = Path(__file__).resolve().parents[1]
# libraries whose arrays carry gradients (torch autograd, jax.grad)
AUTOGRAD_BACKENDS = ("torch", "torch-cuda", "jax", "jax-jit")
_LIBRARY = {"strict-dev1": "strict", "torch-cuda": "torch", "jax-jit": "jax"}


def softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    """Float64 softmax along ``axis`` (max-shifted)."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def one_hot(labels: np.ndarray, num_classes: int, axis: int = 1) -> np.ndarray:
    """Integer labels ``(N, *spatial)`` -> float64 one-hot with the class axis at ``axis``."""
    return np.moveaxis(np.eye(num_classes)[np.asarray(labels)], -1, axis)


#: Valid values of the keyword-only arguments without a default, for generic calls.
REQUIRED_KEYWORDS: dict[str, dict[str, Any]] = {"normalized_surface_dice": {"tolerance": 1.0}}


def public_functions(family: str | None = None) -> dict[str, Callable[..., Any]]:
    """Every public function with declared capabilities (optionally of one family)."""
    return {name: getattr(sx, name) for name in sorted(CAPABILITIES)
            if name in sx.__all__ and (family is None or CAPABILITIES[name].family == family)}


def losses(family: str | None = None) -> dict[str, Callable[..., Any]]:
    """The public losses ``loss(y_pred, y_true, ...)`` (not statistics or wrappers)."""
    return {name: fn for name, fn in public_functions(family).items()
            if name.endswith(("_loss", "cross_entropy"))}


def region_losses() -> dict[str, Callable[..., Any]]:
    """The region losses with a ``reduction="none"`` table over the soft statistics.

    Family ``"region"`` less ``exp_log_loss``, a scalar mix of a Dice and a cross-entropy
    term (tested with the compound losses). Each is ``region_loss_from_stats(...,
    kind=name[:-5])`` of the statistics.
    """
    return {name: fn for name, fn in losses("region").items() if name != "exp_log_loss"}


def takes(fn: Callable[..., Any], keyword: str) -> bool:
    """Whether ``fn`` has a parameter called ``keyword``."""
    return keyword in inspect.signature(fn).parameters


def modes(fn: Callable[..., Any]) -> tuple[str, ...]:
    """The values of ``fn``'s ``mode`` keyword (its ``Literal`` type)."""
    return typing.get_args(typing.get_type_hints(fn)["mode"])


def require_capability(name: str, feature: str, backend_name: str) -> None:
    """Skip, with the declared reason, when ``name`` does not support ``feature`` here.

    ``feature`` is a capability (``"dask"``, ``"jit"``, ``"autograd"``, ``"compile"``);
    ``"dask"`` applies to the dask backend only, ``"autograd"`` to the backends without
    gradients as well.
    """
    import pytest

    library = _LIBRARY.get(backend_name, backend_name)
    caps = CAPABILITIES[name]
    if feature == "autograd" and backend_name not in AUTOGRAD_BACKENDS:
        pytest.skip(f"{backend_name}: no autograd in this library")
    if feature == "dask" and library != "dask":
        return
    if not caps.supports(feature):
        pytest.skip(f"{name} on {backend_name}: {getattr(caps, feature)}")


def value_and_grad(backend: Backend, f: Callable[[Any], Any], x: np.ndarray, *,
                   dtype: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``f(x)`` and its gradient in ``x`` on ``backend`` (torch autograd or jitted
    ``jax.value_and_grad``), both as NumPy; ``x`` is converted with ``dtype``."""
    xb = backend.asarray(x, dtype)
    if backend.name.startswith("torch"):
        import torch

        xb.requires_grad_(True)
        value = f(xb)
        (grad,) = torch.autograd.grad(value, xb)
        return backend.to_numpy(value), backend.to_numpy(grad)
    if backend.name not in ("jax", "jax-jit"):
        raise ValueError(f"{backend.name}: no autograd (use require_capability first)")
    import jax

    # jitted: one XLA compile per function, much cheaper than op-by-op eager VJPs
    value, grad = jax.jit(jax.value_and_grad(f))(xb)
    return backend.to_numpy(value), backend.to_numpy(grad)


def run_with_x64_off(script: str, *, timeout: float = 180) -> str:
    """Run ``script`` in a fresh interpreter with JAX x64 off; return its stdout.

    Skips when jax is not installed; the script starts with ``jax`` imported and x64
    asserted off. Raises ``AssertionError`` with the output when the script fails.
    """
    import pytest

    pytest.importorskip("jax", reason="jax is not installed")
    script = "import jax\nassert not jax.config.jax_enable_x64\n" + textwrap.dedent(script)
    env = {**os.environ, "JAX_ENABLE_X64": "0", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout
