"""SciPy and MONAI as witnesses for the distance transform.

Keyword mappings (each test asserts **oracle == peer**, then **library == peer**):

- SciPy: ``scipy.ndimage.distance_transform_edt(mask, sampling=spacing)`` is
  ``distance_transform_edt(mask, spacing=spacing)`` on one image; on a batch,
  ``distance_transform_edt(masks, spacing=spacing, axes=spatial)`` equals SciPy per image.
  NumPy delegates to SciPy itself; the witness matters for the generic transform (torch,
  jitted JAX, ``array_api_strict``), compared to ``TOL = 1e-6`` relative in
  float32 and ``EXACT = 1e-12`` in float64.
- MONAI: ``monai.transforms.utils.distance_transform_edt(img, sampling=spacing)`` takes
  a channel-first ``(C, H, W[, D])`` image and transforms each channel: ours with
  ``axes=(1, 2[, 3])``. MONAI runs SciPy on the CPU (cuCIM only for CUDA tensors).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import ndimage

from conformance import oracle_distance as oracle
from conformance.witnesses import EXACT, TOL, import_peer
from segloss_xp import distance_transform_edt
from segloss_xp.testing import load_backend


def _blobs(shape: tuple[int, ...], seed: int, density: float = 0.5) -> np.ndarray:
    """Smooth random blobs: a thresholded box-filtered noise field."""
    rng = np.random.default_rng(seed)
    field = ndimage.uniform_filter(rng.random(shape), size=3)
    return field > np.quantile(field, 1 - density)


CASES: dict[str, tuple[np.ndarray, Any]] = {
    "2d": (_blobs((31, 27), 0), (1.0, 2.5)),
    "3d_aniso": (_blobs((18, 20, 16), 1), (1.0, 1.0, 2.5)),
    "3d_sparse_zeros": (~_blobs((16, 18, 14), 2, density=0.03), (0.7, 1.3, 2.0)),
    "all_foreground": (np.ones((5, 7, 6), bool), (1.0, 2.0, 0.5)),
    "all_background": (np.zeros((6, 5), bool), None),
}


def _library(name: str, mask: np.ndarray, spacing: Any, dtype: str, **kw: Any) -> np.ndarray:
    backend, reason = load_backend("jax" if name == "jax-jit" else name)
    if backend is None:
        pytest.skip(reason)
    x = backend.asarray(mask.astype(dtype))
    if name == "jax-jit":
        import jax

        result = jax.jit(lambda a: distance_transform_edt(a, spacing=spacing, **kw))(x)
    else:
        result = distance_transform_edt(x, spacing=spacing, **kw)
    return backend.to_numpy(result)


# eager JAX runs the kernel of jax-jit (tests/test_distance.py covers it)
@pytest.mark.parametrize("name", ["numpy", "torch", "jax-jit", "strict"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
def test_scipy_edt(case: str, dtype: str, name: str) -> None:
    mask, spacing = CASES[case]
    want = ndimage.distance_transform_edt(mask, sampling=spacing)
    if mask.size <= 2000:  # the brute-force oracle is O(size · zeros)
        np.testing.assert_allclose(oracle.edt(mask, spacing=spacing), want, rtol=EXACT)
    got = _library(name, mask, spacing, dtype)
    np.testing.assert_allclose(got, want, rtol=TOL if dtype == "float32" else EXACT,
                               atol=1e-12)


@pytest.mark.parametrize("name", ["numpy", "torch", "jax-jit"])
def test_scipy_edt_per_image_of_a_batch(name: str) -> None:
    masks = np.stack([_blobs((12, 15), 3), np.ones((12, 15), bool), _blobs((12, 15), 4, 0.9)])
    masks = np.stack([masks, ~masks])  # (2, 3, 12, 15)
    want = np.stack([[ndimage.distance_transform_edt(m, sampling=(2.0, 1.0)) for m in row]
                     for row in masks])
    got = _library(name, masks, (2.0, 1.0), "float64", axes=(2, 3))
    np.testing.assert_allclose(got, want, rtol=EXACT, atol=1e-12)


@pytest.mark.parametrize("name", ["numpy", "torch", "jax"])
@pytest.mark.parametrize(("shape", "spacing"), [((3, 14, 17), (1.0, 2.0)),
                                                ((2, 9, 10, 8), (1.0, 1.0, 2.5))])
def test_monai_distance_transform_edt(shape: tuple[int, ...], spacing: Any, name: str) -> None:
    utils = import_peer("monai.transforms.utils")
    torch = import_peer("torch")
    masks = np.stack([_blobs(shape[1:], seed) for seed in range(shape[0])])
    masks[-1] = True  # a channel without zeros: SciPy's convention, which MONAI inherits
    peer = np.asarray(utils.distance_transform_edt(torch.from_numpy(masks), sampling=spacing))
    axes = tuple(range(1, len(shape)))
    np.testing.assert_allclose(oracle.edt(masks, spacing=spacing, axes=axes), peer, rtol=EXACT)
    got = _library(name, masks, spacing, "float64", axes=axes)
    np.testing.assert_allclose(got, peer, rtol=EXACT, atol=1e-12)
