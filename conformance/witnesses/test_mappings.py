"""Every line of the "coming from" page (``mappings.MAPPINGS``) holds: peer == ours.

One test per line, id ``<peer>-<index>``; the peer's expression and ours are evaluated
as the page prints them (:func:`conformance.witnesses.mappings.evaluate`) and agree to
``mappings.TOL`` (times the peer's magnitude when it exceeds 1). A peer that is not
installed is SKIPPED with the line that installs it. The Keras lines run in one
subprocess (``KERAS_BACKEND=torch`` is read when keras is first imported).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conformance.witnesses import close, import_peer, smp_losses
from conformance.witnesses.mappings import MAPPINGS, PEERS, TOL, Mapping, evaluate, lines_of

ROOT = Path(__file__).resolve().parents[2]
IN_PROCESS = [(i, m) for i, m in enumerate(MAPPINGS) if m.peer != "Keras"]
KERAS = lines_of("Keras")


def _require(mapping: Mapping) -> None:
    peer = PEERS[mapping.peer]
    import_peer(peer.framework)
    if mapping.peer == "smp":
        smp_losses()
    else:
        import_peer(peer.module)


def _check(mapping: Mapping, theirs: Any, ours: Any) -> None:
    close(ours, theirs, TOL, relative=True)
    if mapping.expected is not None:
        assert abs(float(theirs) - mapping.expected) <= TOL, (float(theirs), mapping.expected)


@pytest.mark.parametrize("mapping", [m for _, m in IN_PROCESS],
                         ids=[f"{m.peer}-{i}" for i, m in IN_PROCESS])
def test_mapping(mapping: Mapping) -> None:
    _require(mapping)
    _check(mapping, *evaluate(mapping))


@pytest.fixture(scope="module")
def keras_values() -> list[list[Any]]:
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (pip install 'keras>=3.8'): Keras lines skipped")
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "conformance.witnesses.mappings", "Keras"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    values: list[list[Any]] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(values) == len(KERAS)
    return values


@pytest.mark.parametrize("k", range(len(KERAS)), ids=[f"Keras-{i}" for i, _ in KERAS])
def test_mapping_keras(k: int, keras_values: list[list[Any]]) -> None:
    theirs, ours = keras_values[k]
    _check(KERAS[k][1], np.asarray(theirs), np.asarray(ours))


def test_every_peer_has_lines() -> None:
    assert {m.peer for m in MAPPINGS} == set(PEERS)
