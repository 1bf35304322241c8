"""Renderers: Report -> text. They only read reports."""

from __future__ import annotations

from ..analysis.report import Report
from ..errors import SpecError, closest
from ..gc_pause import paused

FORMATS = ("table", "seed", "keras", "markdown", "csv", "json")


@paused()  # see gc_pause.py: linear time on large graphs
def render(report: Report, fmt: str = "table", columns: str | None = None) -> str:
    """The report as ``fmt``: table, seed, keras, markdown, csv or json."""
    if fmt == "table":
        from .table import render_table

        return render_table(report, columns)
    if fmt == "seed":
        from .seed import render_seed

        return render_seed(report)
    if fmt == "keras":
        from .keras_summary import render_keras

        return render_keras(report)
    if fmt == "markdown":
        from .markdown import render_markdown

        return render_markdown(report, columns)
    if fmt in ("json", "csv"):
        from .data import render_csv, render_json

        return render_json(report) if fmt == "json" else render_csv(report)
    raise SpecError(f"unknown format '{fmt}'.{closest(fmt, FORMATS)} Formats: "
                    f"{', '.join(FORMATS)}")


__all__ = ["FORMATS", "render"]
