"""The terminal table, in the spirit of Keras's model.summary()."""

from __future__ import annotations

from ..analysis.report import Report
from ..layers.base import shape_str
from .columns import COLUMNS, choose
from .totals import conventions_lines, totals_lines


def grid(headers: list[str], rows: list[list[str]], numeric: list[bool]) -> list[str]:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return " " + "  ".join(c.rjust(w) if num else c.ljust(w)
                               for c, w, num in zip(cells, widths, numeric, strict=True)).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def render_table(report: Report, columns: str | None = None, conventions: bool = True) -> str:
    names = choose(columns)
    cols = [COLUMNS[n] for n in names]
    lines = grid([c.header for c in cols], [[c.value(s) for c in cols] for s in report.layers],
                 [c.numeric for c in cols])
    width = max(len(x) for x in lines) + 1
    inputs = ", ".join(f"{n} {shape_str(s)}" for n, s in report.inputs)
    out = [f'Model: "{report.model}"  (input: {inputs})', "_" * width, lines[0], "=" * width,
           *lines[1:], "=" * width, *totals_lines(report)]
    out += [f"Warning: {w}" for w in report.warnings]
    if conventions:
        out += ["_" * width, *(f"Note: {c}" for c in conventions_lines(report))]
    return "\n".join(out) + "\n"
