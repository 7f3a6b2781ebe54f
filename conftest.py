"""Shared pytest fixtures: ``backend`` / ``xp`` over every installed backend.

JAX's x64 mode is process-wide state: it is switched on once, when the session starts
(:func:`pytest_configure`), so that no result depends on which test imported jax first.
Tests of x64 off run in a subprocess (``conformance.helpers.run_with_x64_off``).

Unit tests in ``tests/`` run on one more backend, ``jax-jit``: the jax backend with every
public function replaced by a jitted wrapper for the duration of the test (array
arguments traced, options static; see ``conformance/jit.py``). A test whose point is a
value check (which cannot raise on traced arrays: the loss is NaN there) is marked
``skip_backend(["jax-jit"], reason=...)``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from segloss_xp.testing import BACKEND_NAMES, Backend, activated, load_backend

# XLA's CPU compiler at its lowest optimisation level, without the new fusion emitters:
# the test arrays are tiny, so compiling (about 60 ms per program, eager primitives
# included) is nearly all of JAX's time, and these flags halve it (the jit/vmap
# conformance cases of dice: 55 s -> 28 s). No fast-math either way: the values are
# judged by the same bounds. Set before JAX creates its CPU client (first use), and only
# if this jaxlib knows them (an unknown XLA flag aborts the process): a subprocess probes.
_FAST_XLA = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"


def _xla_accepts(flags: str) -> bool:
    if importlib.util.find_spec("jax") is None:
        return False
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import jax.numpy as jnp; jnp.zeros(2).block_until_ready()"],
            env={**os.environ, "XLA_FLAGS": flags}, capture_output=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


if "XLA_FLAGS" not in os.environ and _xla_accepts(_FAST_XLA):
    os.environ["XLA_FLAGS"] = _FAST_XLA  # xdist workers inherit it

# SEGLOSS_BACKENDS="numpy,torch" narrows the run (the nox per-backend sessions use it);
# the others then show as SKIPPED with that reason.
_SELECTED = [b.strip() for b in os.environ.get("SEGLOSS_BACKENDS", "").split(",") if b.strip()]


def pytest_configure(config: pytest.Config) -> None:
    """JAX's x64 mode and dask's synchronous scheduler for the whole session."""
    load_backend("jax")  # sets jax_enable_x64 (process-wide); a missing jax is no error
    try:  # the test arrays are tiny: dask's thread pool costs more than it runs
        import dask
    except ImportError:
        return
    dask.config.set(scheduler="synchronous")


# The unit tests (tests/) also run on "jax-jit": the jax backend with every public
# function jitted for the test (conformance/jit.py); conformance/ checks jax.jit itself.
JIT_BACKEND = "jax-jit"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``backend`` over every backend (plus ``jax-jit`` for the unit tests)."""
    if "backend" not in metafunc.fixturenames or any(
            "backend" in m.args[0] for m in metafunc.definition.iter_markers("parametrize")):
        return
    unit = Path(str(metafunc.definition.fspath)).parent.name == "tests"
    metafunc.parametrize("backend", [*BACKEND_NAMES, *([JIT_BACKEND] if unit else [])],
                         indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Every backend; a missing one is SKIPPED with the reason."""
    name = request.param
    if _SELECTED and name not in _SELECTED and not (
            name == JIT_BACKEND and "jax" in _SELECTED):
        pytest.skip(f"{name} not selected (SEGLOSS_BACKENDS={','.join(_SELECTED)})")
    found, reason = load_backend("jax" if name == JIT_BACKEND else name)
    if found is None:
        pytest.skip(reason)
    marker = request.node.get_closest_marker("skip_backend")
    if marker is not None and name in marker.args[0]:
        pytest.skip(f"{name}: {marker.kwargs.get('reason', 'not supported')}")
    if name == JIT_BACKEND:
        from conformance.jit import patch_public_functions

        found = dataclasses.replace(found, name=JIT_BACKEND)
        patch_public_functions(request.getfixturevalue("monkeypatch"), request.module)
    with activated(found):
        yield found


@pytest.fixture
def xp(backend: Backend) -> Any:
    """The array namespace of ``backend``."""
    return backend.xp
