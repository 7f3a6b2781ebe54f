"""Shared test data and helpers: written once, used by ``tests/`` and ``conformance/``.

* NumPy data builders (:func:`softmax`, :func:`one_hot`) for expected values and inputs;
* the public functions, derived from the package (``segloss_xp.__all__`` and the declared
  capabilities), never retyped: :func:`public_functions`, :func:`losses`;
* :func:`require_capability`: skip (with the declared reason) a backend that a function
  declares unsupported;
* :func:`run_with_x64_off`: run a script in a subprocess with JAX's x64 mode off (the test
  session enables it once, process-wide, in ``conftest.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import segloss_xp as sx
from segloss_xp._capabilities import CAPABILITIES

__all__ = [
    "AUTOGRAD_BACKENDS",
    "ROOT",
    "losses",
    "one_hot",
    "public_functions",
    "require_capability",
    "run_with_x64_off",
    "softmax",
]

ROOT = Path(__file__).resolve().parents[1]
# libraries whose arrays carry gradients (torch autograd, jax.grad)
AUTOGRAD_BACKENDS = ("torch", "torch-cuda", "jax")
_LIBRARY = {"strict-dev1": "strict", "torch-cuda": "torch"}


def softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    """Float64 softmax along ``axis`` (max-shifted)."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def one_hot(labels: np.ndarray, num_classes: int, axis: int = 1) -> np.ndarray:
    """Integer labels ``(N, *spatial)`` -> float64 one-hot with the class axis at ``axis``."""
    return np.moveaxis(np.eye(num_classes)[np.asarray(labels)], -1, axis)


def public_functions(family: str | None = None) -> dict[str, Callable[..., Any]]:
    """Every public function with declared capabilities (optionally of one family)."""
    return {name: getattr(sx, name) for name in sorted(CAPABILITIES)
            if name in sx.__all__ and (family is None or CAPABILITIES[name].family == family)}


def losses() -> dict[str, Callable[..., Any]]:
    """The public losses ``loss(y_pred, y_true, ...)`` (not statistics or wrappers)."""
    return {name: fn for name, fn in public_functions().items()
            if name.endswith(("_loss", "cross_entropy"))}


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


def run_with_x64_off(script: str, *, timeout: float = 180) -> str:
    """Run ``script`` in a fresh interpreter with JAX x64 off; return its stdout.

    Raises ``AssertionError`` with the output when the script fails.
    """
    env = {**os.environ, "JAX_ENABLE_X64": "0", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout
