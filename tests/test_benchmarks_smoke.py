"""Smoke test of the benchmark harness: every registry row runs once on tiny shapes.

No timing assertions (speed is measured by ``python -m benchmarks.run``, never
in unit tests); this only proves that every row builds, executes forward and
forward+backward, and gives a finite loss and gradient, that the runner writes
its report, targets and chart, that every target names rows that exist, and
that README's speed table is the rendering of the newest results file. Rows
whose library is missing, that do not apply to a workload, or that need a GPU
on a machine without one skip with the reason the report would print.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
from benchmarks import readme, registry, run, targets


def _cases() -> list[tuple[str, str]]:
    """Every row at least once. Eager torch, NumPy and GPU rows (n/a without CUDA) on every
    workload; jax and torch.compile rows on their first workload (each further one is one
    more compile of the same code; the compile rows are built, and run for dice)."""
    out = []
    for row in registry.ROWS:
        wls = list(row.workloads)
        if row.framework in ("jax", "torch-compile") and row.device == "cpu":
            wls = wls[:1]
        out += [(row.key, wl) for wl in wls]
    return out


CASES = _cases()


@pytest.mark.parametrize(("key", "workload"), CASES, ids=[f"{k}-{w}" for k, w in CASES])
def test_row_executes(key: str, workload: str) -> None:
    row = registry.row_by_key(key)
    if row.framework == "jax":
        pytest.importorskip("jax")
    try:
        # compile rows: the same tracing without code generation (inductor takes ~15 s)
        calls = registry.make_callables(row, workload, registry.TINY_SHAPES[workload],
                                        compile_backend="eager")
    except registry.NotApplicable as exc:
        assert str(exc).startswith("n/a"), str(exc)
        pytest.skip(str(exc))
    if row.framework == "torch-compile" and row.family != "dice":
        # built (the wrapper is dice's); tracing every loss costs ~2 s each, and
        # tests/test_silent_wrong.py compiles every loss with fullgraph already
        return
    if calls.fb is None:
        value = calls.value(calls.fwd())
        assert math.isfinite(value), (key, workload, value)
        return
    out = calls.fb()
    assert calls.finite(out), (key, workload)
    if row.framework != "jax":  # jax: fwd is a second jit compile of the same loss
        value = calls.value(calls.fwd())
        assert math.isfinite(value), (key, workload, value)
        # the value under autograd is the value without it
        assert math.isclose(calls.value(out[0]), value, rel_tol=1e-4, abs_tol=1e-6)
    if row.framework == "torch-compile":
        assert {"graph_breaks", "compile_warnings"} <= set(calls.extra), calls.extra


def test_gpu_rows_without_cuda_read_no_cuda() -> None:
    if registry.cuda_present():
        pytest.skip("CUDA present: the GPU rows run (test_row_executes)")
    gpu = [r for r in registry.ROWS if r.device == "cuda" and r.framework != "jax"]
    assert gpu and all(r.key.endswith("@cuda") or r.framework == "cupy" for r in gpu)
    for row in gpu:
        with pytest.raises(registry.NotApplicable, match=r"^n/a \(no CUDA\)$"):
            registry.make_callables(row, row.workloads[0], registry.TINY_SHAPES[
                row.workloads[0]])


def test_registry_is_consistent() -> None:
    keys = [row.key for row in registry.ROWS]
    assert len(keys) == len(set(keys))
    assert {row.family for row in registry.ROWS} <= set(registry.FAMILIES)
    for row in registry.ROWS:
        assert set(row.workloads) <= set(registry.WORKLOADS)
        assert row.origin in ("ours", "peer", "ref", "floor")
    # every family of ours is compared with a peer, a reference, or (targets) another row
    compared = {registry.row_by_key(t.ours).family for t in targets.TARGETS}
    for fam in registry.FAMILIES[1:]:
        assert fam in compared or any(r.family == fam and r.origin in ("peer", "ref")
                                      for r in registry.ROWS), fam
    # every torch / jax row has its GPU twin
    for row in registry.ROWS:
        if row.device == "cpu" and row.framework in ("torch", "torch-compile", "jax") \
                and not row.key.endswith(("-novalidate", "-plain")):
            assert registry.row_by_key(f"{row.key}@cuda").device == "cuda"


def test_targets_name_existing_rows() -> None:
    """Each target compares two rows that exist and run on its workload, on one device."""
    assert len({(t.name, t.ours, t.peer, t.workload, t.metric) for t in targets.TARGETS}) \
        == len(targets.TARGETS)
    for t in targets.TARGETS:
        ours, peer = registry.row_by_key(t.ours), registry.row_by_key(t.peer)
        assert t.workload in ours.workloads and t.workload in peer.workloads, t
        assert ours.device == peer.device == t.device, t
        assert t.metric in targets.METRICS and t.bound > 0, t
        if targets.METRICS[t.metric][0] == "fb":
            assert ours.grad and peer.grad, t
    names = {t.name for t in targets.TARGETS}
    for expected in ("dice ≤ 0.8× MONAI", "tiny dice ≤ 1.0× MONAI",
                     "dice peak memory ≤ 0.75× MONAI", "lovasz ≤ 0.5× smp (time)",
                     "JAX jit dice ≤ 1.0× optax", "CuPy forward ≤ 1.2× our torch CUDA forward",
                     "EDT torch ≤ 3× SciPy", "HD95 ≤ 1.0× MONAI",
                     "boundary_loss ≤ 1.0× dice_loss"):
        assert expected in names, expected


def test_targets_evaluate() -> None:
    """ratio = ours / peer; met at the bound; n/a names the row and why."""
    t_ok = targets.Target("a", "ours.dice.torch", "monai.dice", "W2D", "fb", 0.8, 8)
    t_mem = targets.Target("b", "ours.dice.torch", "monai.dice", "W2D", "fb_mib", 0.75, 8)
    t_na = targets.Target("c", "ours.edt.torch", "scipy.edt", "EDT3D", "fwd", 3.0, 9)
    results = {("ours.dice.torch", "W2D"): {"status": "ok", "fwd": {"median_ms": 1.0},
                                            "fb": {"median_ms": 4.0, "peak_mib": 30.0}},
               ("monai.dice", "W2D"): {"status": "ok", "fwd": {"median_ms": 1.0},
                                       "fb": {"median_ms": 5.0, "peak_mib": 32.0}},
               ("ours.edt.torch", "EDT3D"): {"status": "n/a", "reason": "n/a (not implemented)"}}
    a, b, c = targets.evaluate(results, (t_ok, t_mem, t_na))
    assert (a["ratio"], a["status"], a["unit"]) == (0.8, "met", "ms")
    assert (b["ratio"], b["status"], b["unit"]) == (30 / 32, "missed", "MiB")
    assert c["status"] == "n/a" and c["ratio"] is None
    assert "ours.edt.torch: n/a (not implemented)" in c["reason"]
    assert "scipy.edt: not measured in this run" in c["reason"]


def test_chart_renders(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the chart needs matplotlib (the bench extra)")
    from benchmarks.chart import render_chart

    t = targets.TARGETS[:3]
    results = {(x.ours, x.workload): {"status": "ok", "fb": {"median_ms": 2.0, "peak_mib": 1.0}}
               for x in t} | {(x.peer, x.workload): {"status": "ok", "fb": {
                   "median_ms": 3.0, "peak_mib": 1.0}} for x in t}
    path = render_chart(targets.evaluate(results, t), tmp_path / "c.png", "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_readme_speed_table_is_rendered_from_the_newest_results() -> None:
    """The README's block names the newest results files and equals their rendering."""
    named, current = readme.readme_files(readme.README.read_text())
    assert named == readme.newest_results(), (
        "README's speed table names other files than the newest results: run "
        "python -m benchmarks.readme --write")
    assert current == readme.block(named), "stale: run python -m benchmarks.readme --write"


