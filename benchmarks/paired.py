"""Paired target ratios: ours and the peer timed alternately in one process.

``python -m benchmarks.paired`` measures every CPU time target of
:mod:`benchmarks.targets` a second way. ``./dev bench`` times each row in its own
process, minutes apart from the row it is compared with, and this shared machine's
load moves those medians by up to half between runs. Here both rows of a target run in
one fresh process on the same inputs, one call of each per round (in the order
ours, peer, peer, ours, ...: a slow drift cancels), and the ratio is the median over
the rounds of ``ours / peer`` from the same round, with its quartiles: what a burst of
load does to one round touches both sides of that round's ratio.

Memory targets keep ``./dev bench``'s per-process peak (two rows in one process
would share one heap). The method otherwise follows ``benchmarks/README.md``: glibc
malloc in steady mode, ``torch.set_num_threads`` and ``OMP_NUM_THREADS``, warm-up
until a call no longer page-faults.

Examples::

    python -m benchmarks.paired --out /tmp/paired.md            # every CPU time target
    python -m benchmarks.paired --only 'dice|tiny' --out /tmp/p.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import registry, targets
from .measure import _call_timed
from .run import ROOT, fmt_ms, fmt_ratio, machine_line, worker_env

__all__ = ["measure_target", "paired_targets", "time_pair"]

TIMED = ("fb", "fwd")  # the target metrics timed here (fb_mib is a peak)


def paired_targets(only: str | None = None) -> list[int]:
    """Indices into ``targets.TARGETS`` of the CPU time targets (matching ``only``)."""
    pattern = re.compile(only) if only else None
    return [i for i, t in enumerate(targets.TARGETS)
            if t.device == "cpu" and t.metric in TIMED
            and (pattern is None or pattern.search(f"{t.name} {t.ours} {t.peer} {t.workload}"))]


def _warm(call: Callable[[], Any], *, max_calls: int = 10, budget: float = 2.0) -> float:
    """Calls until one no longer page-faults (at least 3); the fastest warm time (s)."""
    start, times = time.perf_counter(), []
    while True:
        seconds, faults, out = _call_timed(call)
        del out
        times.append(seconds)
        done = len(times) >= 3 and faults <= 16
        if done or len(times) >= max_calls or time.perf_counter() - start > budget:
            return min(times[1:]) if len(times) > 1 else times[0]


def time_pair(ours: Callable[[], Any], peer: Callable[[], Any], *, budget: float,
              min_rounds: int, max_rounds: int) -> dict[str, Any]:
    """Alternate ``ours`` and ``peer`` (order ABBA...) for about ``budget`` seconds."""
    estimate = _warm(ours) + _warm(peer)
    rounds = int(min(max_rounds, max(min_rounds, budget / max(estimate, 1e-6))))
    times: dict[str, list[float]] = {"ours": [], "peer": []}
    for r in range(rounds):
        order = (("ours", ours), ("peer", peer))
        for side, call in order if r % 2 == 0 else order[::-1]:
            seconds, _, out = _call_timed(call)
            del out
            times[side].append(seconds * 1e3)
    ratios = sorted(a / b for a, b in zip(times["ours"], times["peer"], strict=True))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return {"ours_ms": statistics.median(times["ours"]),
            "peer_ms": statistics.median(times["peer"]),
            "ratio": statistics.median(ratios), "q1": quartiles[0], "q3": quartiles[2],
            "rounds": rounds, "times_ms": times}


def measure_target(index: int, *, budget: float, min_rounds: int, max_rounds: int,
                   threads: int, shape: tuple[int, ...] | None = None) -> dict[str, Any]:
    """One target's paired timing (in this process): both rows on the same inputs."""
    target = targets.TARGETS[index]
    rows = [registry.row_by_key(key) for key in (target.ours, target.peer)]
    if any(row.framework.startswith("torch") for row in rows):
        import torch

        torch.set_num_threads(threads)
    mode = targets.METRICS[target.metric][0]
    calls = []
    for row in rows:
        built = registry.make_callables(row, target.workload, shape)
        if mode not in built.modes:
            raise registry.NotApplicable(f"n/a ({row.key} has no {mode} mode)")
        calls.append(built.modes[mode])
    return time_pair(*calls, budget=budget, min_rounds=min_rounds, max_rounds=max_rounds)


