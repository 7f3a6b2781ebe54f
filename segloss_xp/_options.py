"""Library-wide options: ``options(validate=...)``.

``options`` works both as a context manager (restores the previous value on
exit) and as a plain call (sets the value for the rest of the process)::

    with segloss_xp.options(validate=False):   # this block only
        loss = segloss_xp.dice_loss(y_pred, y_true)
    segloss_xp.options(validate=False)          # from now on
"""

from __future__ import annotations

from types import TracebackType

__all__ = ["get_option", "options"]

# A plain dict, not a ContextVar: torch.compile cannot trace ContextVar.get (a graph
# break in every loss). The price: the setting is process-wide, not per thread.
_STATE: dict[str, bool] = {"validate": True}


def get_option(name: str) -> bool:
    """Return the current value of an option.

    Parameters
    ----------
    name : {"validate"}
        The option (only ``"validate"`` exists).

    Returns
    -------
    bool
        Its current value.

    Raises
    ------
    KeyError
        An unknown option name.

    Examples
    --------
    >>> import segloss_xp
    >>> segloss_xp.get_option("validate")
    True
    """
    if name != "validate":
        raise KeyError(f"unknown option {name!r}; known options: 'validate'")
    return _STATE["validate"]


class options:
    """Set library options.

    Parameters
    ----------
    validate : bool, optional
        Run the value checks (label range, probabilities in [0, 1], finite
        inputs) on concrete arrays. They cost one host synchronisation per
        call and never change results; shape, dtype and namespace checks always
        run. ``None`` leaves the current setting.

    Examples
    --------
    >>> import segloss_xp
    >>> with segloss_xp.options(validate=False):
    ...     segloss_xp.get_option("validate")
    False
    >>> segloss_xp.get_option("validate")
    True
    """

    def __init__(self, *, validate: bool | None = None) -> None:
        self._previous: bool | None = None
        if validate is not None:
            if not isinstance(validate, bool):
                raise TypeError(f"`validate` must be a bool, got {type(validate).__name__}")
            self._previous = _STATE["validate"]
            _STATE["validate"] = validate

    def __enter__(self) -> options:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._previous is not None:
            _STATE["validate"] = self._previous
            self._previous = None
