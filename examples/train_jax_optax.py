"""Train a tiny segmentation model with ``segloss_xp.dice_ce_loss`` on JAX with optax.

JAX needs no adapter: the function takes JAX arrays (channels last here, ``class_axis=-1``)
and runs under ``jax.jit`` and ``jax.value_and_grad``.
"""

import jax
import jax.numpy as jnp
import optax

import segloss_xp as sx

images = jax.random.normal(jax.random.key(0), (8, 32, 32, 1))
labels = (images[..., 0] > 0.0).astype(jnp.int32) + (images[..., 0] > 1.0)  # 3 classes
params = {"w1": 0.5 * jax.random.normal(jax.random.key(1), (3, 3, 1, 8)), "b1": jnp.zeros(8),
          "w2": 0.5 * jax.random.normal(jax.random.key(2), (8, 3)), "b2": jnp.zeros(3)}


def model(p, x):
    h = jax.lax.conv_general_dilated(x, p["w1"], (1, 1), "SAME",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return jax.nn.relu(h + p["b1"]) @ p["w2"] + p["b2"]


def loss_fn(p):
    return sx.dice_ce_loss(model(p, images), labels, class_axis=-1)


optimizer = optax.adam(0.05)


@jax.jit
def train_step(p, state):
    loss, grads = jax.value_and_grad(loss_fn)(p)
    updates, state = optimizer.update(grads, state)
    return optax.apply_updates(p, updates), state, loss


state = optimizer.init(params)
for step in range(20):
    params, state, loss = train_step(params, state)
    print(f"step {step:2d}  loss {float(loss):.4f}")
