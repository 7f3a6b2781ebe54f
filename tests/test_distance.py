"""Distances (DESIGN §4, §6) on every backend: the EDT, signed distance maps, U-Net weights.

Expected values come from ``conformance/oracle_distance.py`` (a brute-force float64 EDT,
Kervadec's ``one_hot2dist`` on it, SciPy per instance for the U-Net map), never from
the code under test. The generic transform runs on torch and ``array_api_strict``
(per-line windows, grouped on torch, the widest on strict without data-dependent
shapes) and on JAX (a ``lax.while_loop`` over offsets, eager and ``jax-jit``); NumPy
delegates to SciPy, dask to SciPy per block. The morphology helpers
(``segloss_xp._morphology``) are checked against ``scipy.ndimage``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from conformance import oracle_distance as oracle
from conformance.functions import balls, cells, class_labels, single
from segloss_xp import _morphology
from segloss_xp.testing import Backend, assert_matches

RTOL64 = 1e-12
RTOL32 = 1e-6  # sqrt of a float32 sum of squares


def _float(backend: Backend) -> str:
    """The namespace's default real floating dtype (JAX runs with x64 in the tests)."""
    return "float32" if backend.name.startswith("torch") else "float64"


def _rtol(dtype: str) -> float:
    return RTOL32 if dtype == "float32" else RTOL64


# (mask, spacing, axes): 1-D, 2-D, 3-D, anisotropic, empty, full, single voxel, border
EDT_CASES: dict[str, tuple[np.ndarray, Any, Any]] = {
    "1d": (np.array([1, 1, 0, 1, 1, 1, 0, 0, 1], bool), None, None),
    "2d_aniso": (balls((9, 11), 0), (1.0, 2.5), None),
    "3d_aniso": (balls((6, 7, 8), 1), (1.0, 1.0, 2.5), None),
    "3d_scalar_spacing": (balls((5, 6, 4), 2), 0.5, None),
    "single_foreground_voxel": (single((5, 6, 7), True), (2.0, 1.0, 0.5), None),
    "single_background_voxel": (single((6, 5), False), (1.0, 3.0), None),
    "all_background": (np.zeros((4, 5), bool), None, None),
    "all_foreground": (np.ones((4, 5, 3), bool), (1.5, 1.0, 2.0), None),
    "border_object": (np.pad(np.zeros((3, 3), bool), 2, constant_values=True), None, None),
    "batched": (np.stack([balls((7, 6), 3), np.ones((7, 6), bool), np.zeros((7, 6), bool)]),
                (2.0, 1.0), (1, 2)),
    "batch_axis_last": (np.moveaxis(np.stack([balls((5, 6), 4), balls((5, 6), 5)]), 0, -1),
                        (1.0, 2.0), (0, 1)),
}


@pytest.mark.parametrize("case", list(EDT_CASES))
def test_edt_matches_the_oracle(case: str, backend: Backend) -> None:
    mask, spacing, axes = EDT_CASES[case]
    x = backend.asarray(mask)
    got = sx.distance_transform_edt(x, spacing=spacing, axes=axes)
    want = oracle.edt(mask, spacing=spacing, axes=axes)
    dtype = _float(backend)
    assert_matches(got, want, backend, dtype=dtype, rtol=_rtol(dtype), ref=x)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8"])
def test_edt_of_numeric_masks_follows_scipy_nonzero(dtype: str, backend: Backend) -> None:
    values = np.array([[0.0, 2.5, -1.0, 0.0], [3.0, 0.0, 1.0, 1.0]])
    if dtype == "uint8":
        values = np.abs(values)
    mask = values.astype(dtype)
    x = backend.asarray(mask)
    want = oracle.edt(mask != 0, spacing=(1.0, 2.0))
    result = dtype if dtype.startswith("float") else _float(backend)
    assert_matches(sx.distance_transform_edt(x, spacing=(1.0, 2.0)), want, backend,
                   dtype=result, rtol=_rtol(result), ref=x)


