"""The conformance report's picture and closing summary (``conformance/report.py``).

Drawn from a tiny synthetic report (the full report takes minutes): every kind of cell
(an error, an exact 0, ``FAIL``, ``skip``, ``n/s``, ``—``) is read as it should be, the
picture is written, the summary counts pass/fail/n/a/skip per backend, and the committed
report links the committed picture.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from conformance import report
from conformance.helpers import ROOT
from conformance.progress import Progress

SYNTHETIC = """# segloss_xp conformance report

## Tolerances

| check | bound |
|---|---|
| value, float64 inputs | abs(Δ) ≤ 1e-12 |

## Values: max abs error vs the float64 oracle (cases checked)

| loss | numpy | torch | dask | cupy | jax bf16 |
|---|---|---|---|---|---|
| dice_loss | 0 (26) | 1.1e-16 (26) | 2.2e-16 (26) | skip | 6.4e-08 (26) |
| lovasz_hinge_loss | 2.2e-16 (8) | FAIL | n/s | skip | — |

## Gradients and tracing

| loss | torch vs FD | finite | compile breaks |
|---|---|---|---|
| dice_loss | 1.0e-09 | yes | 0 |
| lovasz_hinge_loss | n/d | FAIL | FAIL (2 breaks, Δ 0) |

## Distances and metrics: max relative error vs the float64 oracle

| function | numpy | dask | jax jit |
|---|---|---|---|
| hausdorff_distance | 3.8e-08 (7) | n/s | 4.0e-07 (7) |

## Failures

- lovasz_hinge_loss / bin2d / torch / float64: AssertionError: ...
"""


def test_tables_and_cells_are_read() -> None:
    tables = report.markdown_tables(SYNTHETIC)
    header, rows = tables["## Values: max abs error vs the float64 oracle (cases checked)"]
    assert header == ["loss", "numpy", "torch", "dask", "cupy", "jax bf16"]
    assert [r[0] for r in rows] == ["dice_loss", "lovasz_hinge_loss"]
    cells = {"0 (26)": ("pass", 0.0), "1.1e-16 (26)": ("pass", 1.1e-16), "FAIL": ("fail", None),
             "FAIL (2 breaks, Δ 0)": ("fail", None), "skip": ("skip", None),
             "n/s": ("n/a", None), "n/d": ("n/a", None), "—": ("n/a", None),
             "yes": ("pass", None), "4.0e-07 (7)": ("pass", 4e-7)}
    for cell, (status, error) in cells.items():
        assert (report.cell_status(cell), report.cell_error(cell)) == (status, error), cell


def test_summary_counts_per_backend() -> None:
    now = [0.0]
    progress = Progress(2, stream=io.StringIO(), clock=lambda: now[0])
    for label, seconds in (("values: dice_loss / dask", 5.0), ("values: dice_loss / torch", 1.0)):
        with progress.step(label):
            now[0] += seconds
    lines = report.summary(SYNTHETIC, progress).splitlines()
    table = lines[:lines.index("3 failing cell(s) (listed under Failures in the report)")]
    assert table[0].split() == ["backend", "/", "check", "pass", "fail", "n/a", "skip"]
    counts = {line.rsplit(maxsplit=4)[0]: line.split()[-4:] for line in table[2:]}
    # pass fail n/a skip, over the three tables of losses and functions (not the tolerances)
    assert counts == {"numpy": ["3", "0", "0", "0"], "torch": ["1", "1", "0", "0"],
                      "dask": ["1", "0", "2", "0"], "cupy": ["0", "0", "0", "2"],
                      "jax bf16": ["1", "0", "1", "0"], "torch vs FD": ["1", "0", "1", "0"],
                      "finite": ["1", "1", "0", "0"], "compile breaks": ["1", "1", "0", "0"],
                      "jax jit": ["1", "0", "0", "0"]}
    assert lines[-3:] == ["slowest of 2 steps (6.0 s in all):",
                          "         5.0 s  values: dice_loss / dask",
                          "         1.0 s  values: dice_loss / torch"]


def test_picture_of_a_tiny_report(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = report.render_figure(SYNTHETIC, tmp_path / "conformance.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no value table"):
        report.render_figure("# empty report\n", tmp_path / "none.png")


def test_figure_only_redraws_from_a_report(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    (tmp_path / "r.md").write_text(SYNTHETIC)
    assert report.main(["--figure-only", "--out", str(tmp_path / "r.md")]) == 0
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"  # next to --out
    assert "3 failing cell(s)" in capsys.readouterr().err


def test_report_links_its_picture() -> None:
    text, _ = report.build_report(only="NOTHING_MATCHES", backends=["numpy"],
                                  progress=Progress(), figure_link="../docs/x.png")
    assert "[../docs/x.png](../docs/x.png)" in text
    committed = (ROOT / "conformance" / "REPORT.md").read_text()
    link = "(../docs/figures/conformance.png)"
    assert link in committed
    picture = ROOT / "docs" / "figures" / "conformance.png"
    assert picture.read_bytes()[:4] == b"\x89PNG" and picture.stat().st_size < 300_000
