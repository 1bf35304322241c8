"""The ``graph`` style: a top-down layered drawing of any DAG.

Nodes are the boxes of analysis/topology.py (element-wise layers merged into the layer before,
runs of identical blocks folded into one drawn block marked "x N"); ranks are the longest
path from the input; within a rank, nodes keep the order of their branches. Edges are
the graph's own connections between boxes, each labelled with the shape it carries (once
per source, beside its first edge). Layer names that are module paths (``layer1.0.conv1``,
as imported models have) group the boxes: each top-level module of two boxes or more is
drawn as a shaded frame named after it. ``convscope draw --style graph --depth N`` draws
the modules N levels deep as single boxes instead (analysis/rollup.py).
"""

from __future__ import annotations

from ..analysis.report import Report
from ..analysis.topology import Block, Box, topology
from ..layers.base import shape_str
from .svg import FILL, FONT, Svg, box_attrs, escape, label_lines

NODE_W, NODE_H, GAP_X, GAP_Y = 190, 46, 24, 34


def boxes_and_owner(report: Report) -> tuple[list[Box], dict[str, Box], dict[int, int]]:
    """The boxes to draw, which box each layer belongs to, and each box's fold count."""
    drawn: list[Box] = []
    owner: dict[str, Box] = {}
    repeat: dict[int, int] = {}
    for item in topology(report).items:
        parts = [item] if isinstance(item, Box) else \
            [b for branch in item.branches for b in branch] + [item.merge]
        for box in parts:
            drawn.append(box)
            repeat[id(box)] = item.repeat if isinstance(item, Block) else 1
            for s in box.layers:
                owner[s.name] = box
        if isinstance(item, Block):
            for name in item.names:  # folded copies: their merges stand for the block
                owner[name] = item.merge
    return drawn, owner, repeat


def connections(drawn: list[Box], owner: dict[str, Box]) -> set[tuple[int, int]]:
    """Edges between drawn boxes, as (source index, target index)."""
    ids = {id(b): i for i, b in enumerate(drawn)}
    edges: set[tuple[int, int]] = set()
    for box in drawn:
        for ref in box.head.inputs:
            src = owner.get(ref)
            if src is not None and src is not box:
                edges.add((ids[id(src)], ids[id(box)]))
    return edges


def layout(count: int, edges: set[tuple[int, int]]
           ) -> tuple[list[int], dict[int, tuple[float, float]], float, float]:
    """Rank of each box (longest path from the input), its top-left corner, and the size."""
    incoming: dict[int, list[int]] = {}
    for a, b in edges:
        incoming.setdefault(b, []).append(a)
    rank = [0] * count
    for i in range(count):  # boxes come in topological order
        rank[i] = max((rank[a] + 1 for a in incoming.get(i, [])), default=0)
    rows: dict[int, list[int]] = {}
    for i, r in enumerate(rank):
        rows.setdefault(r, []).append(i)
    width = float(max(len(r) for r in rows.values()) * (NODE_W + GAP_X) + GAP_X)
    height = float(len(rows) * (NODE_H + GAP_Y) + 40)
    pos: dict[int, tuple[float, float]] = {}
    for r, members in rows.items():
        offset = (width - len(members) * (NODE_W + GAP_X) + GAP_X) / 2
        for k, i in enumerate(members):
            pos[i] = (offset + k * (NODE_W + GAP_X), 30 + r * (NODE_H + GAP_Y))
    return rank, pos, width, height


def edge_path(a: tuple[float, float], b: tuple[float, float], long: bool) -> str:
    """One edge from the bottom of box a to the top of box b; long ones bow out beside."""
    (x1, y1), (x2, y2) = a, b
    sx, sy, tx, ty = x1 + NODE_W / 2, y1 + NODE_H, x2 + NODE_W / 2, y2
    if long:  # a shortcut skips ranks: a dashed curve beside the boxes
        bow = max(sx, tx) + NODE_W * 0.62
        return (f"<path d='M{sx:.1f},{sy:.1f} C{bow:.1f},{sy + 20:.1f} "
                f"{bow:.1f},{ty - 20:.1f} {tx:.1f},{ty:.1f}' fill='none' "
                f"stroke='#888' stroke-width='1' stroke-dasharray='4 3'/>")
    mid = (sy + ty) / 2
    return (f"<path d='M{sx:.1f},{sy:.1f} C{sx:.1f},{mid:.1f} {tx:.1f},{mid:.1f} "
            f"{tx:.1f},{ty:.1f}' fill='none' stroke='#888' stroke-width='1'/>")