def test_runner_end_to_end(tmp_path: Path) -> None:
    """Two cheap rows (a loss, a distance without gradient) through the subprocess worker,
    the report, the targets and the chart."""
    out = tmp_path / "bench.md"
    rc = run.main(["--tiny", "--only", r"^(torch\.ce|scipy\.edt)$", "--workloads", "W2D,EDT3D",
                   "--device", "cpu", "--out", str(out), "--budget", "0",
                   "--min-repeats", "2", "--max-repeats", "2", "--mem-calls", "1"])
    assert rc == 0
    text = out.read_text()
    assert "## Summary" in text and "torch F.cross_entropy" in text and "## Targets" in text
    payload = json.loads(out.with_suffix(".json").read_text())
    ce, edt = payload["results"]
    assert (ce["key"], ce["workload"], ce["status"]) == ("torch.ce", "W2D", "ok"), ce
    assert math.isfinite(ce["value"]) and ce["finite"]
    assert ce["fwd"]["repeats"] == 2 and ce["fb"]["peak_mib"] is not None
    assert (edt["key"], edt["status"]) == ("scipy.edt", "ok") and "fb" not in edt, edt
    assert len(payload["targets"]) == len(targets.TARGETS)
    assert {t["status"] for t in payload["targets"]} == {"n/a"}  # no row of ours ran
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_report_pairs_and_findings() -> None:
    """Ratios are ours / peer, same framework only, and slower pairs are flagged."""
    rows = [registry.row_by_key(k) for k in
            ("torch.ce", "monai.dice", "optax.ce", "ours.dice.torch", "ours.dice.jax",
             "ours.cross_entropy.jax")]

    def ok(fwd: float, fb: float, mib: float) -> dict:
        return {"status": "ok", "value": 0.5,
                "fwd": {"median_ms": fwd, "peak_mib": 0.0},
                "fb": {"median_ms": fb, "peak_mib": mib}}

    results = {("torch.ce", "W2D"): ok(1, 2, 8), ("monai.dice", "W2D"): ok(2, 4, 24),
               ("optax.ce", "W2D"): ok(1, 1, 8), ("ours.dice.torch", "W2D"): ok(3, 2, 40),
               ("ours.dice.jax", "W2D"): ok(1, 1, 8),
               ("ours.cross_entropy.jax", "W2D"): ok(2, 2, 8)}
    pl = run.pairs(rows, results, ["W2D"])
    got = {(p["ours"], p["peer"]): p for p in pl}
    assert set(got) == {("ours.dice.torch", "monai.dice"),
                        ("ours.cross_entropy.jax", "optax.ce")}
    p = got[("ours.dice.torch", "monai.dice")]
    assert p["ratio_fwd"] == 1.5 and p["ratio_fb"] == 0.5 and p["ratio_fb_mib"] == 40 / 24
    flagged = run.findings(pl)
    assert len(flagged) == 2
    (dice,) = [line for line in flagged if "dice_loss" in line]
    assert "fwd ×1.50" in dice and "40 vs 24 MiB" in dice and "f+b ×" not in dice


