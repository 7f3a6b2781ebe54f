"""Include one ``## `` section of the README in a Markdown page, by its title.

A page writes::

    ```{readme-section} Global losses under data parallelism
    ```

and, before the page is parsed, that block becomes a MyST ``{include}`` of README.md
from that heading to the next ``## `` heading, both read from the README now: a section
added or moved in the README neither leaks into the page nor cuts it short, and a
title that no longer starts a heading fails the build. Images and ``docs/...`` links
of the README keep pointing at their files (``:relative-images:``, ``:relative-docs:``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sphinx.errors import ExtensionError

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"^```\{readme-section\} (?P<title>.+?)\n```$", re.M)

__all__ = ["include_block", "setup"]


def include_block(title: str, readme: Path = README) -> str:
    """The MyST ``{include}`` of the README section whose heading starts with ``title``."""
    headings = [line for line in readme.read_text(encoding="utf-8").splitlines()
                if line.startswith("## ")]
    matches = [i for i, line in enumerate(headings) if line[3:].startswith(title)]
    if len(matches) != 1:
        raise ExtensionError(f"README.md has {len(matches)} '## ' headings starting with "
                             f"{title!r} (headings: {[h[3:] for h in headings]})")
    index = matches[0]
    lines = ["```{include} /../README.md", f":start-after: {json.dumps(headings[index])}"]
    if index + 1 < len(headings):
        lines.append(f":end-before: {json.dumps(headings[index + 1])}")
    lines += [":relative-images:", ":relative-docs: docs/", "```"]
    return "\n".join(lines)


def _expand(app: Any, docname: str, source: list[str]) -> None:
    if "{readme-section}" in source[0]:
        app.env.note_dependency(str(README))
        source[0] = BLOCK.sub(lambda m: include_block(m["title"].strip()), source[0])


def setup(app: Any) -> dict[str, Any]:
    app.connect("source-read", _expand)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
