"""How the losses behave as a prediction gets worse: ``python -m conformance.behaviour``.

The classic comparison of segmentation-loss surveys (Ma et al. 2021, Jadon 2020, Yeung
et al. 2022), on synthetic data with a known error: one object on a 64 × 64 image, a
*large* disc (radius 20, 1257 pixels) and a *small* one (radius 3, 29 pixels). From the
perfect prediction we derive predictions with ``k`` errors of one kind:

* **FP** (false positives): the ``k`` background pixels nearest the disc's centre are
  added (the predicted object grows);
* **FN** (false negatives): the ``k`` object pixels farthest from the centre are removed
  (it shrinks; ``k = |G|`` is the empty prediction),

for ``k / |G|`` from 0 to 1 in steps of 0.05 (``|G|`` the object's size; rounded to whole
pixels, so the small disc's steps are uneven). The predictions are *hard* masks given as
probabilities clipped away from 0 and 1 (``1 − δ`` inside, ``δ`` outside, δ = 1e-4) with
``from_logits=False``; the Lovász hinge takes their logits ``±log((1 − δ)/δ)``.
Every value comes from ``segloss_xp`` on NumPy (per image, ``reduction="none"``);
``tests/test_behaviour.py`` checks a few against the float64 oracle.

What the literature states, and the test asserts (``tests/test_behaviour.py``):

* every loss grows with the number of errors: each is a penalty on FP and FN, strictly
  increasing in both for a hard prediction (Dice: Milletari et al. 2016; Tversky: Salehi
  et al. 2017; cross entropy and focal: Lin et al. 2017; Lovász: Berman et al. 2018;
  boundary: Kervadec et al. 2019, its value is the signed distance summed over the
  predicted region, so every pixel added outside or removed inside costs its distance);
* the region losses (Dice, Jaccard, Tversky, focal Tversky, Lovász-Softmax) are ratios
  of counts of the object: the same *relative* error gives the same value for the small
  and the large object (for Dice exactly ``k/(2|G| − k)`` for FN and
  ``k/(2|G| + k)`` for FP). This is the reason Milletari et al. (2016) give for the Dice
  loss on imbalanced foreground, and the reason Ma et al. (2021) and Yeung et al. (2022)
  group them apart from the distribution losses;
* cross entropy and focal loss are means over *all* pixels: the same relative error on
  the small object costs ``|G_small| / |G_large|`` ≈ 1/43 of the large one's, the
  background dominates (Ma et al. 2021, §2.1; Yeung et al. 2022, §2.1; Lin et al. 2017);
* Tversky with β > α (here α = 0.3 on FP, β = 0.7 on FN, Salehi et al.'s choice) costs
  more for FN than for FP at the same ``k``; so does the focal Tversky loss (Abraham &
  Khan 2019, its defaults);
* the Lovász extension is tight: on a hard prediction Lovász-Softmax equals the Jaccard
  loss, and the Lovász hinge is the Jaccard loss of the mispredicted set times the hinge
  margin ``1 + |logit|`` (Berman et al. 2018, §3: the extension interpolates the set
  function and equals it on the vertices of the cube; it is positively homogeneous).

Two curves are shown with their monotonicity alone asserted. MCC counts the true
negatives too: it is scale-free only while the object is a small share of the image (the
large disc covers 31 % of it, and its FP curve lies above the small one's). The boundary
loss is a mean over the image of the signed distance: not scale-free, and not *strictly*
increasing for FN, since the object's rim pixels have distance 0 in Kervadec et al.'s map
(removing them costs nothing; every further ring costs its depth).

References
----------
Milletari, Navab & Ahmadi, "V-Net", 3DV 2016. Salehi, Erdogmus & Gholipour, "Tversky
loss function for image segmentation using 3D fully convolutional deep networks", MLMI
2017. Lin et al., "Focal loss for dense object detection", ICCV 2017. Berman, Rannen Triki
& Blaschko, "The Lovász-Softmax loss", CVPR 2018. Abraham & Khan, "A novel focal Tversky
loss function with improved attention U-Net for lesion segmentation", ISBI 2019.
Kervadec et al., "Boundary loss for highly unbalanced segmentation", MIDL 2019.
Jadon, "A survey of loss functions for semantic segmentation", CIBCB 2020. Abhishek &
Hamarneh, "Matthews correlation coefficient loss for deep convolutional networks", ISBI
2021. Ma et al., "Loss odyssey in medical image segmentation", Medical Image Analysis 71,
2021. Yeung et al., "Unified focal loss", Computerized Medical Imaging and Graphics 95,
2022.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

import segloss_xp as sx

__all__ = ["DELTA", "FIGURE", "KINDS", "LOSSES", "NON_STRICT", "OBJECTS", "PIXEL", "REGION",
           "Series", "curves", "disc", "error_counts", "main", "monotone_violations",
           "predictions", "render"]

SIZE = 64
#: object name -> disc radius (pixels) on the SIZE × SIZE image
OBJECTS = {"large": 20, "small": 3}
KINDS = ("FP", "FN")
#: probabilities of a hard prediction: 1 − DELTA inside, DELTA outside
DELTA = 1e-4
FRACTIONS = np.linspace(0.0, 1.0, 21)
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "loss_behaviour.png"

F64 = NDArray[np.float64]
Masks = NDArray[np.bool_]


def disc(radius: int, size: int = SIZE) -> Masks:
    """A centred disc ``(size, size)``: pixels within ``radius`` of the centre pixel."""
    r2 = _squared_distance(size)
    return r2 <= radius * radius


def _squared_distance(size: int) -> NDArray[np.int64]:
    yy, xx = np.indices((size, size))
    return (yy - size // 2) ** 2 + (xx - size // 2) ** 2


def _error_order(target: Masks, kind: str) -> NDArray[np.intp]:
    """Flat indices in the order errors are made: FP grows the object outward from the
    centre, FN shrinks it from its rim (ties by index: the order is deterministic)."""
    r2 = _squared_distance(target.shape[0]).ravel()
    index = np.arange(r2.size)
    if kind == "FP":
        chosen = index[~target.ravel()]
        return chosen[np.lexsort((chosen, r2[chosen]))]
    chosen = index[target.ravel()]
    return chosen[np.lexsort((chosen, -r2[chosen]))]


def error_counts(target: Masks) -> NDArray[np.int64]:
    """``k`` for each fraction of FRACTIONS: ``round(f·|G|)`` errors."""
    return np.rint(FRACTIONS * int(target.sum())).astype(np.int64)


def predictions(target: Masks, kind: str, counts: NDArray[np.int64]) -> Masks:
    """Hard predictions ``(N, H, W)``: the target with ``counts[n]`` errors of ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    order = _error_order(target, kind)
    out = np.repeat(target.ravel()[None], len(counts), axis=0)
    for n, k in enumerate(counts):
        out[n, order[:k]] = kind == "FP"
    return out.reshape((len(counts), *target.shape))


