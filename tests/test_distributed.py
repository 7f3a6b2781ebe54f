"""Global region losses under data parallelism (``segloss_xp.distributed``, DESIGN §11).

Two ``torch.distributed`` gloo processes and a JAX process with two host devices run
the README's recipes on shards of one batch; every value and gradient is compared with
the single-process computation on the concatenated batch, at the documented gradient
scale: torch ranks' inputs get ``W`` times the single-process gradient and the
parameters of a DDP model exactly it; in ``jax.shard_map`` the inputs get exactly it,
in ``jax.pmap`` ``W`` times it (``pmean`` of a parameter's gradient gives it). The
single-process losses themselves are checked against the float64 oracle in
``tests/test_region.py`` and ``conformance/``.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from segloss_xp import distributed

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
MARKER = "# runs in tests/test_distributed.py"
WORLD = 2
TORCH_SHARDS = (3, 1)   # unequal on purpose: summed statistics need no equal split
# kinds with parameters besides the README's dice (mcc sums the element counts S too)
KINDS = {"tversky": {"alpha": 0.3, "beta": 0.7}, "generalized_dice": {}, "mcc": {}}
TIMEOUT = 180


def readme_block(needle: str) -> str:
    """The README's ```python block containing ``needle`` (exactly one)."""
    blocks = [b for b in re.findall(r"```python\n(.*?)```", README, flags=re.S) if needle in b]
    assert len(blocks) == 1, f"{len(blocks)} README blocks contain {needle!r}"
    return blocks[0]


def batch() -> dict[str, np.ndarray]:
    """A float64 batch of 4 images where class 2 is rare (in image 3 only, 2 pixels).

    ``logits`` predict the labels fairly well; ``features`` and the 1x1 convolution
    ``weight``, ``bias`` are the input and parameters of a DDP model.
    """
    rng = np.random.default_rng(10)
    labels = rng.integers(0, 2, (4, 5, 6))
    labels[3, 1, 2:4] = 2
    logits = rng.normal(size=(4, 3, 5, 6)) + 3.0 * np.moveaxis(np.eye(3)[labels], -1, 1)
    return {"features": rng.normal(size=(4, 3, 5, 6)), "labels": labels, "logits": logits,
            "weight": rng.normal(size=(3, 3, 1, 1)), "bias": rng.normal(size=3)}


def run_script(script: str, args: list[str], tmp_path: Path, *, env: dict[str, str],
               copies: int = 1) -> None:
    """Run ``script`` ``copies`` times at once (argument: the copy's index); all must pass."""
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    procs = [subprocess.Popen([sys.executable, str(path), str(i), *args], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(copies)]
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=TIMEOUT)[0])
    finally:
        for proc in procs:  # a rank left waiting for a dead peer
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    failed = [i for i, proc in enumerate(procs) if proc.returncode != 0]
    assert not failed, "\n".join(f"--- copy {i}\n{outputs[i]}" for i in failed)


# ----------------------------------------------------------------------------- torch.distributed

