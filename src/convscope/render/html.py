"""``convscope report MODEL -o report.html``: one self-contained HTML file (no network
fetch: styles, script, diagram and plots are inside) with the summary table, the
diagram, the plots, the totals, the conventions, the receptive-field table, and the
receptive-field explorer: click a layer, then a cell of its output, to see the input
region that cell sees; the layer's explanation shows beside it."""

from __future__ import annotations

import io
import json
import re
from importlib import resources

from ..analysis.report import Report
from ..ir import Graph
from ..layers.base import shape_str
from ..units import human_bytes, rf_text
from .data import report_json
from .diagram import draw
from .svg import escape
from .totals import conventions_lines, totals_lines

CSS = """
body { font: 14px/1.45 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 16px; margin: 26px 0 8px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.layer:hover, tr.layer.selected { background: #fff3df; cursor: pointer; }
.diagram { overflow-x: auto; border: 1px solid #eee; }
.diagram g.layer { cursor: pointer; } .diagram g.layer.selected polygon,
.diagram g.layer.selected rect { stroke: #d62728; stroke-width: 2; }
pre { background: #f6f8fa; padding: 8px 10px; overflow-x: auto; font-size: 12px; }
#explanation { white-space: pre-wrap; }
.explorer { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.explorer canvas { border: 1px solid #ccc; image-rendering: pixelated; }
.small { color: #666; font-size: 12px; }
.plots svg { max-width: 100%; height: auto; }
.depths button { font: inherit; margin-right: 4px; } .depths button.on { font-weight: bold; }
"""

GLUE = """
function selectLayer(index) {
  const layer = REPORT.layers[index];
  document.querySelectorAll('.selected').forEach(e => e.classList.remove('selected'));
  document.querySelectorAll(`[data-index='${index}']`).forEach(e => e.classList.add('selected'));
  RF.show(document.getElementById('explorer'), REPORT, layer);
  document.getElementById('explanation').textContent = EXPLAIN[index] || '';
}
document.querySelectorAll('[data-index]').forEach(e =>
  e.addEventListener('click', () => selectLayer(Number(e.dataset.index))));
selectLayer(REPORT.layers.length > 1 ? 1 : 0);
"""


MODULES_JS = """
function showDepth(depth) {
  document.querySelectorAll('.module-view').forEach(v => { v.hidden = v.dataset.depth !== depth; });
  document.querySelectorAll('.depths button').forEach(b =>
    b.classList.toggle('on', b.dataset.depth === depth));
}
document.querySelectorAll('.depths button').forEach(b =>
  b.addEventListener('click', () => showDepth(b.dataset.depth)));
document.querySelectorAll('.module-view').forEach(view => view.addEventListener('click', e => {
  const box = e.target.closest('g.layer');
  const deeper = view.nextElementSibling;
  if (!box || !deeper || !deeper.classList.contains('module-view')) return;
  const inner = deeper.querySelector(`g.layer[data-name^="${CSS.escape(box.dataset.name)}."]`);
  if (inner) { showDepth(deeper.dataset.depth); inner.scrollIntoView({block: 'center'}); }
}));
if (document.querySelector('.module-view')) showDepth('1');
"""


def module_views(report: Report) -> str:
    """The graph style with each module 1, 2, ... levels deep as one box (up to 4, and
    with every layer), one shown at a time: buttons choose the depth, and a click on a
    module's box opens it one level deeper. Empty when layer names are not module paths."""
    deepest = max((s.name.count(".") + 1 for s in report.layers if s.kind != "input"),
                  default=1)
    if deepest < 2:
        return ""
    depths = [*map(str, range(1, min(deepest, 5))), "all"]
    buttons = "".join(f"<button data-depth='{d}'>{'every layer' if d == 'all' else d}"
                      "</button>" for d in depths)
    views = []
    for d in depths:
        svg = draw(report, "graph") if d == "all" else \
            draw(report, "graph", depth=int(d)).replace(" data-index=", " data-row=")
        views.append(f"<div class='diagram module-view' data-depth='{d}'>{svg}</div>")
    return ("<h2>Graph by module</h2><p class='small depths'>Module depth: " + buttons +
            " (click a module to open it)</p>" + "".join(views))