def draw_node(svg: Svg, box: Box, at: tuple[float, float], n: int,
              labels: tuple[str, ...]) -> None:
    x, y = at
    svg.parts.append(f"<g {box_attrs(box, n)}>")
    dash = " stroke-dasharray='5 3'" if n > 1 else ""
    svg.parts.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{NODE_W}' height='{NODE_H}' "
                     f"rx='6' fill='{FILL.get(box.head.kind, '#e6e6e6')}' stroke='#444' "
                     f"stroke-width='0.8'{dash}/>")
    lines = label_lines(box, tuple(lb for lb in labels if lb != "type"), n)
    top = y + 15 if len(lines) > 1 else y + NODE_H / 2 + 4
    for k, text in enumerate(lines[:3]):
        svg.text(x + NODE_W / 2, top + 13 * k, text[:32], 10 if k else 11,
                 weight="bold" if k == 0 else "normal")
    svg.parts.append("</g>")


def module_frames(drawn: list[Box], pos: dict[int, tuple[float, float]]) -> list[str]:
    """A shaded frame around the boxes of each top-level module that has two or more."""
    members: dict[str, list[int]] = {}
    for i, box in enumerate(drawn):
        if "." in box.name:
            members.setdefault(box.name.split(".")[0], []).append(i)
    parts = []
    for module, boxes in members.items():
        if len(boxes) < 2:
            continue
        xs = [pos[i][0] for i in boxes]
        ys = [pos[i][1] for i in boxes]
        x, y = min(xs) - 8, min(ys) - 15
        w, h = max(xs) + NODE_W + 8 - x, max(ys) + NODE_H + 5 - y
        parts.append(f"<g class='module' data-name='{escape(module, True)}'><rect x='{x:.1f}' "
                     f"y='{y:.1f}' width='{w:.1f}' height='{h:.1f}' rx='8' fill='#f3f5fa' "
                     f"stroke='#c5cde0'/><text x='{x + 6:.1f}' y='{y + 11:.1f}' "
                     f"font-size='10' fill='#556'>{escape(module)}</text></g>")
    return parts


def edge_labels(drawn: list[Box], edges: set[tuple[int, int]],
                pos: dict[int, tuple[float, float]]) -> list[str]:
    """The shape each box passes on, beside the first of its edges to the next rank."""
    parts, done = [], set()
    for a, b in sorted(edges):
        if a in done or pos[b][1] - pos[a][1] > NODE_H + GAP_Y:  # one label; not long edges
            continue
        done.add(a)
        x = (pos[a][0] + pos[b][0] + NODE_W) / 2 + 5
        y = pos[a][1] + NODE_H + GAP_Y / 2 + 4
        source = drawn[a].last
        parts.append(f"<text class='edge-shape' data-from='{escape(source.name, True)}' "
                     f"x='{x:.1f}' y='{y:.1f}' font-size='10' fill='#666'>"
                     f"{shape_str(source.output_shape)}</text>")
    return parts


def draw_graph(report: Report, labels: tuple[str, ...]) -> str:
    drawn, owner, repeat = boxes_and_owner(report)
    edges = connections(drawn, owner)
    rank, pos, width, height = layout(len(drawn), edges)
    svg = Svg(module_frames(drawn, pos))
    for a, b in sorted(edges):
        svg.parts.append(edge_path(pos[a], pos[b], rank[b] - rank[a] > 1))
    svg.parts += edge_labels(drawn, edges, pos)
    for i, box in enumerate(drawn):
        draw_node(svg, box, pos[i], repeat[id(box)], labels)
    svg.text(10, 18, f"{report.model}: {report.totals.params:,} parameters", 12, "start",
             "bold")
    head = (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}' "
            f"viewBox='0 0 {width:.0f} {height:.0f}' data-model='{escape(report.model, True)}' "
            f"data-style='graph' {FONT}><rect width='100%' height='100%' fill='white'/>")
    return head + "".join(svg.parts) + "</svg>\n"
