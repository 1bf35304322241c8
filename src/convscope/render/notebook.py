"""The report as an HTML fragment for notebooks (Jupyter's ``_repr_html_``): the layer
table with the chosen columns, the totals, any warning, and the conventions in a
collapsed ``<details>``. Inline styles only (a notebook sanitiser drops ``<style>``
elements), no script, every name escaped."""

from __future__ import annotations

from html import escape

from ..analysis.report import Report
from ..layers.base import shape_str
from .columns import COLUMNS, choose
from .totals import conventions_lines, totals_lines

CELL = "padding:2px 8px;border-bottom:1px solid #ddd"


def _cell(text: str, numeric: bool, tag: str = "td") -> str:
    align = "right" if numeric else "left"
    return f"<{tag} style='{CELL};text-align:{align}'>{escape(str(text))}</{tag}>"


def report_html(report: Report, columns: str | None = None) -> str:
    """``report`` as one ``<div>`` of HTML (see the module docstring)."""
    cols = [COLUMNS[n] for n in choose(columns)]
    inputs = ", ".join(f"{escape(n)} {shape_str(s)}" for n, s in report.inputs)
    head = "".join(_cell(c.header, c.numeric, "th") for c in cols)
    rows = "".join("<tr>" + "".join(_cell(c.value(s), c.numeric) for c in cols) + "</tr>"
                   for s in report.layers)
    totals = "".join(f"<li>{escape(line)}</li>" for line in totals_lines(report))
    warnings = "".join(f"<li><b>Warning:</b> {escape(w)}</li>" for w in report.warnings)
    notes = "".join(f"<li>{escape(c)}</li>" for c in conventions_lines(report))
    return (f"<div class='convscope-report'><p><b>{escape(report.model)}</b> "
            f"(input: {inputs})</p>"
            f"<table style='border-collapse:collapse;font-family:monospace'>"
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
            f"<ul>{totals}{warnings}</ul>"
            f"<details><summary>Conventions</summary><ul>{notes}</ul></details></div>")
