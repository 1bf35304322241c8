"""A Markdown report: the layer table, the totals and the conventions."""

from __future__ import annotations

from ..analysis.report import Report
from ..layers.base import shape_str
from .columns import COLUMNS, choose
from .totals import conventions_lines, totals_lines


def render_markdown(report: Report, columns: str | None = None) -> str:
    cols = [COLUMNS[n] for n in choose(columns)]
    inputs = ", ".join(f"`{n}` {shape_str(s)}" for n, s in report.inputs)
    out = [f"# {report.model}", "", f"Input: {inputs}", "",
           "| " + " | ".join(c.header for c in cols) + " |",
           "| " + " | ".join("---:" if c.numeric else "---" for c in cols) + " |"]
    for s in report.layers:
        out.append("| " + " | ".join(c.value(s).replace("|", "\\|") for c in cols) + " |")
    out += ["", *(f"- {line}" for line in totals_lines(report))]
    out += [f"- **Warning:** {w}" for w in report.warnings]
    out += ["", "Conventions:", "", *(f"- {c}" for c in conventions_lines(report))]
    return "\n".join(out) + "\n"
