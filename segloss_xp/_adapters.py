"""What the framework adapters (``segloss_xp.torch``, ``segloss_xp.keras``) share.

Which functions get a class and its name, the keywords a class takes (read from the
function's signature), the class docstring (cut from the function's), the repr of
non-default keywords, and the lazy module attributes (PEP 562) that import the
framework only when a class is first used. No loss logic lives here or in the adapters.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

from ._capabilities import CAPABILITIES

__all__ = [
    "LOSS_FAMILIES",
    "bind_keywords",
    "class_doc",
    "class_name",
    "keyword_parameters",
    "lazy_classes",
    "loss_functions",
    "non_default",
]

LOSS_FAMILIES = ("region", "pixel", "lovasz", "compound", "boundary")

# Peers' spellings of the parts of a function name: MONAI ``DiceCELoss``,
# ``HausdorffDTLoss``, smp ``MCCLoss``; every other part is capitalised
# (``cross_entropy`` -> ``CrossEntropyLoss`` as torch, ``cldice`` -> ``ClDice``).
ACRONYMS = {"bce": "BCE", "ce": "CE", "cldice": "ClDice", "dt": "DT", "mcc": "MCC"}

_SECTION = re.compile(r"^(\w[\w ]*)\n-+\n", flags=re.M)
_ENTRY = re.compile(r"^(\w+(?:, \w+)*) :", flags=re.M)


def loss_functions() -> dict[str, Callable[..., Any]]:
    """Every public loss ``loss(y_pred, y_true, *, ...)``, by function name.

    The public functions of the loss families whose name ends in ``_loss`` or
    ``cross_entropy`` (not the statistics helpers ``soft_confusion`` and
    ``region_loss_from_stats`` nor the wrapper ``deep_supervision``).
    """
    import segloss_xp

    return {name: getattr(segloss_xp, name) for name in sorted(CAPABILITIES)
            if name in segloss_xp.__all__ and CAPABILITIES[name].family in LOSS_FAMILIES
            and name.endswith(("_loss", "cross_entropy"))}


def class_name(function_name: str) -> str:
    """``dice_ce_loss`` -> ``DiceCELoss``; ``cross_entropy`` -> ``CrossEntropyLoss``."""
    parts = function_name.split("_")
    if parts[-1] != "loss":
        parts.append("loss")
    return "".join(ACRONYMS.get(part, part.capitalize()) for part in parts)


def keyword_parameters(fn: Callable[..., Any]) -> tuple[inspect.Parameter, ...]:
    """The keyword-only parameters of ``fn``, in order, with their defaults."""
    return tuple(p for p in inspect.signature(fn).parameters.values()
                 if p.kind is p.KEYWORD_ONLY)


def bind_keywords(owner: str, parameters: Iterable[inspect.Parameter],
                  keywords: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter's value: the given keyword or the default.

    Raises ``TypeError`` naming an unknown keyword (at construction, not at the first
    call), as Python does for a function.
    """
    parameters = tuple(parameters)
    names = [p.name for p in parameters]
    for name in keywords:
        if name not in names:
            raise TypeError(f"{owner}() got an unexpected keyword argument {name!r}; "
                            f"it takes {', '.join(names)}")
    return {p.name: keywords.get(p.name, p.default) for p in parameters}


def non_default(keywords: Mapping[str, Any], parameters: Iterable[inspect.Parameter]) -> str:
    """``"smooth=1.0, batch=True"``: the keywords that differ from their default."""
    return ", ".join(f"{p.name}={keywords[p.name]!r}" for p in parameters
                     if not (type(keywords[p.name]) is type(p.default)
                             and keywords[p.name] == p.default))


def class_doc(fn: Callable[..., Any], *, owner: str, wraps: str,
              parameters: Iterable[inspect.Parameter], extra: Mapping[str, str],
              notes: str, example: str) -> str:
    """A class docstring derived from ``fn``'s, so that it cannot drift.

    ``fn``'s summary, the line ``wraps`` (which function, in which framework), the
    parameters section of ``fn`` cut to ``parameters`` (entries of ``extra`` replace
    or add an entry), the ``notes`` and the ``example``.
    """
    doc = inspect.cleandoc(fn.__doc__ or "")
    entries = _parameter_entries(doc) | {n: text.strip("\n") for n, text in extra.items()}
    # an entry may document several parameters ("lambda_dice, lambda_ce : float"): once
    names = [*(p.name for p in parameters), *extra]
    body = "\n".join(dict.fromkeys(entries[name] for name in names))
    return (f"{doc.splitlines()[0]}\n\n{textwrap.fill(wraps, 88)}\n\n"
            f"Parameters\n----------\n{body}\n\n"
            f"See Also\n--------\nsegloss_xp.{fn.__name__} : The function {owner} calls.\n\n"
            f"Notes\n-----\n{notes.strip()}\n\nExamples\n--------\n{example.strip()}\n")


def _parameter_entries(doc: str) -> dict[str, str]:
    """``{name: entry}`` of the numpydoc "Parameters" section of a cleaned docstring."""
    heads = list(_SECTION.finditer(doc))
    for head, following in zip(heads, [*heads[1:], None], strict=True):
        if head.group(1) == "Parameters":
            section = doc[head.end():following.start() if following else len(doc)].rstrip()
            starts = list(_ENTRY.finditer(section))
            return {name.strip(): section[m.start():end.start() if end else len(section)].rstrip()
                    for m, end in zip(starts, [*starts[1:], None], strict=True)
                    for name in m.group(1).split(",")}
    raise ValueError("the docstring has no Parameters section")


def lazy_classes(namespace: MutableMapping[str, Any],
                 build: Callable[[str, Callable[..., Any]], type]
                 ) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` of an adapter module (PEP 562).

    A class is built by ``build(class_name, function)`` on first access, which is where
    the framework is imported, and stored in the module's ``namespace`` (later accesses
    do not reach ``__getattr__``).
    """
    functions = {class_name(name): fn for name, fn in loss_functions().items()}
    module = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name not in functions:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        cls = build(name, functions[name])
        cls.__module__ = module
        cls.__name__ = cls.__qualname__ = name
        namespace[name] = cls
        return cls

    def __dir__() -> list[str]:
        return sorted({*namespace, *functions})

    return sorted(functions), __getattr__, __dir__
