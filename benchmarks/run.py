"""Benchmarks against the peers: ``python -m benchmarks.run`` (``./dev bench``).

Runs every row of :mod:`benchmarks.registry` on the chosen workloads, each
(row, workload) in a fresh subprocess (:mod:`benchmarks.measure`), and writes
a Markdown report, a JSON file with every number and the targets of
:mod:`benchmarks.targets` (ratio, bound, met/missed), and a PNG chart of the
target ratios (:mod:`benchmarks.chart`). See ``benchmarks/README.md`` for the
method and how to read the tables; ``python -m benchmarks.readme --write``
then refreshes README's speed table. While it runs, a progress bar on stderr names the
row and workload being measured (on a terminal; otherwise a plain line every 10 %), and
it ends with a one-screen summary: targets met / missed with their ratios, rows not
measured, the slowest rows.

Examples::

    ./dev bench                       # full run (every workload), ~25-30 min on 2 cores
    ./dev bench --quick               # smoke run: W2D only, few repeats, ~2-3 min
    ./dev bench --tiny --budget 0 --max-repeats 2   # every row once on tiny shapes
    ./dev bench --only dice --workloads W2D
    ./dev bench --compile --slow      # also every CPU torch.compile row and JAX Lovász W3D
    python -m benchmarks.run --device cuda   # GPU rows only -> results/<date>-gpu.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conformance.progress import Progress, text_table

from . import peers, registry, targets
from .measure import _cpu_ticks
from .registry import FAMILIES, ROWS, WORKLOADS, Row

ROOT = Path(__file__).resolve().parent.parent
MALLOC_MODES = {
    "steady": {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(64 * 1024**3)},
    "default": {},
}


# --------------------------------------------------------------------------- planning


def select_rows(only: str | None, compile_rows: bool, device: str = "all") -> list[Row]:
    """Rows to run: ``--only`` is a case-insensitive regex searched in key and label.

    The reference row (torch cross entropy) always runs, for the ×CE column.
    ``device`` (``all``, ``cpu``, ``cuda``) keeps the rows of that device.
    """
    pattern = re.compile(only, re.IGNORECASE) if only else None
    out = []
    for row in ROWS:
        if row.optional and not compile_rows:
            continue
        if device != "all" and row.device != device:
            continue
        if row.origin == "ref" or pattern is None or pattern.search(row.key) \
                or pattern.search(row.label):
            out.append(row)
    return out


def plan(rows: list[Row], workloads: list[str]) -> list[tuple[Row, str]]:
    return [(row, wl) for wl in workloads for row in rows if wl in row.workloads]


def target_plan(todo: list[tuple[Row, str]], device: str) -> list[tuple[Row, str]]:
    """``todo`` narrowed to the (row, workload) pairs some target of ``device`` names
    (``all``: every target), and the reference row on those workloads (the ×CE column):
    a GPU session measures what the issues ask for in minutes, not the whole table. The
    compiled rows (the slowest to set up) run last: an interrupted run keeps the others."""
    named = {(key, t.workload) for t in targets.TARGETS if device in ("all", t.device)
             for key in (t.ours, t.peer)}
    workloads = {wl for _, wl in named}
    chosen = [(row, wl) for row, wl in todo
              if (row.key, wl) in named or (row.origin == "ref" and wl in workloads)]
    return sorted(chosen, key=lambda pair: pair[0].framework == "torch-compile")


# --------------------------------------------------------------------------- running


def machine_load(seconds: float = 0.5) -> float:
    """Busy share of the whole machine over ``seconds`` (we are idle meanwhile)."""
    b0, t0 = _cpu_ticks()
    time.sleep(seconds)
    b1, t1 = _cpu_ticks()
    return (b1 - b0) / max(t1 - t0, 1)


def worker_env(malloc: str, threads: int) -> dict[str, str]:
    """The environment of a measuring subprocess (glibc malloc mode, thread count)."""
    env = dict(os.environ)
    env.update(MALLOC_MODES[malloc])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["OMP_NUM_THREADS"] = str(threads)
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def machine_line() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def run_one(row: Row, workload: str, args: argparse.Namespace, env: dict[str, str],
            shape: tuple[int, ...] | None = None) -> dict[str, Any]:
    env = dict(env)
    if "JAX_PLATFORMS" not in os.environ:  # JAX on the row's device
        env["JAX_PLATFORMS"] = "cuda" if row.device == "cuda" else "cpu"
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out_path = fh.name
    cmd = [sys.executable, "-m", "benchmarks.measure", "--row", row.key, "--workload",
           workload, "--budget", str(args.budget), "--min-repeats", str(args.min_repeats),
           "--max-repeats", str(args.max_repeats), "--mem-calls", str(args.mem_calls),
           "--threads", str(args.threads), "--json-out", out_path]
    if shape is not None:
        cmd += ["--shape", ",".join(map(str, shape))]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=args.timeout)
        with open(out_path) as fh:
            res = json.load(fh)
        if proc.returncode != 0:
            res.setdefault("stderr", proc.stderr[-2000:])
    except subprocess.TimeoutExpired:
        res = {"key": row.key, "workload": workload, "status": "error",
               "reason": f"timed out after {args.timeout} s"}
    except (OSError, ValueError) as exc:  # no JSON: the worker crashed (e.g. killed)
        res = {"key": row.key, "workload": workload, "status": "error",
               "reason": f"worker failed: {exc}; stderr: "
                         f"{locals().get('proc').stderr[-800:] if 'proc' in locals() else ''}"}
    finally:
        try:
            os.unlink(out_path)
        except OSError:
            pass
    res["wall_s"] = time.perf_counter() - t0
    return res


def _worst_load(res: dict[str, Any]) -> float:
    return max((res[m]["other_load"] for m in ("fwd", "fb") if m in res), default=0.0)


def merge_attempts(attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """Per mode, the attempt with the lower median (the notes' "lower of per-pass medians"),
    and the lower of the attempts' peak-memory medians (a pass's peak can differ by one
    buffer from another's, the same in all its calls: WBIN binary CE gave 12 MiB in one
    process and 8 in the next, 2026-12-02)."""
    ok = [a for a in attempts if a.get("status") == "ok"]
    if not ok:
        out = dict(attempts[-1])
        out["attempts"] = len(attempts)
        return out
    out = {k: v for k, v in ok[0].items() if k not in ("fwd", "fb")}
    for mode in _modes(ok[0]):
        best = min(ok, key=lambda a: a[mode]["median_ms"])
        out[mode] = dict(best[mode])
        peaks = [a[mode]["peak_mib"] for a in ok if a[mode]["peak_mib"] is not None]
        if peaks:
            out[mode]["peak_mib"] = min(peaks)
        out[mode]["peak_mib_max"] = max((a[mode]["peak_mib_max"] for a in ok
                                         if a[mode]["peak_mib_max"] is not None), default=None)
        out[mode]["medians_ms"] = [a[mode]["median_ms"] for a in ok]
    out["attempts"] = len(attempts)
    out["value"] = ok[0]["value"]
    out["finite"] = all(a.get("finite") for a in ok)
    return out


def run_all(todo: list[tuple[Row, str]], args: argparse.Namespace,
            progress: Progress | None = None) -> dict[tuple[str, str], Any]:
    env = worker_env(args.malloc, args.threads)
    attempts: dict[tuple[str, str], list[dict[str, Any]]] = {}
    runnable: list[tuple[Row, str]] = []
    for row, wl in todo:
        key = (row.key, wl)
        if row.device == "cuda" and not registry.cuda_present():
            attempts[key] = [{"key": row.key, "workload": wl, "status": "n/a",
                              "reason": registry.NO_CUDA}]
            continue
        if row.origin == "ours":
            reason = registry.ours_status(row.family, WORKLOADS[wl].kind)
            if reason is not None:
                attempts[key] = [{"key": row.key, "workload": wl, "status": "n/a",
                                  "reason": reason}]
                continue
        if wl in row.slow_on and not args.slow:
            attempts[key] = [{"key": row.key, "workload": wl, "status": "skipped",
                              "reason": "skipped (slow: seconds per call; run with --slow)"}]
            continue
        runnable.append((row, wl))

    bar = Progress(title="bench") if progress is None else progress

    def one(row: Row, wl: str, tag: str) -> dict[str, Any]:
        with bar.step(f"{wl} {row.key}"):
            waited = 0.0
            while args.quiet_wait > 0 and waited < args.quiet_wait:
                if machine_load() <= args.max_load:
                    break
                time.sleep(2.0)
                waited += 2.5
            res = run_one(row, wl, args, env, shape=args.shape_for.get(wl))
            res["waited_s"] = waited
            bar.write(_progress(row, wl, res, tag))
        return res

    n = len(runnable)
    bar.add(n * args.passes)
    try:
        for p in range(args.passes):
            for i, (row, wl) in enumerate(runnable):
                tag = f"[pass {p + 1}/{args.passes} {i + 1}/{n}]"
                if p > 0 and _slow_process(attempts.get((row.key, wl), [])):
                    bar.add(-1)
                    continue  # rows slower than 30 s per process: one pass
                attempts.setdefault((row.key, wl), []).append(one(row, wl, tag))
        if args.rerun_load < 1:
            noisy = [(row, wl) for row, wl in runnable
                     if all(a.get("status") == "ok" and _worst_load(a) > args.rerun_load
                            for a in attempts[(row.key, wl)])
                     and wl not in row.slow_on]
            bar.add(len(noisy))
            for i, (row, wl) in enumerate(noisy):
                attempts[(row.key, wl)].append(one(row, wl, f"[re-run {i + 1}/{len(noisy)}]"))
    except KeyboardInterrupt:  # SIGINT/SIGTERM: report what was measured so far
        print("interrupted: writing the report of the rows measured so far", file=sys.stderr)
        args.interrupted = True
    for row, wl in runnable:
        if not attempts.get((row.key, wl)):  # none, or interrupted in its first attempt
            attempts[(row.key, wl)] = [{"key": row.key, "workload": wl, "status": "skipped",
                                        "reason": "not run (run interrupted)"}]
    return {key: merge_attempts(a) for key, a in attempts.items()}


def _slow_process(attempts: list[dict[str, Any]]) -> bool:
    return any(a.get("wall_s", 0) > 30 for a in attempts)


def _progress(row: Row, wl: str, res: dict[str, Any], tag: str) -> str:
    """The log line of one measured (row, workload)."""
    if res.get("status") == "ok":
        last = res[_modes(res)[-1]]
        msg = (f"fwd {fmt_ms(res['fwd']['median_ms'])} / f+b {fmt_ms(_fb_ms(res))}"
               f" ms, peak {fmt_mib(last['peak_mib'])} MiB, other load "
               f"{_worst_load(res):.0%}, value {fmt_value(res['value'])}")
    else:
        msg = f"{res.get('status')}: {res.get('reason')}"
    return f"{tag} {wl:4s} {row.key:32s} {msg} ({res.get('wall_s', 0):.1f} s)"


# --------------------------------------------------------------------------- formatting


def fmt_ms(v: float | None) -> str:
    if v is None:
        return "n/a"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_mib(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f}"


def fmt_ratio(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def fmt_value(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def _fb_ms(res: dict[str, Any]) -> float | None:
    return res["fb"]["median_ms"] if "fb" in res else None


def _no_cuda(res: dict[str, Any]) -> bool:
    return res.get("reason") == registry.NO_CUDA


def _ok(res: dict[str, Any] | None) -> bool:
    return bool(res) and res.get("status") == "ok"


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


def _cell_status(res: dict[str, Any] | None) -> str:
    if res is None:
        return "—"
    if res.get("status") == "n/a":
        return "n/a"
    if res.get("status") == "skipped":
        return "skipped"
    return "error"


def _fw(row: Row) -> str:
    return row.framework if row.framework in ("jax", "numpy", "cupy") else "torch"


def _comparable(ours: Row, peer: Row) -> bool:
    """Same device; same framework (torch vs torch, jax vs jax), or a native peer
    (SciPy, cupyx) that every framework of ours is measured against."""
    return ours.device == peer.device and (
        _fw(peer) == _fw(ours) or peer.framework in ("numpy", "cupy"))


def _modes(res: dict[str, Any]) -> list[str]:
    return [m for m in ("fwd", "fb") if m in res]


def pairs(rows: list[Row], results: dict[tuple[str, str], Any],
          workloads: list[str]) -> list[dict[str, Any]]:
    """Every (ours row, peer/ref row) of the same family, workload, device and framework."""
    out = []
    for wl in workloads:
        for fam in FAMILIES[1:]:
            ours = [r for r in rows if r.family == fam and r.origin == "ours"]
            others = [r for r in rows if r.family == fam and r.origin in ("peer", "ref")]
            for o in ours:
                ro = results.get((o.key, wl))
                if ro is None:
                    continue
                for p in others:
                    if not _comparable(o, p):
                        continue
                    rp = results.get((p.key, wl))
                    if rp is None:
                        continue
                    item: dict[str, Any] = {"workload": wl, "family": fam, "ours": o.key,
                                            "peer": p.key, "ours_label": o.label,
                                            "peer_label": p.label}
                    if _ok(ro) and _ok(rp):
                        modes = [m for m in _modes(ro) if m in rp]
                        for m in modes:
                            item[f"ours_{m}_ms"] = ro[m]["median_ms"]
                            item[f"peer_{m}_ms"] = rp[m]["median_ms"]
                            item[f"ratio_{m}"] = _ratio(ro[m]["median_ms"], rp[m]["median_ms"])
                        mem = modes[-1]  # f+b, or fwd for rows without a gradient
                        item["mem_mode"] = mem
                        item["ours_fb_mib"] = ro[mem]["peak_mib"]
                        item["peer_fb_mib"] = rp[mem]["peak_mib"]
                        item["ratio_fb_mib"] = _ratio(ro[mem]["peak_mib"], rp[mem]["peak_mib"])
                        item["ours_value"] = ro["value"]
                        item["peer_value"] = rp["value"]
                    else:
                        item["status"] = (f"ours: {_cell_status(ro) if not _ok(ro) else 'ok'}, "
                                          f"peer: {_cell_status(rp) if not _ok(rp) else 'ok'}")
                    out.append(item)
    return out


def ce_ratios(results: dict[tuple[str, str], Any], workloads: list[str]) -> None:
    for wl in workloads:
        for (key, w), res in results.items():
            if w != wl or not _ok(res):
                continue
            ref = results.get(("torch.ce@cuda" if key.endswith("@cuda") else "torch.ce", wl))
            for m in _modes(res):
                res[m]["x_ce"] = (_ratio(res[m]["median_ms"], ref[m]["median_ms"])
                                  if _ok(ref) and m in ref else None)


def findings(pair_list: list[dict[str, Any]], tol: float = 1.10,
             mib_slack: float = 2.0) -> list[str]:
    """Pairs where our torch (eager) or jax row is slower or needs more memory than a peer."""
    lines = []
    for p in pair_list:
        if "ratio_fwd" not in p or not p["ours"].split("@")[0].endswith((".torch", ".jax")):
            continue
        slow = [m for m in ("fwd", "fb") if p.get(f"ratio_{m}") is not None
                and p[f"ratio_{m}"] > tol]
        mem = (p["ratio_fb_mib"] is not None and p["ratio_fb_mib"] > tol
               and p["ours_fb_mib"] - p["peer_fb_mib"] > mib_slack)
        mem_name = "f+b" if p.get("mem_mode", "fb") == "fb" else "fwd"
        if slow or mem:
            what = []
            for m in slow:
                name = "fwd" if m == "fwd" else "f+b"
                what.append(f"{name} ×{p[f'ratio_{m}']:.2f} ({fmt_ms(p[f'ours_{m}_ms'])} vs "
                            f"{fmt_ms(p[f'peer_{m}_ms'])} ms)")
            if mem:
                what.append(f"peak {mem_name} {fmt_mib(p['ours_fb_mib'])} vs "
                            f"{fmt_mib(p['peer_fb_mib'])} MiB")
            lines.append(f"- {p['workload']} {p['ours_label']} vs {p['peer_label']}: "
                         + "; ".join(what))
    return lines


def _table(header: list[str], rows: Iterable[list[str]], align: str | None = None) -> str:
    align = align or "|" + "---|" * len(header)
    return "\n".join(["| " + " | ".join(header) + " |", align]
                     + ["| " + " | ".join(r) + " |" for r in rows])


def render_targets(target_list: list[dict[str, Any]]) -> list[str]:
    """The report's target table: every target, measured or not."""
    hdr = ["target (ours / peer ≤ bound)", "workload", "device", "measure", "ours", "peer",
           "ours value", "peer value", "ratio", "bound", "status"]
    body = []
    for t in target_list:
        unit = t["unit"]

        def num(v: float | None, unit: str = unit) -> str:
            return "n/a" if v is None else (f"{fmt_mib(v)} MiB" if unit == "MiB"
                                             else f"{fmt_ms(v)} ms")

        status = t["status"] if t["status"] != "n/a" else f"n/a ({t['reason']})"
        body.append([t["name"], t["workload"], "GPU" if t["device"] == "cuda" else "CPU",
                     {"fb": "f+b", "fwd": "fwd", "fb_mib": "f+b peak"}[t["metric"]],
                     f"`{t['ours']}`", f"`{t['peer']}`", num(t["ours_value"]),
                     num(t["peer_value"]), fmt_ratio(t["ratio"]), f"{t['bound']:g}", status])
    measured = [t for t in target_list if t["ratio"] is not None]
    return [f"## Targets (issues 8 and 9): {sum(t['status'] == 'met' for t in measured)} of "
            f"{len(measured)} measured met, {len(target_list) - len(measured)} n/a", "",
            _table(hdr, body), ""]


