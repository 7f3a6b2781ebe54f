"""Train a tiny segmentation model with ``segloss_xp.keras.DiceCELoss`` (Keras 3).

Keras takes its backend from ``KERAS_BACKEND`` before it is imported: torch here unless
set (``KERAS_BACKEND=jax python examples/train_keras.py`` for JAX). The loss takes
``(y_true, y_pred)`` as every Keras loss, channels last, integer labels ``(N, H, W)``.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np

from segloss_xp.keras import DiceCELoss

keras.utils.set_random_seed(0)
images = np.random.default_rng(0).normal(size=(8, 32, 32, 1)).astype("float32")
labels = (images[..., 0] > 0.0).astype("int32") + (images[..., 0] > 1.0)  # 3 classes
model = keras.Sequential([keras.Input((32, 32, 1)),
                          keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
                          keras.layers.Conv2D(3, 1)])
model.compile(optimizer=keras.optimizers.Adam(0.05), loss=DiceCELoss())
history = model.fit(images, labels, batch_size=8, epochs=20, verbose=0)

for step, loss in enumerate(history.history["loss"]):
    print(f"step {step:2d}  loss {loss:.4f}")
