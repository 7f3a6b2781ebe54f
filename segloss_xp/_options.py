"""Library-wide options: ``options(validate=..., closed_form=...)``.

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
_STATE: dict[str, bool] = {"validate": True, "closed_form": True}


def get_option(name: str) -> bool:
    """Return the current value of an option.

    Parameters
    ----------
    name : {"validate", "closed_form"}
        The option (see :class:`options`).

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
    if name not in _STATE:
        raise KeyError(f"unknown option {name!r}; known options: {sorted(_STATE)}")
    return _STATE[name]


class options:
    """Set library options.

    Parameters
    ----------
    validate : bool, optional
        Run the value checks (label range, probabilities in [0, 1], finite
        inputs) on concrete arrays. They cost one host synchronisation per
        call and never change results; shape, dtype and namespace checks always
        run. Off, the inputs are trusted: an integer label outside ``[0, C)`` is
        clipped into range. ``None`` leaves the current setting.
    closed_form : bool, optional
        Differentiate the soft statistics of the region losses and the Lovász
        extension with their closed-form gradient kernels (torch
        ``autograd.Function``, JAX ``custom_vjp``; the same values, faster and
        leaner). ``False`` runs plain autograd through the forward instead, which
        forward-mode JAX transforms (``jax.jvp``, ``jax.jacfwd``, ``jax.hessian``)
        need. Where plain autograd was measured faster, it runs either way (DESIGN
        §12 lists where). ``None`` leaves the current setting.

    Examples
    --------
    >>> import segloss_xp
    >>> with segloss_xp.options(validate=False):
    ...     segloss_xp.get_option("validate")
    False
    >>> segloss_xp.get_option("validate")
    True
    """

    def __init__(self, *, validate: bool | None = None, closed_form: bool | None = None) -> None:
        self._previous: dict[str, bool] = {}
        for name, value in (("validate", validate), ("closed_form", closed_form)):
            if value is None:
                continue
            if not isinstance(value, bool):
                raise TypeError(f"`{name}` must be a bool, got {type(value).__name__}")
            self._previous[name] = _STATE[name]
            _STATE[name] = value

    def __enter__(self) -> options:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _STATE.update(self._previous)
        self._previous = {}
