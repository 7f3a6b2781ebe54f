"""The metrics of DESIGN §8 on every backend, against the float64 oracle.

Expected values come from ``conformance/oracle_metrics.py`` (NumPy + SciPy's
``binary_erosion`` and ``distance_transform_edt``), never from the code under test.
The cases cover 2-D and 3-D, anisotropic spacing, empty masks (one or both), single-voxel
objects, objects touching the border, all-background images and a full image. NumPy and
torch CPU arrays take the host (KD-tree) path; ``array_api_strict``, JAX (and
``jax-jit``) the generic one (``distance_transform_edt`` and a masked sort); a test forces
the generic path on torch too. The distance metrics declare dask unsupported (SKIPPED
with that reason); the counting metrics run lazily on dask arrays of several chunks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import segloss_xp as sx
from conformance import oracle_metrics as oracle
from conformance.functions import SURFACE, assert_table, make_case
from conformance.helpers import one_hot, require_capability, run_with_x64_off
from segloss_xp import metrics
from segloss_xp.testing import Backend, load_backend

# ----------------------------------------------------------------------------- data

# the inputs (make_case) come from conformance/functions.py, the report's case table
CASES = ["multiclass_2d", "labels_3d", "binary_edges", "multilabel"]
# (public name, own keywords); the surface metrics also get the case's spacing
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("dice_score", {}),
    ("dice_score", {"empty": "ignore"}),
    ("iou_score", {"empty": "nan"}),
    ("hausdorff_distance", {}),
    ("hausdorff_distance", {"percentile": 95}),
    ("hausdorff_distance", {"percentile": 37.5, "directed": True}),
    ("average_surface_distance", {}),
    ("average_surface_distance", {"symmetric": False}),
    ("normalized_surface_dice", {"tolerance": 1.0}),
    ("normalized_surface_dice", {"tolerance": [0.0, 2.0, 1.2]}),
]
# the surface metrics on JAX: every variant on the first case, the defaults on the second
# (eager JAX dispatches the generic transform op by op: jax-jit runs the variants)
JAX_CASES = {"jax": ("", "binary_edges"), "jax-jit": ("multilabel", "labels_3d")}


def _dtype(data: dict[str, Any]) -> str:
    """float64 when an input is float64, else float32 (DESIGN §8 via §2)."""
    return "float64" if np.float64 in (data["x"].dtype, data["y"].dtype) else "float32"


def _kwargs(name: str, own: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    kw = {**data["kw"], **own}
    if name in SURFACE:
        kw["spacing"] = data["spacing"]
    if name == "normalized_surface_dice" and isinstance(kw["tolerance"], list) and \
            kw.get("mode") == "binary":
        kw["tolerance"] = kw["tolerance"][1:2]  # one class in binary mode
    return kw


def _rtol(dtype: str) -> float:
    return 1e-10 if dtype == "float64" else 2e-6


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("name", "own"), VARIANTS,
                         ids=[f"{n}-{'-'.join(map(str, k.values())) or 'default'}"
                              for n, k in VARIANTS])
def test_metric_matches_oracle(backend: Backend, name: str, own: dict[str, Any],
                               case: str) -> None:
    require_capability(name, "dask", backend.name)
    if backend.name in JAX_CASES and name in SURFACE and not (
            case == JAX_CASES[backend.name][0] or
            (case == JAX_CASES[backend.name][1] and own in ({}, {"tolerance": 1.0}))):
        pytest.skip(f"{backend.name}: JAX compiles each new call (seconds for the distance "
                    f"transform): every variant on {JAX_CASES[backend.name][0] or 'jax-jit'}, "
                    f"the defaults on {JAX_CASES[backend.name][1]}")
    data = make_case(case)
    kw = _kwargs(name, own, data)
    xb = backend.asarray(data["x"])
    out = getattr(sx, name)(xb, backend.asarray(data["y"]), reduction="none", **kw)
    want = getattr(oracle, name)(data["x"], data["y"], reduction="none", **kw)
    assert_table(out, want, backend, dtype=_dtype(data), ref=xb, rtol=_rtol(_dtype(data)))


@pytest.mark.parametrize("case", CASES)
def test_confusion_counts_match_oracle(backend: Backend, case: str) -> None:
    data = make_case(case)
    xb = backend.asarray(data["x"])
    counts = sx.confusion_counts(xb, backend.asarray(data["y"]), **data["kw"])
    want = oracle.confusion_counts(data["x"], data["y"], **data["kw"])
    assert isinstance(counts, metrics.ConfusionCounts)
    for got, expected in zip(counts, want, strict=True):
        assert backend.xp.isdtype(got.dtype, "integral"), got.dtype
        np.testing.assert_array_equal(backend.to_numpy(got), expected)
    total = sx.confusion_counts(xb, backend.asarray(data["y"]), reduction="sum",
                                **data["kw"])
    for got, expected in zip(total, want, strict=True):
        np.testing.assert_array_equal(backend.to_numpy(got), expected.sum(axis=0))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", ["dice_score", "hausdorff_distance"])
def test_reductions_skip_nan_like_monai(backend: Backend, name: str, reduction: str) -> None:
    require_capability(name, "dask", backend.name)
    data = make_case("multiclass_2d")
    kw = {"empty": "ignore"} if name == "dice_score" else {"percentile": 95}
    xb = backend.asarray(data["x"])
    out = getattr(sx, name)(xb, backend.asarray(data["y"]), reduction=reduction, **kw)
    want = getattr(oracle, name)(data["x"], data["y"], reduction=reduction, **kw)
    assert np.isnan(getattr(oracle, name)(data["x"], data["y"], reduction="none", **kw)).any()
    assert_table(out, want, backend, dtype="float64", ref=xb, rtol=1e-10)


def test_all_nan_mean_is_nan_and_sum_is_zero(backend: Backend) -> None:
    labels = np.zeros((2, 4, 4), dtype=np.int64)  # class 1 absent everywhere
    pb, tb = backend.asarray(labels), backend.asarray(labels)
    kw = {"num_classes": 2, "include_background": False, "empty": "ignore"}
    for reduction, want in (("mean", np.nan), ("sum", 0.0)):
        got = backend.to_numpy(sx.dice_score(pb, tb, reduction=reduction, **kw))
        np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------- identities


@pytest.mark.parametrize("mode", ["multiclass", "binary"])
def test_dice_score_is_one_minus_dice_loss_exactly(backend: Backend, mode: str) -> None:
    """On hard inputs ``dice_score == 1 − dice_loss(smooth=0)`` bit for bit, both-empty
    classes included (score 1, loss 0); likewise ``iou_score`` and ``jaccard_loss``."""
    rng = np.random.default_rng(5)
    if mode == "multiclass":
        labels = rng.integers(0, 3, size=(3, 6, 7))
        labels[0][labels[0] == 2] = 0  # class 2 absent from image 0: both empty there
        probs = one_hot(np.where(rng.random(labels.shape) < 0.3, 0, labels), 4)
        target: np.ndarray = labels
    else:
        probs = (rng.random((3, 1, 6, 7)) < 0.4).astype(np.float64)
        target = (rng.random((3, 1, 6, 7)) < 0.4).astype(np.float64)
        probs[1], target[1] = 0.0, 0.0  # both empty
    xb, yb = backend.asarray(probs), backend.asarray(target)
    kw: dict[str, Any] = {"mode": mode}
    for score_fn, loss_fn in ((sx.dice_score, sx.dice_loss), (sx.iou_score, sx.jaccard_loss)):
        score = backend.to_numpy(score_fn(xb, yb, reduction="none", **kw))
        loss = backend.to_numpy(loss_fn(xb, yb, from_logits=False, smooth=0.0,
                                        reduction="none", **kw))
        assert np.array_equal(1 - score, loss), (score_fn.__name__, score, loss)
        assert (score == 1.0).any() and np.isfinite(score).all()
        mean = backend.to_numpy(score_fn(xb, yb, **kw))
        mean_loss = backend.to_numpy(loss_fn(xb, yb, from_logits=False, smooth=0.0, **kw))
        np.testing.assert_allclose(1 - mean, mean_loss, rtol=0, atol=1e-15)


def test_generic_path_on_torch_matches_oracle(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch CPU tensors normally take the KD-tree host path; force the generic one."""
    torch_backend, reason = load_backend("torch")
    if torch_backend is None:
        pytest.skip(reason)
    monkeypatch.setattr(metrics, "_host_arrays", lambda *arrays: None)
    for case in ("labels_3d", "binary_edges"):
        data = make_case(case)
        for name, own in VARIANTS:
            if name not in SURFACE:
                continue
            kw = _kwargs(name, own, data)
            xb = torch_backend.asarray(data["x"])
            out = getattr(sx, name)(xb, torch_backend.asarray(data["y"]), reduction="none",
                                    **kw)
            want = getattr(oracle, name)(data["x"], data["y"], reduction="none", **kw)
            assert_table(out, want, torch_backend, dtype="float32", ref=xb, rtol=2e-6)


