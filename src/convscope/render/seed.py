"""Seed 002's table layout, to the digit (columns: Network Layer (operations), input,
Filter, Stride, padding, Output, Calculation Formula, Number of parameters):

    Conv1 32x32x1 5x5x6 1 0 28x28x6 5x5x1x6+6 156
    ...
    Total Parameters: 61706
    parameter memory consumption: 241.039KB
"""

from __future__ import annotations

from ..analysis.report import Report
from ..layers.base import shape_str
from ..units import seed_memory
from .table import grid

HEADERS = ["Network Layer (operations)", "input", "Filter", "Stride", "padding", "Output",
           "Calculation Formula", "Number of parameters"]


def render_seed(report: Report) -> str:
    rows = []
    for s in report.layers:
        shown_in = s.input_shapes or (s.output_shape,)
        rows.append([s.name, " + ".join(shape_str(x) for x in shown_in),
                     s.hyper.get("filter", ""), s.hyper.get("stride", ""),
                     s.hyper.get("padding", ""), shape_str(s.output_shape),
                     s.formula if s.params else "", str(s.params)])
    numeric = [False] * 7 + [True]
    lines = grid(HEADERS, rows, numeric)
    lines += ["", f"Total Parameters: {report.totals.params}",
              f"parameter memory consumption: {seed_memory(report.totals.param_bytes)}"]
    return "\n".join(lines) + "\n"
