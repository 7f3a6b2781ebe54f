"""nox sessions: ``nox -s tests-numpy`` (one backend), ``tests`` (all), ``conformance``, ``lint``.

torch is always pinned to 2.13.0: an unpinned ``torch`` pulls a multi-GB CUDA build.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

TORCH = "torch==2.13.0"
BACKENDS = {
    "numpy": [],
    "strict": [],
    "torch": [TORCH],
    "jax": ["jax>=0.8.2", "jaxlib>=0.8.2"],
    "dask": ["dask[array]>=2024.1"],
    "cupy": ["cupy>=14.0.0a1"],
}
TEST_DEPS = ["pytest>=8", "pytest-xdist>=3", "hypothesis>=6.100", "array-api-strict>=2.6.1",
             "scipy>=1.13", "ml_dtypes"]


def _install(session: nox.Session, *extra: str) -> None:
    session.install(TORCH)  # first, pinned (peers and tests import it)
    session.install("-r", ".ci/requirements.txt", *extra)
    session.install("--no-deps", "-e", ".")


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The whole suite on every installed backend."""
    _install(session)
    session.run("pytest", "-q", "-n", "2", *session.posargs)


@nox.session(python="3.11")
@nox.parametrize("backend", list(BACKENDS))
def tests_backend(session: nox.Session, backend: str) -> None:
    """The suite on one backend (the others SKIP with the reason)."""
    session.install(TORCH)
    session.install("numpy>=2", "array-api-compat>=1.16,<2", *TEST_DEPS, *BACKENDS[backend])
    session.install("--no-deps", "-e", ".")
    session.env["SEGLOSS_BACKENDS"] = "strict,strict-dev1" if backend == "strict" else backend
    session.run("pytest", "-q", "tests", "conformance", *session.posargs)


@nox.session(python="3.11")
def conformance(session: nox.Session) -> None:
    """The cross-backend conformance report (conformance/REPORT.md)."""
    _install(session)
    session.run("python", "-m", "conformance.report", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", "segloss_xp", "tests", "conformance", "benchmarks", "noxfile.py")
