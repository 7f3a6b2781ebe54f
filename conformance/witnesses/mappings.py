"""The keyword mapping from each peer to ``segloss_xp``: one table, tested and documented.

Each :class:`Mapping` is one line "the peer's expression == ours". Both expressions are
Python source, evaluated as written on the same inputs (:data:`INPUTS`), so the line the
documentation shows (``docs/coming_from.md``, rendered by ``docs/_ext/tables.py``) is
the line ``test_mappings.py`` runs; they cannot drift apart. A peer that is not
installed is skipped by the test with the line that installs it.

The names an expression sees: the peer's (:data:`PEERS`: ``import`` line), ``torch`` or
``jnp``, the input arrays of its row (``x``, ``y``, ``onehot``, ``p``) converted to the
peer's framework, and on the right-hand side every public name of ``segloss_xp``.

Importing this module imports NumPy only (no peer, torch or JAX): the documentation
build reads the table alone. ``python -m conformance.witnesses.mappings Keras``
evaluates the Keras lines in a fresh interpreter (``KERAS_BACKEND`` must be set before
keras is imported) and prints ``[[theirs, ours], ...]`` as JSON.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["INPUTS", "MAPPINGS", "PEERS", "Inputs", "Mapping", "Peer", "evaluate", "lines_of"]

# agreement of the two sides: max |theirs − ours| <= TOL · max(1, max |theirs|); float32
# peers (MONAI's FocalLoss / HausdorffDTLoss, smp's Lovász, Keras's floatx) stay within it
TOL = 1e-6


@dataclass(frozen=True)
class Peer:
    """A peer library: how the page names it, what its expressions may call."""

    title: str
    imports: str  # the import line its expressions assume (shown on the page)
    framework: str  # "torch", "jax" or "numpy": the type of the input arrays
    module: str  # the module whose public names the expressions see
    distribution: str  # the pip distribution (skip reason)


@dataclass(frozen=True)
class Inputs:
    """One set of float64 inputs; ``make`` names a function of this module."""

    description: str
    make: str
    mode: str  # "multiclass" or "binary": how ``p`` is made from ``x``
    channels_last: bool = False


@dataclass(frozen=True)
class Mapping:
    """``theirs`` (the peer's expression) == ``ours``, on the inputs ``inputs``."""

    peer: str
    loss: str  # the segloss_xp function the line maps to
    theirs: str
    ours: str
    inputs: str = "labels"
    note: str = ""
    expected: float | None = None  # a value the peer's own tests state


PEERS: dict[str, Peer] = {
    "MONAI": Peer("MONAI 1.6", "from monai.losses import *", "torch", "monai.losses",
                  "monai"),
    "smp": Peer("segmentation_models_pytorch 0.6", "from segmentation_models_pytorch.losses "
                "import *", "torch", "segmentation_models_pytorch.losses",
                "segmentation_models_pytorch"),
    "kornia": Peer("kornia 0.9", "from kornia.losses import *", "torch", "kornia.losses",
                   "kornia"),
    "optax": Peer("optax 0.2", "import optax, jax.numpy as jnp  # jax_enable_x64", "jax",
                  "optax", "optax"),
    "Keras": Peer("Keras 3", "import keras  # in a subprocess, KERAS_BACKEND=torch", "numpy",
                  "keras", "keras"),
}

INPUTS: dict[str, Inputs] = {
    "labels": Inputs("``x`` logits ``(3, 4, 6, 7)``, ``y`` integer labels ``(3, 6, 7)``; "
                     "class 3 is absent from image 0", "_labels", "multiclass"),
    "labels_full": Inputs("as ``labels``, every class present in every image", "_labels_full",
                          "multiclass"),
    "binary": Inputs("``x`` logits ``(3, 1, 5, 6)``, ``y`` a {0, 1} float mask of the same "
                     "shape; image 1 is empty", "_binary", "binary"),
    "labels_last": Inputs("``labels`` channels-last: ``x`` ``(3, 6, 7, 4)``", "_labels",
                          "multiclass", channels_last=True),
    "binary_last": Inputs("``binary`` channels-last: ``x`` and ``y`` ``(3, 5, 6, 1)``",
                          "_binary", "binary", channels_last=True),
    "monai_case6": Inputs("MONAI's ``tests/losses/test_dice_ce_loss.py`` case 6: ``x`` "
                          "``[[[0.8, 0.6, 0.0]], [[0.0, 0.0, 0.9]]]``, ``y`` "
                          "``[[[0, 0, 1]], [[0, 1, 0]]]``", "_monai_case6", "binary"),
}

_W = "[0.5, 1.0, 2.0, 4.0]"
_MC = "softmax=True, to_onehot_y=True"

MAPPINGS: tuple[Mapping, ...] = (
    # ------------------------------------------------------------------------------ MONAI
    Mapping("MONAI", "dice_loss", f"DiceLoss({_MC})(x, y[:, None])", "dice_loss(x, y)",
            note="MONAI wants the labels as ``(N, 1, *spatial)``; ``smooth_nr = smooth_dr "
            "= 1e-5`` is our ``smooth``"),
    Mapping("MONAI", "dice_loss",
            f"DiceLoss({_MC}, include_background=False, squared_pred=True, batch=True, "
            "smooth_nr=0.5, smooth_dr=0.5)(x, y[:, None])",
            "dice_loss(x, y, include_background=False, squared=True, batch=True, smooth=0.5)"),
    Mapping("MONAI", "dice_loss", f"DiceLoss({_MC}, weight={_W})(x, y[:, None])",
            f"dice_loss(x, y, class_weights={_W})"),
    Mapping("MONAI", "dice_loss", "DiceLoss(sigmoid=True)(x, y)",
            'dice_loss(x, y, mode="binary")', "binary"),
    Mapping("MONAI", "jaccard_loss",
            f"DiceLoss({_MC}, jaccard=True, smooth_nr=2e-5, smooth_dr=2e-5)(x, y[:, None])",
            "jaccard_loss(x, y, smooth=1e-5)",
            note="MONAI's Jaccard doubles numerator and denominator, so its smoothing is "
            "twice ours"),
    Mapping("MONAI", "tversky_loss",
            f"TverskyLoss({_MC}, alpha=0.3, beta=0.7)(x, y[:, None])",
            "tversky_loss(x, y, alpha=0.3, beta=0.7)", note="α weighs false positives in both"),
    Mapping("MONAI", "generalized_dice_loss",
            f'GeneralizedDiceLoss({_MC}, w_type="simple")(x, y[:, None])',
            'generalized_dice_loss(x, y, weight_type="simple")'),
    Mapping("MONAI", "mcc_loss",
            f"MCCLoss({_MC}, smooth_nr=0.0, smooth_dr=1e-5)(x, y[:, None])",
            "mcc_loss(x, y, eps=1e-5)"),
    Mapping("MONAI", "focal_loss", "FocalLoss(gamma=2.0, alpha=0.25)(x, y)",
            'focal_loss(x, y, mode="binary", gamma=2.0, alpha=0.25)', "binary",
            note="MONAI's class casts to float32"),
    Mapping("MONAI", "dice_ce_loss",
            f"DiceCELoss({_MC}, lambda_ce=1.6, label_smoothing=0.15)(x, y[:, None])",
            "dice_ce_loss(x, y, lambda_ce=1.6, label_smoothing=0.15)"),
    Mapping("MONAI", "dice_ce_loss",
            f"DiceCELoss({_MC}, weight=torch.tensor({_W}).double(), include_background=False)"
            "(x, y[:, None])",
            f"dice_ce_loss(x, y, class_weights={_W}, include_background=False)",
            note="``weight`` has length C in both (MONAI's ``DiceLoss`` wants C − 1 "
            "without background, MONAI#7729)"),
    Mapping("MONAI", "dice_ce_loss", "DiceCELoss(sigmoid=True, weight=torch.tensor([0.5]).double())"
            "(x, y)",
            'dice_ce_loss(x, y, mode="binary", pos_weight=0.5)', "monai_case6",
            note="binary ``weight`` is the BCE's ``pos_weight`` only: MONAI's ``DiceLoss`` "
            "ignores ``weight`` with one channel", expected=1.445239),
    Mapping("MONAI", "dice_focal_loss", "DiceFocalLoss(sigmoid=True, gamma=2.0)(x, y)",
            'dice_focal_loss(x, y, mode="binary", gamma=2.0)', "binary"),
    Mapping("MONAI", "hausdorff_dt_loss", "HausdorffDTLoss(sigmoid=True)(x, y)",
            'hausdorff_dt_loss(x, y, mode="binary")', "binary",
            note="MONAI's distance fields are float32"),
    # -------------------------------------------------------------------------------- smp
    Mapping("smp", "dice_loss", 'DiceLoss("multiclass", smooth=0.5)(x, y)',
            "dice_loss(x, y, batch=True, smooth=1.0)", "labels_full",
            note="smp pools the batch and adds ``smooth`` to 2I (ours: twice as much to I "
            "and to the ratio); it gives a class absent from the batch loss 0"),
    Mapping("smp", "dice_loss", 'DiceLoss("binary")(x, y)',
            'dice_loss(x, y, mode="binary", batch=True, smooth=0.0)', "binary"),
    Mapping("smp", "jaccard_loss", 'JaccardLoss("multiclass", smooth=1.0)(x, y)',
            "jaccard_loss(x, y, batch=True, smooth=1.0)", "labels_full"),
    Mapping("smp", "tversky_loss",
            'TverskyLoss("multiclass", alpha=0.3, beta=0.7, smooth=1.0)(x, y)',
            "tversky_loss(x, y, alpha=0.3, beta=0.7, batch=True, smooth=1.0)", "labels_full",
            note="smp's ``gamma`` raises the class mean, not each class (focal Tversky)"),
    Mapping("smp", "focal_loss", 'FocalLoss("binary", alpha=0.25, gamma=2.0)(x, y)',
            'focal_loss(x, y, mode="binary", alpha=0.25, gamma=2.0)', "binary"),
    Mapping("smp", "focal_loss", 'FocalLoss("multiclass", gamma=2.0)(x, y)',
            'focal_loss(x, onehot, mode="multilabel", gamma=2.0)',
            note="smp's multiclass focal is a sigmoid focal per class"),
    Mapping("smp", "cross_entropy", "SoftCrossEntropyLoss(smooth_factor=0.1)(x, y)",
            "cross_entropy(x, y, label_smoothing=0.1)"),
    Mapping("smp", "cross_entropy", "SoftBCEWithLogitsLoss(smooth_factor=0.05)(x, y)",
            'cross_entropy(x, y, mode="binary", label_smoothing=0.1)', "binary",
            note="smp's target is ``y(1 − 2ε) + ε``, ours ``y(1 − ε) + ε/2``"),
    Mapping("smp", "cross_entropy",
            "SoftBCEWithLogitsLoss(pos_weight=torch.tensor(2.0))(x, y)",
            'cross_entropy(x, y, mode="binary", pos_weight=2.0)', "binary"),
    Mapping("smp", "mcc_loss", "MCCLoss(eps=0.0)(torch.sigmoid(x), y)",
            'mcc_loss(x, y, mode="binary", batch=True, eps=0.0)', "binary",
            note="at its default ``eps`` smp adds eps to each count (ours: once under the "
            "root)"),
    Mapping("smp", "lovasz_softmax_loss",
            'LovaszLoss("multiclass", per_image=True)(x.float(), y)',
            "lovasz_softmax_loss(x, y, per_image=True)", note="smp's Lovász is float32 only"),
    Mapping("smp", "lovasz_hinge_loss", 'LovaszLoss("binary")(x.float(), y)',
            "lovasz_hinge_loss(x, y, per_image=False)", "binary",
            note="our default is the paper's ``per_image=True``"),
    # ----------------------------------------------------------------------------- kornia
    Mapping("kornia", "dice_loss", 'DiceLoss(average="macro")(x, y)',
            "dice_loss(x, y, smooth=0.0)", "labels_full",
            note="kornia leaves classes absent from an image out of its mean and adds "
            "``eps`` to the denominator only; ``average=\"micro\"`` pools the classes"),
    Mapping("kornia", "tversky_loss", "TverskyLoss(alpha=0.3, beta=0.7)(x, y)",
            "tversky_loss(x, y, alpha=0.3, beta=0.7, smooth=0.0)", "labels_full",
            note="as kornia's Dice: absent classes left out of the mean, ``eps`` in the "
            "denominator only"),
    Mapping("kornia", "focal_loss", 'FocalLoss(alpha=None, gamma=2.0, reduction="sum")(x, y)',
            'focal_loss(x, y, gamma=2.0, reduction="sum")',
            note='kornia\'s ``"mean"`` divides by N·C·spatial (ours by the pixels)'),
    Mapping("kornia", "focal_loss",
            'BinaryFocalLossWithLogits(alpha=0.25, gamma=2.0, reduction="mean")(x, y)',
            'focal_loss(x, y, mode="binary", alpha=0.25, gamma=2.0)', "binary"),
    Mapping("kornia", "lovasz_softmax_loss", "LovaszSoftmaxLoss()(x, y)",
            'lovasz_softmax_loss(x, y, per_image=True, classes="all")'),
    Mapping("kornia", "lovasz_hinge_loss", "LovaszHingeLoss()(x, y[:, 0].long())",
            "lovasz_hinge_loss(x, y)", "binary"),
    # ------------------------------------------------------------------------------ optax
    Mapping("optax", "dice_loss", "jnp.mean(optax.losses.dice_loss(x, onehot, smooth=1.0))",
            "dice_loss(x, y, class_axis=-1, smooth=2.0)", "labels_last",
            note="optax's Dice is its Tversky at α = β = 0.5: ``smooth`` counts twice"),
    Mapping("optax", "tversky_loss",
            "jnp.mean(optax.losses.dice_loss(x, onehot, alpha=0.3, beta=0.7, smooth=1.0))",
            "tversky_loss(x, y, class_axis=-1, alpha=0.3, beta=0.7, smooth=1.0)",
            "labels_last"),
    Mapping("optax", "dice_loss",
            "optax.losses.multiclass_generalized_dice_loss(x, onehot, smooth=1.0)",
            "dice_loss(x, y, class_axis=-1, smooth=2.0, "
            "class_weights=4 * (w := 1 / (onehot.sum((0, 1, 2)) ** 2 + 1e-7)) / w.sum())",
            "labels_last",
            note="optax's generalized Dice weighs the per-class Dice losses by "
            "``1/(G_c² + 1e-7)`` of the whole batch, normalised to mean 1: a weighted Dice, "
            "not Sudre's ratio of weighted sums (``generalized_dice_loss``)"),
    Mapping("optax", "dice_loss", "jnp.mean(optax.losses.binary_dice_loss(x, y))",
            'dice_loss(x, y, mode="binary", class_axis=-1, smooth=2.0)', "binary_last"),
    Mapping("optax", "cross_entropy",
            "optax.losses.softmax_cross_entropy_with_integer_labels(x, y)",
            'cross_entropy(x, y, class_axis=-1, reduction="none")', "labels_last"),
    Mapping("optax", "cross_entropy",
            "optax.losses.softmax_cross_entropy(x, optax.smooth_labels(onehot, 0.1))",
            'cross_entropy(x, y, class_axis=-1, label_smoothing=0.1, reduction="none")',
            "labels_last"),
    Mapping("optax", "cross_entropy", "optax.losses.sigmoid_binary_cross_entropy(x, y)",
            'cross_entropy(x, y, mode="binary", class_axis=-1, reduction="none")',
            "binary_last"),
    Mapping("optax", "focal_loss", "optax.losses.sigmoid_focal_loss(x, y, alpha=0.25, gamma=2.0)",
            'focal_loss(x, y, mode="binary", class_axis=-1, alpha=0.25, gamma=2.0, '
            'reduction="none")', "binary_last"),
    # ------------------------------------------------------------------------------ Keras
    Mapping("Keras", "dice_loss", "keras.losses.Dice(axis=(1, 2))(onehot, p)",
            "dice_loss(p, y, class_axis=-1, from_logits=False, smooth=0.0)", "labels_last",
            note="Keras takes probabilities, ``(y_true, y_pred)``; ``axis`` must exclude the "
            "batch and class axes for a per-image, per-class Dice"),
    Mapping("Keras", "dice_loss", "keras.losses.Dice(axis=(1, 2, 3))(y, p)",
            'dice_loss(p, y, mode="binary", class_axis=-1, from_logits=False, smooth=0.0)',
            "binary_last"),
    Mapping("Keras", "tversky_loss", "keras.losses.Tversky(alpha=0.3, beta=0.7, axis=(1, 2))"
            "(onehot, p)",
            "tversky_loss(p, y, class_axis=-1, from_logits=False, smooth=0.0, alpha=0.7, "
            "beta=0.3)", "labels_last",
            note="Keras's ``alpha`` multiplies Σ y·(1 − p), our false negatives"),
    Mapping("Keras", "cross_entropy",
            "keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)(y, x)",
            "cross_entropy(x, y, class_axis=-1, ignore_index=2)", "labels_last"),
    Mapping("Keras", "cross_entropy",
            "keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)"
            "(onehot, x)",
            "cross_entropy(x, y, class_axis=-1, label_smoothing=0.1)", "labels_last"),
    Mapping("Keras", "cross_entropy",
            "keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)(y, x)",
            'cross_entropy(x, y, mode="binary", class_axis=-1, label_smoothing=0.1)',
            "binary_last"),
    Mapping("Keras", "focal_loss",
            "keras.losses.CategoricalFocalCrossentropy(alpha=1.0, gamma=2.0, "
            "from_logits=True)(onehot, x)",
            "focal_loss(x, y, class_axis=-1, gamma=2.0)", "labels_last",
            note="Keras's ``alpha`` (default 0.25) scales every class"),
    Mapping("Keras", "focal_loss",
            "keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, "
            "gamma=2.0, from_logits=True)(y, x)",
            'focal_loss(x, y, mode="binary", class_axis=-1, alpha=0.25, gamma=2.0)',
            "binary_last", note="without ``apply_class_balancing`` Keras ignores ``alpha``"),
)


def lines_of(peer: str) -> list[tuple[int, Mapping]]:
    """The lines of one peer with their index in :data:`MAPPINGS` (the test ids)."""
    return [(i, m) for i, m in enumerate(MAPPINGS) if m.peer == peer]


# --------------------------------------------------------------------------- inputs


def _labels(full: bool = False) -> dict[str, np.ndarray]:
    from conformance.witnesses import multiclass

    if full:
        rng = np.random.default_rng(11)
        x, y = rng.normal(scale=2.0, size=(3, 4, 6, 7)), rng.integers(0, 4, size=(3, 6, 7))
        assert all(np.unique(image).size == 4 for image in y)
    else:
        x, y = multiclass()
    return {"x": x, "y": y, "onehot": np.moveaxis(np.eye(4)[y], -1, 1)}


def _labels_full() -> dict[str, np.ndarray]:
    return _labels(full=True)


def _binary() -> dict[str, np.ndarray]:
    from conformance.witnesses import binary

    x, y = binary()
    return {"x": x, "y": y}


def _monai_case6() -> dict[str, np.ndarray]:
    return {"x": np.array([[[0.8, 0.6, 0.0]], [[0.0, 0.0, 0.9]]]),
            "y": np.array([[[0.0, 0.0, 1.0]], [[0.0, 1.0, 0.0]]])}


def arrays(name: str) -> dict[str, np.ndarray]:
    """The NumPy inputs of one :data:`INPUTS` entry, with ``p`` (softmax / sigmoid of ``x``)."""
    spec = INPUTS[name]
    out = globals()[spec.make]()
    x = out["x"]
    if spec.mode == "multiclass":
        e = np.exp(x - x.max(axis=1, keepdims=True))
        out["p"] = e / e.sum(axis=1, keepdims=True)
    else:
        out["p"] = 1.0 / (1.0 + np.exp(-x))
    if spec.channels_last:
        out = {k: v if k == "y" and v.ndim < x.ndim else np.moveaxis(v, 1, -1)
               for k, v in out.items()}
    return out


# --------------------------------------------------------------------------- evaluation


def _framework(name: str, arrays_: dict[str, np.ndarray]) -> tuple[dict[str, Any], Any]:
    """The inputs in framework ``name`` and the converter back to NumPy."""
    if name == "torch":
        import torch

        return ({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays_.items()}
                | {"torch": torch}, lambda r: r.detach().numpy())
    if name == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        return {k: jnp.asarray(v) for k, v in arrays_.items()} | {"jnp": jnp}, np.asarray
    return dict(arrays_), np.asarray


def evaluate(mapping: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """``(theirs, ours)`` of one line as float64 NumPy arrays (imports the peer)."""
    import segloss_xp

    peer = PEERS[mapping.peer]
    if mapping.peer == "smp":
        from benchmarks.peers import smp_losses

        module = smp_losses()  # without smp's package __init__ (torchvision)
    else:
        module = importlib.import_module(peer.module)
    inputs, to_numpy = _framework(peer.framework, arrays(mapping.inputs))
    names = {k: getattr(module, k) for k in dir(module) if not k.startswith("_")}
    top = peer.module.split(".")[0]
    with warnings.catch_warnings():  # the peer's own warnings (MONAI: "single channel ...")
        warnings.simplefilter("ignore")
        theirs = eval(mapping.theirs, names | {top: importlib.import_module(top)} | inputs)
    ours = eval(mapping.ours, {k: getattr(segloss_xp, k) for k in segloss_xp.__all__} | inputs)
    return (np.asarray(to_numpy(theirs), dtype=np.float64),
            np.asarray(to_numpy(ours), dtype=np.float64))


def main(argv: list[str]) -> int:
    """Evaluate every line of the peers named in ``argv``; print ``[[theirs, ours], ...]``."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    out = [[v.tolist() for v in evaluate(m)] for m in MAPPINGS if m.peer in argv]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