def test_module_entry_point_help() -> None:
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--help"],
                          capture_output=True, text=True, cwd=run.ROOT, timeout=60)
    assert proc.returncode == 0 and "--quick" in proc.stdout


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_target_plan_runs_what_the_targets_compare(device: str) -> None:
    """``--targets``: every (row, workload) a target of the device names, the reference
    row on those workloads, nothing else; the compiled rows last."""
    args = run.parse_args(["--targets", "--device", device])
    todo = run.target_plan(run.plan(run.select_rows(None, True, device), args.workload_list),
                           device)
    chosen = {(row.key, wl) for row, wl in todo}
    named = {(key, t.workload) for t in targets.TARGETS if t.device == device
             for key in (t.ours, t.peer)}
    assert named <= chosen
    assert chosen - named <= {("torch.ce" + ("@cuda" if device == "cuda" else ""), wl)
                              for _, wl in named}
    compiled = [row.framework == "torch-compile" for row, _ in todo]
    assert compiled == sorted(compiled)
    assert any(compiled) == (device == "cuda")


def test_interrupt_in_a_first_attempt_reports_the_row_as_not_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGINT/SIGTERM while a row's first process runs: the rows measured so far are
    reported, the interrupted one as 'not run', no crash."""
    calls = []

    def fake_run_one(row: registry.Row, wl: str, *args: object, **kwargs: object) -> dict:
        calls.append(row.key)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return {"key": row.key, "workload": wl, "status": "n/a", "reason": "n/a (measured)"}

    monkeypatch.setattr(run, "run_one", fake_run_one)
    args = run.parse_args(["--device", "cpu", "--workloads", "W2D", "--rerun-load", "1"])
    args.interrupted = False
    todo = run.plan(run.select_rows(r"^(torch\.ce|monai\.dice|optax\.ce)$", False, "cpu"),
                    ["W2D"])
    results = run.run_all(todo, args)
    assert args.interrupted and len(calls) == 2
    assert sorted(res["reason"] for res in results.values()) == [
        "n/a (measured)", "not run (run interrupted)", "not run (run interrupted)"]


def test_gpu_session_script_is_valid_bash_and_its_bench_flags_parse() -> None:
    """benchmarks/gpu_session.sh is only run on a lent GPU machine: check here what can
    be checked without one (its syntax, and that the bench accepts its flags)."""
    script = Path(run.ROOT) / "benchmarks" / "gpu_session.sh"
    line = re.search(r"benchmarks\.run (--device cuda --targets)", script.read_text())
    assert line is not None
    args = run.parse_args([*line.group(1).split(), "--out", "x-gpu.md"])
    assert args.device == "cuda" and args.targets
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed: the script's syntax is not checked")
    subprocess.run([bash, "-n", str(script)], check=True)


# ----------------------------------------------------------------------------- paired ratios


def test_time_pair_alternates_and_takes_the_median_ratio_of_each_round() -> None:
    from benchmarks import paired

    calls: list[str] = []

    def side(name: str, seconds: float) -> Any:
        def call() -> None:
            calls.append(name)
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                pass
        return call

    res = paired.time_pair(side("ours", 0.004), side("peer", 0.002), budget=0.0,
                           min_rounds=4, max_rounds=4)
    timed = calls[-8:]  # after the warm-up calls
    assert timed == ["ours", "peer", "peer", "ours"] * 2
    assert res["rounds"] == 4 and len(res["times_ms"]["ours"]) == 4
    assert 1.5 < res["ratio"] < 2.5 and res["q1"] <= res["ratio"] <= res["q3"]


def test_paired_targets_are_the_cpu_time_targets() -> None:
    from benchmarks import paired

    chosen = [targets.TARGETS[i] for i in paired.paired_targets()]
    assert chosen and all(t.device == "cpu" and t.metric in ("fb", "fwd") for t in chosen)
    left_out = [t for t in targets.TARGETS if t not in chosen and t.device == "cpu"]
    assert left_out and all(t.metric == "fb_mib" for t in left_out)  # peaks: ./dev bench
    assert [targets.TARGETS[i].workload for i in paired.paired_targets("tiny")] == ["TINY"]


def test_paired_end_to_end(tmp_path: Path) -> None:
    """One target through the subprocess worker into the report and its JSON."""
    from benchmarks import paired

    out = tmp_path / "paired.md"
    rc = paired.main(["--only", "tiny", "--shape", "1,2,8,8", "--budget", "0",
                      "--min-rounds", "3", "--max-rounds", "3", "--out", str(out)])
    assert rc == 0
    (line,) = [ln for ln in out.read_text().splitlines() if ln.startswith("| tiny dice")]
    assert line.rstrip(" |").endswith(("met", "missed")), line
    payload = json.loads(out.with_suffix(".json").read_text())
    (result,) = payload["results"]
    assert result["rounds"] == 3 and result["workload"] == "TINY", result
    assert result["ours_ms"] > 0 and result["peer_ms"] > 0
    # a paired reading never becomes the README's speed table
    assert payload["meta"]["kind"] == "paired" and not readme._usable(out.with_suffix(".json"))


def test_merged_attempts_keep_the_lower_time_and_the_lower_peak_independently() -> None:
    def attempt(ms: float, mib: float) -> dict[str, Any]:
        mode = {"median_ms": ms, "peak_mib": mib, "peak_mib_max": mib + 1}
        return {"status": "ok", "value": 1.0, "finite": True, "fwd": dict(mode), "fb": mode}
    merged = run.merge_attempts([attempt(1.0, 12.0), attempt(2.0, 8.0)])
    assert merged["fb"]["median_ms"] == 1.0 and merged["fb"]["peak_mib"] == 8.0
    assert merged["fb"]["peak_mib_max"] == 13.0 and merged["fb"]["medians_ms"] == [1.0, 2.0]
