"""The closed-form backward kernels equal autograd through the plain forward.

For every loss of the conformance table (each keyword variant), on every mode and
target kind it accepts (torch: the finite-difference selection of cases, one-hot and
soft targets, labels with ``ignore_index``, 3-D, channels-last, probabilities; JAX:
the first case of each mode of the losses in ``JAX_LEG``, which reach every kernel), the
gradient with the kernels (``options(closed_form=True)``, the default) equals the
gradient of plain autograd through the same forward (``closed_form=False``) in
float64, on torch and on JAX (jitted). A second derivative through the torch kernel
equals plain autograd's. Random inputs are the case table's (seeded).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from conformance.cases import LOSSES, first_cases, gradient_cases
from conformance.helpers import require_capability, value_and_grad
from conformance.suite import _bind, _library_kwargs
from segloss_xp import _kernels
from segloss_xp.testing import Backend, load_backend

KERNEL_BACKENDS = ("torch", "jax")
# every kernel and configuration: statistics (labels, dense, squared, sigmoid, masked),
# label term (CE with smoothing/weights, focal), binary term, a compound of both, and the
# Lovász extension
JAX_LEG = ("dice_loss", "tversky_loss", "cross_entropy", "focal_loss", "dice_ce_loss",
           "lovasz_softmax_loss")


@pytest.fixture(autouse=True)
def _closed_form_at_every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cases are small: torch would run them under plain autograd by default
    (``_kernels.PLAIN_BELOW``), and the closed form would be compared with itself."""
    monkeypatch.setattr(_kernels, "PLAIN_BELOW", 0)


def _graph_names(root: Any) -> set[str]:
    """The names of every node of a torch autograd graph."""
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node is not None and node not in seen:
            seen.add(node)
            stack.extend(next_node for next_node, _ in node.next_functions)
    return {type(node).__name__ for node in seen}


def test_torch_runs_small_inputs_under_plain_autograd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below ``PLAIN_BELOW`` elements torch builds no ``autograd.Function`` node (its
    fixed cost would dominate); at and above it the kernel's node is in the graph."""
    torch = pytest.importorskip("torch", reason="torch is not installed")
    x = torch.zeros((2, 3, 4, 4), dtype=torch.float64, requires_grad=True)
    y = torch.zeros((2, 4, 4), dtype=torch.int64)
    for threshold, kernel_node in ((x.numel() + 1, False), (x.numel(), True)):
        monkeypatch.setattr(_kernels, "PLAIN_BELOW", threshold)
        names = _graph_names(sx.dice_loss(x, y).grad_fn)
        assert any(n.startswith("FunctionBackward") for n in names) is kernel_node, names
    assert sx.dice_loss(x, y).requires_grad


def _gradients(backend: Backend, spec: Any, case: Any, closed_form: bool) -> np.ndarray:
    x, y, kw = _library_kwargs(case)
    f = _bind(spec, kw)
    yb = backend.asarray(y)
    with sx.options(closed_form=closed_form):
        _, grad = value_and_grad(backend, lambda v: f(v, yb).sum(), x, dtype="float64")
    return grad


