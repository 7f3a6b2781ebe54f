"""The cross-backend conformance report: ``python -m conformance.report`` (``./dev report``).

Prints, and writes to ``conformance/REPORT.md``, a matrix loss × backend of the
maximum error against the float64 oracle over every case of the case table,
then per loss the gradient agreement (torch autograd vs ``jax.grad`` vs
central differences of the oracle), ``jax.jit`` / ``jax.vmap`` vs eager and
``torch.compile`` graph breaks. A cell is ``FAIL`` when a check fails (its
message follows the tables), ``skip`` with the reason when a backend is
missing or cannot run that loss.
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

from conformance import suite
from conformance.cases import CASES, LOSSES, Case, LossSpec
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


def _first_cases(spec: LossSpec) -> list[Case]:
    seen: set[str] = set()
    out = []
    for case in CASES:
        if spec.supports(case) and not case.extreme and case.mode not in seen:
            seen.add(case.mode)
            out.append(case)
    return out


def _trace_row(spec: LossSpec, failures: Failures, have_torch: bool,
               have_jax: bool) -> list[str]:
    cases = _first_cases(spec)
    grads: list[dict[str, float]] = []
    jit = vmap = 0.0
    breaks = 0
    ok = {"grad": True, "jit": True, "compile": True}
    for case in cases:
        label = f"{spec.name} / {case.id}"
        if have_torch and have_jax and spec.smooth_gradient:
            g = failures.run(label + " / gradients", lambda c=case: suite.gradients(spec, c))
            if g is None:
                ok["grad"] = False
            else:
                grads.append(g)
        if have_jax:
            j = failures.run(label + " / jit", lambda c=case: (suite.jit_error(spec, c),
                                                               suite.vmap_error(spec, c)))
            if j is None:
                ok["jit"] = False
            else:
                jit, vmap = max(jit, j[0]), max(vmap, j[1])
        if have_torch:
            b = failures.run(label + " / compile", lambda c=case: suite.compile_check(spec, c))
            if b is None:
                ok["compile"] = False
            else:
                breaks += b[0]
    extreme = [c for c in CASES if c.extreme and spec.supports(c)]
    finite = all(
        failures.run(f"{spec.name} / {c.id} / finite", lambda c=c: all(
            suite.finite_gradients(spec, c).values())) for c in extreme) if extreme else None

    def worst(key: str) -> str:
        if not spec.smooth_gradient:
            return "n/d"
        if not ok["grad"]:
            return "FAIL"
        return _fmt(max((g.get(key, 0.0) for g in grads), default=0.0)) if grads else "skip"

    return [
        worst("torch_vs_fd"), worst("jax_vs_fd"), worst("torch_vs_jax"),
        "skip" if finite is None else ("yes" if finite else "NO"),
        (_fmt(jit) if ok["jit"] else "FAIL") if have_jax else "skip",
        (_fmt(vmap) if ok["jit"] else "FAIL") if have_jax else "skip",
        (str(breaks) if ok["compile"] else "FAIL") if have_torch else "skip",
    ]


def _versions() -> str:
    names = ["numpy", "array-api-compat", "array-api-strict", "torch", "jax", "dask", "cupy"]
    found = []
    for n in names:
        try:
            found.append(f"{n} {metadata.version(n)}")
        except metadata.PackageNotFoundError:
            found.append(f"{n} (not installed)")
    return ", ".join(found)


def build_report(only: str | None = None) -> tuple[str, int]:
    warnings.simplefilter("ignore")
    start = time.time()
    failures = Failures()
    loaded = {name: load_backend(name) for name in BACKEND_NAMES}
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
    skipped = [f"{n}: {reason}" for n, (b, reason) in loaded.items() if b is None]
    if skipped:
        lines += ["", "Skipped backends: " + "; ".join(skipped) + "."]
    have_torch, have_jax = loaded["torch"][0] is not None, loaded["jax"][0] is not None
    lines += [
        "",
        "## Gradients and tracing",
        "",
        "Max abs differences, float64, first case of each mode. `torch/jax vs FD`: the "
        "autodiff gradient projected on 4 random unit directions vs central differences "
        "of the oracle (step 1e-5). `torch vs jax`: full gradients. `finite @1e4`: torch "
        "and JAX gradients finite on the saturated cases (perfect / random logits ±1e4, "
        "empty masks). `jit`/`vmap`: `jax.jit` vs eager, `jax.vmap` vs per-slice calls. "
        "`compile`: total `torch._dynamo.explain` graph breaks. `n/d`: piecewise loss, "
        "finite differences not meaningful.",
        "",
        "| loss | torch vs FD | jax vs FD | torch vs jax | finite @1e4 | jit | vmap | "
        "compile breaks |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec in specs:
        row = _trace_row(spec, failures, have_torch, have_jax)
        lines.append(f"| {spec.name} | " + " | ".join(row) + " |")
        print(f"tracing: {spec.name} done ({time.time() - start:.0f}s)", file=sys.stderr)
    lines += ["", "## Failures", ""]
    lines += [f"- {f}" for f in failures.items] or ["None."]
    lines += ["", f"Wall time {time.time() - start:.0f} s.", ""]
    return "\n".join(lines), len(failures.items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="losses whose name contains this text")
    parser.add_argument("--out", type=Path, default=REPORT, help="markdown output path")
    args = parser.parse_args(argv)
    text, failed = build_report(args.only)
    print(text)
    args.out.write_text(text)
    print(f"written to {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