def test_edt_larger_volume_with_long_distances(backend: Backend) -> None:
    # wide windows and lines of very different reach (grouped or not by backend)
    mask = np.ones((3, 20, 24), bool)
    mask[0, 2, 3] = mask[1, 19, 0] = False
    mask[2] = ~balls((20, 24), 6)
    from scipy.ndimage import distance_transform_edt

    want = np.stack([distance_transform_edt(m, sampling=(1.0, 1.7)) for m in mask])
    x = backend.asarray(mask)
    got = sx.distance_transform_edt(x, spacing=(1.0, 1.7), axes=(1, 2))
    dtype = _float(backend)
    assert_matches(got, want, backend, dtype=dtype, rtol=_rtol(dtype), ref=x)


def _random_cases(count: int, seed: int) -> list[tuple[np.ndarray, tuple[float, ...]]]:
    """Random 1-D to 3-D masks (noise or blobs, from almost empty to almost full)."""
    from scipy.ndimage import uniform_filter

    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        shape = tuple(int(s) for s in rng.integers(1, 10, size=rng.integers(1, 4)))
        density = float(rng.choice([0.02, 0.3, 0.7, 0.98]))
        field = rng.random(shape) if rng.random() < 0.5 else uniform_filter(rng.random(shape), 3)
        spacing = tuple(float(v) for v in rng.choice([0.3, 1.0, 2.5, 7.0], size=len(shape)))
        cases.append((field < density, spacing))
    return cases


@pytest.mark.skip_backend(["jax"], reason="the kernel of jax-jit; eager JAX compiles its loop "
                         "once per new shape (16 shapes: seconds)")
def test_edt_random_masks(backend: Backend) -> None:
    # windows, groups and the all-foreground fallback on shapes of every kind
    dtype = _float(backend)
    for mask, spacing in _random_cases(16, seed=11):
        x = backend.asarray(mask)
        assert_matches(sx.distance_transform_edt(x, spacing=spacing),
                       oracle.edt(mask, spacing=spacing), backend, dtype=dtype,
                       rtol=_rtol(dtype), atol=1e-12, ref=x)


def test_edt_zero_size_and_input_unchanged(backend: Backend) -> None:
    x = backend.asarray(np.zeros((0, 4), bool))
    assert tuple(sx.distance_transform_edt(x).shape) == (0, 4)
    mask = balls((5, 6), 7)
    y = backend.asarray(mask)
    sx.distance_transform_edt(y, spacing=(1.0, 2.0))
    np.testing.assert_array_equal(backend.to_numpy(y), mask)


# ----------------------------------------------------------------------------- signed maps


def _one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.moveaxis(np.eye(classes, dtype=bool)[labels], -1, 1)


@pytest.mark.parametrize("spacing", [None, (1.0, 2.0)])
def test_signed_distance_map_multiclass_labels(spacing: Any, backend: Backend) -> None:
    labels = class_labels()
    y = backend.asarray(labels)
    got = sx.signed_distance_map(y, num_classes=3, spacing=spacing)
    want = oracle.signed_distance_map(_one_hot(labels, 3), spacing=spacing)
    dtype = _float(backend)
    assert_matches(got, want, backend, dtype=dtype, rtol=_rtol(dtype), atol=1e-12, ref=y)
    # the empty class of image 1 is all zeros, the boundary of image 0's class 1 is 0
    assert not want[1, 2].any() and (want[0, 1][_morphology.surface(
        labels[0] == 1, axes=(0, 1), xp=np)] == 0).all() if spacing is None else True


@pytest.mark.parametrize(("mode", "layout"), [("multiclass", "one_hot"), ("binary", "channel"),
                                              ("binary", "no_channel"), ("multilabel", "masks")])