def _run_child(index: int, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out_path = fh.name
    cmd = [sys.executable, "-m", "benchmarks.paired", "--child", str(index),
           "--budget", str(args.budget), "--min-rounds", str(args.min_rounds),
           "--max-rounds", str(args.max_rounds), "--threads", str(args.threads),
           "--json-out", out_path]
    if args.shape:
        cmd += ["--shape", args.shape]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=args.timeout)
        with open(out_path) as fh:
            res: dict[str, Any] = json.load(fh)
        if proc.returncode != 0:
            res.setdefault("stderr", proc.stderr[-2000:])
    except subprocess.TimeoutExpired:
        res = {"status": "error", "reason": f"timed out after {args.timeout} s"}
    except (OSError, ValueError) as exc:
        res = {"status": "error", "reason": f"worker failed: {exc}"}
    finally:
        os.unlink(out_path)
    return res


def render(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The Markdown report: one line per target."""
    met = sum(r.get("status") == "met" for r in results)
    measured = sum(r.get("status") in ("met", "missed") for r in results)
    lines = [f"# segloss_xp paired target ratios — {meta['date']}", "",
             f"Command: `{meta['command']}`. {meta['machine']}", "",
             "Both rows of a target in one fresh process, one call of each per round "
             "(ours, peer, peer, ours, ...); ratio = median over rounds of ours / peer from "
             "the same round, with its quartiles (see `benchmarks/paired.py`).", "",
             f"{met} of {measured} measured targets met.", "",
             "| target | workload | ours | peer | ours ms | peer ms | ratio | quartiles "
             "| rounds | bound | status |", "|---" * 11 + "|"]
    for r in results:
        t = targets.TARGETS[r["index"]]
        if r.get("status") not in ("met", "missed"):
            cells = ["n/a"] * 5 + [f"{t.bound:g}", r.get("reason", r.get("status", "?"))]
        else:
            cells = [fmt_ms(r["ours_ms"]), fmt_ms(r["peer_ms"]), fmt_ratio(r["ratio"]),
                     f"{r['q1']:.2f}–{r['q3']:.2f}", str(r["rounds"]), f"{t.bound:g}",
                     r["status"]]
        lines.append(f"| {t.name} | {t.workload} | `{t.ours}` | `{t.peer}` | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", default=None, help="regex over target name, rows and workload")
    p.add_argument("--out", default=None, help="report path (.md; the .json beside it)")
    p.add_argument("--budget", type=float, default=3.0, help="seconds of rounds per target")
    p.add_argument("--min-rounds", type=int, default=7)
    p.add_argument("--max-rounds", type=int, default=61)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per target")
    p.add_argument("--shape", default=None, help="override every workload's shape (tests)")
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--json-out", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _child(args: argparse.Namespace) -> int:
    assert args.child is not None and args.json_out is not None
    shape = tuple(int(s) for s in args.shape.split(",")) if args.shape else None
    try:
        res = measure_target(args.child, budget=args.budget, min_rounds=args.min_rounds,
                             max_rounds=args.max_rounds, threads=args.threads, shape=shape)
        res["status"] = "ok"
    except registry.NotApplicable as exc:
        res = {"status": "n/a", "reason": str(exc)}
    except Exception as exc:  # reported as an error line, the run goes on
        res = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"[:500],
               "traceback": traceback.format_exc()[-4000:]}
    with open(args.json_out, "w") as fh:
        json.dump(res, fh)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child is not None:
        return _child(args)
    env = worker_env("steady", args.threads)
    env.setdefault("JAX_PLATFORMS", "cpu")
    results = []
    chosen = paired_targets(args.only)
    for n, index in enumerate(chosen, 1):
        t = targets.TARGETS[index]
        res = _run_child(index, args, env)
        res["index"] = index
        if res.get("status") == "ok":
            res["status"] = "met" if res["ratio"] <= t.bound else "missed"
            line = (f"{fmt_ratio(res['ratio'])} [{res['q1']:.2f}–{res['q3']:.2f}], "
                    f"{res['rounds']} rounds: {res['status']}")
        else:
            line = res.get("reason", res.get("status", "?"))
        print(f"[{n}/{len(chosen)}] {t.name} {t.workload}: {line}", file=sys.stderr)
        results.append(res)
    meta = {"kind": "paired", "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python -m benchmarks.paired " + " ".join(sys.argv[1:] if argv is None
                                                                  else argv),
            "machine": f"Machine: {machine_line()}, torch.set_num_threads({args.threads})."}
    report = render(results, meta)
    print(report)
    if args.out:
        out = Path(args.out)
        out.write_text(report)
        out.with_suffix(".json").write_text(json.dumps(
            {"meta": meta, "results": [{k: v for k, v in r.items() if k != "times_ms"}
                                       | {"target": targets.TARGETS[r["index"]].name,
                                          "workload": targets.TARGETS[r["index"]].workload}
                                       for r in results]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
