"""Shared pytest fixtures: ``backend`` / ``xp`` over every installed backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.backends import BACKEND_NAMES, Backend, activated, load_backend


@pytest.fixture(params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Every backend; a missing one is SKIPPED with the reason."""
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
