"""``--format keras``: the layout of Keras 3's ``model.summary()``, so that a Keras user can
put the two side by side.

As Keras 3 prints it (keras/src/utils/summary_utils.py): ``Model: "name"``, a table drawn
with box characters whose columns are Layer (type), Output Shape with ``None`` for the
batch, Param # (right aligned) and, for a graph that is not a plain chain, Connected to
(``layer[0][0]``; a chain also leaves out the input layer's row), then the three totals
lines ``Total params: 198,506 (775.41 KB)`` with the sizes in the dtype (KB = 1024 B).
Keras sizes its columns from the terminal width and wraps or cuts long cells; here every
column is as wide as its longest cell, so nothing is cut.
"""

from __future__ import annotations

from ..analysis.report import LayerStats, Report
from ..units import human_bytes, thousands


def is_chain(report: Report) -> bool:
    """One input, every layer reading the one before: Keras's 'sequential-like'."""
    if len(report.inputs) != 1:
        return False
    layers = report.layers
    return all(s.inputs == (layers[i - 1].name,) for i, s in enumerate(layers) if i > 0)


def shape_text(s: LayerStats) -> str:
    return "(" + ", ".join(["None", *map(str, s.output_shape)]) + ")"


def connected(s: LayerStats) -> str:
    return ", ".join(f"{ref}[0][0]" for ref in s.inputs) or "-"


def totals_lines(report: Report) -> list[str]:
    """Keras 3's three lines, character for character."""
    t, size = report.totals, report.dtype_bytes
    return [f" Total params: {thousands(t.params)} ({human_bytes(t.param_bytes)})",
            f" Trainable params: {thousands(t.trainable_params)} "
            f"({human_bytes(t.trainable_params * size)})",
            f" Non-trainable params: {thousands(t.non_trainable_params)} "
            f"({human_bytes(t.non_trainable_params * size)})"]


def render_keras(report: Report) -> str:
    chain = is_chain(report)
    header = ["Layer (type)", "Output Shape", "Param #"] + ([] if chain else ["Connected to"])
    rows = [[f"{s.name} ({s.type})", shape_text(s), thousands(s.params)]
            + ([] if chain else [connected(s)])
            for s in report.layers if not (chain and s.kind == "input")]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str], edge: str, mid: str, end: str) -> str:
        parts = [f" {c.rjust(w) if i == 2 else c.ljust(w)} "
                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return edge + mid.join(parts) + end

    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    out = [f'Model: "{report.model}"', rule("┏", "━", "┳", "┓"),
           line(header, "┃", "┃", "┃"), rule("┡", "━", "╇", "┩")]
    for i, row in enumerate(rows):
        if i:
            out.append(rule("├", "─", "┼", "┤"))
        out.append(line(row, "│", "│", "│"))
    out.append(rule("└", "─", "┴", "┘"))
    out += totals_lines(report)
    if report.dtype != "float32":
        out.append(f" (sizes in {report.dtype}, {report.dtype_bytes} B per parameter)")
    return "\n".join(out) + "\n"