def test_signed_distance_map_masks(mode: str, layout: str, backend: Backend) -> None:
    masks = _one_hot(class_labels(), 3)
    data = {"one_hot": masks.astype(np.float32), "channel": masks[:, 1:2],
            "no_channel": masks[:, 1].astype(np.int64), "masks": masks}[layout]
    y = backend.asarray(data)
    got = sx.signed_distance_map(y, mode=mode, spacing=0.5)
    channels = data[:, None] if layout == "no_channel" else data
    want = oracle.signed_distance_map(channels, spacing=0.5).reshape(data.shape)
    dtype = "float32" if layout == "one_hot" else _float(backend)
    assert_matches(got, want, backend, dtype=dtype, rtol=_rtol(dtype), atol=1e-6, ref=y)


def test_signed_distance_map_full_class_follows_the_reference(backend: Backend) -> None:
    # a class covering the image: -(d - 1) with d SciPy's no-zero distance (one_hot2dist)
    labels = np.ones((1, 3, 4), np.int64)
    y = backend.asarray(labels)
    want = oracle.signed_distance_map(_one_hot(labels, 2))
    dtype = _float(backend)
    assert_matches(sx.signed_distance_map(y, num_classes=2), want, backend, dtype=dtype,
                   rtol=_rtol(dtype), atol=1e-12, ref=y)


# ----------------------------------------------------------------------------- U-Net weights


@pytest.mark.parametrize("options", [{}, {"w0": 5.0, "sigma": 2.0, "class_weights": (0.5, 2.0)},
                                     {"spacing": (1.0, 0.5), "sigma": 3.0}])
def test_unet_weight_map_matches_scipy_per_instance(options: dict[str, Any],
                                                    backend: Backend) -> None:
    labels = cells()
    y = backend.asarray(labels)
    got = sx.unet_weight_map(y, num_instances=4, **options)
    want = oracle.unet_weight_map(labels, **options)
    dtype = _float(backend)
    assert_matches(got, want, backend, dtype=dtype, rtol=_rtol(dtype), atol=1e-12, ref=y)


@pytest.mark.skip_backend(["jax-jit", "dask"], reason="the instance count is read from the data")
def test_unet_weight_map_reads_the_instance_count(backend: Backend) -> None:
    labels = cells()
    y = backend.asarray(labels)
    dtype = _float(backend)
    assert_matches(sx.unet_weight_map(y), oracle.unet_weight_map(labels), backend,
                   dtype=dtype, rtol=_rtol(dtype), atol=1e-12, ref=y)


def test_unet_weight_map_feeds_cross_entropy(backend: Backend) -> None:
    labels = cells()
    weights = sx.unet_weight_map(backend.asarray(labels), num_instances=4)
    logits = np.random.default_rng(3).normal(size=(2, 2, 12, 14))
    if _float(backend) == "float32":
        logits = logits.astype(np.float32)
    x, y = backend.asarray(logits), backend.asarray((labels > 0).astype(np.int64))
    weighted = sx.cross_entropy(x, y, pixel_weights=weights, reduction="none")
    plain = sx.cross_entropy(x, y, reduction="none")
    want = backend.to_numpy(plain) * oracle.unet_weight_map(labels)
    dtype = _float(backend)
    assert_matches(weighted, want, backend, dtype=dtype, rtol=_rtol(dtype), ref=x)


@pytest.mark.skip_backend(["jax-jit", "dask"], reason="a traced/lazy call needs num_instances")
def test_unet_weight_map_without_count_on_traced_input_names_the_keyword(
        backend: Backend) -> None:
    if backend.name != "jax":
        pytest.skip("the traced case needs jax.jit")
    import jax

    with pytest.raises(TypeError, match="`num_instances`"):
        jax.jit(sx.unet_weight_map)(backend.asarray(cells()))


# ----------------------------------------------------------------------------- morphology


def _cross(ndim: int, axes: tuple[int, ...]) -> np.ndarray:
    structure = np.zeros((3,) * ndim, bool)
    for axis in axes:
        index = [1] * ndim
        index[axis] = slice(None)  # type: ignore[call-overload]
        structure[tuple(index)] = True
    return structure