TORCH_WORKER = """
import sys, warnings
import numpy as np, torch, torch.distributed as dist
import segloss_xp as sx
from segloss_xp.distributed import all_reduce_stats

rank, tmp, block = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read()
kinds, shards = eval(sys.argv[4]), eval(sys.argv[5])
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method=f"file://{tmp}/store", rank=rank,
                        world_size=len(shards))
data = dict(np.load(f"{tmp}/batch.npz"))
start = sum(shards[:rank])
shard = {k: torch.tensor(v[start:start + shards[rank]]) for k, v in data.items()
         if k not in ("weight", "bias")}
model = torch.nn.Conv2d(3, 3, 1, dtype=torch.float64)
with torch.no_grad():
    model.weight.copy_(torch.tensor(data["weight"]))
    model.bias.copy_(torch.tensor(data["bias"]))
ddp = torch.nn.parallel.DistributedDataParallel(model)
out = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    features = shard["features"].requires_grad_(True)
    namespace = {"logits": ddp(features), "labels": shard["labels"]}
    exec(block, namespace)                        # the README's recipe
    out["dice"] = namespace["loss"].detach().numpy()
    out["dice_features_grad"] = features.grad.numpy()
    out["weight_grad"] = model.weight.grad.numpy()
    out["bias_grad"] = model.bias.grad.numpy()
    for kind, params in kinds.items():
        logits = shard["logits"].clone().requires_grad_(True)
        stats = sx.soft_confusion(logits, shard["labels"], batch=True, count=kind == "mcc")
        before = [s.detach().clone() for s in stats]
        loss = sx.region_loss_from_stats(all_reduce_stats(stats), kind=kind, **params)
        loss.backward()
        assert all(torch.equal(a, b) for a, b in zip(before, stats)), "stats modified"
        out[kind], out[kind + "_logits_grad"] = loss.detach().numpy(), logits.grad.numpy()

    def global_dice(logits, labels):   # all_reduce_stats inside torch.compile
        stats = all_reduce_stats(sx.soft_confusion(logits, labels, batch=True))
        return sx.region_loss_from_stats(stats, kind="dice")

    logits = shard["logits"].clone().requires_grad_(True)
    loss = torch.compile(global_dice, fullgraph=True)(logits, shard["labels"])
    loss.backward()
    out["compiled_dice"], out["compiled_dice_logits_grad"] = (
        loss.detach().numpy(), logits.grad.numpy())
dist.destroy_process_group()
ours = [w for w in caught if "torch/jit/" not in w.filename]   # torch.jit's deprecation
np.savez(f"{tmp}/rank{rank}.npz", warnings=[str(w.message) for w in ours], **out)
"""


