"""``keras.losses.Loss`` classes for every loss, generated from the functions (Keras 3).

``segloss_xp.keras.DiceLoss()(y_true, y_pred)`` is ``segloss_xp.dice_loss(y_pred, y_true,
class_axis=-1)``: Keras's argument order and channels-last default, every other keyword
the function's own (same defaults and documentation). Keras's ``reduction`` replaces the
function's (:data:`REDUCTIONS`). The classes hold no loss logic; they run on the Keras
backends whose arrays segloss_xp takes (torch, JAX). Keras is imported when a class is
first accessed, not when this module is; it picks its backend from ``KERAS_BACKEND``.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from ._adapters import bind_keywords, class_doc, keyword_parameters, lazy_classes
from ._namespace import get_namespace

#: Keras's ``reduction`` -> the function's. ``call`` returns the function's value with
#: the mapped reduction: a scalar for "mean"/"sum", which Keras's own reduction leaves
#: as it is (its default, "sum_over_batch_size", divides the sum by the size, 1), so the
#: Keras default equals the function's default exactly, for every keyword.
REDUCTIONS: dict[str | None, str] = {
    "sum_over_batch_size": "mean", "mean": "mean", "mean_with_sample_weight": "mean",
    "sum": "sum", "none": "none", None: "none"}

KERAS_PARAMETERS = {
    "reduction": """
reduction : {"sum_over_batch_size", "mean", "mean_with_sample_weight", "sum", "none"} or None
    Keras's reduction, mapped to the function's: ``"sum"`` -> ``"sum"``, ``"none"`` and
    ``None`` -> ``"none"``, the others -> ``"mean"`` (see Notes).""",
    "name": """
name : str, optional
    Keras's name of the loss instance (default: the class name in snake case).""",
    "dtype": """
dtype : str or keras.DTypePolicy, optional
    Keras's computation dtype (default ``keras.backend.floatx()``); Keras casts both
    inputs to it.""",
}

NOTES = """
Keras calls ``call(y_true, y_pred)`` and reduces what it returns. ``call`` returns the
function's value with the reduction mapped from Keras's (``sum_over_batch_size``,
``mean``, ``mean_with_sample_weight`` -> ``"mean"``; ``sum`` -> ``"sum"``; ``none`` ->
``"none"``): a scalar, which Keras leaves unchanged, so the Keras default equals the
function's default ``reduction="mean"`` for every keyword (``ignore_index``,
``class_weights``, ``batch=True``, compound losses). As for ``keras.losses.Dice``, a
``sample_weight`` then multiplies that batch value (``sum_over_batch_size``: by the mean
weight; ``mean_with_sample_weight``: not at all); weigh pixels with the function's own
keywords (``class_weights``, ``pixel_weights``) or use ``reduction="none"``, whose value
Keras multiplies by ``sample_weight`` and returns. A reduction the function lacks
(``"none"`` for the compound losses) raises ``ValueError`` at construction.
Keras casts ``y_true`` to the loss dtype: a ``y_true`` with one axis fewer than
``y_pred`` (class ids) is cast back to ``int32`` before the call. ``get_config()`` holds
every keyword (array-valued keywords serialise as lists only if given as lists).
"""


@functools.cache
def _base() -> Any:
    """The one ``keras.losses.Loss`` subclass every loss class derives from (imports Keras)."""
    import keras

    class KerasLoss(keras.losses.Loss):  # type: ignore[misc]
        """A loss function with fixed keywords as a ``keras.losses.Loss``."""

        function: Callable[..., Any]
        parameters: tuple[inspect.Parameter, ...]

        def __init__(self, *, reduction: str | None = "sum_over_batch_size",
                     name: str | None = None, dtype: Any = None, **keywords: Any) -> None:
            owner = type(self).__name__
            self.keywords = bind_keywords(owner, self.parameters, keywords)
            super().__init__(name=name, reduction=reduction, dtype=dtype)
            allowed = typing.get_args(typing.get_type_hints(self.function)["reduction"])
            if REDUCTIONS[reduction] not in allowed:
                raise ValueError(
                    f"{owner}: Keras reduction={reduction!r} maps to segloss_xp's "
                    f"reduction={REDUCTIONS[reduction]!r}, which {self.function.__name__} "
                    f"does not take (it takes {', '.join(map(repr, allowed))})")

        def call(self, y_true: Any, y_pred: Any) -> Any:
            """The function's value on ``(y_pred, y_true)`` with the mapped reduction.

            Parameters
            ----------
            y_true : array
                The function's second input (class ids without a class axis, or an
                array of ``y_pred``'s shape; ``dist_maps`` for ``BoundaryLoss``).
            y_pred : array
                The function's ``y_pred`` (channels last unless ``class_axis`` says).

            Returns
            -------
            array
                What the function returns.

            Examples
            --------
            >>> from segloss_xp.keras import DiceLoss
            >>> DiceLoss().call(y_true, y_pred)  # doctest: +SKIP
            """
            if len(y_true.shape) == len(y_pred.shape) - 1:  # class ids, cast by Keras
                xp = get_namespace(y_true)
                y_true = xp.astype(y_true, xp.int32)
            return type(self).function(y_pred, y_true, **self.keywords,
                                       reduction=REDUCTIONS[self.reduction])

        def get_config(self) -> dict[str, Any]:
            """Return Keras's configuration (name, reduction) and every keyword.

            Returns
            -------
            dict
                The keyword arguments that rebuild this loss (``from_config``).

            Examples
            --------
            >>> from segloss_xp.keras import DiceLoss
            >>> DiceLoss(smooth=1.0).get_config()["smooth"]  # doctest: +SKIP
            1.0
            """
            return {**super().get_config(), **self.keywords}

    return KerasLoss


def _build(name: str, fn: Callable[..., Any]) -> type:
    import keras

    base = _base()
    # channels last, as Keras users expect; Keras's reduction replaces the function's
    parameters = tuple(p.replace(default=-1) if p.name == "class_axis" else p
                       for p in keyword_parameters(fn) if p.name != "reduction")
    keras_parameters = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d)
                        for n, d in (("reduction", "sum_over_batch_size"), ("name", None),
                                     ("dtype", None))]

    def __init__(self: Any, **keywords: Any) -> None:
        base.__init__(self, **keywords)

    __init__.__qualname__ = f"{name}.__init__"
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), *parameters,
         *keras_parameters])
    doc = class_doc(
        fn, owner="call", parameters=parameters, extra=KERAS_PARAMETERS, notes=NOTES,
        wraps=f"``{name}(**keywords)(y_true, y_pred)`` is ``segloss_xp.{fn.__name__}(y_pred, "
              "y_true, class_axis=-1, **keywords)`` as a ``keras.losses.Loss`` (Keras's "
              "argument order, channels last by default), generated from that function "
              "(same keywords, defaults and parameter documentation).",
        example=f">>> from segloss_xp.keras import {name}\n"
                f">>> model.compile(optimizer=\"adam\", loss={name}())  # doctest: +SKIP")
    cls = type(name, (base,), {"__init__": __init__, "__doc__": doc,
                               "function": staticmethod(fn), "parameters": parameters})
    # a saved model finds the class by this name once the class has been accessed
    keras.saving.register_keras_serializable(package="segloss_xp", name=name)(cls)
    return cls


__all__, __getattr__, __dir__ = lazy_classes(globals(), _build)
