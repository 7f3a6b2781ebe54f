"""Render the docstrings' formulas with Sphinx math, leaving the docstrings as they are.

The docstrings write formulas as inline literals in Unicode (``1 − (2I + s)/(P + G + s)``,
``Σ_c w_c I_c``), which read well in ``help()``. On the site, an inline literal that is
a formula (it has a mathematical operator or a Greek letter, and nothing that only code
has: quotes, ``name=value``, attribute access, ``snake_case`` names, ``**``, ``->``) becomes
``:math:`...``` with its Unicode translated to LaTeX. Every other literal stays code.
The translation is small and total over what it accepts; :func:`to_latex` returns
``None`` for a literal it does not accept.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["setup", "to_latex"]

GREEK = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon",
    "λ": r"\lambda", "σ": r"\sigma", "τ": r"\tau", "φ": r"\varphi", "Ω": r"\Omega",
    "Δ": r"\Delta", "Σ": r"\sum", "∂": r"\partial",
}
SYMBOLS = {
    "−": "-", "·": r"\cdot ", "≤": r"\leq ", "≥": r"\geq ", "∈": r"\in ", "∩": r"\cap ",
    "∪": r"\cup ", "→": r"\to ", "←": r"\leftarrow ", "↓": r"\downarrow ", "∞": r"\infty ",
    "±": r"\pm ", "¬": r"\neg ", "∧": r"\wedge ", "½": r"\tfrac{1}{2}", "…": r"\ldots ",
    "≠": r"\neq ", "²": "^{2}", "³": "^{3}",
}
FUNCTIONS = {"log": r"\log", "ln": r"\ln", "exp": r"\exp", "max": r"\max", "min": r"\min"}
OPERATORS = {"sqrt", "mean", "softplus", "relu", "erode", "dilate", "open", "edt", "EDT",
             "logsigmoid", "expm1", "log1p", "logaddexp", "floor", "softmax"}
# a formula has one of these ...
MATH = set("=Σ·−²³≤≥≠∈∂^/±∞|←→¬√∩∪½") | set(GREEK)
# ... and none of these (code): quotes, keyword arguments, attribute access, snake_case
# names, Python operators, arrows of a pipeline, slices, ellipses; brackets are math
# (Iverson brackets, intervals)
CODE = re.compile(r"[\"'`#@&~*]\S|\[:|\w=|[A-Za-z]\.[A-Za-z]|[A-Za-z0-9]{2,}_[A-Za-z0-9]{2,}"
                  r"|->|==|\.\.\.|\*\*|\bNone\b|\bTrue\b|\bFalse\b")
TOKEN = re.compile(r"\d+(?:\.\d+)?(?:e[-+−]?\d+)?|[A-Za-z][A-Za-z0-9]*|\s+|.", re.S)


def _word(word: str) -> str:
    if word in FUNCTIONS:
        return FUNCTIONS[word] + " "
    if word in OPERATORS:
        return rf"\operatorname{{{word}}}"
    if len(word) == 1:
        return word
    index = re.fullmatch(r"([A-Za-z])(\d+)", word)  # ``d1``, ``w0``: an index
    if index:
        return f"{index[1]}_{{{index[2]}}}"
    return rf"\mathrm{{{word}}}"


def _number(text: str) -> str:
    mantissa, _, exponent = text.replace("−", "-").partition("e")
    return f"{mantissa}\\cdot 10^{{{exponent}}}" if exponent else mantissa


def _convert(tokens: list[str]) -> str:
    """LaTeX of the token list (consumed from the front)."""
    out: list[str] = []
    groups: list[str] = []  # what closes each open "{": "}" (a group) or r"\}" (a set)
    while tokens:
        tok = tokens.pop(0)
        if tok in "_^" and tokens:
            out.append(tok + "{" + _script(tokens) + "}")
        elif tok == "{":
            groups.append(r"\}")
            out.append(r"\{")
        elif tok == "}":
            out.append(groups.pop() if groups else r"\}")
        elif tok[0] in "0123456789":
            out.append(_number(tok))
        elif tok[0].isalpha() and tok[0].isascii():
            out.append(_word(tok))
        elif tok in GREEK:
            out.append(GREEK[tok] + " ")
        elif tok in SYMBOLS:
            out.append(SYMBOLS[tok])
        elif tok.isspace():
            out.append(" ")
        else:
            out.append(tok)
    return "".join(out)


def _script(tokens: list[str]) -> str:
    """The argument of ``_`` or ``^``: a ``{...}`` or ``(...)`` group, ``−`` and one token,
    or one token; an exponent's own subscript (``γ_dice``) joins it."""
    first = tokens.pop(0)
    if first in "{(":
        close, depth, body = {"{": "}", "(": ")"}[first], 1, []
        while tokens:
            tok = tokens.pop(0)
            depth += (tok == first) - (tok == close)
            if depth == 0:
                break
            body.append(tok)
        inner = _convert(body)
        return inner if first == "{" else f"({inner})"
    body = [first]
    if first in "−-" and tokens:
        body.append(tokens.pop(0))
    if tokens and tokens[0] == "_" and len(tokens) > 1:
        body += [tokens.pop(0), tokens.pop(0)]
    return _convert(body)


def to_latex(literal: str) -> str | None:
    """The LaTeX of a formula literal, or ``None`` when the literal is code."""
    text = " ".join(literal.split()).replace("<=", "≤").replace(">=", "≥")
    if not (set(text) & MATH) or CODE.search(text) or text.count("(") != text.count(")"):
        return None
    return _convert(TOKEN.findall(text)).strip()


LITERAL = re.compile(r"(?<![`\w])``(?P<body>[^`]+?)``(?![`\w])", re.S)


def _math_role(match: re.Match[str]) -> str:
    latex = to_latex(match["body"])
    if latex is None:
        return match[0]
    return ":math:`" + latex.replace("`", "") + "`"


def process_docstring(app: Any, what: str, name: str, obj: Any, options: Any,
                      lines: list[str]) -> None:
    """``autodoc-process-docstring``: formula literals -> ``:math:``."""
    text = LITERAL.sub(_math_role, "\n".join(lines))
    lines[:] = text.split("\n")


def setup(app: Any) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", process_docstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
