"""Sphinx configuration of the segloss_xp documentation (``./dev docs``).

Every page is generated from a source that exists once: the API pages from the
docstrings (numpydoc; their formula literals rendered as math by ``_ext/formulas.py``),
the conventions from the README, the peer mappings from
``conformance/witnesses/mappings.py`` (``_ext/tables.py``), the conformance report and
the newest benchmark results from their files (:func:`newest_benchmark`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(ROOT), str(DOCS / "_ext")]
# segloss_xp.keras imports keras when its API page is read; keras reads its backend once
os.environ.setdefault("KERAS_BACKEND", "torch")

import segloss_xp  # noqa: E402

project = "segloss_xp"
author = "segloss_xp contributors"
copyright = "segloss_xp contributors"
release = version = segloss_xp.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "formulas",
    "tables",
    "readme_sections",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated"]  # _generated: included, not pages
templates_path: list[str] = []

html_theme = "alabaster"
html_title = f"segloss_xp {release}"
html_theme_options = {
    "description": "Segmentation losses written once against the Python array API standard",
    "page_width": "1200px",
    "sidebar_width": "230px",
    "fixed_sidebar": True,
}
html_static_path: list[str] = []
html_show_sourcelink = False

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc's Parameters section gives the types
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()  # tests/test_api.py validates the docstrings

myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
# the included Markdown reports start at "#"/"##" wherever they are included
suppress_warnings = ["myst.header"]


def newest_benchmark() -> Path:
    """The newest CPU benchmark results (the README's speed table reads the same file)."""
    from benchmarks.readme import newest_results

    return newest_results()[0]


def _write_benchmark_page(app: object) -> None:
    """``docs/_generated/benchmarks.md``: the newest results report and its chart."""
    results = newest_benchmark()
    report, chart = results.with_suffix(".md"), results.with_suffix(".png")
    out = DOCS / "_generated"
    out.mkdir(exist_ok=True)
    # paths from the source directory ("/"): nested includes resolve against the page
    text = [f"```{{include}} /../{report.relative_to(ROOT).as_posix()}",
            ":heading-offset: 1", "```", ""]
    if chart.exists():
        text[0:0] = [f"```{{image}} /../{chart.relative_to(ROOT).as_posix()}",
                     f":alt: target ratios of {results.stem}", "```", ""]
    page = "\n".join(text)
    target = out / "benchmark_results.md"
    if not target.exists() or target.read_text() != page:  # no rebuild when unchanged
        target.write_text(page)


def setup(app: object) -> None:
    app.connect("builder-inited", _write_benchmark_page)  # type: ignore[attr-defined]