def test_surface_metrics_under_jax_jit() -> None:
    """Static shapes: HD95 and NSD traced by ``jax.jit`` (the generic path) equal the oracle."""
    backend, reason = load_backend("jax")
    if backend is None:
        pytest.skip(reason)
    import jax

    data = make_case("binary_edges")
    kw: dict[str, Any] = {"mode": "binary", "spacing": data["spacing"], "reduction": "none"}
    for name, own in (("hausdorff_distance", {"percentile": 95}),
                      ("normalized_surface_dice", {"tolerance": 1.5})):
        fn = getattr(sx, name)
        out = jax.jit(lambda a, b, fn=fn, own=own: fn(a, b, **kw, **own))(
            backend.asarray(data["x"]), backend.asarray(data["y"]))
        want = getattr(oracle, name)(data["x"], data["y"], **kw, **own)
        assert_table(out, want, backend, dtype="float32", ref=None, rtol=2e-6)


def test_jax_without_x64() -> None:
    """float32 results, int32 counts and percentile indices, no dtype warning (jit too)."""
    run_with_x64_off("""
        import warnings
        warnings.simplefilter("error")
        import numpy as np
        import jax.numpy as jnp
        import segloss_xp as sx
        from conformance import oracle_metrics as oracle
        rng = np.random.default_rng(0)
        p, g = rng.random((2, 1, 9, 8)) > 0.6, rng.random((2, 1, 9, 8)) > 0.5
        kw = {"mode": "binary", "percentile": 95, "reduction": "none"}
        out = jax.jit(lambda a, b: sx.hausdorff_distance(a, b, **kw))(jnp.asarray(p),
                                                                      jnp.asarray(g))
        assert out.dtype == jnp.float32, out.dtype
        np.testing.assert_allclose(out, oracle.hausdorff_distance(p, g, **kw), rtol=2e-6)
        tp = sx.confusion_counts(jnp.asarray(p), jnp.asarray(g), mode="binary").tp
        assert tp.dtype == jnp.int32, tp.dtype
    """)


