"""Smoke test of the benchmark harness: every registry row runs once on tiny shapes.

No timing assertions (speed is measured by ``python -m benchmarks.run``, never
in unit tests); this only proves that every row builds, executes forward and
forward+backward, and gives a finite loss and gradient, and that the runner
writes its report. Rows whose library is missing or that do not apply to a
workload skip with the reason the report would print.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
from benchmarks import registry, run

# Every row on W2D and WBIN (multiclass and binary code paths); W3D (3-D inputs) for the
# eager torch rows, which cost nothing to run (jax rows would only add jit compiles).
CASES = [(row.key, wl) for row in registry.ROWS if not row.optional for wl in row.workloads
         if wl != "W3D" or row.framework == "torch"]


@pytest.mark.parametrize(("key", "workload"), CASES, ids=[f"{k}-{w}" for k, w in CASES])
def test_row_executes(key: str, workload: str) -> None:
    row = registry.row_by_key(key)
    if row.framework == "jax":
        pytest.importorskip("jax")
    try:
        calls = registry.make_callables(row, workload, registry.TINY_SHAPES[workload])
    except registry.NotApplicable as exc:
        assert str(exc).startswith("n/a"), str(exc)
        pytest.skip(str(exc))
    out = calls.fb()
    assert calls.finite(out), (key, workload)
    if row.framework != "jax":  # jax: fwd is a second jit compile of the same loss
        value = calls.value(calls.fwd())
        assert math.isfinite(value), (key, workload, value)
        # the value under autograd is the value without it
        assert math.isclose(calls.value(out[0]), value, rel_tol=1e-4, abs_tol=1e-6)


def test_registry_is_consistent() -> None:
    keys = [row.key for row in registry.ROWS]
    assert len(keys) == len(set(keys))
    assert {row.family for row in registry.ROWS} <= set(registry.FAMILIES)
    for row in registry.ROWS:
        assert set(row.workloads) <= set(registry.WORKLOADS)
        assert row.origin in ("ours", "peer", "ref", "floor")
    # every family of ours has at least one peer or reference row to compare with
    for fam in registry.FAMILIES[1:]:
        assert any(r.family == fam and r.origin in ("peer", "ref") for r in registry.ROWS), fam


def test_runner_end_to_end(tmp_path: Path) -> None:
    """One cheap row through the subprocess worker and the report writer."""
    out = tmp_path / "bench.md"
    rc = run.main(["--quick", "--only", r"^torch\.ce$", "--workloads", "W2D",
                   "--shape", "W2D=2,4,8,8", "--out", str(out), "--budget", "0",
                   "--min-repeats", "2", "--max-repeats", "2", "--mem-calls", "1"])
    assert rc == 0
    text = out.read_text()
    assert "## Summary" in text and "torch F.cross_entropy" in text
    payload = json.loads(out.with_suffix(".json").read_text())
    (res,) = payload["results"]
    assert (res["key"], res["workload"], res["status"]) == ("torch.ce", "W2D", "ok"), res
    assert math.isfinite(res["value"]) and res["finite"]
    assert res["fwd"]["repeats"] == 2 and res["fb"]["peak_mib"] is not None


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
