"""Shared pytest fixtures: ``backend`` / ``xp`` over every installed backend.

JAX's x64 mode is process-wide state: it is switched on once, when the session starts
(:func:`pytest_configure`), so that no result depends on which test imported jax first.
Tests of x64 off run in a subprocess (``conformance.helpers.run_with_x64_off``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from segloss_xp.testing import BACKEND_NAMES, Backend, activated, load_backend

# SEGLOSS_BACKENDS="numpy,torch" narrows the run (the nox per-backend sessions use it);
# the others then show as SKIPPED with that reason.
_SELECTED = [b.strip() for b in os.environ.get("SEGLOSS_BACKENDS", "").split(",") if b.strip()]


def pytest_configure(config: pytest.Config) -> None:
    """Enable JAX's x64 mode for the whole session, where jax is installed."""
    load_backend("jax")  # sets jax_enable_x64 (process-wide); a missing jax is no error


@pytest.fixture(params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Every backend; a missing one is SKIPPED with the reason."""
    if _SELECTED and request.param not in _SELECTED:
        pytest.skip(f"{request.param} not selected (SEGLOSS_BACKENDS={','.join(_SELECTED)})")
    found, reason = load_backend(request.param)
    if found is None:
        pytest.skip(reason)
    marker = request.node.get_closest_marker("skip_backend")
    if marker is not None and request.param in marker.args[0]:
        pytest.skip(f"{request.param}: {marker.kwargs.get('reason', 'not supported')}")
    with activated(found):
        yield found


@pytest.fixture
def xp(backend: Backend) -> Any:
    """The array namespace of ``backend``."""
    return backend.xp