def test_hand_computed_surface_metrics() -> None:
    # a 3x3 square G and its left 3x2 part P: ∂G = the 8 border pixels, ∂P = all 6;
    # d(P→∂G) = 0 except the centre (1); d(G→∂P) = 1 for the 3 right-column pixels
    true = np.zeros((1, 1, 5, 5), dtype=bool)
    true[0, 0, 1:4, 1:4] = True
    pred = np.zeros_like(true)
    pred[0, 0, 1:4, 1:3] = True
    kw: dict[str, Any] = {"mode": "binary", "reduction": "none"}
    assert float(sx.hausdorff_distance(pred, true, **kw)[0, 0]) == 1.0
    assert float(sx.average_surface_distance(pred, true, **kw)[0, 0]) == pytest.approx(4 / 14)
    assert float(sx.average_surface_distance(pred, true, symmetric=False, **kw)[0, 0]) == \
        pytest.approx(1 / 6)
    assert float(sx.normalized_surface_dice(pred, true, tolerance=0.5, **kw)[0, 0]) == \
        pytest.approx(10 / 14)
    # anisotropic spacing: the right column is 2.0 away along the second axis
    assert float(sx.hausdorff_distance(pred, true, spacing=(1.0, 2.0), **kw)[0, 0]) == 2.0
    # a lattice distance equal to the tolerance counts, whatever its rounding:
    # |(2·0.8, 1·1.2)| = 2 but 1.6² + 1.2² = 4.000000000000001 in float64
    one, other = np.zeros((1, 1, 4, 4), dtype=bool), np.zeros((1, 1, 4, 4), dtype=bool)
    one[0, 0, 0, 0], other[0, 0, 2, 1] = True, True
    nsd = [float(sx.normalized_surface_dice(one, other, tolerance=t, spacing=(0.8, 1.2),
                                            **kw)[0, 0]) for t in (2.0, 1.99)]
    assert nsd == [1.0, 0.0]