def _compile_notes(rows: list[Row], results: dict[tuple[str, str], Any],
                   workloads: list[str]) -> list[str]:
    lines = []
    for wl in workloads:
        for row in rows:
            res = results.get((row.key, wl))
            if _ok(res) and "graph_breaks" in res:
                lines.append(f"- {wl} {row.label}: {res['graph_breaks']} graph break(s), "
                             f"{res['compile_warnings']} warning(s) while compiling"
                             + (f" (first: {res['first_warning']!r})"
                                if res.get("first_warning") else ""))
    return ["## torch.compile: graph breaks and warnings of the compiling call", "",
            *lines, ""] if lines else []


def render(meta: dict[str, Any], rows: list[Row], results: dict[tuple[str, str], Any],
           workloads: list[str], pair_list: list[dict[str, Any]],
           target_list: list[dict[str, Any]] | None = None) -> str:
    out = [f"# segloss_xp benchmarks — {meta['started_utc']}", ""]
    if meta.get("interrupted"):
        out.append("**Run interrupted: rows after the interruption were not measured.**")
        out.append("")
    out.append(f"Machine: {meta['machine']}. torch.set_num_threads({meta['args']['threads']}); "
               f"glibc malloc mode `{meta['args']['malloc']}`. Wall time "
               f"{meta['wall_s'] / 60:.1f} min. Command: `{meta['command']}`.")
    out.append("Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".")
    out.append("")
    out.append("Workloads: " + "; ".join(f"{w} {WORKLOADS[w].description}" for w in workloads)
               + (f" (shape override: {meta['args']['shape']})" if meta["args"]["shape"]
                  else "") + ".")
    a = meta["args"]
    out.append(
        f"Method: each (row, workload) in a fresh process; {a['passes']} pass(es), the lower "
        "of the per-pass medians per mode; "
        + (f"rows whose timing saw more than {a['rerun_load']:.0%} other load re-run once "
           "(likewise lower median kept); " if a["rerun_load"] < 1 else "no re-runs; ")
        + f"median over {a['min_repeats']}–{a['max_repeats']} timed calls (about "
        f"{a['budget']} s per mode) after warm-up (compile excluded); fwd = loss value "
        "without autograd (torch.no_grad / jax.jit(loss)); f+b = loss + gradient to the "
        "logits (torch.autograd.grad / jax.jit(jax.value_and_grad(loss))). Peak = extra "
        "resident memory during one call (VmHWM − VmRSS, heap trimmed first), median of "
        f"{a['mem_calls']} calls; f+b includes the gradient itself. ×CE = time / torch "
        "F.cross_entropy (WBIN: F.binary_cross_entropy_with_logits) in this run. "
        "'other load' = share of the machine's CPU used by other processes while the row "
        "was timed. See benchmarks/README.md.")
    out.append("")
    out.append(f"Other load over the run (worst mode of each row): median "
               f"{meta['other_load_median']:.0%}, max {(meta['other_load_max'] or 0):.0%}.")
    out.append("")

    if target_list is not None:
        out.extend(render_targets(target_list))
    out.extend(_compile_notes(rows, results, workloads))

    # ---- summary
    out.append("## Summary (fwd / f+b median ms, peak extra MiB of f+b; rows without a gradient: "
               "of fwd)")
    out.append("")
    hdr = ["loss", *[f"{w} fwd / f+b ms (MiB)" for w in workloads]]
    body = []
    for row in rows:
        cells = []
        present = False
        for wl in workloads:
            res = results.get((row.key, wl))
            if res is None:
                cells.append("")
                continue
            present = present or not _no_cuda(res)
            if _ok(res):
                cells.append(f"{fmt_ms(res['fwd']['median_ms'])} / "
                             f"{fmt_ms(_fb_ms(res)) if 'fb' in res else '—'} "
                             f"({fmt_mib(res[_modes(res)[-1]]['peak_mib'])})")
            else:
                cells.append(_cell_status(res))
        if present:
            body.append([row.label, *cells])
    out.append(_table(hdr, body))
    out.append("")

    # ---- ours vs peers
    out.append("## Ours vs peers (same framework; ratio = ours / peer; < 1 means ours is "
               "faster / smaller)")
    out.append("")
    hdr = ["workload", "ours", "peer", "ours fwd / f+b ms", "peer fwd / f+b ms",
           "ratio fwd", "ratio f+b", "peak MiB ours / peer", "ratio MiB", "value ours / peer"]
    body = []
    for p in pair_list:
        if "ratio_fwd" in p:
            body.append([p["workload"], p["ours_label"], p["peer_label"],
                         f"{fmt_ms(p['ours_fwd_ms'])} / {fmt_ms(p.get('ours_fb_ms'))}",
                         f"{fmt_ms(p['peer_fwd_ms'])} / {fmt_ms(p.get('peer_fb_ms'))}",
                         fmt_ratio(p["ratio_fwd"]), fmt_ratio(p.get("ratio_fb")),
                         f"{fmt_mib(p['ours_fb_mib'])} / {fmt_mib(p['peer_fb_mib'])}",
                         fmt_ratio(p["ratio_fb_mib"]),
                         f"{fmt_value(p['ours_value'])} / {fmt_value(p['peer_value'])}"])
    out.append(_table(hdr, body))
    out.append("")
    flagged = findings(pair_list)
    out.append("### Where our torch (eager) or jax row is slower (> ×1.10) or needs more "
               "memory than a peer of the same framework")
    out.append("")
    out.extend(flagged or ["- none"])
    out.append("")
    out.append("Times within ~20 % are within run-to-run noise on this shared 2-core machine "
               "(see the 'other load' column); sub-millisecond rows are at the noise floor.")
    out.append("")

    # ---- full table
    out.append("## Full table")
    out.append("")
    hdr = ["workload", "loss", "fwd ms", "f+b ms", "×CE fwd", "×CE f+b", "peak MiB fwd",
           "peak MiB f+b", "min ms f / f+b", "repeats f / f+b", "page faults/call f / f+b",
           "first call ms f / f+b", "other load", "loss value"]
    align = "|---|---|" + "---:|" * (len(hdr) - 2)
    body = []
    for wl in workloads:
        for row in rows:
            res = results.get((row.key, wl))
            if not _ok(res):
                continue
            f, b = res["fwd"], res.get("fb", {})

            def both(field: str, fmt: Any, f: dict[str, Any] = f,
                     b: dict[str, Any] = b) -> str:
                return f"{fmt(f[field])} / {fmt(b[field]) if field in b else '—'}"

            body.append([
                wl, row.label, fmt_ms(f["median_ms"]), fmt_ms(b.get("median_ms")),
                fmt_ratio(f.get("x_ce")), fmt_ratio(b.get("x_ce")), fmt_mib(f["peak_mib"]),
                fmt_mib(b.get("peak_mib")), both("min_ms", fmt_ms), both("repeats", str),
                both("faults_per_call", lambda v: f"{v:.0f}"),
                both("first_call_ms", fmt_ms), f"{_worst_load(res):.0%}",
                fmt_value(res["value"])])
    out.append(_table(hdr, body, align))
    out.append("")

    # ---- n/a, skipped, errors
    out.append("## Not run")
    out.append("")
    lines = []
    no_cuda = 0
    for wl in workloads:
        for row in rows:
            res = results.get((row.key, wl))
            if res is not None and _no_cuda(res):
                no_cuda += 1
            elif res is not None and not _ok(res):
                lines.append(f"- {wl} {row.label}: {res.get('status')} — {res.get('reason')}")
    if no_cuda:
        lines.append(f"- {no_cuda} GPU (row, workload) pairs: {registry.NO_CUDA}")
    out.extend(lines or ["- nothing"])
    out.append("")
    notes = sorted({f"- {r.label}: {r.note}" for r in rows if r.note})
    if notes:
        out.append("## Row notes")
        out.append("")
        out.extend(notes)
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- main


def write_chart(target_list: list[dict[str, Any]], path: Path, meta: dict[str, Any]) -> None:
    """The PNG chart next to the report; a missing matplotlib is reported, not fatal."""
    try:
        from .chart import render_chart
    except ImportError as exc:  # pragma: no cover - chart.py imports matplotlib lazily
        print(f"no chart: {exc}", file=sys.stderr)
        return
    try:
        render_chart(target_list, path, f"segloss_xp targets — {meta['started_utc']}, "
                                        f"{meta['machine']}")
    except ImportError as exc:
        print(f"no chart (pip install -e '.[bench]'): {exc}", file=sys.stderr)
        return
    print(f"wrote {path}", file=sys.stderr)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="segloss_xp vs MONAI / smp / kornia / optax: speed and peak memory.")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: W2D only (unless --workloads), few repeats, one pass")
    p.add_argument("--only", default=None,
                   help="regex matched against row keys and labels (torch.ce always runs)")
    p.add_argument("--workloads", default=None,
                   help=f"comma list of {','.join(WORKLOADS)} (default: all)")
    p.add_argument("--device", choices=("all", "cpu", "cuda"), default="all",
                   help="rows of this device (default all: GPU rows read 'n/a (no CUDA)' "
                        "without one); a cuda-only run writes <date>-gpu.md")
    p.add_argument("--tiny", action="store_true",
                   help="every workload on the smoke test's tiny shapes (checks that every "
                        "row runs; the numbers mean nothing)")
    p.add_argument("--targets", action="store_true",
                   help="only the rows the targets compare (compile rows included), and "
                        "torch cross entropy on their workloads")
    p.add_argument("--no-chart", action="store_true", help="write no PNG chart")
    p.add_argument("--out", default=None,
                   help="Markdown report path (default benchmarks/results/<date>.md; "
                        "a .json with every number is written next to it)")
    p.add_argument("--passes", type=int, default=None,
                   help="fresh-process passes per row; lower median kept (default 1)")
    p.add_argument("--rerun-load", type=float, default=0.10,
                   help="re-run once the rows whose timing saw more other load than this "
                        "(share of the machine; 1 disables)")
    p.add_argument("--slow", action="store_true",
                   help="also run the rows marked slow (Lovász on W3D: seconds per call)")
    p.add_argument("--compile", action="store_true",
                   help="also the CPU torch.compile rows of every loss (dice's run always; "
                        "each costs ~15-30 s of compilation on 2 cores)")
    p.add_argument("--malloc", choices=sorted(MALLOC_MODES), default="steady")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--budget", type=float, default=None, help="seconds of timed calls per mode")
    p.add_argument("--min-repeats", type=int, default=None)
    p.add_argument("--max-repeats", type=int, default=None)
    p.add_argument("--mem-calls", type=int, default=None)
    p.add_argument("--timeout", type=int, default=600, help="seconds per row process")
    p.add_argument("--quiet-wait", type=float, default=0.0,
                   help="before each row wait up to this many seconds for the machine's load "
                        "to fall below --max-load")
    p.add_argument("--max-load", type=float, default=0.3)
    p.add_argument("--shape", default=None,
                   help="override logits shapes, e.g. 'W2D=2,4,8,8;WBIN=2,1,8,8' (testing)")
    p.add_argument("--list", action="store_true", help="print the plan and exit")
    a = p.parse_args(argv)
    quick = a.quick
    defaults = ({"passes": 1, "budget": 0.1, "min_repeats": 3, "max_repeats": 5,
                 "mem_calls": 2} if quick else
                {"passes": 1, "budget": 0.6, "min_repeats": 5, "max_repeats": 25,
                 "mem_calls": 5})
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if (quick or a.tiny) and a.rerun_load == 0.10:
        a.rerun_load = 1.0
    wls = a.workloads or ("W2D" if quick else ",".join(WORKLOADS))
    a.workload_list = [w.strip().upper() for w in wls.split(",") if w.strip()]
    unknown = [w for w in a.workload_list if w not in WORKLOADS]
    if unknown:
        p.error(f"unknown workloads {unknown}; known: {list(WORKLOADS)}")
    a.shape_for = dict(registry.TINY_SHAPES) if a.tiny else {}
    if a.tiny and a.shape is None:
        a.shape = "tiny"
    if a.shape and not a.tiny:
        for part in a.shape.split(";"):
            w, _, dims = part.partition("=")
            a.shape_for[w.strip().upper()] = tuple(int(d) for d in dims.split(","))
    return a


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _interrupt)  # also when run in the background
    try:
        return _main(argv)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    args.interrupted = False
    rows = select_rows(args.only, args.compile or args.targets, args.device)
    todo = plan(rows, args.workload_list)
    if args.targets:
        todo = target_plan(todo, args.device)
    if args.list:
        for row, wl in todo:
            print(f"{wl:4s} {row.key:32s} {row.label}")
        return 0
    started = dt.datetime.now(dt.UTC)
    date = started.strftime("%Y-%m-%d")
    suffix = ("-gpu" if args.device == "cuda" else "") + (
        "-tiny" if args.tiny else "-quick" if args.quick else "")
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"{date}{suffix}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"{len(todo)} (row, workload) pairs; report -> {out}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    progress = Progress(title="bench")
    results = run_all(todo, args, progress)
    progress.close()
    wall = time.perf_counter() - t0
    ce_ratios(results, args.workload_list)
    pair_list = pairs(rows, results, args.workload_list)
    meta = {
        "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_line(),
        "versions": peers.peer_versions(),
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None
                                                          else argv),
        "wall_s": wall,
        "interrupted": args.interrupted,
        "args": {k: v for k, v in vars(args).items() if k not in ("shape_for",)},
        "other_load_max": max((_worst_load(r) for r in results.values() if _ok(r)),
                              default=None),
        "other_load_median": statistics.median(
            [_worst_load(r) for r in results.values() if _ok(r)] or [0.0]),
    }
    target_list = targets.evaluate(results)
    text = render(meta, rows, results, args.workload_list, pair_list, target_list)
    out.write_text(text + "\n")
    payload = {"meta": meta,
               "results": [results[(r.key, wl)] for r, wl in todo if (r.key, wl) in results],
               "pairs": pair_list, "targets": target_list}
    out.with_suffix(".json").write_text(json.dumps(payload, indent=1, default=str) + "\n")
    print(f"wrote {out} and {out.with_suffix('.json')} ({wall / 60:.1f} min)", file=sys.stderr)
    if not args.no_chart:
        write_chart(target_list, out.with_suffix(".png"), meta)
    print("refresh the README's speed table from the newest results: "
          "python -m benchmarks.readme --write", file=sys.stderr)
    bad = [r for r in results.values() if r.get("status") == "error"]
    for r in bad:
        print(f"ERROR {r['workload']} {r['key']}: {r.get('reason')}", file=sys.stderr)
    print(f"\n{summary(results, target_list, progress)}", file=sys.stderr)
    return 1 if bad else 0


