"""Float64 NumPy oracle for the distance functions (``segloss_xp.distance``).

Written from the definitions, independently of the library:

- :func:`edt` is a brute-force Euclidean distance transform: for every element the
  minimum over every zero element of the physical distance (no separability, no
  SciPy), batched over the axes not transformed. An image without any zero gets
  SciPy's answer, the distance to the virtual point ``(−1, 0, …, 0)``.
- :func:`signed_distance_map` is Kervadec et al.'s ``one_hot2dist`` per image and
  class on :func:`edt`.
- :func:`unet_weight_map` runs ``scipy.ndimage.distance_transform_edt`` once per
  instance and image (the reference recipe), sorts the distances, and adds the
  balanced class weights.

Only for small arrays (the brute force is O(size · zeros)).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["edt", "signed_distance_map", "unet_weight_map"]

Array = np.ndarray[Any, Any]


def _spacing(spacing: float | Sequence[float] | None, ndim: int) -> Array:
    if spacing is None:
        return np.ones(ndim)
    return np.broadcast_to(np.asarray(spacing, dtype=np.float64), (ndim,))


def _edt_image(mask: Array, spacing: Array) -> Array:
    """Brute-force EDT of one image (every axis transformed)."""
    coords = np.indices(mask.shape).reshape(mask.ndim, -1).T * spacing  # (size, ndim)
    zeros = coords[(mask == 0).ravel()]
    if len(zeros) == 0:  # SciPy: distance to (-1, 0, ..., 0)
        virtual = np.zeros(mask.ndim)
        virtual[0] = -spacing[0]
        zeros = virtual[None, :]
    squared = ((coords[:, None, :] - zeros[None, :, :]) ** 2).sum(-1).min(axis=1)
    return np.sqrt(squared).reshape(mask.shape)


def edt(mask: Array, *, spacing: float | Sequence[float] | None = None,
        axes: Sequence[int] | None = None) -> Array:
    """Exact EDT of ``mask`` over ``axes`` (default all), float64, brute force."""
    mask = np.asarray(mask)
    axes = tuple(range(mask.ndim)) if axes is None else tuple(a % mask.ndim for a in axes)
    step = _spacing(spacing, len(axes))
    moved = np.moveaxis(mask, axes, range(mask.ndim - len(axes), mask.ndim))
    images = moved.reshape((-1, *moved.shape[mask.ndim - len(axes):]))
    out = np.stack([_edt_image(image, step) for image in images]).reshape(moved.shape)
    return np.moveaxis(out, range(mask.ndim - len(axes), mask.ndim), axes)


def signed_distance_map(masks: Array, *, spacing: float | Sequence[float] | None = None) -> Array:
    """Kervadec's ``one_hot2dist`` for bool masks ``(N, C, *spatial)``, per image and class."""
    masks = np.asarray(masks, dtype=bool)
    out = np.zeros(masks.shape)
    for n in range(masks.shape[0]):
        for c in range(masks.shape[1]):
            pos = masks[n, c]
            if pos.any():
                neg = ~pos
                out[n, c] = edt(neg, spacing=spacing) * neg - (edt(pos, spacing=spacing) - 1) * pos
    return out


def unet_weight_map(labels: Array, *, w0: float = 10.0, sigma: float = 5.0,
                    class_weights: Sequence[float] | None = None,
                    spacing: float | Sequence[float] | None = None) -> Array:
    """Ronneberger's weight map per image of ``labels (N, *spatial)``, SciPy per instance."""
    from scipy.ndimage import distance_transform_edt

    labels = np.asarray(labels)
    out = np.zeros(labels.shape)
    for n, image in enumerate(labels):
        ids = [k for k in np.unique(image) if k > 0]
        sampling = None if spacing is None else _spacing(spacing, image.ndim)
        distances = np.stack([distance_transform_edt(image != k, sampling=sampling)
                              for k in ids] + [np.full(image.shape, np.inf)] * 2)
        distances.sort(axis=0)
        border = w0 * np.exp(-((distances[0] + distances[1]) ** 2) / (2 * sigma ** 2))
        foreground = image > 0
        if class_weights is None:
            size, count = image.size, foreground.sum()
            w_fg = size / (2 * count) if count else 0.0
            w_bg = size / (2 * (size - count)) if count < size else 0.0
        else:
            w_bg, w_fg = class_weights
        out[n] = np.where(foreground, w_fg, w_bg + border)
    return out