# ----------------------------------------------------------------------------- dask


@pytest.mark.parametrize("name", ["confusion_counts", "dice_score", "iou_score"])
def test_counting_metrics_stay_lazy_on_dask(name: str) -> None:
    backend, reason = load_backend("dask")
    if backend is None:
        pytest.skip(reason)
    import dask.array as da

    data = make_case("labels_3d")
    x = da.from_array(data["x"], chunks=(1, 3, 3, 4))  # 24 chunks per volume
    y = da.from_array(data["y"], chunks=(1, 4, 3, 4))
    out = getattr(sx, name)(x, y, num_classes=3, reduction="none")
    results = out if isinstance(out, tuple) else (out,)
    assert all(isinstance(r, da.Array) for r in results)
    want = getattr(oracle, name)(data["x"], data["y"], num_classes=3,
                                 **({} if name == "confusion_counts" else
                                    {"reduction": "none"}))
    wants = want if isinstance(want, tuple) else (want,)
    for got, expected in zip(results, wants, strict=True):
        np.testing.assert_allclose(np.asarray(got.compute(), dtype=np.float64), expected,
                                   rtol=1e-6)


# ----------------------------------------------------------------------------- bad inputs


@pytest.mark.skip_backend(["jax-jit"], reason="a value check raises only on concrete arrays")
def test_label_out_of_range_names_the_argument(backend: Backend) -> None:
    labels = np.zeros((1, 4, 4), dtype=np.int64)
    bad = labels.copy()
    bad[0, 1, 1] = 5
    with pytest.raises(ValueError, match="`y_pred` holds labels outside \\[0, 3\\)"):
        backend.to_numpy(sx.dice_score(backend.asarray(bad), backend.asarray(labels),
                                       num_classes=3))
    with pytest.raises(ValueError, match="`y_true` holds label"):
        backend.to_numpy(sx.dice_score(backend.asarray(labels), backend.asarray(bad),
                                       num_classes=3))


def test_invalid_labels_under_jit_give_nan_and_minus_one_counts() -> None:
    backend, reason = load_backend("jax")
    if backend is None:
        pytest.skip(reason)
    import jax

    labels = np.zeros((1, 4, 4), dtype=np.int64)
    bad = labels.copy()
    bad[0, 1, 1] = 5
    p, t = backend.asarray(bad), backend.asarray(labels)
    score = jax.jit(lambda a, b: sx.dice_score(a, b, num_classes=3))(p, t)
    assert np.isnan(float(score))
    counts = jax.jit(lambda a, b: sx.confusion_counts(a, b, num_classes=3))(p, t)
    assert all((np.asarray(c) == -1).all() for c in counts)
