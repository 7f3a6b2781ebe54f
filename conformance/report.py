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
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from conformance import functions, suite
from conformance.cases import CASES, LOSSES, Case, LossSpec, first_cases, gradient_cases
from segloss_xp._capabilities import CAPABILITIES
from segloss_xp.testing import BACKEND_NAMES, Backend, activated, load_backend

REPORT = Path(__file__).with_name("REPORT.md")


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
            record(label + " / jit", lambda c=case: {"jit": suite.jit_error(spec, c),
                                                     "vmap": suite.vmap_error(spec, c)},
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
                    failures: Failures, start: float) -> list[str]:
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
            cell, reason = _function_cell(name, loaded["jax" if jit else column][0], failures,
                                          jit=jit)
            cells.append(cell)
            if reason is not None:
                reasons.setdefault(reason, []).append(f"`{name}` on {column}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        print(f"functions: {name} done ({time.time() - start:.0f}s)", file=sys.stderr)
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


def build_report(only: str | None = None,
                 backends: list[str] | None = None) -> tuple[str, int]:
    warnings.simplefilter("ignore")
    start = time.time()
    failures = Failures()
    loaded = {name: load_backend(name) if backends is None or name in backends
              else (None, f"{name}: not selected (--backends)") for name in BACKEND_NAMES}
    # load_backend's reasons start with the backend's name
    specs = [s for s in LOSSES if only is None or only in s.name]
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
    for spec in specs:
        cells = [_value_cell(spec, *loaded[name], "float64", failures) for name in BACKEND_NAMES]
        cells.append(_value_cell(spec, *loaded["torch"], "float32", failures))
        cells.append(_value_cell(spec, *loaded["jax"], "bfloat16", failures))
        lines.append(f"| {spec.name} | " + " | ".join(cells) + " |")
        print(f"values: {spec.name} done ({time.time() - start:.0f}s)", file=sys.stderr)
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
        row = _trace_row(spec, failures, have_torch, have_jax)
        lines.append(f"| {spec.name} | " + " | ".join(row) + " |")
        print(f"tracing: {spec.name} done ({time.time() - start:.0f}s)", file=sys.stderr)
    names = [n for n in functions.FUNCTIONS if only is None or only in n]
    if names:
        lines += ["", *_function_lines(names, loaded, failures, start)]
    lines += ["", "## Failures", ""]
    lines += [f"- {f}" for f in failures.items] or ["None."]
    lines += ["", f"Wall time {time.time() - start:.0f} s.", ""]
    return "\n".join(lines), len(failures.items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="losses and functions whose name contains this text")
    parser.add_argument("--backends", help="comma-separated backends to run "
                        f"(default: all of {', '.join(BACKEND_NAMES)})")
    parser.add_argument("--out", type=Path, default=REPORT, help="markdown output path")
    args = parser.parse_args(argv)
    backends = None
    if args.backends:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        unknown = sorted(set(backends) - set(BACKEND_NAMES))
        if unknown:
            parser.error(f"unknown backend(s) {unknown}; expected names from {BACKEND_NAMES}")
    text, failed = build_report(args.only, backends)
    print(text)
    args.out.write_text(text)
    print(f"written to {args.out}; {failed} failure(s)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
