"""The documentation site renders the docstrings' formula literals as math.

``docs/_ext/formulas.py`` turns an inline literal that is a formula (``1 − (2I + s)/(P +
G + s)``) into ``:math:`` with LaTeX; MathJax draws it in the browser, so a LaTeX error
would not fail the Sphinx build. This test parses every converted formula of every
public docstring with matplotlib's mathtext (a stricter TeX subset than MathJax) and
checks that code literals stay code.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

import segloss_xp as sx

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["region", "pixel", "lovasz", "compound", "boundary", "distance", "metrics",
           "testing", "distributed"]


def _formulas() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_docs_formulas",
                                                  ROOT / "docs" / "_ext" / "formulas.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def _literals() -> list[str]:
    docs = []
    for name in MODULES:
        module = importlib.import_module(f"segloss_xp.{name}")
        docs.append(module.__doc__ or "")
        docs += [inspect.getdoc(getattr(module, n)) or "" for n in module.__all__]
    docs += [inspect.getdoc(getattr(sx, n)) or "" for n in ("check_inputs", "options")]
    return sorted({m for d in docs for m in re.findall(r"``(.+?)``", d, flags=re.S)})


def test_every_formula_parses_as_tex() -> None:
    mathtext = pytest.importorskip("matplotlib.mathtext", reason="matplotlib not installed")
    parser = mathtext.MathTextParser("agg")
    to_latex = _formulas().to_latex
    converted = {lit: to_latex(lit) for lit in _literals()}
    formulas = {lit: tex for lit, tex in converted.items() if tex is not None}
    assert len(formulas) > 100, "the docstrings' formulas are no longer recognised"
    for literal, tex in formulas.items():
        # mathtext lacks \tfrac, which MathJax has
        parser.parse("$" + tex.replace(r"\tfrac", r"\frac") + "$")  # raises on bad TeX
        assert tex.count("{") == tex.count("}"), literal


@pytest.mark.parametrize(("literal", "tex"), [
    ("1 − (2I + s)/(P + G + s)", "1 - (2I + s)/(P + G + s)"),
    ("I = Σ p·g", r"I = \sum  p\cdot g"),
    ("Σ_k q_k w_k (−ln p_k)^γ_ce", r"\sum _{k} q_{k} w_{k} (-\ln  p_{k})^{\gamma _{\mathrm{ce}}}"),
    ("w0·exp(−d1²)", r"w_{0}\cdot \exp (-d_{1}^{2})"),
    ('mode="binary"', None),
    ("dice_loss(x, y) + 1", None),
    ("(N, C, *spatial)", None),
    ("reduction", None),
])
def test_formula_or_code(literal: str, tex: str | None) -> None:
    assert _formulas().to_latex(literal) == tex