def summary(results: dict[tuple[str, str], Any], target_list: list[dict[str, Any]],
            progress: Progress | None = None, count: int = 3) -> str:
    """One screen: rows measured / not, the targets met and missed with their ratios
    (the measured ones; n/a counted), and the slowest rows."""
    status: dict[str, int] = {}
    for res in results.values():
        key = "n/a (no CUDA)" if _no_cuda(res) else str(res.get("status"))
        status[key] = status.get(key, 0) + 1
    measured = [t for t in target_list if t["ratio"] is not None]
    met = sum(t["status"] == "met" for t in measured)
    lines = ["(row, workload) pairs: " + ", ".join(f"{v} {k}" for k, v in sorted(status.items())),
             f"targets: {met} met, {len(measured) - met} missed of {len(measured)} measured; "
             f"{len(target_list) - len(measured)} n/a"]
    if measured:
        lines.append(text_table(
            ["target (ours / peer ≤ bound)", "workload", "device", "measure", "ratio", "bound",
             "status"],
            [[t["name"], t["workload"], "GPU" if t["device"] == "cuda" else "CPU",
              {"fb": "f+b", "fwd": "fwd", "fb_mib": "f+b MiB"}[t["metric"]],
              fmt_ratio(t["ratio"]), f"{t['bound']:g}", t["status"]] for t in measured]))
    if progress is not None:
        lines += progress.slowest_lines(count, "rows")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
