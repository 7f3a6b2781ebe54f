"""Run the unit tests' calls of the public functions under ``jax.jit``.

The ``jax-jit`` test backend is the ``jax`` backend plus this patch: every public
function of ``segloss_xp`` (in the package, its family modules and the test module's
own namespace) is replaced, for one test, by a wrapper that jits it. Array arguments
(and lists/tuples of arrays) are traced; every other argument (options, callables,
Python numbers) is static, as a user would declare it with ``static_argnames``.
Value checks cannot run on traced arrays, so tests that expect one to raise are marked
``skip_backend(["jax-jit"], reason=...)`` (array-api-extra's ``lazy_xp_function`` idea).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

import segloss_xp
from segloss_xp._capabilities import CAPABILITIES

__all__ = ["patch_public_functions"]

_MODULES = ("segloss_xp", "segloss_xp.region", "segloss_xp.pixel", "segloss_xp.lovasz",
            "segloss_xp.compound", "segloss_xp.metrics")


def _is_traced(value: Any) -> bool:
    jax = sys.modules["jax"]
    if isinstance(value, jax.Array):
        return True
    return isinstance(value, list | tuple) and bool(value) and all(
        isinstance(v, jax.Array) for v in value)


def jitted(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with its array arguments traced by ``jax.jit`` and the rest static."""
    jax = sys.modules["jax"]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        traced_pos = [i for i, a in enumerate(args) if _is_traced(a)]
        traced_kw = [k for k, v in kwargs.items() if _is_traced(v)]

        def inner(pos: list[Any], kw: dict[str, Any]) -> Any:
            full = list(args)
            for i, value in zip(traced_pos, pos, strict=True):
                full[i] = value
            return fn(*full, **{**kwargs, **kw})

        return jax.jit(inner)([args[i] for i in traced_pos], {k: kwargs[k] for k in traced_kw})

    return wrapper


def patch_public_functions(monkeypatch: pytest.MonkeyPatch, test_module: ModuleType) -> None:
    """Replace every public function by its jitted wrapper for the current test."""
    for name in CAPABILITIES:
        if not CAPABILITIES[name].supports("jit"):
            continue
        original = getattr(segloss_xp, name)
        wrapper = jitted(original)
        for module_name in _MODULES:
            module = sys.modules[module_name]
            if getattr(module, name, None) is original:
                monkeypatch.setattr(module, name, wrapper)
        if getattr(test_module, name, None) is original:
            monkeypatch.setattr(test_module, name, wrapper)
