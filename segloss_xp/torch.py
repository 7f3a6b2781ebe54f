"""``torch.nn.Module`` classes for every loss, generated from the functions.

``segloss_xp.torch.DiceCELoss(lambda_dice=1.0)(y_pred, y_true)`` is
``segloss_xp.dice_ce_loss(y_pred, y_true, lambda_dice=1.0)``: each class takes exactly
its function's keyword-only parameters with the same defaults and documentation, and
``forward(y_pred, y_true)`` (torch's order, as MONAI and smp) calls the function. The
classes hold no loss logic. torch is imported when a class is first accessed, not when
this module is.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from ._adapters import bind_keywords, class_doc, keyword_parameters, lazy_classes, non_default

NOTES = """
Keywords holding a ``torch.Tensor`` (``class_weights``, ``pos_weight``, ``alpha``,
``pixel_weights``) are registered as non-persistent buffers: ``.to(device)`` moves them
and the module's ``state_dict`` does not hold them. Keyword arguments of ``forward``
replace the module's for that call (a per-batch ``pixel_weights``, say).
"""


@functools.cache
def _base() -> Any:
    """The one ``nn.Module`` subclass every loss class derives from (imports torch)."""
    import torch

    class LossModule(torch.nn.Module):  # type: ignore[misc]
        """A loss function with fixed keywords as a ``torch.nn.Module``."""

        function: Callable[..., Any]
        parameters: tuple[inspect.Parameter, ...]

        def __init__(self, **keywords: Any) -> None:
            super().__init__()
            bound = bind_keywords(type(self).__name__, self.parameters, keywords)
            self._fixed = {k: v for k, v in bound.items() if not isinstance(v, torch.Tensor)}
            self._tensors = tuple(k for k in bound if k not in self._fixed)
            for name in self._tensors:
                self.register_buffer(name, bound[name], persistent=False)

        @property
        def keywords(self) -> dict[str, Any]:
            """Every keyword the function is called with (given or default).

            Examples
            --------
            >>> from segloss_xp.torch import DiceLoss
            >>> DiceLoss(smooth=1.0).keywords["smooth"]
            1.0
            """
            tensors = {name: getattr(self, name) for name in self._tensors}
            return {p.name: {**self._fixed, **tensors}[p.name] for p in self.parameters}

        def forward(self, y_pred: Any, y_true: Any, **overrides: Any) -> Any:
            """Compute the loss: the function with the module's keywords.

            Parameters
            ----------
            y_pred : torch.Tensor
                The function's ``y_pred``.
            y_true : torch.Tensor
                The function's second input (``y_true``; ``dist_maps`` for
                ``BoundaryLoss``).
            **overrides
                Keywords that replace the module's for this call.

            Returns
            -------
            torch.Tensor
                What the function returns.

            Examples
            --------
            >>> import torch
            >>> from segloss_xp.torch import DiceLoss
            >>> y_pred, y_true = torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.int64)
            >>> DiceLoss()(y_pred, y_true).shape
            torch.Size([])
            """
            return type(self).function(y_pred, y_true, **{**self.keywords, **overrides})

        def extra_repr(self) -> str:
            """Return the keywords that differ from their default (for ``repr``).

            Returns
            -------
            str
                ``"name=value, ..."`` in the function's parameter order.

            Examples
            --------
            >>> from segloss_xp.torch import DiceLoss
            >>> DiceLoss(smooth=1.0, batch=True).extra_repr()
            'smooth=1.0, batch=True'
            """
            return non_default(self.keywords, self.parameters)

    return LossModule


def _build(name: str, fn: Callable[..., Any]) -> type:
    base = _base()
    parameters = keyword_parameters(fn)

    def __init__(self: Any, **keywords: Any) -> None:
        base.__init__(self, **keywords)

    __init__.__qualname__ = f"{name}.__init__"
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), *parameters])
    doc = class_doc(
        fn, owner="forward", parameters=parameters, extra={}, notes=NOTES,
        wraps=f"``{name}(**keywords)(y_pred, y_true)`` is ``segloss_xp.{fn.__name__}(y_pred, "
              "y_true, **keywords)`` as a ``torch.nn.Module``, generated from that function "
              "(same keywords, defaults and parameter documentation).",
        example=f">>> from segloss_xp.torch import {name}\n>>> {name}(reduction=\"sum\")\n"
                f"{name}(reduction='sum')")
    return type(name, (base,), {"__init__": __init__, "__doc__": doc,
                                "function": staticmethod(fn), "parameters": parameters})


__all__, __getattr__, __dir__ = lazy_classes(globals(), _build)