def torch_reference(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same losses and gradients in one process on the whole batch."""
    import torch

    model = torch.nn.Conv2d(3, 3, 1, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.tensor(data["weight"]))
        model.bias.copy_(torch.tensor(data["bias"]))
    features = torch.tensor(data["features"], requires_grad=True)
    labels = torch.tensor(data["labels"])
    loss = sx.dice_loss(model(features), labels, batch=True)
    loss.backward()
    out = {"dice": loss, "dice_features_grad": features.grad, "weight_grad": model.weight.grad,
           "bias_grad": model.bias.grad}
    logits = torch.tensor(data["logits"], requires_grad=True)
    loss = sx.dice_loss(logits, labels, batch=True)
    loss.backward()
    out["compiled_dice"], out["compiled_dice_logits_grad"] = loss, logits.grad
    for kind, params in KINDS.items():
        logits = torch.tensor(data["logits"], requires_grad=True)
        loss = getattr(sx, f"{kind}_loss")(logits, labels, batch=True, **params)
        loss.backward()
        out[kind], out[kind + "_logits_grad"] = loss, logits.grad
    return {k: v.detach().numpy() for k, v in out.items()}


def test_torch_ranks_equal_the_single_process_loss_and_gradients(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
        pytest.skip("this torch build has no torch.distributed gloo backend")
    data = batch()
    np.savez(tmp_path / "batch.npz", **data)
    (tmp_path / "block.py").write_text(readme_block(MARKER + " (needs 2 processes)"))
    run_script(TORCH_WORKER, [str(tmp_path), str(tmp_path / "block.py"), repr(KINDS),
                              repr(TORCH_SHARDS)], tmp_path, env={}, copies=WORLD)
    want = torch_reference(data)
    bounds = np.cumsum((0, *TORCH_SHARDS))
    for rank in range(WORLD):
        got = dict(np.load(tmp_path / f"rank{rank}.npz"))
        assert got.pop("warnings").size == 0, "a warning was emitted"
        rows = slice(bounds[rank], bounds[rank + 1])
        for key, value in got.items():
            if key.endswith("_grad") and key not in ("weight_grad", "bias_grad"):
                # each rank's inputs: W times the single-process gradient (the docstring)
                expected = WORLD * want[key][rows]
            else:  # losses, and parameters after DDP's average: the single-process ones
                expected = want[key]
            np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-15,
                                       err_msg=f"rank {rank}: {key}")


# ----------------------------------------------------------------------------- JAX

JAX_SCRIPT = """
import os, sys, warnings
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
import segloss_xp.distributed
assert not {"jax", "torch"} & set(sys.modules), "importing segloss_xp imported jax/torch"
import numpy as np, jax, jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import segloss_xp as sx
from segloss_xp.distributed import psum_stats

jax.config.update("jax_enable_x64", True)
assert jax.device_count() == 2, jax.devices()
tmp, block, kinds = sys.argv[2], open(sys.argv[3]).read(), eval(sys.argv[4])
kinds = {"dice": {}, **kinds}
data = {k: jnp.asarray(v) for k, v in np.load(f"{tmp}/batch.npz").items()}
x, y, w = data["logits"], data["labels"], jnp.asarray(1.5)   # w: a replicated parameter
halves = (x.reshape(2, 2, *x.shape[1:]), y.reshape(2, 2, *y.shape[1:]))


def per_shard(x, y, w):   # every kind's loss, from the statistics summed over "data"
    return jnp.stack([sx.region_loss_from_stats(
        psum_stats(sx.soft_confusion(w * x, y, batch=True, count=kind == "mcc"), "data"),
        kind=kind, **params) for kind, params in kinds.items()])


def single(x, y, w):
    return jnp.stack([getattr(sx, f"{kind}_loss")(w * x, y, batch=True, **params)
                      for kind, params in kinds.items()])


def with_jacobian(f):     # the losses and their jacobians in the logits and in w
    return lambda x, y, w: (f(x, y, w), *jax.jacrev(f, (0, 2))(x, y, w))


out = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    namespace = {}
    exec(block, namespace)                        # the README's recipe (shard_map)
    out["readme"] = namespace["loss"], namespace["grads"]
    readme_x, readme_y = (jnp.asarray(np.asarray(namespace[k])) for k in ("logits", "labels"))
    out["readme_single"] = jax.jit(jax.value_and_grad(
        lambda x, y: sx.dice_loss(x, y, batch=True)))(readme_x, readme_y)
    out["single"] = jax.jit(with_jacobian(single))(x, y, w)
    mesh = jax.make_mesh((2,), ("data",))
    fn = jax.shard_map(per_shard, mesh=mesh, in_specs=(P("data"), P("data"), P()),
                       out_specs=P())
    with jax.set_mesh(mesh):
        sharded = jax.device_put((x, y), P("data"))
        out["shard_map"] = jax.jit(with_jacobian(fn))(*sharded, w)

    def pmapped(x, y):
        value, dx, dw = with_jacobian(per_shard)(x, y, w)
        return value, dx, jax.lax.pmean(dw, "data")

    value, dx, dw = jax.pmap(pmapped, axis_name="data")(*halves)
    # (device, kind, image, ...) -> (kind, image of the whole batch, ...)
    out["pmap"] = value[0], jnp.moveaxis(dx, 0, 1).reshape(len(kinds), *x.shape), dw[0]
np.savez(f"{tmp}/jax.npz", warnings=[str(w.message) for w in caught],
         **{f"{k}:{i}": np.asarray(v) for k, parts in out.items() for i, v in enumerate(parts)})
"""


def test_jax_shard_map_and_pmap_equal_the_single_device_loss_and_gradients(
        tmp_path: Path) -> None:
    pytest.importorskip("jax", reason="jax is not installed")
    np.savez(tmp_path / "batch.npz", **batch())
    (tmp_path / "block.py").write_text(readme_block("psum_stats"))
    run_script(JAX_SCRIPT, [str(tmp_path), str(tmp_path / "block.py"), repr(KINDS)], tmp_path,
               env={"JAX_PLATFORMS": "cpu"})
    got = dict(np.load(tmp_path / "jax.npz"))
    assert got.pop("warnings").size == 0, "a warning was emitted"

    def close(key: str, want: str, scale: float = 1.0) -> None:
        np.testing.assert_allclose(got[key], scale * got[want], rtol=1e-10, atol=1e-15,
                                   err_msg=key)

    close("readme:0", "readme_single:0")
    close("readme:1", "readme_single:1")
    # losses (one per kind), jacobians in the logits and in the replicated parameter
    close("shard_map:0", "single:0")
    close("shard_map:1", "single:1")   # exactly the single-device gradient
    close("shard_map:2", "single:2")   # summed over the shards by JAX itself
    close("pmap:0", "single:0")
    close("pmap:1", "single:1", WORLD)  # pmap: psum transposes to psum
    close("pmap:2", "single:2")         # after the usual pmean


# ----------------------------------------------------------------------------- in one process


def shards(data: dict[str, np.ndarray], sizes: tuple[int, ...]) -> list[tuple[Any, Any]]:
    bounds = np.cumsum((0, *sizes))
    return [(data["logits"][a:b], data["labels"][a:b]) for a, b in itertools.pairwise(bounds)]


def test_per_device_mean_is_not_the_global_loss_with_pooled_statistics() -> None:
    # why the all-reduce exists: class 2 is in one shard only
    data = batch()
    whole = float(sx.dice_loss(data["logits"], data["labels"], batch=True))
    per_device = [float(sx.dice_loss(x, y, batch=True)) for x, y in shards(data, (2, 2))]
    assert abs(np.mean(per_device) - whole) > 0.01, (per_device, whole)  # 0.359 vs 0.338
    summed = [sum(parts) for parts in zip(*(sx.soft_confusion(x, y, batch=True)
                                            for x, y in shards(data, TORCH_SHARDS)), strict=True)]
    np.testing.assert_allclose(float(sx.region_loss_from_stats(tuple(summed))), whole,
                               rtol=1e-12)


def test_per_image_losses_need_no_all_reduce() -> None:
    # batch=False, reduction="mean": the mean over equal shards of the per-device means
    data = batch()
    whole = float(sx.dice_loss(data["logits"], data["labels"]))
    per_device = [float(sx.dice_loss(x, y)) for x, y in shards(data, (2, 2))]
    np.testing.assert_allclose(np.mean(per_device), whole, rtol=1e-12)


def test_all_reduce_stats_refuses_bad_input_and_a_missing_process_group() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    one = torch.ones(3, dtype=torch.float64)
    for stats, match in [([], r"`stats` must be a non-empty tuple of torch.Tensor"),
                         (one, r"`stats` must be a non-empty tuple"),
                         ((one, np.ones(3)), r"`stats\[1\]` must be a torch.Tensor, got numpy"),
                         ((one, torch.ones(3, dtype=torch.int64)), r"`stats\[1\]` must be real"),
                         ((one, one.float()), r"`stats` must share one dtype and device")]:
        with pytest.raises(TypeError, match=match):
            distributed.all_reduce_stats(stats)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        pytest.skip("a process group is initialised in this process")
    with pytest.raises(RuntimeError, match="init_process_group"):
        distributed.all_reduce_stats((one, one))


def test_psum_stats_refuses_bad_input() -> None:
    jnp = pytest.importorskip("jax.numpy", reason="jax is not installed")
    one = jnp.ones(3)
    for stats, match in [((), r"`stats` must be a non-empty tuple of jax.Array"),
                         ((one, np.ones(3)), r"`stats\[1\]` must be a jax.Array, got numpy"),
                         ((one, jnp.ones(3, dtype=int)), r"`stats\[1\]` must be real"),
                         ((one, one.astype(jnp.float32)), r"`stats` must share one dtype")]:
        with pytest.raises(TypeError, match=match):
            distributed.psum_stats(stats, "data")


@pytest.mark.parametrize("name", distributed.__all__)
def test_docstring_is_complete_numpydoc(name: str) -> None:
    # tests/test_api.py validates the top-level names; these live in the module only
    validate = pytest.importorskip("numpydoc.validate", reason="numpydoc is not installed")
    errors = [(code, msg) for code, msg in
              validate.validate(f"segloss_xp.distributed.{name}")["errors"]
              if code not in ("ES01", "SA01")]
    assert not errors, errors
