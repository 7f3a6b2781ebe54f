"""nox sessions: ``nox -s tests-numpy`` (one backend), ``tests`` (all), ``conformance``, ``lint``.

Dependencies are written once, as extras in ``pyproject.toml``; the sessions install
those extras. torch is always pinned to 2.13.0 and installed first: an unpinned
``torch`` (or one pulled in by a peer) is a multi-GB CUDA build.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

TORCH = "torch==2.13.0"
SMP = "segmentation-models-pytorch==0.6.0"  # --no-deps: its dependencies pull torchvision

_PYPROJECT = tomllib.loads((Path(__file__).parent / "pyproject.toml").read_text("utf-8"))
EXTRAS: dict[str, list[str]] = _PYPROJECT["project"]["optional-dependencies"]

# backend -> the extras it needs beside [test]; torch is the pinned install above
BACKENDS: dict[str, list[str]] = {
    "numpy": [],
    "strict": [],
    "torch": [],
    "jax": ["jax"],
    "dask": ["dask"],
    "cupy": ["cupy"],
}
_unknown = {e for extras in BACKENDS.values() for e in extras} - EXTRAS.keys()
if _unknown:
    raise RuntimeError(f"noxfile: extras {sorted(_unknown)} are not in pyproject.toml")


def _install(session: nox.Session, *extras: str, torch: bool = True) -> None:
    """``TORCH`` first (pinned), then the package with ``extras`` from pyproject.toml."""
    if torch:
        session.install(TORCH)
    session.install("-e", f".[{','.join(extras)}]" if extras else ".")


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The whole suite on every installed backend."""
    _install(session, "ci")
    session.install("--no-deps", SMP)
    session.run("pytest", "-q", "-n", "2", *session.posargs)


@nox.session(python="3.11")
@nox.parametrize("backend", list(BACKENDS))
def tests_backend(session: nox.Session, backend: str) -> None:
    """The suite on one backend (the others SKIP with the reason)."""
    _install(session, "test", *BACKENDS[backend])
    session.env["SEGLOSS_BACKENDS"] = "strict,strict-dev1" if backend == "strict" else backend
    session.run("pytest", "-q", "tests", "conformance", *session.posargs)


@nox.session(python="3.11")
def conformance(session: nox.Session) -> None:
    """The cross-backend conformance report (conformance/REPORT.md)."""
    _install(session, "ci")
    session.install("--no-deps", SMP)
    session.run("python", "-m", "conformance.report", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff, and mypy (strict on segloss_xp/, configured in pyproject.toml)."""
    _install(session, "lint", torch=False)
    session.run("ruff", "check", "segloss_xp", "tests", "conformance", "benchmarks", "noxfile.py")
    session.run("mypy")
