"""Directives that render the project's own data as tables (no copy in the docs).

``.. peer-mappings:: MONAI`` -- the keyword-mapping lines of one peer from
``conformance/witnesses/mappings.py`` (the table ``test_mappings.py`` executes), each
with the id of the test that checks it.

``.. capabilities:: region`` -- the rows of one family from
``segloss_xp._capabilities.CAPABILITIES`` (the declaration the README table, the tests
and the library read).

The mappings module is loaded from its file, without the ``conformance.witnesses``
package ``__init__`` (which imports pytest): the table itself needs only NumPy.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Parser
from sphinx.util.docutils import SphinxDirective, new_document

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS_FILE = ROOT / "conformance" / "witnesses" / "mappings.py"

__all__ = ["setup"]


def _mappings() -> ModuleType:
    name = "_segloss_docs_mappings"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, MAPPINGS_FILE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _literal(code: str) -> str:
    """``code`` as an inline literal (no backquotes occur in the table)."""
    return "``" + code + "``"


def _list_table(header: list[str], rows: list[list[str]], widths: str) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [header, *rows]:
        out.append("   * - " + row[0])
        out += [f"     - {cell}" for cell in row[1:]]
    return out


def _qualified(name: str) -> str:
    """``segloss_xp.<module>.<name>``, or ``segloss_xp.<name>`` for a private module."""
    import segloss_xp

    module = getattr(segloss_xp, name).__module__
    return f"{module}.{name}" if not module.split(".")[-1].startswith("_") else f"segloss_xp.{name}"


class _RstDirective(SphinxDirective):
    required_arguments = 1
    final_argument_whitespace = True

    def rst(self) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        # parsed as reStructuredText also inside a MyST page (whose nested_parse is Markdown)
        document = new_document(self.get_source_info()[0], self.state.document.settings)
        Parser().parse("\n".join(self.rst()), document)
        return list(document.children)


class PeerMappings(_RstDirective):
    """The mapping lines of one peer, the inputs they use and the test ids."""

    def rst(self) -> list[str]:
        m = _mappings()
        self.env.note_dependency(str(MAPPINGS_FILE))
        peer_name = self.arguments[0]
        if peer_name not in m.PEERS:
            raise self.error(f"unknown peer {peer_name!r}; known: {sorted(m.PEERS)}")
        peer = m.PEERS[peer_name]
        lines = m.lines_of(peer_name)
        used = sorted({line.inputs for _, line in lines},
                      key=list(m.INPUTS).index)
        out = [f"{peer.title}: ``{peer.imports}``. Inputs (float64):", ""]
        out += [f"- ``{name}``: {m.INPUTS[name].description}" for name in used]
        out += [""]
        rows = []
        for index, line in lines:
            note = line.note
            if line.expected is not None:
                note += ("; " if note else "") + f"the peer's own test expects {line.expected}"
            rows.append([f":func:`~{_qualified(line.loss)}`", _literal(line.theirs),
                         _literal(line.ours), f"``{line.inputs}``", f"``{peer_name}-{index}``",
                         note or "\\-"])
        out += _list_table(["loss", peer_name, "segloss_xp", "inputs", "test", "note"], rows,
                           "12 30 30 8 8 20")
        return out


class Capabilities(_RstDirective):
    """The capability rows of one family (``markdown_table``'s columns)."""

    def rst(self) -> list[str]:
        from segloss_xp._capabilities import CAPABILITIES, FEATURES

        family = self.arguments[0]
        names = sorted(n for n, c in CAPABILITIES.items() if c.family == family)
        if not names:
            raise self.error(f"no public function declares family {family!r}")
        rows = [[f":func:`~{_qualified(n)}`"] + [
            "yes" if CAPABILITIES[n].supports(f)
            else "no: " + str(getattr(CAPABILITIES[n], f)).replace("`", "``")
            for f in FEATURES] for n in names]
        return _list_table(["function", *FEATURES], rows,
                           " ".join(["20"] + ["20"] * len(FEATURES)))


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("peer-mappings", PeerMappings)
    app.add_directive("capabilities", Capabilities)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