@pytest.mark.parametrize("backend_name", KERNEL_BACKENDS)
@pytest.mark.parametrize("spec", LOSSES, ids=lambda s: s.name)
def test_closed_form_gradient_equals_plain_autograd(spec: Any, backend_name: str) -> None:
    if spec.resolve() is None:
        pytest.skip(f"{spec.function} is not implemented")
    if backend_name == "jax" and spec.public_name not in JAX_LEG:
        pytest.skip("the JAX leg checks the custom_vjp registration of each kernel once "
                    f"(losses {', '.join(JAX_LEG)}); the backward itself is the torch leg's")
    backend, reason = load_backend(backend_name)
    if backend is None:
        pytest.skip(reason)
    require_capability(spec.public_name, "autograd", backend_name)
    # torch: the whole selection; JAX (two XLA compiles a case): the first case of each
    # mode, the same generic backward behind its custom_vjp registration
    cases = gradient_cases(spec) if backend_name == "torch" else list(
        {case.mode: case for case in reversed(first_cases(spec))}.values())
    assert cases, f"{spec.name}: no gradient case"
    for case in cases:
        fused = _gradients(backend, spec, case, closed_form=True)
        plain = _gradients(backend, spec, case, closed_form=False)
        np.testing.assert_allclose(fused, plain, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{spec.name} on {case.id} ({backend_name})")


@pytest.mark.parametrize("name", ["dice_loss", "cross_entropy", "focal_loss",
                                  "lovasz_softmax_loss"])
def test_torch_second_derivative_through_the_kernel(name: str) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    fn = getattr(sx, name)
    rng = np.random.default_rng(0)
    y = torch.asarray(rng.integers(0, 3, (2, 4, 4)))

    def hessian_vector(closed_form: bool) -> np.ndarray:
        x = torch.asarray(rng.standard_normal((2, 3, 4, 4)), dtype=torch.float64)
        x = x.requires_grad_(True)
        with sx.options(closed_form=closed_form):
            (g,) = torch.autograd.grad(fn(x, y), x, create_graph=True)
            (h,) = torch.autograd.grad((g * g).sum(), x)
        return h.detach().numpy()

    state = rng.bit_generator.state
    fused = hessian_vector(True)
    rng.bit_generator.state = state
    np.testing.assert_allclose(fused, hessian_vector(False), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["dice_loss", "cross_entropy", "focal_loss",
                                  "lovasz_softmax_loss"])
def test_jax_reverse_over_reverse_through_the_kernel(name: str) -> None:
    # the module docstring's claim: a custom_vjp is differentiable again in reverse mode
    jax = pytest.importorskip("jax", reason="jax is not installed")
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # as the conformance suite
    fn = getattr(sx, name)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((2, 3, 4, 4)))
    y = jnp.asarray(rng.integers(0, 3, (2, 4, 4)))

    def hessian_vector(closed_form: bool) -> np.ndarray:
        with sx.options(closed_form=closed_form):
            return np.asarray(jax.grad(
                lambda a: jnp.sum(jax.grad(lambda b: fn(b, y))(a) ** 2))(x))

    fused = hessian_vector(True)
    assert np.any(fused != 0)
    np.testing.assert_allclose(fused, hessian_vector(False), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_jax_jit_gradient_of_a_kernel_beside_window_pooling_equals_eager(dtype: str) -> None:
    # clDice mixed with Dice: the statistics kernel's custom_vjp and window max/min of the
    # same logits in one jitted program. With the pools as XLA's reduce_window, jax/jaxlib
    # 0.11.2 on the CPU compiled it to a gradient 12 % off (eager right; 0.10.2 happened
    # to be right here), so the pools are padded shifts (DESIGN §12). The jaxpr check
    # fails on every JAX version if a window primitive comes back.
    jax = pytest.importorskip("jax", reason="jax is not installed")
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # as the conformance suite
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(2, 3, 6, 7)).astype(dtype))
    y = jnp.asarray(rng.integers(0, 3, (2, 6, 7)))

    def loss(a: Any) -> Any:
        return sx.cldice_loss(a, y, smooth=0.5, iterations=1, alpha=0.5) + sx.cross_entropy(a, y)

    program = str(jax.make_jaxpr(jax.grad(loss))(x))
    assert "reduce_window" not in program and "select_and" not in program
    eager = np.asarray(jax.grad(loss)(x))
    jitted = np.asarray(jax.jit(jax.grad(loss))(x))
    assert jitted.dtype == np.dtype(dtype)
    tolerance = 1e-12 if dtype == "float64" else 1e-6
    np.testing.assert_allclose(jitted, eager, rtol=0, atol=tolerance * np.abs(eager).max())


def test_options_closed_form_is_restored_and_checked() -> None:
    assert sx.get_option("closed_form") is True
    with sx.options(closed_form=False):
        assert sx.get_option("closed_form") is False
    assert sx.get_option("closed_form") is True
    with pytest.raises(TypeError, match="closed_form"):
        sx.options(closed_form=1)  # type: ignore[arg-type]
