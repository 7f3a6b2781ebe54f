"""The targets of issues 8 and 9 as data, and how a results file meets them.

A :class:`Target` names two rows of :mod:`benchmarks.registry` (ours and the
row it is measured against), a workload, what is compared (``fb``: median
forward+backward time, ``fwd``: median forward time, ``fb_mib``: peak extra
memory of forward+backward) and the bound on ``ours / peer``. :func:`evaluate`
turns the measured rows of one run into one line per target: both numbers, the
ratio, the bound and ``met`` / ``missed`` / ``n/a`` (with the reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["METRICS", "TARGETS", "Target", "evaluate"]

#: metric -> (mode of the row, field of that mode, unit)
METRICS = {"fb": ("fb", "median_ms", "ms"), "fwd": ("fwd", "median_ms", "ms"),
           "fb_mib": ("fb", "peak_mib", "MiB")}


@dataclass(frozen=True)
class Target:
    name: str  # what the issue calls it
    ours: str  # row key
    peer: str  # row key of the comparison (a peer's, a reference, or another row of ours)
    workload: str
    metric: str  # a key of METRICS
    bound: float  # met when ours / peer <= bound
    issue: int

    @property
    def device(self) -> str:
        # ours.dice.cupy (GPU by nature) is compared with ours.dice.torch@cuda
        return "cuda" if "@cuda" in self.ours + self.peer else "cpu"


# a row family's words in a target's label (the family keys are not function names)
_LABEL = {"generalized_dice": "generalized Dice"}


def _on(device: str) -> str:
    return "@cuda" if device == "cuda" else ""


def _issue8(device: str) -> list[Target]:
    s = _on(device)
    out = []
    for fam, peer in (("dice", "monai.dice"), ("tversky", "monai.tversky"),
                      ("generalized_dice", "monai.gdice"), ("dice_ce", "monai.dice_ce")):
        for wl in ("W2D", "W3D"):
            out.append(Target(f"{_LABEL.get(fam, fam)} ≤ 0.8× MONAI", f"ours.{fam}.torch{s}",
                              peer + s, wl,
                              "fb", 0.8, 8))
    out += [
        Target("binary dice ≤ 0.8× MONAI sigmoid Dice", f"ours.dice.torch{s}",
               f"monai.dice{s}", "WBIN", "fb", 0.8, 8),
        Target("tiny dice ≤ 1.0× MONAI", f"ours.dice.torch{s}", f"monai.dice{s}", "TINY",
               "fb", 1.0, 8),
        Target("dice peak memory ≤ 0.75× MONAI", f"ours.dice.torch{s}", f"monai.dice{s}",
               "W3D", "fb_mib", 0.75, 8),
    ]
    for wl in ("W2D", "W3D"):
        out.append(Target("cross_entropy ≤ 1.1× F.cross_entropy",
                          f"ours.cross_entropy.torch{s}", f"torch.ce{s}", wl, "fb", 1.1, 8))
    for metric in ("fb", "fb_mib"):
        out.append(Target("binary CE ≤ 1.2× binary_cross_entropy_with_logits",
                          f"ours.cross_entropy.torch{s}", f"torch.ce{s}", "WBIN", metric,
                          1.2, 8))
    for wl in ("W2D", "W3D"):
        out.append(Target("focal ≤ 0.6× MONAI FocalLoss", f"ours.focal.torch{s}",
                          f"monai.focal{s}", wl, "fb", 0.6, 8))
        out.append(Target("focal ≤ 1.2× F.cross_entropy", f"ours.focal.torch{s}",
                          f"torch.ce{s}", wl, "fb", 1.2, 8))
    out += [
        Target("lovasz ≤ 0.5× kornia", f"ours.lovasz.torch{s}", f"kornia.lovasz{s}", "W2D",
               "fb", 0.5, 8),
        Target("lovasz ≤ 0.5× smp (time)", f"ours.lovasz.torch{s}", f"smp.lovasz{s}", "W3D",
               "fb", 0.5, 8),
        Target("lovasz ≤ 1.0× smp (memory)", f"ours.lovasz.torch{s}", f"smp.lovasz{s}", "W3D",
               "fb_mib", 1.0, 8),
    ]
    for wl in ("W2D", "W3D"):
        out.append(Target("JAX jit dice ≤ 1.0× optax", f"ours.dice.jax{s}", f"optax.dice{s}",
                          wl, "fb", 1.0, 8))
        out.append(Target("JAX jit cross_entropy ≤ 1.0× optax", f"ours.cross_entropy.jax{s}",
                          f"optax.ce{s}", wl, "fb", 1.0, 8))
    if device == "cpu":
        out += [
            Target("JAX lovasz ≤ 1.5× our torch lovasz", "ours.lovasz.jax",
                   "ours.lovasz.torch", "W2D", "fb", 1.5, 8),
            Target("value checks ≤ 5 % of dice f+b", "ours.dice.torch",
                   "ours.dice.torch-novalidate", "W2D", "fb", 1.05, 8),
        ]
    else:
        out.append(Target("CuPy forward ≤ 1.2× our torch CUDA forward", "ours.dice.cupy",
                          "ours.dice.torch@cuda", "W3D", "fwd", 1.2, 8))
        for fam, peer in (("dice", "monai.dice"), ("tversky", "monai.tversky"),
                          ("generalized_dice", "monai.gdice"), ("dice_ce", "monai.dice_ce"),
                          ("focal", "monai.focal")):
            out.append(Target(f"torch.compile {_LABEL.get(fam, fam)} ≤ 0.5× MONAI eager",
                              f"ours.{fam}.torch-compile@cuda", f"{peer}@cuda", "W3D", "fb",
                              0.5, 8))
    return out


def _issue9(device: str) -> list[Target]:
    s = _on(device)
    out = []
    if device == "cpu":
        for wl in ("EDT3D", "EDT2D"):
            out.append(Target("EDT torch ≤ 3× SciPy", "ours.edt.torch", "scipy.edt", wl, "fwd",
                              3.0, 9))
    else:
        for wl in ("EDT3D", "EDT2D"):
            out.append(Target("EDT torch CUDA ≤ 3× cupyx", "ours.edt.torch@cuda", "cupyx.edt",
                              wl, "fwd", 3.0, 9))
            out.append(Target("EDT JAX GPU ≤ 3× cupyx", "ours.edt.jax@cuda", "cupyx.edt",
                              wl, "fwd", 3.0, 9))
    bound = 1.0 if device == "cpu" else 0.5
    out.append(Target(f"HD95 ≤ {bound}× MONAI", f"ours.hd95.torch{s}", f"monai.hd95{s}",
                      "HD3D", "fwd", bound, 9))
    out.append(Target("boundary_loss ≤ 1.0× dice_loss", f"ours.boundary.torch{s}",
                      f"ours.dice.torch{s}", "W2D", "fb", 1.0, 9))
    return out


TARGETS: tuple[Target, ...] = tuple(_issue8("cpu") + _issue9("cpu") + _issue8("cuda")
                                    + _issue9("cuda"))


def _reading(res: Mapping[str, Any] | None, metric: str) -> tuple[float | None, str | None]:
    """(value, None) or (None, why not) for one row's result."""
    if res is None:
        return None, "not measured in this run"
    if res.get("status") != "ok":
        status, reason = str(res.get("status")), str(res.get("reason"))
        return None, reason if reason.startswith(status) else f"{status}: {reason}"
    mode, fld, _ = METRICS[metric]
    if mode not in res:
        return None, f"no {mode} mode"
    value = res[mode].get(fld)
    if value is None:
        return None, res.get("memory", f"no {fld}")
    return float(value), None


def evaluate(results: Mapping[tuple[str, str], Mapping[str, Any]],
             targets: tuple[Target, ...] = TARGETS) -> list[dict[str, Any]]:
    """One dict per target: the target's fields, ``ours``, ``peer``, ``ratio``, ``status``.

    ``status`` is ``met`` (ratio ≤ bound), ``missed``, or ``n/a`` with ``reason``
    (a row not run, not applicable, failed, or without that number).
    """
    out = []
    for t in targets:
        item: dict[str, Any] = asdict(t) | {"device": t.device, "unit": METRICS[t.metric][2]}
        ours, why_ours = _reading(results.get((t.ours, t.workload)), t.metric)
        peer, why_peer = _reading(results.get((t.peer, t.workload)), t.metric)
        item.update(ours_value=ours, peer_value=peer, ratio=None)
        if ours is None or peer is None or peer <= 0:
            why = [f"{k}: {w}" for k, w in ((t.ours, why_ours), (t.peer, why_peer)) if w]
            item.update(status="n/a", reason="; ".join(why) or f"{t.peer}: zero")
        else:
            item["ratio"] = ours / peer
            item["status"] = "met" if item["ratio"] <= t.bound else "missed"
        out.append(item)
    return out
