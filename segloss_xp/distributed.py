"""Global region losses under data parallelism: sum the statistics, then the ratio.

A region loss is a ratio of sums, so the mean of per-device losses is not the loss of
the global batch when the statistics are pooled (``batch=True``). Sum the
statistics of :func:`segloss_xp.soft_confusion` across devices, then take the loss of
the sums with :func:`segloss_xp.region_loss_from_stats`:

* PyTorch (``torch.distributed``, DDP/FSDP): :func:`all_reduce_stats`;
* JAX (``jax.shard_map``, ``jax.pmap``): :func:`psum_stats`.

Per-image losses (``batch=False``, the default, with ``reduction="mean"``) need none of
this: with equal shards the mean of the per-device means is the global mean, and the
frameworks' gradient averaging gives the full-batch gradient.

Gradient scale, one rule for both engines: after the engine's usual gradient
synchronisation (DDP's or FSDP's average, ``jax.lax.pmean`` in ``pmap``, nothing to do
in ``shard_map``) every parameter holds the single-process gradient of the
concatenated batch. The per-device input gradients are those of
:func:`all_reduce_stats` and :func:`psum_stats` (their Notes).

Neither function is in the capabilities table (``segloss_xp._capabilities``): they are
one framework's collectives, not array-API functions of ``(y_pred, y_true)``, so its
columns (dask, jit, autograd, compile across libraries) do not apply; importing this
module imports neither torch nor JAX.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from ._namespace import library_name
from ._stats import Stats

__all__ = ["all_reduce_stats", "psum_stats"]


def all_reduce_stats(stats: Sequence[Any], *, group: Any = None) -> Stats:
    """Sum statistics over the ranks of a ``torch.distributed`` group, with gradients.

    Parameters
    ----------
    stats : sequence of torch.Tensor
        Statistics of this rank's shard, e.g. ``soft_confusion(..., batch=True)``
        (``(I, P, G)``, each ``(C,)``; ``(I, P, G, S)`` with ``count=True``); one
        floating dtype and one device. Every rank passes the same shapes.
    group : torch.distributed.ProcessGroup, optional
        The ranks to sum over; the default process group when None.

    Returns
    -------
    tuple of torch.Tensor
        The elementwise sums over the ranks, new tensors of the inputs' shapes, dtype
        and device (identical on every rank); the inputs are not modified.

    Raises
    ------
    TypeError
        ``stats`` is not a non-empty sequence of floating tensors of one dtype and
        device.
    RuntimeError
        ``torch.distributed`` is not initialised (``init_process_group``).

    See Also
    --------
    psum_stats : The JAX counterpart.

    Notes
    -----
    One collective for all statistics: they are flattened into one new buffer, summed
    in place there with ``torch.distributed.all_reduce`` and split again (no deprecated
    API such as ``torch.distributed.nn``, no warning). Inside ``torch.compile`` the sum is
    torch's functional all-reduce, which the compiler traces: a compiled loss of the
    all-reduced statistics is one graph (``fullgraph=True`` works).

    **Gradient scale.** The backward is the adjoint of the sum over ranks: it sums the
    incoming gradients over the ranks (a second, equally small all-reduce), as the
    deprecated ``torch.distributed.nn.functional.all_reduce`` does. Every rank computes
    the same global loss :math:`L`, so each rank's inputs receive
    :math:`W \\cdot \\partial L / \\partial x_r`, ``W`` (the group's size) times the
    single-process gradient of the concatenated batch. This is the exact gradient of
    what DDP optimises, the mean over ranks of each rank's loss: DDP and FSDP average
    the parameter gradients over the ``W`` ranks, so every parameter gets exactly the
    single-process gradient, and a global loss adds to per-rank losses (a per-rank
    ``cross_entropy`` plus a Dice of the all-reduced statistics) with their
    single-process weights. Compare
    ``x.grad`` with a single-process run as ``x.grad / W``; where gradients are summed
    over the ranks instead of averaged, divide the loss by ``W``. Every rank has to run
    the backward (DDP requires it as well); it is not differentiable twice.

    Sum only statistics of the same thing on every rank: the pooled ``(C,)`` statistics
    of ``batch=True``. Per-image ``(N, C)`` statistics would add unrelated images
    elementwise; per-image losses need no all-reduce (module docstring).

    References
    ----------
    Li et al., "PyTorch Distributed: Experiences on Accelerating Data Parallel
    Training", VLDB 2020 (DDP averages gradients over the ranks).

    Examples
    --------
    A one-rank group in this process (``torchrun`` starts one process per rank and the
    script calls ``init_process_group`` itself):

    >>> import torch, torch.distributed as dist, segloss_xp as sx
    >>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    >>> logits = torch.tensor([[[2.0, -1.0], [-2.0, 1.0]]], requires_grad=True)
    >>> stats = sx.soft_confusion(logits, torch.tensor([[0, 1]]), batch=True)
    >>> loss = sx.region_loss_from_stats(all_reduce_stats(stats), kind="dice")
    >>> loss.backward()
    >>> dist.destroy_process_group()
    >>> round(float(loss.detach()), 4)
    0.0688
    """
    import torch
    import torch.distributed as dist

    tensors = _checked(stats, lambda s: isinstance(s, torch.Tensor), "torch.Tensor",
                       floating=lambda s: s.is_floating_point(),
                       same=lambda s: (s.dtype, s.device), what="dtype and device")
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("all_reduce_stats needs torch.distributed initialised: call "
                           "torch.distributed.init_process_group(...) first (torchrun "
                           "sets its environment)")
    function = _FUNCTIONS.get("all_reduce") or _all_reduce_function()
    return tuple(function.apply(group, *tensors))


def _checked(stats: Sequence[Any], is_array: Callable[[Any], bool], kind: str, *,
             floating: Callable[[Any], bool], same: Callable[[Any], Hashable],
             what: str) -> list[Any]:
    """``stats`` as a list: a non-empty sequence of floating ``kind`` arrays, ``same`` equal."""
    if not isinstance(stats, (tuple, list)) or not stats:
        raise TypeError(f"`stats` must be a non-empty tuple of {kind}, got "
                        f"{type(stats).__name__} {stats!r:.80}")
    for index, stat in enumerate(stats):
        if not is_array(stat):
            raise TypeError(f"`stats[{index}]` must be a {kind}, got {library_name(stat)} "
                            f"{type(stat).__name__}")
        if not floating(stat):
            raise TypeError(f"`stats[{index}]` must be real floating, got dtype {stat.dtype}")
    found = {same(s) for s in stats}
    if len(found) != 1:
        raise TypeError(f"`stats` must share one {what}, got {sorted(map(str, found))}")
    return list(stats)


# built on first use and kept in a plain dict: torch.compile traces through a
# functools.cache into the class definition (a graph break)
_FUNCTIONS: dict[str, Any] = {}


def _all_reduce_function() -> Any:
    """The ``autograd.Function`` summing tensors over a group (built on first use)."""
    import torch
    import torch.distributed as dist
    from torch.autograd.function import once_differentiable

    def all_reduce(group: Any, tensors: Sequence[Any]) -> tuple[Any, ...]:
        # one new flat buffer, so one collective and no input modified in place
        flat = torch.cat([t.reshape(-1) for t in tensors])
        if torch.compiler.is_compiling():
            # the functional collective is what torch.compile traces (dist.all_reduce is
            # a graph break there, with a warning); eager keeps the public in-place one
            from torch.distributed import _functional_collectives as functional

            flat = functional.all_reduce(flat, "sum", dist.group.WORLD if group is None
                                         else group)
        else:
            dist.all_reduce(flat, op=dist.ReduceOp.SUM, group=group)
        parts = torch.split(flat, [t.numel() for t in tensors])
        # clones, not views of one buffer: outputs a caller may modify in place
        return tuple(p.reshape(t.shape).clone() for p, t in zip(parts, tensors, strict=True))

    class AllReduceSum(torch.autograd.Function):  # type: ignore[misc]
        @staticmethod
        def forward(group: Any, *tensors: Any) -> tuple[Any, ...]:
            return all_reduce(group, tensors)

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
            ctx.group = inputs[0]

        @staticmethod
        @once_differentiable  # type: ignore[untyped-decorator]
        def backward(ctx: Any, *grads: Any) -> tuple[Any, ...]:
            # the adjoint of a sum over ranks is the sum over ranks (see the docstring)
            return (None, *all_reduce(ctx.group, grads))

    _FUNCTIONS["all_reduce"] = AllReduceSum
    return AllReduceSum


def psum_stats(stats: Sequence[Any], axis_name: Hashable | tuple[Hashable, ...]) -> Stats:
    """Sum statistics over a named JAX mapped axis (``shard_map``, ``pmap``, ``vmap``).

    Parameters
    ----------
    stats : sequence of jax.Array
        Statistics of this device's shard, e.g. ``soft_confusion(..., batch=True)``
        (``(I, P, G)``, each ``(C,)``; ``(I, P, G, S)`` with ``count=True``).
    axis_name : hashable or tuple of hashable
        The mapped axis (or axes) to sum over: a mesh axis of ``jax.shard_map``, the
        ``axis_name`` of ``jax.pmap`` or ``jax.vmap``.

    Returns
    -------
    tuple of jax.Array
        ``jax.lax.psum`` of each statistic (one collective for all), the same on every
        device.

    Raises
    ------
    TypeError
        ``stats`` is not a non-empty sequence of floating JAX arrays of one dtype.

    See Also
    --------
    all_reduce_stats : The torch.distributed counterpart.

    Notes
    -----
    **Gradient scale.** Inside ``jax.shard_map`` the loss of the summed statistics is
    one value replicated over the mesh: ``jax.grad`` gives each shard's inputs exactly
    the single-device gradient of the concatenated batch, and the gradient of a
    replicated parameter is summed over the shards by JAX itself, so it is the
    single-device gradient (nothing to average). Inside ``jax.pmap``, ``psum``'s
    transpose is ``psum``: each device's gradient is ``W`` (the axis size) times the
    single-device one, and the usual ``jax.lax.pmean`` of the parameter gradients gives
    the single-device gradient of the concatenated batch, as with torch DDP
    (:func:`all_reduce_stats`).

    Sum only statistics pooled over each shard (``batch=True``); per-image losses need
    no collective.

    References
    ----------
    JAX documentation, "Manual parallelism with shard_map" (collectives and their
    transposes).

    Examples
    --------
    ``jax.vmap`` names an axis on one device; ``jax.shard_map`` and ``jax.pmap`` take
    the same function:

    >>> import jax, jax.numpy as jnp
    >>> per_device = (jnp.array([[1.0, 2.0], [3.0, 4.0]]),)   # 2 devices, C = 2
    >>> summed = jax.vmap(lambda s: psum_stats(s, "data"), axis_name="data")(per_device)
    >>> summed[0].tolist()
    [[4.0, 6.0], [4.0, 6.0]]
    """
    import jax

    arrays = _checked(stats, lambda s: isinstance(s, jax.Array), "jax.Array",
                      floating=lambda s: jax.numpy.issubdtype(s.dtype, jax.numpy.floating),
                      same=lambda s: s.dtype, what="dtype")
    return tuple(jax.lax.psum(tuple(arrays), axis_name))
