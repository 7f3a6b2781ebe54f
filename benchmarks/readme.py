"""The README's speed table, rendered from the newest results files.

``python -m benchmarks.readme`` prints the block, ``--write`` puts it into
README.md between the markers ``<!-- speed-table: FILES -->`` and
``<!-- /speed-table -->``, ``--check`` exits 1 when README.md differs. FILES
are the newest CPU results file and, when one exists, the newest GPU results
file (``*-gpu.json``) in ``benchmarks/results/``; quick runs, runs on
overridden shapes and paired readings (``benchmarks.paired``) are never used.
``tests/test_benchmarks_smoke.py`` checks that the block names those files and equals
their rendering.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .run import fmt_mib, fmt_ms, fmt_ratio
from .targets import evaluate

__all__ = ["block", "load", "newest_results", "readme_files", "speed_table", "write_readme"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
BEGIN = re.compile(r"<!-- speed-table: (?P<files>[^>]*?) -->\n")
END = "<!-- /speed-table -->"


def load(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(meta, targets)`` of a results JSON; older files without targets are evaluated now."""
    payload = json.loads(path.read_text())
    targets = payload.get("targets")
    if targets is None:
        results = {(r["key"], r["workload"]): r for r in payload["results"]}
        targets = evaluate(results)
    return payload["meta"], targets


def _usable(path: Path) -> bool:
    meta = json.loads(path.read_text())["meta"]
    args = meta.get("args", {})
    return (meta.get("kind") != "paired"  # benchmarks.paired: a second reading, not a run
            and not args.get("quick") and not args.get("shape") and not meta.get("interrupted"))


def newest_results(directory: Path = RESULTS) -> list[Path]:
    """The newest usable CPU results file, then the newest GPU one (``*-gpu.json``) if any."""
    out = []
    for gpu in (False, True):
        files = [p for p in directory.glob("*.json")
                 if p.stem.endswith("-gpu") == gpu and _usable(p)]
        if files:
            out.append(max(files, key=lambda p: (
                json.loads(p.read_text())["meta"]["started_utc"], p.name)))
    return out


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{fmt_mib(value)} MiB" if unit == "MiB" else f"{fmt_ms(value)} ms"


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def speed_table(paths: Sequence[Path]) -> str:
    """The Markdown of the block's body: a sentence per file, one table of measured targets."""
    lines = []
    rows = []
    for path in paths:
        meta, targets = load(path)
        measured = [t for t in targets if t["ratio"] is not None]
        versions = meta.get("versions", {})
        lines.append(
            f"From `{_relative(path)}` ({meta['started_utc']}; {meta['machine']}; torch "
            f"{versions.get('torch', '?')}, {meta['args']['threads']} threads): "
            f"{sum(t['status'] == 'met' for t in measured)} of {len(measured)} measured "
            f"targets met; {len(targets) - len(measured)} targets not measured in that run.")
        for t in measured:
            metric = {"fb": "f+b", "fwd": "fwd", "fb_mib": "f+b peak"}[t["metric"]]
            rows.append(f"| {t['name']} | {t['workload']} | "
                        f"{'GPU' if t['device'] == 'cuda' else 'CPU'} | {metric} | "
                        f"{_number(t['ours_value'], t['unit'])} | "
                        f"{_number(t['peer_value'], t['unit'])} | {fmt_ratio(t['ratio'])} | "
                        f"{t['bound']:g} | {t['status']} |")
    lines.append("")
    lines.append("| target (ours / peer ≤ bound) | workload | device | measure | ours | peer | "
                 "ratio | bound | |")
    lines.append("|---|---|---|---|---:|---:|---:|---:|---|")
    lines.extend(rows)
    return "\n".join(lines)


def block(paths: Sequence[Path]) -> str:
    files = " ".join(_relative(p) for p in paths)
    return f"<!-- speed-table: {files} -->\n{speed_table(paths)}\n{END}"


def readme_files(text: str) -> tuple[list[Path], str]:
    """The files the README's block names, and the block as it stands."""
    m = BEGIN.search(text)
    if m is None or END not in text[m.end():]:
        raise ValueError("README.md has no <!-- speed-table: ... --> ... "
                         "<!-- /speed-table --> block")
    end = text.index(END, m.end()) + len(END)
    return [ROOT / f for f in m["files"].split()], text[m.start():end]


def write_readme(paths: Sequence[Path], readme: Path = README) -> bool:
    """Replace the README's block by the rendering of ``paths``; True if it changed."""
    text = readme.read_text()
    _, old = readme_files(text)
    new = block(paths)
    if new != old:
        readme.write_text(text.replace(old, new))
    return new != old


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.readme",
                                description="The README's speed table from the newest results.")
    p.add_argument("files", nargs="*", type=Path,
                   help="results JSON files (default: the newest CPU and GPU ones)")
    p.add_argument("--write", action="store_true", help="update README.md")
    p.add_argument("--check", action="store_true", help="exit 1 when README.md is stale")
    a = p.parse_args(argv)
    paths = [f.resolve() for f in a.files] or newest_results()
    if a.check:
        _, old = readme_files(README.read_text())
        stale = old != block(paths)
        print("README speed table is " + ("stale" if stale else "up to date"))
        return int(stale)
    if a.write:
        changed = write_readme(paths)
        print(f"README.md {'updated' if changed else 'unchanged'} from "
              + ", ".join(_relative(p) for p in paths))
        return 0
    print(block(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
