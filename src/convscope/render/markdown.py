"""A Markdown report: the layer table, the totals and the conventions.

Names come from the user: each is put on one line, with ``\\``, ``|``, backticks and
``< > &`` escaped, so that no name can end a table row, a cell, a code span or open HTML.
"""

from __future__ import annotations

import re

from ..analysis.report import Report
from ..layers.base import shape_str
from .columns import COLUMNS, choose
from .totals import conventions_lines, totals_lines

_SPECIAL = re.compile(r"([\\`|*\[\]])")
_LINES = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def md_text(text: str) -> str:
    """User text as inline Markdown that renders as itself, on one line."""
    text = _LINES.sub(" ", str(text))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", text)


def md_cell(text: str) -> str:
    """A table cell: one line, '|', '`' and '\\' escaped, '< > &' as entities."""
    text = _LINES.sub(" ", str(text)).replace("\\", "\\\\").replace("|", "\\|")
    text = text.replace("`", "\\`")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md_code(text: str) -> str:
    """A code span holding ``text`` (one line; a fence longer than any backtick run in it)."""
    text = _LINES.sub(" ", str(text))
    fence = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_markdown(report: Report, columns: str | None = None) -> str:
    cols = [COLUMNS[n] for n in choose(columns)]
    inputs = ", ".join(f"{md_code(n)} {shape_str(s)}" for n, s in report.inputs)
    out = [f"# {md_text(report.model)}", "", f"Input: {inputs}", "",
           "| " + " | ".join(c.header for c in cols) + " |",
           "| " + " | ".join("---:" if c.numeric else "---" for c in cols) + " |"]
    for s in report.layers:
        out.append("| " + " | ".join(md_cell(c.value(s)) for c in cols) + " |")
    out += ["", *(f"- {line}" for line in totals_lines(report))]
    out += [f"- **Warning:** {md_cell(w)}" for w in report.warnings]
    out += ["", "Conventions:", "", *(f"- {c}" for c in conventions_lines(report))]
    return "\n".join(out) + "\n"
