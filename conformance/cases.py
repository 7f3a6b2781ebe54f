"""The conformance case table: which losses, on which inputs.

``LOSSES`` lists one :class:`LossSpec` per loss (or per notable keyword
variant): the library function (looked up lazily by dotted name, so a loss that
does not exist yet shows as "n/a"), its float64 oracle, the modes and target
kinds it accepts. ``CASES`` are deterministic inputs covering 2-D and 3-D,
every mode, channels-last, ignore_index, absent classes, empty masks, perfect
predictions, logits up to ±1e4 and probabilities (``from_logits=False``), both
away from 0/1 and exactly 0 and 1. Every (loss, case) pair that the loss
supports is checked on every backend by ``conformance/suite.py``.
``GRADIENT_CASES`` names the cases whose gradients are also checked against
finite differences, beyond the first case of each mode (one of each kind:
one-hot and soft targets, 3-D, channels-last, no channel axis, probabilities).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from conformance import oracle, oracle_boundary
from segloss_xp._capabilities import CAPABILITIES

__all__ = ["CASES", "GRADIENT_CASES", "LOSSES", "Case", "LossSpec", "case_by_id",
           "first_cases", "gradient_cases", "loss_by_name"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class LossSpec:
    """A loss under test: library function, oracle, and what inputs it accepts."""

    name: str  # row label in the report
    function: str  # "segloss_xp.module:function"
    oracle: Callable[..., Any]
    modes: tuple[str, ...] = ("multiclass", "binary", "multilabel")
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    targets: tuple[str, ...] = ("labels", "onehot", "soft", "binary")
    smooth_gradient: bool = True  # central differences are meaningful
    ignore_index: bool = True  # accepts ignore_index
    probabilities: bool = True  # accepts from_logits=False
    scale_atol: float = 0.0  # extra absolute tolerance (e.g. clipped logs)

    @property
    def public_name(self) -> str:
        return self.function.partition(":")[2]

    def unsupported(self, backend_name: str) -> str | None:
        """Why the loss does not run on ``backend_name`` (its declared capabilities), or None."""
        caps = CAPABILITIES.get(self.public_name)
        if caps is not None and backend_name == "dask" and not caps.supports("dask"):
            return f"{self.public_name}: {caps.dask}"
        return None

    def resolve(self) -> Callable[..., Any] | None:
        module, _, attr = self.function.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            return None

    def supports(self, case: Case) -> bool:
        if case.mode not in self.modes or case.target_kind not in self.targets:
            return False
        weights = self.kwargs.get("class_weights")
        if weights is not None and len(weights) != case.y_pred.shape[1]:
            return False
        if not self.probabilities and "from_logits" in case.kwargs:
            return False
        return self.ignore_index or "ignore_index" not in case.kwargs


@dataclass(frozen=True)
class Case:
    """One input pair, channels-first NumPy float64; the layout to call the library with."""

    id: str
    mode: str
    y_pred: np.ndarray
    y_true: np.ndarray
    target_kind: str  # labels | onehot | soft | binary | dist_maps (boundary_loss)
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    channels_last: bool = False
    no_channel: bool = False  # binary (N, *spatial) without the channel axis
    # saturated inputs (logits ±1e4, probabilities exactly 0 or 1): finite gradients
    # required, no finite-difference check (the loss has a kink or a clamp there)
    extreme: bool = False

    @property
    def from_logits(self) -> bool:
        return bool(self.kwargs.get("from_logits", True))

    def library_inputs(self) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """``(y_pred, y_true, extra kwargs)`` laid out as the library is called."""
        x, y = self.y_pred, self.y_true
        kw = dict(self.kwargs)
        if self.channels_last:
            x = np.moveaxis(x, 1, -1)
            if y.ndim == x.ndim:
                y = np.moveaxis(y, 1, -1)
            kw["class_axis"] = -1
        if self.no_channel:
            x, y = x[:, 0], y[:, 0]
        return np.ascontiguousarray(x), np.ascontiguousarray(y), kw


def _one_hot(labels: np.ndarray, c: int) -> np.ndarray:
    return np.moveaxis(np.eye(c)[labels], -1, 1)


def _build_cases() -> list[Case]:
    rng = np.random.default_rng(20261121)
    cases: list[Case] = []

    def logits(*shape: int, scale: float = 2.0) -> np.ndarray:
        return rng.normal(scale=scale, size=shape)

    # multiclass, 2-D and 3-D, integer labels
    x = logits(2, 3, 6, 7)
    y = rng.integers(0, 3, size=(2, 6, 7))
    cases.append(Case("mc2d-labels", "multiclass", x, y, "labels"))
    cases.append(Case("mc2d-onehot", "multiclass", x, _one_hot(y, 3), "onehot"))
    soft = rng.dirichlet(np.ones(3), size=(2, 6, 7))
    cases.append(Case("mc2d-soft", "multiclass", x, np.moveaxis(soft, -1, 1), "soft"))
    cases.append(Case("mc2d-last", "multiclass", x, y, "labels", channels_last=True))
    cases.append(Case("mc2d-onehot-last", "multiclass", x, _one_hot(y, 3), "onehot",
                      channels_last=True))
    x3 = logits(2, 4, 3, 4, 5)
    y3 = rng.integers(0, 4, size=(2, 3, 4, 5))
    cases.append(Case("mc3d-labels", "multiclass", x3, y3, "labels"))
    y_ign = np.where(rng.random((2, 6, 7)) < 0.2, 255, y)
    cases.append(Case("mc2d-ignore255", "multiclass", x, y_ign, "labels",
                      MappingProxyType({"ignore_index": 255})))
    cases.append(Case("mc2d-ignore0", "multiclass", x, y, "labels",
                      MappingProxyType({"ignore_index": 0})))
    x4 = logits(2, 4, 5, 5)
    y4 = rng.integers(0, 2, size=(2, 5, 5))  # classes 2 and 3 absent
    cases.append(Case("mc2d-absent", "multiclass", x4, y4, "labels"))
    y_perfect = rng.integers(0, 3, size=(2, 5, 6))
    perfect = 1e4 * (2 * _one_hot(y_perfect, 3) - 1)
    cases.append(Case("mc2d-perfect-1e4", "multiclass", perfect, y_perfect, "labels",
                      extreme=True))
    cases.append(Case("mc2d-random-1e4", "multiclass", logits(2, 3, 4, 5, scale=1e4),
                      rng.integers(0, 3, size=(2, 4, 5)), "labels", extreme=True))

    # binary
    xb = logits(2, 1, 6, 7)
    yb = (rng.random((2, 1, 6, 7)) < 0.4).astype(np.float64)
    cases.append(Case("bin2d", "binary", xb, yb, "binary"))
    cases.append(Case("bin2d-nochannel", "binary", xb, yb, "binary", no_channel=True))
    xb3 = logits(2, 1, 3, 4, 5)
    yb3 = (rng.random((2, 1, 3, 4, 5)) < 0.5).astype(np.float64)
    cases.append(Case("bin3d", "binary", xb3, yb3, "binary"))
    yb_ign = np.where(rng.random(yb.shape) < 0.2, -1.0, yb)
    cases.append(Case("bin2d-ignore", "binary", xb, yb_ign, "binary",
                      MappingProxyType({"ignore_index": -1})))
    empty_pred = np.full((2, 1, 5, 5), -1e4)
    cases.append(Case("bin2d-empty-1e4", "binary", empty_pred, np.zeros((2, 1, 5, 5)),
                      "binary", extreme=True))
    yb_half = np.zeros((2, 1, 5, 5))
    yb_half[0, 0, 1:3, 1:4] = 1.0  # image 1 has an empty target
    cases.append(Case("bin2d-empty-image", "binary", logits(2, 1, 5, 5), yb_half, "binary"))

    # multilabel
    xm = logits(2, 3, 6, 5)
    ym = (rng.random((2, 3, 6, 5)) < 0.3).astype(np.float64)
    cases.append(Case("ml2d", "multilabel", xm, ym, "binary"))
    cases.append(Case("ml2d-last", "multilabel", xm, ym, "binary", channels_last=True))

    # probabilities (from_logits=False). Away from 0 and 1 (in [0.1, 0.9]), so that
    # central differences with step 1e-5 stay inside (0, 1) and log p is smooth there
    probs = {"from_logits": False}
    pm = 0.1 + 0.7 * np.moveaxis(rng.dirichlet(np.full(3, 2.0), size=(2, 5, 6)), -1, 1)
    ym_labels = rng.integers(0, 3, size=(2, 5, 6))
    cases.append(Case("mc2d-probs", "multiclass", pm, ym_labels, "labels",
                      MappingProxyType(probs)))
    yb_probs = (rng.random((2, 1, 5, 6)) < 0.5).astype(np.float64)
    cases.append(Case("bin2d-probs", "binary", rng.uniform(0.1, 0.9, size=(2, 1, 5, 6)),
                      yb_probs, "binary", MappingProxyType(probs)))
    ym_probs = (rng.random((2, 3, 4, 5)) < 0.4).astype(np.float64)
    cases.append(Case("ml2d-probs", "multilabel", rng.uniform(0.1, 0.9, size=(2, 3, 4, 5)),
                      ym_probs, "binary", MappingProxyType(probs)))

    # probabilities exactly 0 and 1: log p and log(1 − p) are clamped at −100 (torch's
    # binary_cross_entropy convention, conformance/oracle.py), so a confident wrong
    # element costs 100 and a confident right one 0
    yl = rng.integers(0, 3, size=(2, 4, 5))
    right = _one_hot(yl, 3)
    wrong = _one_hot((yl + 1) % 3, 3)
    soft_p = np.moveaxis(rng.dirichlet(np.ones(3), size=(2, 4, 5)), -1, 1)
    choice = rng.integers(0, 3, size=(2, 1, 4, 5))  # 0: right, 1: wrong, 2: soft
    p01 = np.where(choice == 0, right, np.where(choice == 1, wrong, soft_p))
    cases.append(Case("mc2d-probs01", "multiclass", p01, yl, "labels",
                      MappingProxyType(probs), extreme=True))
    q = np.moveaxis(rng.dirichlet(np.ones(3), size=(2, 4, 5)), -1, 1)
    cases.append(Case("mc2d-soft-probs01", "multiclass", p01, q, "soft",
                      MappingProxyType(probs), extreme=True))
    yb01 = (rng.random((2, 1, 4, 5)) < 0.5).astype(np.float64)
    pick = rng.integers(0, 3, size=yb01.shape)  # 0: right, 1: wrong, 2: in between
    pb01 = np.where(pick == 0, yb01, np.where(pick == 1, 1.0 - yb01,
                                               rng.uniform(0.05, 0.95, size=yb01.shape)))
    cases.append(Case("bin2d-probs01", "binary", pb01, yb01, "binary",
                      MappingProxyType(probs), extreme=True))
    ym01 = (rng.random((2, 3, 4, 5)) < 0.4).astype(np.float64)
    pick = rng.integers(0, 3, size=ym01.shape)
    pm01 = np.where(pick == 0, ym01, np.where(pick == 1, 1.0 - ym01,
                                               rng.uniform(0.05, 0.95, size=ym01.shape)))
    cases.append(Case("ml2d-probs01", "multilabel", pm01, ym01, "binary",
                      MappingProxyType(probs), extreme=True))
    return cases + _dist_map_cases(cases)


# boundary_loss(y_pred, dist_maps) takes signed distance maps, not labels: these cases
# are copies of the ones named here with the target replaced by its maps (float64
# oracle, SciPy), one map per class in y_pred's layout (target kind "dist_maps")
_DIST_MAP_SOURCES = ("mc2d-labels", "mc2d-last", "mc3d-labels", "mc2d-perfect-1e4", "bin2d",
                     "bin2d-nochannel", "bin3d", "bin2d-empty-1e4", "ml2d", "ml2d-last",
                     "mc2d-probs", "bin2d-probs", "ml2d-probs")


def _dist_map_cases(cases: list[Case]) -> list[Case]:
    out = []
    for case in cases:
        if case.id not in _DIST_MAP_SOURCES:
            continue
        c = case.y_pred.shape[1]
        dense = _one_hot(case.y_true, c) if case.target_kind == "labels" else case.y_true
        maps = oracle_boundary.signed_distance_map(dense)
        out.append(replace(case, id=f"{case.id}-maps", y_true=maps, target_kind="dist_maps"))
    return out


CASES: tuple[Case, ...] = tuple(_build_cases())

# Cases whose gradients are checked against finite differences besides the first
# case of each mode and the ignore_index cases (conformance/test_conformance.py):
# one of each kind the first cases leave out.
GRADIENT_CASES: tuple[str, ...] = (
    "mc2d-onehot",  # one-hot targets
    "mc2d-soft",  # soft targets
    "mc3d-labels", "bin3d",  # 3-D
    "mc2d-onehot-last", "ml2d-last",  # channels-last
    "bin2d-nochannel",  # binary without a channel axis
    "mc2d-probs", "bin2d-probs", "ml2d-probs",  # from_logits=False, p in [0.1, 0.9]
    # the same kinds for boundary_loss's signed distance maps
    "mc2d-last-maps", "mc3d-labels-maps", "bin2d-nochannel-maps", "bin3d-maps",
    "ml2d-last-maps", "mc2d-probs-maps", "bin2d-probs-maps", "ml2d-probs-maps",
)


def _spec(name: str, function: str, oracle_fn: Callable[..., Any], **kw: Any) -> LossSpec:
    if "kwargs" in kw:
        kw["kwargs"] = MappingProxyType(dict(kw["kwargs"]))
    return LossSpec(name, function, oracle_fn, **kw)


def _oracle_lovasz_softmax(y_pred: np.ndarray, y_true: np.ndarray, *, mode: str,
                           **kw: Any) -> Any:
    """The oracle has no ``mode`` (Lovász-Softmax is multiclass only)."""
    return oracle.lovasz_softmax_loss(y_pred, y_true, **kw)


def _oracle_lovasz_hinge(y_pred: np.ndarray, y_true: np.ndarray, *, mode: str,
                         **kw: Any) -> Any:
    """Binary as the oracle; multilabel: each channel its own problem, mean over channels."""
    if mode == "binary":
        return oracle.lovasz_hinge_loss(y_pred, y_true, **kw)
    return np.float64(np.mean([oracle.lovasz_hinge_loss(y_pred[:, c:c + 1],
                                                        y_true[:, c:c + 1], **kw)
                               for c in range(y_pred.shape[1])]))


LOSSES: tuple[LossSpec, ...] = (
    _spec("dice_loss", "segloss_xp:dice_loss", oracle.dice_loss),
    _spec("dice_loss(squared,batch)", "segloss_xp:dice_loss", oracle.dice_loss,
          kwargs={"squared": True, "batch": True}),
    _spec("dice_loss(soft_label,none)", "segloss_xp:dice_loss", oracle.dice_loss,
          kwargs={"soft_label": True, "reduction": "none", "include_background": False},
          modes=("multiclass", "multilabel")),
    _spec("dice_loss(smooth=0,weights)", "segloss_xp:dice_loss", oracle.dice_loss,
          kwargs={"smooth": 0.0, "class_weights": (0.2, 1.0, 3.0), "reduction": "sum"},
          modes=("multiclass", "multilabel")),
    _spec("jaccard_loss", "segloss_xp:jaccard_loss", oracle.jaccard_loss),
    _spec("tversky_loss", "segloss_xp:tversky_loss", oracle.tversky_loss,
          kwargs={"alpha": 0.3, "beta": 0.7}),
    _spec("focal_tversky_loss", "segloss_xp:focal_tversky_loss", oracle.focal_tversky_loss),
    _spec("generalized_dice_loss", "segloss_xp:generalized_dice_loss",
          oracle.generalized_dice_loss),
    _spec("generalized_dice_loss(simple,none)", "segloss_xp:generalized_dice_loss",
          oracle.generalized_dice_loss,
          kwargs={"weight_type": "simple", "reduction": "none"}),
    # pixel losses (segloss_xp.pixel)
    _spec("cross_entropy", "segloss_xp.pixel:cross_entropy", oracle.cross_entropy),
    _spec("cross_entropy(weights,smoothing)", "segloss_xp.pixel:cross_entropy",
          oracle.cross_entropy,
          kwargs={"class_weights": (0.2, 1.0, 3.0), "label_smoothing": 0.1},
          modes=("multiclass", "multilabel")),
    _spec("cross_entropy(pos_weight,none)", "segloss_xp.pixel:cross_entropy",
          oracle.cross_entropy, kwargs={"pos_weight": 2.0, "reduction": "none"},
          modes=("binary", "multilabel")),
    _spec("balanced_cross_entropy", "segloss_xp.pixel:balanced_cross_entropy",
          oracle.balanced_cross_entropy, kwargs={"beta": 0.3},
          modes=("binary", "multilabel")),
    _spec("focal_loss", "segloss_xp.pixel:focal_loss", oracle.focal_loss),
    _spec("focal_loss(gamma=0.5,alpha,none)", "segloss_xp.pixel:focal_loss",
          oracle.focal_loss, kwargs={"gamma": 0.5, "alpha": 0.25, "reduction": "none"}),
    _spec("conservative_loss", "segloss_xp.pixel:conservative_loss",
          oracle.conservative_loss),
    # Lovász losses (segloss_xp.lovasz); dask has no take_along_axis
    _spec("lovasz_softmax_loss", "segloss_xp.lovasz:lovasz_softmax_loss",
          _oracle_lovasz_softmax, modes=("multiclass",),
          targets=("labels", "onehot", "soft")),
    _spec("lovasz_softmax_loss(per_image,all)", "segloss_xp.lovasz:lovasz_softmax_loss",
          _oracle_lovasz_softmax, kwargs={"per_image": True, "classes": "all"},
          modes=("multiclass",), targets=("labels", "onehot", "soft")),
    # the hinge is defined on logits only (no from_logits)
    _spec("lovasz_hinge_loss", "segloss_xp.lovasz:lovasz_hinge_loss", _oracle_lovasz_hinge,
          modes=("binary", "multilabel"), targets=("binary",), probabilities=False),
    _spec("lovasz_hinge_loss(per_image=False)", "segloss_xp.lovasz:lovasz_hinge_loss",
          _oracle_lovasz_hinge, kwargs={"per_image": False},
          modes=("binary", "multilabel"), targets=("binary",), probabilities=False),
    # compound losses (segloss_xp.compound) and exp_log_loss (segloss_xp.region)
    _spec("dice_ce_loss", "segloss_xp.compound:dice_ce_loss", oracle.dice_ce_loss),
    _spec("dice_ce_loss(weights,nobg,smoothing,sum)", "segloss_xp.compound:dice_ce_loss",
          oracle.dice_ce_loss,
          kwargs={"class_weights": (0.2, 1.0, 3.0), "include_background": False,
                  "label_smoothing": 0.1, "lambda_dice": 0.7, "reduction": "sum"},
          modes=("multiclass", "multilabel")),
    _spec("bce_dice_loss", "segloss_xp.compound:bce_dice_loss", oracle.bce_dice_loss,
          kwargs={"pos_weight": 2.0}, modes=("binary", "multilabel"), targets=("binary",)),
    _spec("combo_loss", "segloss_xp.compound:combo_loss", oracle.combo_loss,
          kwargs={"alpha": 0.6, "beta": 0.3, "smooth": 1.0},
          modes=("binary", "multilabel"), targets=("binary",)),
    _spec("exp_log_loss", "segloss_xp.region:exp_log_loss", oracle.exp_log_loss,
          modes=("multiclass",), targets=("labels", "onehot", "soft")),
    # second-stage additions (DESIGN §11): MCC, Dice + focal, the sigmoid focal options
    _spec("mcc_loss", "segloss_xp:mcc_loss", oracle.mcc_loss),
    _spec("mcc_loss(batch,none)", "segloss_xp:mcc_loss", oracle.mcc_loss,
          kwargs={"batch": True, "reduction": "none"}),
    # eps=0: the zero-denominator rule (MCC 0) on absent/ignored classes, gradient-safe
    _spec("mcc_loss(eps=0,weights,nobg,sum)", "segloss_xp:mcc_loss", oracle.mcc_loss,
          kwargs={"eps": 0.0, "class_weights": (0.2, 1.0, 3.0), "include_background": False,
                  "reduction": "sum"},
          modes=("multiclass", "multilabel")),
    _spec("dice_focal_loss", "segloss_xp:dice_focal_loss", oracle.dice_focal_loss),
    _spec("dice_focal_loss(weights,nobg,alpha)", "segloss_xp:dice_focal_loss",
          oracle.dice_focal_loss,
          kwargs={"class_weights": (0.2, 1.0, 3.0), "include_background": False,
                  "alpha": (0.4, 0.25, 0.75), "gamma": 1.5, "lambda_focal": 2.0},
          modes=("multiclass", "multilabel")),
    _spec("focal_loss(multiclass weights,alpha)", "segloss_xp:focal_loss", oracle.focal_loss,
          kwargs={"class_weights": (0.2, 1.0, 3.0), "alpha": 0.25},
          modes=("multiclass",)),
    _spec("focal_loss(sigmoid weights,alpha seq,pos_weight)", "segloss_xp:focal_loss",
          oracle.focal_loss,
          kwargs={"class_weights": (0.2, 1.0, 3.0), "alpha": (0.25, 0.5, 0.8),
                  "pos_weight": (2.0, 0.5, 1.5), "gamma": 1.5},
          modes=("binary", "multilabel")),
    # the same for one channel (class_weights of length 1 select the binary cases)
    _spec("focal_loss(binary weights,alpha seq,pos_weight,none)", "segloss_xp:focal_loss",
          oracle.focal_loss,
          kwargs={"class_weights": (2.0,), "alpha": (0.3,), "pos_weight": 3.0,
                  "reduction": "none"},
          modes=("binary",)),
    # boundary losses (segloss_xp.boundary): no ignore_index (neighbourhood operations)
    _spec("boundary_loss", "segloss_xp:boundary_loss", oracle_boundary.boundary_loss,
          targets=("dist_maps",), ignore_index=False),
    _spec("boundary_loss(bg,none)", "segloss_xp:boundary_loss", oracle_boundary.boundary_loss,
          kwargs={"include_background": True, "reduction": "none"}, targets=("dist_maps",),
          modes=("multiclass", "multilabel"), ignore_index=False),
    _spec("boundary_dice_loss", "segloss_xp:boundary_dice_loss",
          oracle_boundary.boundary_dice_loss, ignore_index=False),
    _spec("boundary_dice_loss(l2,nobg,none)", "segloss_xp:boundary_dice_loss",
          oracle_boundary.boundary_dice_loss,
          kwargs={"edge_norm": "l2", "lam": 0.5, "include_background": False,
                  "reduction": "none"}, modes=("multiclass",), ignore_index=False),
    _spec("hausdorff_dt_loss", "segloss_xp:hausdorff_dt_loss",
          oracle_boundary.hausdorff_dt_loss, ignore_index=False),
    _spec("hausdorff_dt_loss(alpha,spacing,bg,sum)", "segloss_xp:hausdorff_dt_loss",
          oracle_boundary.hausdorff_dt_loss,
          kwargs={"alpha": 1.5, "spacing": 1.7, "include_background": True, "reduction": "sum"},
          modes=("binary", "multilabel"), ignore_index=False),
    _spec("cldice_loss", "segloss_xp:cldice_loss", oracle_boundary.cldice_loss,
          ignore_index=False),
    _spec("cldice_loss(mix,iterations,nobg,none)", "segloss_xp:cldice_loss",
          oracle_boundary.cldice_loss,
          kwargs={"alpha": 0.5, "iterations": 2, "smooth": 0.5, "include_background": False,
                  "reduction": "none"}, modes=("multiclass",), ignore_index=False),
)


def case_by_id(case_id: str) -> Case:
    return next(c for c in CASES if c.id == case_id)


def loss_by_name(name: str) -> LossSpec:
    return next(s for s in LOSSES if s.name == name)


def first_cases(spec: LossSpec) -> list[Case]:
    """The first plain case of each mode ``spec`` supports, and of each mode with
    ``ignore_index``: the cases of the low-precision, jit and compile checks."""
    seen: set[tuple[str, bool]] = set()
    out = []
    for case in CASES:
        key = (case.mode, "ignore_index" in case.kwargs)
        if spec.supports(case) and not case.extreme and key not in seen:
            seen.add(key)
            out.append(case)
    return out


def gradient_cases(spec: LossSpec) -> list[Case]:
    """The finite-difference selection: :func:`first_cases` and the supported
    :data:`GRADIENT_CASES`, in case-table order."""
    chosen = {c.id for c in first_cases(spec)} | set(GRADIENT_CASES)
    return [c for c in CASES if c.id in chosen and spec.supports(c) and not c.extreme]
