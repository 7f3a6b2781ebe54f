"""One loss on every backend: the quickest check that a backend works at all."""

import numpy as np

import segloss_xp as sx
from conformance import oracle
from segloss_xp.testing import Backend, assert_matches


def test_dice_runs_everywhere(backend: Backend) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4, 5))
    y = rng.integers(0, 3, size=(2, 4, 5))
    xb = backend.asarray(x)
    out = sx.dice_loss(xb, backend.asarray(y))
    assert_matches(out, oracle.dice_loss(x, y), backend, dtype="float64", rtol=1e-12, ref=xb)
