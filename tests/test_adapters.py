"""Framework adapters: ``segloss_xp.torch`` and ``segloss_xp.keras`` equal the functions.

Every loss class takes its function's keyword-only parameters (same defaults), computes
the function's value (and, torch, gradient), and documents itself from the function's
docstring. Keras picks its backend when it is imported, so the Keras checks run in a fresh
interpreter per backend: this file run as a script (``KERAS_BACKEND=jax python
tests/test_adapters.py``) runs :func:`keras_checks`. The examples in ``examples/`` run in
subprocesses too; each must print a final loss below its first.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conformance.cases import LOSSES, first_cases
from conformance.helpers import losses

ROOT = Path(__file__).resolve().parents[1]
LOSS_NAMES = sorted(losses())
# The peers' class names (MONAI, smp, torch) the naming rule must give.
EXPECTED_NAMES = {"dice_ce_loss": "DiceCELoss", "bce_dice_loss": "BCEDiceLoss",
                  "mcc_loss": "MCCLoss", "hausdorff_dt_loss": "HausdorffDTLoss",
                  "cross_entropy": "CrossEntropyLoss", "cldice_loss": "ClDiceLoss",
                  "generalized_dice_loss": "GeneralizedDiceLoss"}
# Non-default keywords, each applied where the function takes it.
NON_DEFAULT = {"reduction": "sum", "smooth": 0.5, "gamma": 1.5, "lambda_dice": 0.5,
               "lam": 2.0, "iterations": 2, "label_smoothing": 0.1}


def inputs(name: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """``(y_pred, y_true, keywords)`` of the loss's first conformance case (channels first)."""
    spec = next(s for s in LOSSES if s.public_name == name)
    x, y, kw = first_cases(spec)[0].library_inputs()
    return x, y, {**spec.kwargs, **kw}


def non_default(fn: Any) -> dict[str, Any]:
    params = inspect.signature(fn).parameters
    return {k: v for k, v in NON_DEFAULT.items() if k in params}


def class_names() -> dict[str, str]:
    from segloss_xp._adapters import class_name

    return {name: class_name(name) for name in LOSS_NAMES}


