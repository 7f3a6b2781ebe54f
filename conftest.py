"""Shared pytest fixtures: ``backend`` / ``xp`` over every installed backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from segloss_xp.testing import BACKEND_NAMES, Backend, activated, load_backend

# SEGLOSS_BACKENDS="numpy,torch" narrows the run (the nox per-backend sessions use it);
# the others then show as SKIPPED with that reason.
_SELECTED = [b.strip() for b in os.environ.get("SEGLOSS_BACKENDS", "").split(",") if b.strip()]


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
