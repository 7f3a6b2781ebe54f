"""Measure one row on one workload, in a fresh process: ``python -m benchmarks.measure``.

:mod:`benchmarks.run` starts one of these per (row, workload) so that every
measurement starts from a fresh heap. The glibc malloc mode comes from the
environment the parent sets (``steady``: ``MALLOC_MMAP_MAX_=0``,
``MALLOC_TRIM_THRESHOLD_=64GiB``, so freed memory is kept and warm calls do
not page-fault).

Per mode (``fwd``, then ``fb``):

1. warm up: at least 2 calls (the first one compiles under jax.jit /
   torch.compile; its time is reported separately), more while a call still
   page-faults (at most 10 calls / ~2 s);
2. time ``n`` calls, ``n`` = budget / (cost of a warm call) clipped to
   ``[min_repeats, max_repeats]``; report the median (and min), the minor page
   faults per call, and the share of the machine's CPU used by *other*
   processes during the timing (``/proc/stat`` busy time minus ours).

Then peak memory, after both modes are timed: glibc is switched to a fixed low
mmap threshold (big blocks are mmapped and returned on free) and a low trim
threshold, and before each call the heap is trimmed (``malloc_trim(0)``: free
heap pages go back to the kernel, so reusing them counts), the kernel RSS
high-water mark is reset (``/proc/self/clear_refs`` = 5) and
``peak = VmHWM − VmRSS before the call``;
the median of ``mem_calls`` calls (3 when a call takes over 1 s) is reported,
the max too. ``fb`` holds the logits gradient when the peak is read, so it is
included. On CUDA (torch rows) the peak is the caching allocator's
``max_memory_allocated`` minus what was allocated before the call; JAX on a GPU
and CuPy report none (``memory`` in the JSON says so).

Rows without a gradient (distance transforms, metrics, CuPy) have the ``fwd``
mode alone. torch.compile rows record the graph breaks and warnings of their
first (compiling) call.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import math
import os
import resource
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
MIB = 1024 * 1024

__all__ = ["measure_row"]


# --------------------------------------------------------------------------- /proc helpers


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, all CPUs."""
    with open("/proc/stat") as fh:
        vals = [int(v) for v in fh.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    total = sum(vals[:8])  # user nice system idle iowait irq softirq steal (guest in user)
    return total - idle, total


def _self_ticks() -> int:
    with open("/proc/self/stat") as fh:
        parts = fh.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])  # utime + stime, all threads


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


# --------------------------------------------------------------------------- timing


def _call_timed(call: Callable[[], Any]) -> tuple[float, int, Any]:
    f0 = _faults()
    t0 = time.perf_counter()
    out = call()
    dt = time.perf_counter() - t0
    return dt, _faults() - f0, out


def time_mode(call: Callable[[], Any], *, budget: float, min_repeats: int, max_repeats: int,
              max_warm: int = 10, warm_budget: float = 2.0) -> dict[str, Any]:
    first, first_faults, out = _call_timed(call)
    del out
    warm = [first]
    t_start = time.perf_counter()
    faults = first_faults
    while True:
        dt, faults, out = _call_timed(call)
        del out
        warm.append(dt)
        if len(warm) >= max_warm or time.perf_counter() - t_start > warm_budget:
            break
        if len(warm) >= 3 and faults <= 16:
            break
    est = min(warm[1:])
    n = int(min(max_repeats, max(min_repeats, math.ceil(budget / max(est, 1e-6)))))
    times: list[float] = []
    busy0, total0 = _cpu_ticks()
    self0 = _self_ticks()
    f0 = _faults()
    for _ in range(n):
        t0 = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - t0)
        del out
    faults_per_call = (_faults() - f0) / n
    busy1, total1 = _cpu_ticks()
    self1 = _self_ticks()
    dtotal = max(total1 - total0, 1)
    other = max(0.0, (busy1 - busy0) - (self1 - self0)) / dtotal
    return {
        "median_ms": statistics.median(times) * 1e3,
        "min_ms": min(times) * 1e3,
        "times_ms": [round(t * 1e3, 4) for t in times],
        "repeats": n,
        "first_call_ms": first * 1e3,
        "warm_calls": len(warm),
        "faults_per_call": faults_per_call,
        "other_load": other,
    }