def run(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run ``python args`` from the repository root; return stdout, fail with the output."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])), **(env or {})}
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


# ----------------------------------------------------------------------------- names, laziness


def test_every_loss_has_a_class_in_both_adapters() -> None:
    import segloss_xp.keras as sk
    import segloss_xp.torch as st

    names = class_names()
    assert names.items() >= EXPECTED_NAMES.items()
    assert st.__all__ == sk.__all__ == sorted(names.values())
    assert set(names.values()) <= set(dir(st)) and set(names.values()) <= set(dir(sk))
    with pytest.raises(AttributeError, match="has no attribute 'NotALoss'"):
        _ = st.NotALoss


def test_adapters_import_their_framework_only_when_a_class_is_used() -> None:
    run(["-c", """if True:
        import sys
        import segloss_xp
        assert "segloss_xp.torch" not in sys.modules and "segloss_xp.keras" not in sys.modules
        import segloss_xp.torch, segloss_xp.keras
        assert not {"torch", "keras"} & set(sys.modules), {"torch", "keras"} & set(sys.modules)
        assert "DiceLoss" in dir(segloss_xp.torch)
        from segloss_xp.torch import DiceLoss
        assert "torch" in sys.modules and "keras" not in sys.modules
        import torch  # the framework, not this package's module of the same name
        assert torch.nn.Module in DiceLoss.__mro__
    """], timeout=60)


# ----------------------------------------------------------------------------- torch


@pytest.fixture(scope="module")
def st() -> Any:
    pytest.importorskip("torch", reason="torch is not installed")
    import segloss_xp.torch

    return segloss_xp.torch


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_torch_signature_is_the_functions_keywords(st: Any, name: str) -> None:
    import segloss_xp as sx

    cls = getattr(st, class_names()[name])
    fn = getattr(sx, name)
    want = [p for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert list(inspect.signature(cls).parameters.values()) == want
    assert cls.function is fn and cls.__module__ == "segloss_xp.torch"


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_torch_module_equals_function_values_and_gradients(st: Any, name: str) -> None:
    import torch

    import segloss_xp as sx

    fn = getattr(sx, name)
    x, y, kw = inputs(name)
    for keywords in ({}, {**kw, **non_default(fn)}):
        xs = [torch.tensor(x, requires_grad=True) for _ in range(2)]
        got = getattr(st, class_names()[name])(**keywords)(xs[0], torch.tensor(y))
        want = fn(xs[1], torch.tensor(y), **keywords)
        got.sum().backward()
        want.sum().backward()
        torch.testing.assert_close(got, want, rtol=1e-12, atol=0)
        torch.testing.assert_close(xs[0].grad, xs[1].grad, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_torch_docstring_is_derived_from_the_function(st: Any, name: str) -> None:
    import segloss_xp as sx

    cls = getattr(st, class_names()[name])
    fn = getattr(sx, name)
    doc, source = cls.__doc__, inspect.cleandoc(fn.__doc__)
    assert doc.splitlines()[0] == source.splitlines()[0]
    assert f"segloss_xp.{name}" in doc
    params = doc.split("Parameters\n----------\n")[1].split("\n\n")[0]
    documented = re.findall(r"^(\w+(?:, \w+)*) :", params, flags=re.M)
    assert [n for entry in documented for n in entry.split(", ")] == list(
        inspect.signature(cls).parameters)
    for line in params.splitlines():  # every line is the function's own
        assert line in source, (name, line)


def test_torch_docstrings_are_valid_numpydoc(st: Any) -> None:
    validate = pytest.importorskip("numpydoc.validate", reason="numpydoc is not installed")
    import doctest

    for obj in [*(f"segloss_xp.torch.{c}" for c in st.__all__), "segloss_xp.torch",
                "segloss_xp.torch.DiceLoss.forward", "segloss_xp.torch.DiceLoss.keywords",
                "segloss_xp.torch.DiceLoss.extra_repr"]:
        errors = [e for e in validate.validate(obj)["errors"] if e[0] not in ("ES01", "SA01")]
        assert not errors, (obj, errors)
    for test in doctest.DocTestFinder().find(st.DiceCELoss, globs={}):
        assert doctest.DocTestRunner().run(test).failed == 0, test.name


def test_torch_keywords_repr_buffers_and_overrides(st: Any) -> None:
    import pickle

    import torch

    import segloss_xp as sx

    x, y, _ = inputs("cross_entropy")
    weights = torch.tensor([0.2, 1.0, 3.0])
    criterion = st.CrossEntropyLoss(class_weights=weights, label_smoothing=0.1)
    assert repr(criterion) == ("CrossEntropyLoss(class_weights=tensor([0.2000, 1.0000, "
                               "3.0000]), label_smoothing=0.1)")
    assert repr(st.DiceLoss()) == "DiceLoss()"
    assert criterion.state_dict() == {}  # tensors are non-persistent buffers
    criterion = criterion.double()  # and follow the module's dtype and device
    assert criterion.keywords["class_weights"].dtype == torch.float64
    xt, yt = torch.tensor(x), torch.tensor(y)
    torch.testing.assert_close(criterion(xt, yt), sx.cross_entropy(
        xt, yt, class_weights=weights.double(), label_smoothing=0.1))
    # forward's keywords replace the module's for one call (a per-batch weight map)
    pixel_weights = torch.rand(y.shape, dtype=torch.float64)
    torch.testing.assert_close(criterion(xt, yt, pixel_weights=pixel_weights), sx.cross_entropy(
        xt, yt, class_weights=weights.double(), label_smoothing=0.1, pixel_weights=pixel_weights))
    restored = pickle.loads(pickle.dumps(criterion))
    assert type(restored) is st.CrossEntropyLoss and repr(restored) == repr(criterion)


def test_torch_unknown_keyword_raises_at_construction(st: Any) -> None:
    with pytest.raises(TypeError, match=r"DiceLoss\(\) got an unexpected keyword argument 'smoth'"):
        st.DiceLoss(smoth=1.0)
    with pytest.raises(TypeError, match=r"positional argument"):
        st.DiceLoss("multiclass")


# ----------------------------------------------------------------------------- keras


README_MARKER = "# runs in tests/test_adapters.py"
# Values on Keras's JAX backend for a few losses (one of each target kind): eager JAX
# compiles every operation, about 1-5 s a loss here; the adapter has no per-loss code.
JAX_VALUES = ("boundary_loss", "dice_ce_loss", "dice_loss", "focal_loss")


def keras_checks() -> None:
    """Every Keras check on the backend ``KERAS_BACKEND`` names (run in a fresh interpreter)."""
    import keras

    import segloss_xp as sx
    import segloss_xp.keras as sk

    def channels_last(a: np.ndarray, like: np.ndarray) -> np.ndarray:
        return np.moveaxis(a, 1, -1) if a.ndim == like.ndim else a

    for name in LOSS_NAMES:
        cls, fn = getattr(sk, class_names()[name]), getattr(sx, name)
        want = [p.replace(default=-1) if p.name == "class_axis" else p
                for p in inspect.signature(fn).parameters.values()
                if p.kind is p.KEYWORD_ONLY and p.name != "reduction"]
        assert list(inspect.signature(cls).parameters)[-3:] == ["reduction", "name", "dtype"]
        assert list(inspect.signature(cls).parameters.values())[:-3] == want, name
        x, y, kw = inputs(name)
        kw = {**kw, **non_default(fn)}
        kw.pop("reduction", None)
        loss = cls(**kw)
        if keras.backend.backend() == "torch" or name in JAX_VALUES:
            x, y = channels_last(x, x).astype(np.float32), channels_last(y, x)
            got = keras.ops.convert_to_numpy(loss(y, x))
            np.testing.assert_allclose(got, fn(x, y, class_axis=-1, **kw), rtol=2e-5,
                                       err_msg=name)
        config = loss.get_config()
        assert cls.from_config(config).get_config() == config, name
        assert "Keras's reduction, mapped to the function's" in cls.__doc__, name
        if importlib.util.find_spec("numpydoc") is not None:
            from numpydoc.validate import validate

            errors = [e for e in validate(f"segloss_xp.keras.{cls.__name__}")["errors"]
                      if e[0] not in ("ES01", "SA01")]
            assert not errors, (name, errors)

    # Keras's reductions mapped to ours; the default equals our default
    x, y, _ = inputs("dice_loss")
    x, y = np.moveaxis(x, 1, -1).astype(np.float32), y
    weights = np.array([1.0, 3.0], dtype=np.float32)
    for keras_reduction, ours, sample_weight in [
            ("sum_over_batch_size", "mean", None), ("mean", "mean", None),
            ("mean_with_sample_weight", "mean", weights), ("sum", "sum", None),
            (None, "none", None), ("none", "none", None)]:
        got = sk.DiceLoss(reduction=keras_reduction)(y, x, sample_weight=sample_weight)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got),
                                   sx.dice_loss(x, y, class_axis=-1, reduction=ours),
                                   rtol=2e-5, err_msg=str(keras_reduction))
    try:
        sk.DiceCELoss(reduction="none")
        raise AssertionError("a compound loss took reduction='none'")
    except ValueError as exc:
        assert "dice_ce_loss does not take" in str(exc), exc
    try:
        sk.DiceLoss(smoth=1.0)
        raise AssertionError("a misspelt keyword was taken")
    except TypeError as exc:
        assert "unexpected keyword argument 'smoth'" in str(exc), exc

    # serialisation by registered name; compile + one fit step
    loss = sk.DiceCELoss(lambda_ce=0.5, ignore_index=2)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(restored) is sk.DiceCELoss and restored.get_config() == loss.get_config()
    model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Conv2D(3, 1)])
    model.compile(optimizer="sgd", loss=loss)
    history = model.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    # README's Keras example, which tests/test_readme.py leaves to this script
    readme = (ROOT / "README.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S)
              if b.startswith(README_MARKER)]
    assert blocks, f"no README example starts with {README_MARKER!r}"
    for block in blocks:
        exec(compile(block, "README.md Keras example", "exec"), {})
    print("keras checks passed on", keras.backend.backend())


@pytest.mark.parametrize("keras_backend", ["torch", "jax"])
def test_keras_adapter(keras_backend: str) -> None:
    for module in ("keras", keras_backend):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    out = run([str(Path(__file__))], env={"KERAS_BACKEND": keras_backend,
                                          "JAX_PLATFORMS": "cpu"})
    assert f"keras checks passed on {keras_backend}" in out


# ----------------------------------------------------------------------------- examples


@pytest.mark.parametrize("example", ["train_torch", "train_torch_compile", "train_jax_optax",
                                     "train_keras"])
def test_example_trains(example: str) -> None:
    needs = {"train_torch": ["torch"], "train_torch_compile": ["torch"],
             "train_jax_optax": ["jax", "optax"], "train_keras": ["keras", "torch"]}[example]
    for module in needs:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    out = run([f"examples/{example}.py"], env={"KERAS_BACKEND": "torch"}, timeout=300)
    values = [float(v) for v in re.findall(r"loss (\S+)$", out, flags=re.M)]
    assert len(values) >= 5 and values[-1] < values[0], out


if __name__ == "__main__":
    keras_checks()