def _probabilities(masks: Masks) -> F64:
    return np.where(masks, 1.0 - DELTA, DELTA)[:, None]


def _binary(loss: Callable[..., F64], **params: object) -> Callable[[Masks, Masks], F64]:
    """A sigmoid-mode loss on ``(N, 1, H, W)`` probabilities, one value per image."""
    def value(pred: Masks, target: Masks) -> F64:
        y = np.broadcast_to(target, pred.shape)[:, None].astype(np.float64)
        out = np.asarray(loss(_probabilities(pred), y, mode="binary", from_logits=False,
                              reduction="none", **params), dtype=np.float64)
        per_image: F64 = out.reshape(len(pred), -1).mean(axis=1)
        return per_image
    return value


def _lovasz_softmax(pred: Masks, target: Masks) -> F64:
    p = _probabilities(pred)
    labels = np.broadcast_to(target, pred.shape).astype(np.int64)
    return np.asarray(sx.lovasz_softmax_loss(np.concatenate([1.0 - p, p], axis=1), labels,
                                             from_logits=False, classes=[1], per_image=True,
                                             reduction="none"))


def _lovasz_hinge(pred: Masks, target: Masks) -> F64:
    logits = np.where(pred, 1.0, -1.0)[:, None] * math.log((1.0 - DELTA) / DELTA)
    y = np.broadcast_to(target, pred.shape)[:, None].astype(np.float64)
    return np.asarray(sx.lovasz_hinge_loss(logits, y, per_image=True, reduction="none"))


def _boundary(pred: Masks, target: Masks) -> F64:
    phi = np.asarray(sx.signed_distance_map(target[None, None].astype(np.float64),
                                            mode="binary"))
    out = sx.boundary_loss(_probabilities(pred), np.broadcast_to(phi, (len(pred), *phi.shape[1:])),
                           mode="binary", from_logits=False, reduction="none")
    return np.asarray(out)[:, 0]