def static(name: str) -> str:
    return resources.files("convscope.web").joinpath("static", name).read_text("utf-8")


def script_json(data: object) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' at all (so neither '</script>' nor
    '<!--' can end or confuse the script, whatever the layer names), as \\u escapes."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def layer_table(report: Report) -> str:
    head = ("<tr><th>#</th><th>Layer (type)</th><th>Input</th><th>Output</th><th>Param #</th>"
            "<th>Formula</th><th>MACs</th><th>RF</th><th>Activations</th></tr>")
    rows = [head]
    for s in report.layers:
        rows.append(
            f"<tr class='layer' data-index='{s.index}'><td class='num'>{s.index}</td>"
            f"<td>{escape(s.name)} ({escape(s.type)})</td>"
            f"<td>{escape(', '.join(shape_str(x) for x in s.input_shapes))}</td>"
            f"<td>{shape_str(s.output_shape)}</td><td class='num'>{s.params:,}</td>"
            f"<td>{escape(s.formula) if s.params else ''}</td><td class='num'>{s.macs:,}</td>"
            f"<td>{escape(rf_text(s.receptive_field))}</td>"
            f"<td class='num'>{human_bytes(s.activation_bytes)}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def plots_svg(report: Report) -> str:
    """Inline SVG charts (empty when matplotlib is missing)."""
    try:
        from .plots import figure, pyplot
    except ImportError:  # pragma: no cover - plots is part of convscope
        return ""
    from ..errors import ConvscopeError

    out = []
    for what in ("params", "macs", "memory", "rf"):
        try:
            fig = figure(report, what)
        except ConvscopeError:
            return "<p class='small'>Install matplotlib for the plots.</p>"
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
        pyplot().close(fig)
        text = buf.getvalue()
        text = re.sub(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>", "", text)  # no external DTD
        out.append(f"<div>{text}</div>")
    return "".join(out)


def findings_html(graph: Graph, report: Report) -> str:
    """convscope lint's findings as a list (or a line saying there are none)."""
    from ..analysis.lint import lint

    found = lint(graph, report)
    if not found:
        return "<p class='small'>convscope lint finds nothing to report.</p>"
    return "<ul class='lint'>" + "".join(f"<li>{escape(str(f))}</li>" for f in found) + "</ul>"


def render_html(report: Report, graph: Graph) -> str:
    from ..analysis.explain import explain_layer, rf_table

    explanations = [explain_layer(graph, s.name) for s in report.layers]
    inputs = ", ".join(f"{n} {shape_str(sh)}" for n, sh in report.inputs)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>convscope: {escape(report.model)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(report.model)}</h1><p class='small'>input {escape(inputs)}; report "
        "written by convscope, exact static analysis (no forward pass)</p>",
        "<h2>Totals</h2><pre>" + escape("\n".join(totals_lines(report))) + "</pre>",
        "<h2>Design findings</h2>" + findings_html(graph, report),
        "<h2>Diagram</h2><p class='small'>Click a layer to explore its receptive field.</p>",
        f"<div class='diagram'>{draw(report)}</div>",
        modules := module_views(report),
        "<h2>Receptive field explorer</h2><div id='explorer' class='explorer'>"
        "<div><div class='small'>input (the region a cell sees, in orange)</div>"
        "<canvas class='rf-input'></canvas></div><div><div class='small'>output of the "
        "selected layer (click a cell)</div><canvas class='rf-output'></canvas></div>"
        "<div style='max-width:640px'><p class='rf-info'></p><pre id='explanation'></pre>"
        "</div></div>",
        "<h2>Layers</h2>" + layer_table(report),
        "<h2>Plots</h2><div class='plots'>" + plots_svg(report) + "</div>",
        "<h2>Receptive-field recursion</h2><pre>" + escape(rf_table(graph)) + "</pre>",
        "<h2>Conventions</h2><ul>" + "".join(f"<li>{escape(c)}</li>" for c in
                                              conventions_lines(report)) + "</ul>",
        f"<script>const REPORT = {script_json(report_json(report))};\n"
        f"const EXPLAIN = {script_json(explanations)};\n{static('explorer.js')}\n{GLUE}"
        f"{MODULES_JS if modules else ''}"
        "</script></body></html>",
    ]
    return "\n".join(parts) + "\n"