@pytest.mark.skip_backend(["dask"], reason="two-element chunks make ~10^4 tasks (5 s); the "
                          "public functions cover dask")
def test_morphology_matches_scipy(backend: Backend) -> None:
    from scipy import ndimage

    rng = np.random.default_rng(4)
    mask = rng.random((2, 5, 6, 4)) > 0.3
    values = rng.normal(size=(2, 5, 6, 4))
    axes = (1, 2, 3)
    cross = _cross(4, axes)
    box = np.ones((1, 3, 3, 3), bool)
    xp, m, v = backend.xp, backend.asarray(mask), backend.asarray(values)
    eroded = ndimage.binary_erosion(mask, cross, border_value=0)
    checks = {
        "erode": (_morphology.erode(m, axes=axes, xp=xp), eroded),
        "surface": (_morphology.surface(m, axes=axes, xp=xp), mask & ~eroded),
        "max_pool3": (_morphology.max_pool3(v, axes=axes, xp=xp),
                      ndimage.maximum_filter(values, footprint=box, mode="constant", cval=-np.inf)),
        "min_pool3": (_morphology.min_pool3(v, axes=(-3, -2, -1), xp=xp),
                      ndimage.minimum_filter(values, footprint=box, mode="constant", cval=np.inf)),
        "soft_erode": (_morphology.soft_erode(v, axes=axes, xp=xp),
                       ndimage.minimum_filter(values, footprint=cross, mode="constant",
                                              cval=np.inf)),
        "soft_dilate_bool": (_morphology.soft_dilate(m, axes=axes, xp=xp),
                             ndimage.binary_dilation(mask, box)),
    }
    for name, (got, want) in checks.items():
        np.testing.assert_array_equal(backend.to_numpy(got), want, err_msg=name)
    gradient = _morphology.morphological_gradient(v, axes=axes, xp=xp)
    np.testing.assert_allclose(backend.to_numpy(gradient),
                               checks["max_pool3"][1] - checks["min_pool3"][1], rtol=1e-12)


def test_shift_fills_the_border(backend: Backend) -> None:
    x = backend.asarray(np.arange(5.0))
    xp = backend.xp
    for offset, want in [(2, [-1, -1, 0, 1, 2]), (-1, [1, 2, 3, 4, -1]), (9, [-1] * 5),
                         (0, [0, 1, 2, 3, 4])]:
        got = _morphology.shift(x, offset, axis=0, fill=-1.0, xp=xp)
        np.testing.assert_array_equal(backend.to_numpy(got), want)


# ----------------------------------------------------------------------------- traced


def test_torch_compile_has_no_graph_break() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    mask = torch.asarray(balls((6, 7), 8)[None])
    calls = {
        "distance_transform_edt": lambda m: sx.distance_transform_edt(m, spacing=(1.0, 2.0),
                                                                      axes=(1, 2)),
        "signed_distance_map": lambda m: sx.signed_distance_map(m, mode="binary"),
        "unet_weight_map": lambda m: sx.unet_weight_map(m.long() * 2, num_instances=2),
    }
    for name, call in calls.items():
        torch._dynamo.reset()
        assert torch._dynamo.explain(call)(mask).graph_break_count == 0, name
        compiled = torch.compile(call, fullgraph=True, backend="eager")  # dynamo, no inductor
        np.testing.assert_allclose(compiled(mask).numpy(),
                                   call(mask).numpy(), rtol=1e-6, err_msg=name)


def test_jax_vmap_maps_images() -> None:
    jax = pytest.importorskip("jax", reason="jax is not installed")
    masks = np.stack([balls((6, 7), 9), np.ones((6, 7), bool), single((6, 7), True)])
    got = jax.jit(jax.vmap(lambda m: sx.distance_transform_edt(m, spacing=(2.0, 1.0))))(
        jax.numpy.asarray(masks))
    np.testing.assert_allclose(np.asarray(got), oracle.edt(masks, spacing=(2.0, 1.0), axes=(1, 2)),
                               rtol=1e-6)