#: name -> (panel title, the loss per image of hard predictions (N, H, W) and a target)
LOSSES: dict[str, tuple[str, Callable[[Masks, Masks], F64]]] = {
    "dice": ("dice_loss", _binary(sx.dice_loss)),
    "jaccard": ("jaccard_loss", _binary(sx.jaccard_loss)),
    "tversky": ("tversky_loss (α=0.3 FP, β=0.7 FN)",
                _binary(sx.tversky_loss, alpha=0.3, beta=0.7)),
    "focal_tversky": ("focal_tversky_loss (α=0.3, β=0.7, γ=0.75)",
                      _binary(sx.focal_tversky_loss)),
    "mcc": ("mcc_loss", _binary(sx.mcc_loss)),
    "lovasz_softmax": ("lovasz_softmax_loss (classes=[1])", _lovasz_softmax),
    "lovasz_hinge": ("lovasz_hinge_loss (logits ±9.2)", _lovasz_hinge),
    "cross_entropy": ("cross_entropy (binary)", _binary(sx.cross_entropy)),
    "focal": ("focal_loss (γ=2)", _binary(sx.focal_loss)),
    "boundary": ("boundary_loss", _boundary),
}
#: ratio losses of the object's counts: the same relative error, the same value
REGION = ("dice", "jaccard", "tversky", "focal_tversky", "lovasz_softmax")
#: means over every pixel: the value scales with the object's size
PIXEL = ("cross_entropy", "focal")


@dataclass(frozen=True)
class Series:
    """One curve: ``values[i]`` of ``loss`` with ``errors[i]`` errors of ``kind``."""

    loss: str
    size: str
    kind: str
    errors: NDArray[np.int64]
    object_pixels: int
    values: F64

    @property
    def fraction(self) -> F64:
        return self.errors / self.object_pixels


def curves(names: tuple[str, ...] | None = None) -> list[Series]:
    """Every (loss, object, kind) curve; ``names`` limits the losses (keys of LOSSES)."""
    out = []
    for size, radius in OBJECTS.items():
        target = disc(radius)
        counts = error_counts(target)
        for kind in KINDS:
            pred = predictions(target, kind, counts)
            for name in names or tuple(LOSSES):
                values = np.asarray(LOSSES[name][1](pred, target), dtype=np.float64)
                out.append(Series(name, size, kind, counts, int(target.sum()), values))
    return out


#: (loss, kind) curves that may stay flat while the errors grow (see the module's notes)
NON_STRICT = {("boundary", "FN")}


def monotone_violations(errors: NDArray[np.int64], values: F64, *,
                        strict: bool = True) -> list[int]:
    """Indices ``i`` where the curve fails to grow from point ``i`` to ``i + 1``: the value
    falls, or (``strict``) stays equal although the number of errors grew. Equal counts
    are equal predictions: the value must then repeat."""
    bad = []
    for i in range(len(values) - 1):
        grew = errors[i + 1] > errors[i]
        if values[i + 1] < values[i] or (strict and grew and not values[i + 1] > values[i]) \
                or (not grew and values[i + 1] != values[i]):
            bad.append(i)
    return bad


def render(series: list[Series], path: Path = FIGURE) -> Path:
    """One panel per loss: value vs ``k / |G|``, large/small object, FP/FN."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(s.loss for s in series))
    cols = 5
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 2.6 * rows + 0.8),
                             squeeze=False, layout="constrained")
    colour = {"large": "#1f77b4", "small": "#d1495b"}
    style = {"FP": "-", "FN": "--"}
    for ax, name in zip(axes.ravel(), names, strict=False):
        for s in (s for s in series if s.loss == name):
            ax.plot(s.fraction, s.values, style[s.kind], color=colour[s.size], marker=".",
                    markersize=3, linewidth=1.2,
                    label=f"{s.size} ({s.object_pixels} px), {s.kind}")
        if name in PIXEL or name == "boundary":  # the small object's curve hugs zero
            small = [v for s in series if s.loss == name and s.size == "small"
                     for v in s.values]
            ax.text(0.03, 0.93, f"small object: {min(small):.2g} … {max(small):.2g}",
                    transform=ax.transAxes, fontsize=7, color=colour["small"], va="top")
        ax.set_title(LOSSES[name][0], fontsize=8.5)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("errors k / object size |G|", fontsize=7.5)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8,
               frameon=False)
    fig.suptitle(
        f"Loss value vs number of errors, {SIZE}×{SIZE} image, one disc: large r="
        f"{OBJECTS['large']}, small r={OBJECTS['small']}. FP: k background pixels added "
        "(grown), FN: k object pixels removed (shrunk).\nHard predictions as probabilities "
        f"1−δ / δ (δ={DELTA:g}, from_logits=False); values from segloss_xp on NumPy, per "
        "image. Region losses: the same relative error costs the same for both sizes; "
        "CE and focal: the small object costs ~1/43.", fontsize=8.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main() -> int:
    series = curves()
    bad = [f"{s.loss} {s.size} {s.kind} at k={s.errors[i]}" for s in series
           for i in monotone_violations(s.errors, s.values,
                                        strict=(s.loss, s.kind) not in NON_STRICT)]
    path = render(series)
    print(f"wrote {path} ({path.stat().st_size // 1024} kB); "
          f"{len(bad)} monotonicity violation(s){': ' if bad else ''}{', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
