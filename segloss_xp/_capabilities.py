"""What each public function supports, declared once on the function.

``@declare(dask="why not", ...)`` records a :class:`Capabilities` per public
function in :data:`CAPABILITIES`; a feature is supported unless a reason is
given. The library refuses an unsupported library with that reason
(:func:`require`), and the tests, the conformance report, the benchmarks and
the README's API table (:func:`markdown_table`) all read the same record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from ._docs import docfiller
from ._namespace import Namespace, library

__all__ = ["CAPABILITIES", "FEATURES", "Capabilities", "declare", "markdown_table", "require"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Capabilities:
    """One public function's support; ``None`` = supported, a string = why not."""

    family: str
    dask: str | None = None  # lazy dask arrays (the value runs at compute time)
    jit: str | None = None  # jax.jit and jax.vmap
    autograd: str | None = None  # torch autograd and jax.grad
    compile: str | None = None  # torch.compile with zero graph breaks

    def supports(self, feature: str) -> bool:
        return getattr(self, feature) is None


FEATURES: tuple[str, ...] = tuple(f.name for f in fields(Capabilities) if f.name != "family")
CAPABILITIES: dict[str, Capabilities] = {}


def declare(family: str, **reasons: str) -> Callable[[F], F]:
    """Record what the decorated public function supports (see module docstring).

    The function's docstring is filled from the per-parameter docs on the way
    (``_docs.docfiller``); the function itself is returned unchanged.
    """
    unknown = set(reasons) - set(FEATURES)
    if unknown:
        raise TypeError(f"unknown capabilities {sorted(unknown)}; known: {FEATURES}")

    def register(func: F) -> F:
        CAPABILITIES[func.__name__] = Capabilities(family, **reasons)
        return docfiller(func)
    return register


def require(name: str, *, xp: Namespace) -> None:
    """Raise ``TypeError`` when function ``name`` is declared unsupported on ``xp``'s library."""
    if library(xp) == "dask" and not CAPABILITIES[name].supports("dask"):
        raise TypeError(f"{name} does not support dask arrays: {CAPABILITIES[name].dask}")


def markdown_table() -> str:
    """The README's API table: one row per function, a column per feature."""
    header = "| function | family | " + " | ".join(FEATURES) + " |"
    rows = [header, "|" + " --- |" * (len(FEATURES) + 2)]
    for name in sorted(CAPABILITIES, key=lambda n: (CAPABILITIES[n].family, n)):
        caps = CAPABILITIES[name]
        cells = ["yes" if caps.supports(f) else f"no ({getattr(caps, f)})" for f in FEATURES]
        rows.append(f"| `{name}` | {caps.family} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