def peak_memory(call: Callable[[], Any], *, calls: int) -> dict[str, Any]:
    """Median and max of ``VmHWM − VmRSS(before)`` over ``calls`` calls, MiB."""
    libc = _libc()
    out = call()  # one settling call in the low-threshold malloc mode
    del out
    peaks = []
    for _ in range(calls):
        gc.collect()
        if libc is not None:
            libc.malloc_trim(0)  # free heap pages back to the kernel: reuse must fault them in
        if not _reset_hwm():
            return {"peak_mib": None, "peak_mib_max": None, "peaks_mib": [],
                    "error": "/proc/self/clear_refs not writable"}
        rss0 = _status_kib("VmRSS")
        out = call()
        hwm = _status_kib("VmHWM")
        del out
        peaks.append(max(0, hwm - rss0) / 1024)
    return {"peak_mib": statistics.median(peaks), "peak_mib_max": max(peaks),
            "peaks_mib": [round(p, 2) for p in peaks]}


def _low_mmap_threshold() -> None:
    """Big blocks go to mmap and back to the kernel on free (fixed threshold)."""
    libc = _libc()
    if libc is None:
        return
    libc.mallopt(M_MMAP_MAX, 1 << 20)
    libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    libc.mallopt(M_TRIM_THRESHOLD, 128 * 1024)
    gc.collect()
    libc.malloc_trim(0)


# --------------------------------------------------------------------------- one row


def cuda_peak_memory(call: Callable[[], Any], *, calls: int) -> dict[str, Any]:
    """Median and max of the CUDA allocator's peak minus what was allocated before, MiB."""
    import torch

    out = call()
    del out
    peaks = []
    for _ in range(calls):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        out = call()
        peaks.append((torch.cuda.max_memory_allocated() - before) / MIB)
        del out
    return {"peak_mib": statistics.median(peaks), "peak_mib_max": max(peaks),
            "peaks_mib": [round(p, 2) for p in peaks]}


def measure_row(key: str, workload: str, *, shape: tuple[int, ...] | None = None,
                budget: float = 0.6, min_repeats: int = 5, max_repeats: int = 25,
                mem_calls: int = 5, threads: int = 2) -> dict[str, Any]:
    from . import registry

    row = registry.row_by_key(key)
    res: dict[str, Any] = {"key": key, "workload": workload, "pid": os.getpid(),
                           "device": row.device}
    if row.framework.startswith("torch"):
        import torch

        torch.set_num_threads(threads)
    try:
        calls = registry.make_callables(row, workload, shape)
    except registry.NotApplicable as exc:
        res.update(status="n/a", reason=str(exc))
        return res
    res["input_mib"] = calls.input_bytes / MIB
    t_setup = time.perf_counter()
    modes = calls.modes
    for mode, call in modes.items():
        res[mode] = time_mode(call, budget=budget, min_repeats=min_repeats,
                              max_repeats=max_repeats)
    res["value"] = calls.value(calls.fwd())
    if calls.fb is not None:
        fb_out = calls.fb()
        res["fb_value"] = calls.value(fb_out[0])
        res["finite"] = calls.finite(fb_out) and math.isfinite(res["value"])
        del fb_out
    else:
        res["finite"] = math.isfinite(res["value"])
    if calls.memory == "rss":
        _low_mmap_threshold()
    for mode, call in modes.items():
        n = 3 if res[mode]["median_ms"] > 1000 else mem_calls
        if calls.memory == "rss":
            res[mode].update(peak_memory(call, calls=n))
        elif calls.memory == "cuda":
            res[mode].update(cuda_peak_memory(call, calls=n))
        else:
            res[mode].update(peak_mib=None, peak_mib_max=None, peaks_mib=[])
    res.update(calls.extra)
    res["status"] = "ok"
    res["seconds"] = time.perf_counter() - t_setup
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--row", required=True)
    p.add_argument("--workload", required=True)
    p.add_argument("--shape", default=None, help="override the logits shape, e.g. 2,4,8,8")
    p.add_argument("--budget", type=float, default=0.6, help="seconds of timed calls per mode")
    p.add_argument("--min-repeats", type=int, default=5)
    p.add_argument("--max-repeats", type=int, default=25)
    p.add_argument("--mem-calls", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json-out", required=True)
    a = p.parse_args(argv)
    shape = tuple(int(s) for s in a.shape.split(",")) if a.shape else None
    try:
        res = measure_row(a.row, a.workload, shape=shape, budget=a.budget,
                          min_repeats=a.min_repeats, max_repeats=a.max_repeats,
                          mem_calls=a.mem_calls, threads=a.threads)
    except Exception as exc:  # reported as an error row, the run goes on
        res = {"key": a.row, "workload": a.workload, "status": "error",
               "reason": f"{type(exc).__name__}: {exc}".strip()[:500],
               "traceback": traceback.format_exc()[-4000:]}
    with open(a.json_out, "w") as fh:
        json.dump(res, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
