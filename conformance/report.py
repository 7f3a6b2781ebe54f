"""The cross-backend conformance report: ``python -m conformance.report`` (``./dev report``).

Prints, and writes to ``conformance/REPORT.md``, a matrix loss × backend of the
maximum error against the float64 oracle over every case of the case table,
then per loss the gradient agreement (torch autograd vs ``jax.grad`` vs
central differences of the oracle), ``jax.jit`` / ``jax.vmap`` vs eager and
``torch.compile`` graph breaks. Every cell is judged against a stated bound (the
value tolerances ``suite.TOLERANCES``, the gradient/tracing bounds ``suite.BOUNDS``,
the same the pytest suite uses; listed at the top of the report): a cell is
``FAIL`` when a check raises or a measurement exceeds its bound, and each such
check is listed under "Failures" and counted in the exit status. ``skip`` with the
reason when a backend is missing or cannot run that loss.

A last matrix, function × backend (and ``jax jit``), covers the public functions that
are not losses (distances and metrics, ``conformance/functions.py``): the worst error
relative to the float64 oracle over each function's cases, ``n/s`` with the declared
reason where the function's capabilities rule the backend out.

``--only TEXT`` limits the report to the losses and functions whose name contains TEXT,
``--backends numpy,torch`` to those backends (the gradient and tracing checks need
torch and/or jax among them); ``--out`` writes elsewhere than ``conformance/REPORT.md``.

A picture of the two error matrices (log10 of each cell, failures and skips marked)
goes to ``docs/figures/conformance.png`` (next to ``--out`` when that is given; the
report links it); ``--figure-only`` redraws it from an existing report without running
a check. While it runs, a progress bar on stderr names the loss/function and backend
(a plain line every 10 % when stderr is not a terminal); it ends with a one-screen
summary: pass/fail/skip per backend and the slowest steps.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import sys
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from conformance import functions, suite
from conformance.cases import CASES, LOSSES, Case, LossSpec, first_cases, gradient_cases
from conformance.progress import Progress, text_table
from segloss_xp._capabilities import CAPABILITIES
from segloss_xp.testing import BACKEND_NAMES, Backend, activated, load_backend

REPORT = Path(__file__).with_name("REPORT.md")
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "conformance.png"


def _fmt(x: float) -> str:
    return "0" if x == 0 else f"{x:.1e}"


class Failures:
    def __init__(self) -> None:
        self.items: list[str] = []

    def run(self, label: str, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except Exception as exc:  # a failing check is reported, not raised
            self.items.append(f"{label}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
            return None


def _value_cell(spec: LossSpec, backend: Backend | None, reason: str, dtype: str,
                failures: Failures) -> str:
    if backend is None:
        return "skip"
    if spec.unsupported(backend.name) is not None:
        return "n/s"
    if dtype != "float64" and not hasattr(backend.xp, dtype):
        return "—"
    worst, count = 0.0, 0
    with activated(backend):
        for case in CASES:
            if not spec.supports(case):
                continue
            err = failures.run(f"{spec.name} / {case.id} / {backend.name} / {dtype}",
                               lambda c=case: suite.value_error(spec, c, backend, dtype))
            if err is None:
                return "FAIL"
            worst, count = max(worst, err), count + 1
    return f"{_fmt(worst)} ({count})"


def _gradient_cases(spec: LossSpec) -> list[Case]:
    return gradient_cases(spec)


def _trace_cases(spec: LossSpec) -> list[Case]:
    return first_cases(spec)


def _extreme_cases(spec: LossSpec) -> list[Case]:
    return [c for c in CASES if c.extreme and spec.supports(c)]


_GRADIENT_KEYS = ("torch_vs_fd", "jax_vs_fd", "torch_vs_jax")


def _cell(worst: float | None, failed: bool) -> str:
    if worst is None:
        return "FAIL" if failed else "skip"
    return f"FAIL ({_fmt(worst)})" if failed else _fmt(worst)


def _measure(failures: Failures, label: str, check: Callable[[], dict[str, float]]
             ) -> tuple[dict[str, float] | None, set[str]]:
    """Run ``check``; return its measurements and the names beyond their bound (each
    failing check is added to ``failures``; an exception fails every name)."""
    measured = failures.run(label, check)
    if measured is None:
        return None, {"*"}
    bad = suite.failures(measured)
    if bad:
        failures.items.append(f"{label}: " + "; ".join(bad.values()))
    # a vacuous gradient (scale ~0) fails every comparison made with it
    return measured, {"*" if name == "scale" else name for name in bad}


def _trace_row(spec: LossSpec, failures: Failures, have_torch: bool,
               have_jax: bool) -> list[str]:
    worst: dict[str, float] = {}
    failed: set[str] = set()

    def record(label: str, check: Callable[[], dict[str, float]], keys: tuple[str, ...]
               ) -> None:
        measured, bad = _measure(failures, label, check)
        if "*" in bad:
            failed.update(keys)
        failed.update(bad - {"*"})
        for key in keys:
            if measured is not None and key in measured:
                worst[key] = max(worst.get(key, 0.0), abs(float(measured[key])))

    if have_torch and have_jax and spec.smooth_gradient:
        for case in _gradient_cases(spec):
            record(f"{spec.name} / {case.id} / gradients",
                   lambda c=case: suite.gradients(spec, c), _GRADIENT_KEYS)
    for case in _trace_cases(spec):
        label = f"{spec.name} / {case.id}"
        if have_jax:
            record(label + " / jit", lambda c=case: suite.trace_errors(spec, c),
                   ("jit", "vmap"))
        if have_torch:
            record(label + " / compile", lambda c=case: dict(zip(
                ("graph_breaks", "compile"), suite.compile_check(spec, c), strict=True)),
                   ("graph_breaks", "compile"))

    finite = "skip"
    extreme = _extreme_cases(spec)
    if have_torch and have_jax and extreme:
        finite = "yes"
        for case in extreme:
            found = failures.run(f"{spec.name} / {case.id} / finite gradients",
                                 lambda c=case: suite.finite_gradients(spec, c))
            if found is None or not all(found.values()):
                finite = "FAIL"
                if found is not None:
                    where = [name for name, ok in found.items() if not ok]
                    failures.items.append(f"{spec.name} / {case.id} / finite gradients: "
                                          f"non-finite on {where}")

    def cell(key: str, available: bool) -> str:
        if not available:
            return "skip"
        return _cell(worst.get(key), key in failed)

    def compile_cell() -> str:
        if not have_torch:
            return "skip"
        breaks, error = worst.get("graph_breaks"), worst.get("compile")
        bad = bool({"graph_breaks", "compile"} & failed)
        if breaks is None:
            return "FAIL" if bad else "skip"
        if not bad:
            return str(int(breaks))
        return f"FAIL ({int(breaks)} breaks, Δ {_fmt(error or 0.0)})"

    grads = have_torch and have_jax
    gradient_cells = ([cell(k, grads) for k in _GRADIENT_KEYS] if spec.smooth_gradient
                      else ["n/d"] * 3)
    return [*gradient_cells, finite, cell("jit", have_jax), cell("vmap", have_jax),
            compile_cell()]


JIT_COLUMN = "jax jit"


def _function_cell(name: str, backend: Backend | None, failures: Failures, *,
                   jit: bool = False) -> tuple[str, str | None]:
    """A distance/metric cell: worst relative error over the function's cases, or
    ``FAIL``; ``n/s`` with the declared reason (second item) or ``skip``."""
    if backend is None:
        return "skip", None
    feature = "jit" if jit else "dask" if backend.name == "dask" else None
    caps = CAPABILITIES[name]
    if feature is not None and not caps.supports(feature):
        return "n/s", getattr(caps, feature)
    worst, count, failed = 0.0, 0, False
    column = JIT_COLUMN if jit else backend.name
    with activated(backend):
        for case in functions.FUNCTION_CASES:
            if case.function != name:
                continue
            err = failures.run(f"{name} / {case.id} / {column}",
                               lambda c=case: functions.value_error(c, backend, jit=jit))
            if err is None:
                failed = True  # the other cases still run: every failure is listed
            else:
                worst, count = max(worst, err), count + 1
    return ("FAIL" if failed else f"{_fmt(worst)} ({count})"), None


def _function_lines(names: list[str], loaded: dict[str, tuple[Backend | None, str]],
                    failures: Failures, progress: Progress) -> list[str]:
    """The section "Distances and metrics": function × backend, plus ``jax jit``."""
    cases = [c for c in functions.FUNCTION_CASES if c.function in names]
    lines = [
        "## Distances and metrics: max relative error vs the float64 oracle",
        "",
        f"{len(cases)} cases of the public functions that are not losses "
        "(`conformance/functions.py`: 2-D and 3-D, anisotropic spacing, empty masks, single "
        "voxels, objects touching the border, all-background images; float64, float32, bool "
        "and integer inputs). Each cell: the largest abs(Δ) / (1 + abs(oracle)) over the "
        "function's cases (cases checked), judged against the bound of its result dtype "
        "(Tolerances); NaN and inf entries must match the oracle's. Also checked: result "
        "namespace, dtype and device. `jax jit`: the jax backend under `jax.jit` (arrays "
        "traced, options static). `n/s`: declared unsupported (reasons below); `skip`: "
        "backend not installed.",
        "",
        "| function | " + " | ".join(BACKEND_NAMES) + f" | {JIT_COLUMN} |",
        "|---|" + "---|" * (len(BACKEND_NAMES) + 1),
    ]
    reasons: dict[str, list[str]] = {}
    for name in names:
        cells = []
        for column in (*BACKEND_NAMES, JIT_COLUMN):
            jit = column == JIT_COLUMN
            with progress.step(f"functions: {name} / {column}"):
                cell, reason = _function_cell(name, loaded["jax" if jit else column][0],
                                              failures, jit=jit)
            cells.append(cell)
            if reason is not None:
                reasons.setdefault(reason, []).append(f"`{name}` on {column}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if reasons:
        lines += ["", "Not supported (declared in `segloss_xp._capabilities`):", ""]
        lines += [f"- {', '.join(where)}: {reason}" for reason, where in reasons.items()]
    return lines


def _tolerance_lines() -> list[str]:
    """The bounds every cell is judged against (from conformance/suite.py)."""
    lines = ["## Tolerances", "",
             "A cell is `FAIL` when its check exceeds these bounds (or raises); "
             "`conformance/suite.py` states them, the pytest suite uses the same.", "",
             "| check | bound |", "|---|---|"]
    for dtype, (rtol, atol) in suite.TOLERANCES.items():
        lines.append(f"| value, {dtype} inputs, vs the oracle on the same rounded inputs "
                     f"| abs(Δ) ≤ {atol:.0e} + {rtol:.0e}·abs(oracle) |")
    for key, bound in suite.BOUNDS.items():
        lines.append(f"| {bound.what} | "
                     + ("none" if key == "graph_breaks" else f"abs(Δ) ≤ {bound}") + " |")
    lines += [
        f"| gradient scale (largest abs gradient component or directional "
        f"derivative), every mode | ≥ {suite.MIN_GRADIENT_SCALE:.0e} |",
        "| gradients on saturated inputs (logits ±1e4, probabilities exactly 0 and 1) "
        "| finite (torch and jax) |",
        *(f"| distances and metrics, {dtype} results, vs the float64 oracle "
          f"(`conformance/functions.py`) | abs(Δ) ≤ {bound:.0e}·(1 + abs(oracle)) |"
          for dtype, bound in functions.BOUNDS.items()),
        "| distances and metrics, integer results (confusion counts) | equal |",
        "",
        f"Finite differences: central, step {suite.FD_STEP:.0e}, along "
        f"{suite.NUM_DIRECTIONS} random unit directions; `scale` is the largest "
        "absolute gradient component or directional derivative of that check.",
        "",
    ]
    return lines


def _versions() -> str:
    names = ["numpy", "array-api-compat", "array-api-strict", "torch", "jax", "dask", "cupy"]
    found = []
    for n in names:
        try:
            found.append(f"{n} {metadata.version(n)}")
        except metadata.PackageNotFoundError:
            found.append(f"{n} (not installed)")
    return ", ".join(found)


def build_report(only: str | None = None, backends: list[str] | None = None, *,
                 progress: Progress | None = None,
                 figure_link: str | None = None) -> tuple[str, int]:
    """The report's Markdown and its number of failures; ``progress`` counts its cells
    (one is made on stderr if not given), ``figure_link`` adds a line linking the picture."""
    warnings.simplefilter("ignore")
    start = time.time()
    failures = Failures()
    loaded = {name: load_backend(name) if backends is None or name in backends
              else (None, f"{name}: not selected (--backends)") for name in BACKEND_NAMES}
    # load_backend's reasons start with the backend's name
    specs = [s for s in LOSSES if only is None or only in s.name]
    names = [n for n in functions.FUNCTIONS if only is None or only in n]
    progress = Progress(title="report") if progress is None else progress
    progress.add(len(specs) * (len(BACKEND_NAMES) + 3) + len(names) * (len(BACKEND_NAMES) + 1))
    lines = [
        "# segloss_xp conformance report",
        "",
        f"Generated {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by "
        "`python -m conformance.report` on "
        f"{platform.machine()}, Python {platform.python_version()}; {_versions()}.",
        "",
        f"{len(CASES)} cases ({', '.join(c.id for c in CASES)}); "
        "see `conformance/cases.py`.",
        "",
        *([f"Picture of the two error matrices (log10 per cell): [{figure_link}]"
           f"({figure_link}).", ""] if figure_link else []),
        *_tolerance_lines(),
        "## Values: max abs error vs the float64 oracle (cases checked)",
        "",
        "float64 inputs on every backend. Also checked in each cell: result namespace, "
        "dtype (float64) and device (the input's). `n/s`: not supported on that backend "
        "(a clear error is raised); `skip`: backend not installed.",
        "",
        "| loss | " + " | ".join(BACKEND_NAMES) + " | torch f32 | jax bf16 |",
        "|---|" + "---|" * (len(BACKEND_NAMES) + 2),
    ]
    columns = [(name, name, "float64") for name in BACKEND_NAMES]
    columns += [("torch f32", "torch", "float32"), ("jax bf16", "jax", "bfloat16")]
    for spec in specs:
        cells = []
        for column, name, dtype in columns:
            with progress.step(f"values: {spec.name} / {column}"):
                cells.append(_value_cell(spec, *loaded[name], dtype, failures))
        lines.append(f"| {spec.name} | " + " | ".join(cells) + " |")
    skipped = [reason for b, reason in loaded.values() if b is None]
    if skipped:
        lines += ["", "Skipped backends: " + "; ".join(skipped) + "."]
    have_torch, have_jax = loaded["torch"][0] is not None, loaded["jax"][0] is not None
    lines += [
        "",
        "## Gradients and tracing",
        "",
        "Max abs differences, float64. Gradients: the first case of each mode (with and "
        "without ignore_index) and the cases of `GRADIENT_CASES` (one-hot, soft, 3-D, "
        "channels-last, no channel axis, probabilities). `torch/jax vs FD`: the "
        f"autodiff gradient projected on {suite.NUM_DIRECTIONS} random unit directions vs "
        f"central differences of the oracle (step {suite.FD_STEP:.0e}). `torch vs jax`: "
        "full gradients. `finite`: torch and JAX gradients finite on the saturated "
        "cases (perfect / random logits ±1e4, empty masks, probabilities exactly 0 and "
        "1). `jit`/`vmap`: `jax.jit` vs eager, `jax.vmap` vs per-slice calls, first "
        "case of each mode. `compile breaks`: the most `torch._dynamo.explain` graph "
        "breaks in one case. "
        "`n/d`: piecewise loss, finite differences not meaningful. `FAIL (x)`: beyond "
        "the bound of the Tolerances table, x the worst measurement.",
        "",
        "| loss | torch vs FD | jax vs FD | torch vs jax | finite | jit | vmap | "
        "compile breaks |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec in specs:
        with progress.step(f"gradients and tracing: {spec.name}"):
            row = _trace_row(spec, failures, have_torch, have_jax)
        lines.append(f"| {spec.name} | " + " | ".join(row) + " |")
    if names:
        lines += ["", *_function_lines(names, loaded, failures, progress)]
    lines += ["", "## Failures", ""]
    lines += [f"- {f}" for f in failures.items] or ["None."]
    lines += ["", f"Wall time {time.time() - start:.0f} s.", ""]
    return "\n".join(lines), len(failures.items)


# ------------------------------------------------------------- picture and summary

#: the sections drawn (heading prefix -> panel title)
PICTURED = {"## Values": "losses: max abs error vs the float64 oracle (f32, bf16: such inputs)",
            "## Distances and metrics": "distances and metrics: max relative error"}
_NOT_APPLICABLE = ("n/s", "n/d", "—")


def markdown_tables(text: str) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Each table of a report under its section heading: (header, rows of cells)."""
    out: dict[str, tuple[list[str], list[list[str]]]] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line
        elif line.startswith("|") and heading and not re.fullmatch(r"\|(-+\|)+", line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if heading not in out:
                out[heading] = (cells, [])
            else:
                out[heading][1].append(cells)
    return out


def cell_status(cell: str) -> str:
    """``pass``, ``fail``, ``n/a`` (not supported or not defined) or ``skip``."""
    if cell.startswith("FAIL"):
        return "fail"
    if cell == "skip":
        return "skip"
    return "n/a" if cell in _NOT_APPLICABLE else "pass"


def cell_error(cell: str) -> float | None:
    """The measured error of a passing value cell (``2.2e-16 (26)`` -> 2.2e-16)."""
    match = re.match(r"([0-9.]+(?:e[-+]?[0-9]+)?)(?: \(|$)", cell)
    return float(match.group(1)) if match and cell_status(cell) == "pass" else None


def _pictured(text: str) -> list[tuple[str, list[str], list[list[str]]]]:
    tables = markdown_tables(text)
    out = []
    for prefix, title in PICTURED.items():
        for heading, (header, rows) in tables.items():
            if heading.startswith(prefix) and rows:
                out.append((title, header, rows))
    return out


def render_figure(text: str, path: Path = FIGURE) -> Path:
    """Heatmaps of a report's value tables: log10 of each cell's error, row × backend;
    ``FAIL`` red, ``skip`` grey, ``n/s`` light grey; an exact 0 drawn at 1e-17."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Rectangle

    panels = _pictured(text)
    if not panels:
        raise ValueError("no value table in the report text (nothing to draw)")
    # laid out in inches: equal cells in every panel, each panel's labels on its left
    cell_w, cell_h, top, bottom = 0.36, 0.17, 0.75, 1.0
    lefts = [0.2 + 0.052 * max(len(r[0]) for r in rows) for _, _, rows in panels]
    widths = [cell_w * (len(header) - 1) for _, header, _ in panels]
    fig_w = sum(lefts) + sum(widths) + 0.3 * len(panels) + 0.9
    fig_h = top + bottom + cell_h * max(len(rows) for _, _, rows in panels)
    fig = plt.figure(figsize=(fig_w, fig_h))
    axes, x = [], 0.0
    for left, width, (_, _, rows) in zip(lefts, widths, panels, strict=True):
        x += left
        height = cell_h * len(rows)
        axes.append(fig.add_axes((x / fig_w, 1 - (top + height) / fig_h, width / fig_w,
                                  height / fig_h)))
        x += width + 0.3
    status_colour = {"fail": "#d1495b", "skip": "#9a9a9a", "n/a": "#dedede"}
    image = None
    for ax, (title, header, rows) in zip(axes, panels, strict=True):
        grid = np.full((len(rows), len(header) - 1), np.nan)
        exact = np.zeros(grid.shape, dtype=bool)
        for i, row in enumerate(rows):
            for j, cell in enumerate(row[1:]):
                err = cell_error(cell)
                if err is not None:
                    grid[i, j] = np.log10(max(err, 1e-17))
                    exact[i, j] = err == 0
        ax.set_facecolor("white")
        image = ax.imshow(grid, cmap="viridis", vmin=-17, vmax=-1, aspect="auto",
                          interpolation="nearest")
        for i, row in enumerate(rows):
            for j, cell in enumerate(row[1:]):
                status = cell_status(cell)
                if status in status_colour:
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1,
                                           color=status_colour[status]))
                    word = {"fail": "FAIL", "skip": "skip", "n/a": cell}[status]
                    ax.text(j, i, word, ha="center", va="center", fontsize=5.5,
                            color="white" if status == "fail" else "black")
                elif not np.isnan(grid[i, j]):
                    ax.text(j, i, "0" if exact[i, j] else f"{grid[i, j]:.0f}",
                            ha="center", va="center",
                            fontsize=5.5, color="white" if grid[i, j] < -9 else "black")
        ax.set_xticks(range(len(header) - 1), header[1:], rotation=45, ha="right",
                      fontsize=7)
        ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=6)
        ax.set_title(title, fontsize=8.5)
    if image is not None:
        bar = fig.colorbar(image, cax=fig.add_axes(((x + 0.05) / fig_w, 0.3, 0.15 / fig_w,
                                                     0.5)))
        bar.set_label("log10(error) (an exact 0: colour of -17)", fontsize=7)
        bar.ax.tick_params(labelsize=6)
    fig.suptitle("segloss_xp conformance: each backend vs the float64 oracle (number: "
                 "log10 of the worst error over the cases; 0: exact)\nred FAIL: beyond its "
                 "bound; grey skip: backend not installed; light grey n/s: not supported "
                 "(declared)", fontsize=8.5, y=1 - 0.08 / fig_h, va="top")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def summary(text: str, progress: Progress | None = None, count: int = 5) -> str:
    """One screen: pass/fail/n/a/skip per column of the report's tables, the failures'
    count and (with ``progress``) the slowest steps."""
    tally: dict[str, dict[str, int]] = {}
    for header, rows in markdown_tables(text).values():
        if header[0] not in ("loss", "function"):
            continue  # the tolerances
        for row in rows:
            for column, cell in zip(header[1:], row[1:], strict=False):
                counts = tally.setdefault(column, dict.fromkeys(("pass", "fail", "n/a",
                                                                 "skip"), 0))
                counts[cell_status(cell)] += 1
    failed = sum(c["fail"] for c in tally.values())
    lines = [text_table(["backend / check", "pass", "fail", "n/a", "skip"],
                        [[column, *c.values()] for column, c in tally.items()]),
             f"{failed} failing cell(s)" + ("" if not failed else
                                            " (listed under Failures in the report)")]
    if progress is not None:
        lines += progress.slowest_lines(count)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="losses and functions whose name contains this text")
    parser.add_argument("--backends", help="comma-separated backends to run "
                        f"(default: all of {', '.join(BACKEND_NAMES)})")
    parser.add_argument("--out", type=Path, default=REPORT, help="markdown output path")
    parser.add_argument("--figure", type=Path, default=None,
                        help="picture path (default: docs/figures/conformance.png, or next "
                             "to --out when that is given)")
    parser.add_argument("--figure-only", action="store_true",
                        help="redraw the picture from the existing --out report; run nothing")
    args = parser.parse_args(argv)
    figure = args.figure or (FIGURE if args.out == REPORT else args.out.with_suffix(".png"))
    if args.figure_only:
        text = args.out.read_text()
        print(f"wrote {_draw(text, figure)}", file=sys.stderr)
        print(summary(text), file=sys.stderr)
        return 0
    backends = None
    if args.backends:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        unknown = sorted(set(backends) - set(BACKEND_NAMES))
        if unknown:
            parser.error(f"unknown backend(s) {unknown}; expected names from {BACKEND_NAMES}")
    progress = Progress(title="report")
    link = Path(os.path.relpath(figure.resolve(), args.out.resolve().parent)).as_posix()
    text, failed = build_report(args.only, backends, progress=progress, figure_link=link)
    progress.close()
    print(text)
    args.out.write_text(text)
    drawn = _draw(text, figure)
    print(f"\n{summary(text, progress)}", file=sys.stderr)
    print(f"written to {args.out}" + (f" and {drawn}" if drawn else "")
          + f"; {failed} failure(s)", file=sys.stderr)
    return 1 if failed else 0


def _draw(text: str, figure: Path) -> Path | None:
    """The picture, or None (said on stderr) when matplotlib is missing."""
    try:
        return render_figure(text, figure)
    except ImportError as exc:
        print(f"no picture (matplotlib missing): {exc}", file=sys.stderr)
        return None


if __name__ == "__main__":
    raise SystemExit(main())
