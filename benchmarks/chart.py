"""A PNG chart of the measured target ratios (matplotlib, the ``bench`` extra).

One horizontal bar per measured target (``ours / peer``, log scale), green when
the target is met and red when missed, with the bound as a black tick; targets
not measured in the run are left out and counted in the title.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["render_chart"]

_METRIC_WORDS = {"fb": "f+b time", "fwd": "fwd time", "fb_mib": "f+b memory"}


def _label(t: dict[str, Any]) -> str:
    dev = " GPU" if t["device"] == "cuda" else ""
    return f"{t['name']} — {t['workload']}{dev}, {_METRIC_WORDS[t['metric']]}"


def render_chart(targets: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """Write the chart of ``targets`` (from :func:`benchmarks.targets.evaluate`) to ``path``.

    Raises ``ImportError`` when matplotlib is missing (``pip install -e ".[bench]"``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [t for t in targets if t["ratio"] is not None]
    left_out = len(targets) - len(shown)
    height = 1.2 + 0.26 * max(len(shown), 1)
    fig, ax = plt.subplots(figsize=(10, height))
    ys = list(range(len(shown)))[::-1]
    ratios = [t["ratio"] for t in shown]
    colours = ["#2a9d4b" if t["status"] == "met" else "#d1495b" for t in shown]
    ax.barh(ys, ratios, color=colours, height=0.7)
    ax.scatter([t["bound"] for t in shown], ys, marker="|", s=220, color="black",
               zorder=3, label="target (bound)")
    for y, t in zip(ys, shown, strict=True):
        ax.annotate(f"{t['ratio']:.2f}", (t["ratio"], y), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=6)
    ax.set_yticks(ys, [_label(t) for t in shown], fontsize=7)
    ax.set_xscale("log")
    ax.axvline(1.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("ours / peer (log scale; < 1: ours faster or smaller)")
    met = sum(t["status"] == "met" for t in shown)
    ax.set_title(f"{title}\n{met} of {len(shown)} measured targets met"
                 + (f"; {left_out} not measured (n/a)" if left_out else ""), fontsize=9)
    if shown:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
