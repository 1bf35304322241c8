"""Architecture diagrams as SVG, in pure Python (``convscope draw``).

* ``blocks``: the picture of seeds 001/002 (LeNet, AlexNet, VGG): every feature map a 3-D
  box whose height, depth and thickness follow H, W and C on a log scale (so that
  224x224x3 and 7x7x512 both read well), the kernel of the next layer drawn on it and
  projected into the next map, dense layers as bars, labels under each box. Parallel
  branches (Inception) and residual shortcuts (ResNet) are drawn as rows that meet at a
  merge symbol, and runs of identical blocks are folded ("x35").
* ``graph``: a top-down layered graph of the same boxes for any DAG.

Every layer box is a ``<g class="layer">`` carrying data-name, data-type, data-shape,
data-params (and data-repeat); the web page uses them to explain a layer and to
explore its receptive field.
"""

from __future__ import annotations

from ..analysis.report import Report
from ..analysis.topology import Block, Box, Item, topology
from ..units import si
from .svg import (
    FILL,
    LABELS,
    MERGE_SYMBOL,
    Cuboid,
    Svg,
    box_attrs,
    cuboid_of,
    draw_cuboid,
    escape,
    label_lines,
)


def kernel_of(box: Box) -> tuple[int, int] | None:
    """The window drawn projected from the previous map into this box (two axes)."""
    window = box.head.window
    return (window[0], window[1]) if len(window) >= 2 else None


def slot(cub: Cuboid, box: Box) -> float:
    """The width a small branch box takes: its cuboid or its 10 px tag, the wider."""
    return max(cub.width, 6.0 * len(box.head.tag))


class BlocksDrawing:
    """Left to right: boxes, blocks of branches, bars."""

    def __init__(self, report: Report, labels: tuple[str, ...], width: int = 1600) -> None:
        self.report, self.labels, self.width = report, labels, width
        self.svg = Svg([])
        self.topology = topology(report)
        self.label_h = 14 * len(labels) + 8

    def label_width(self, box: Box, repeat: int = 1, name: str | None = None) -> float:
        lines = label_lines(box, self.labels, repeat, name)
        return max((6.4 * len(t) for t in lines), default=0)

    def item_size(self, item: Item) -> tuple[float, float]:
        if isinstance(item, Box):
            c = cuboid_of(item.last.output_shape)
            return max(c.width, self.label_width(item)), c.height
        rows = [self.row_size(b) for b in item.branches]
        merge = cuboid_of(item.merge.last.output_shape)
        width = max((r[0] for r in rows), default=0) + 60 + max(
            merge.width, self.label_width(item.merge, item.repeat, item.label))
        height = max(sum(r[1] + 26 for r in rows), merge.height)
        return width, height

    def row_size(self, branch: list[Box]) -> tuple[float, float]:
        if not branch:
            return 60.0, 10.0
        sizes = [cuboid_of(b.last.output_shape, 0.45) for b in branch]
        return (sum(slot(c, b) + 26 for c, b in zip(sizes, branch, strict=True)),
                max(c.height for c in sizes) + 16)

    def rows(self, sizes: list[tuple[float, float]]) -> list[list[int]]:
        """Items (indices) per row: a row ends before the item that would cross the width."""
        rows: list[list[int]] = [[]]
        x = 30.0
        for i, (w, _) in enumerate(sizes):
            if rows[-1] and x + w + 40 > self.width:
                rows.append([])
                x = 30.0
            rows[-1].append(i)
            x += w + 40
        return rows

    def render(self) -> str:
        sizes = [self.item_size(i) for i in self.topology.items]
        rows = self.rows(sizes)
        width = max(sum(sizes[i][0] + 40 for i in row) for row in rows) + 70
        top, previous = 40.0, None  # previous: (right edge, centre y, box)
        for n, row in enumerate(rows):
            height = max(sizes[i][1] for i in row)
            cy, x = top + height / 2, 30.0
            if n:  # back to the left edge below the previous row, then into this one
                self.return_line(previous, top - 14, x, cy)
                previous = None
            for i in row:
                item, w = self.topology.items[i], sizes[i][0]
                if isinstance(item, Box):
                    inset = (w - cuboid_of(item.last.output_shape).width) / 2
                    previous = self.draw_box(item, x + inset, cy, previous)
                else:
                    previous = self.draw_block(item, x, cy, previous)
                x += w + 40
            top += height + self.label_h + 40
        height = self.legend(top) + 14
        title = f"{self.report.model}: {self.report.totals.params:,} parameters, " \
                f"{si(self.report.totals.macs // self.report.batch)} MACs per sample"
        head = (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' "
                f"height='{height:.0f}' viewBox='0 0 {width:.0f} {height:.0f}' "
                f"data-model='{escape(self.report.model, True)}' data-style='blocks'>"
                f"<rect width='100%' height='100%' fill='white'/>")
        self.svg.text(30, 18, title, 12, "start", "bold")
        return head + "".join(self.svg.parts) + "</svg>\n"

    def return_line(self, previous: tuple | None, y: float, x: float, cy: float) -> None:
        """The wire from the end of one row to the start of the next."""
        if previous is None:
            return
        px, pcy, _ = previous
        points = [(px + 2, pcy), (px + 16, pcy), (px + 16, y), (12, y), (12, cy), (x - 2, cy)]
        self.svg.parts.append("<polyline class='wrap' points='" + " ".join(
            f"{a:.1f},{b:.1f}" for a, b in points) + "' fill='none' stroke='#888' "
            "stroke-width='1'/>")

    def legend(self, top: float) -> float:
        """One swatch per kind drawn, with its colour; returns the bottom edge."""
        kinds = dict.fromkeys(b.head.kind for b, _ in self.topology.boxes())
        self.svg.parts.append("<g class='legend'>")
        x = 30.0
        for kind in kinds:
            label = kind.replace("_", " ")
            if x + 22 + 6.4 * len(label) > self.width and x > 30:
                x, top = 30.0, top + 18
            self.svg.parts.append(f"<rect x='{x:.1f}' y='{top:.1f}' width='12' height='12' "
                                  f"fill='{FILL.get(kind, '#dddddd')}' stroke='#444' "
                                  f"stroke-width='0.7' data-kind='{escape(kind, True)}'/>")
            self.svg.text(x + 16, top + 10, label, 11, "start")
            x += 40 + 6.4 * len(label)
        self.svg.parts.append("</g>")
        return top + 12

    def draw_box(self, box: Box, x: float, cy: float, previous: tuple | None,
                 repeat: int = 1, scale: float = 1.0, name: str | None = None
                 ) -> tuple[float, float, Box]:
        cub = cuboid_of(box.last.output_shape, scale)
        fill = FILL.get(box.head.kind, "#dddddd")
        if previous is not None:
            self.connect(previous, x, cy, cub, box)
        top, bottom = draw_cuboid(self.svg, x, cy, cub, fill, box_attrs(box, repeat))
        if scale == 1.0:
            base = max(bottom, cy + cub.h / 2) + 16
            for i, line in enumerate(label_lines(box, self.labels, repeat, name)):
                self.svg.text(x + cub.width / 2, base + 13 * i, line,
                              11 if i else 11, weight="bold" if i == 0 else "normal")
        return x + cub.width, cy, box

    def connect(self, previous: tuple, x: float, cy: float, cub: Cuboid, box: Box) -> None:
        px, pcy, pbox = previous
        kernel = kernel_of(box)
        shape = pbox.last.output_shape
        if kernel and len(shape) >= 3:
            # the kernel drawn on the previous map's H x W face, projected into this map
            pc = cuboid_of(shape)
            dx, dy = pc.d * 0.7, -pc.d * 0.7
            fx = px - dx  # the side face starts at the front face's right edge
            top = pcy - pc.h / 2 - dy / 2
            kh = max(3.0, pc.h * min(1.0, kernel[0] / shape[0]))
            kd = min(1.0, kernel[1] / shape[1]) if len(shape) > 2 else 0.0
            t0, t1 = 0.5 - kd / 2, 0.5 + kd / 2
            y0 = top + pc.h / 2 - kh / 2
            pts = [(fx + t0 * dx, y0 + t0 * dy), (fx + t1 * dx, y0 + t1 * dy),
                   (fx + t1 * dx, y0 + kh + t1 * dy), (fx + t0 * dx, y0 + kh + t0 * dy)]
            self.svg.parts.append("<polygon class='kernel' points='" + " ".join(
                f"{a:.1f},{b:.1f}" for a, b in pts) + "' fill='#ffdd88' fill-opacity='0.9' "
                "stroke='#aa7700' stroke-width='0.7'/>")
            target = (x + cub.w / 2, cy)
            self.svg.line(*pts[1], *target, "#aa7700", 0.6)
            self.svg.line(*pts[2], *target, "#aa7700", 0.6)
        else:
            self.svg.line(px + 2, pcy, x - 2, cy, "#888", 1.0)

    def draw_block(self, block: Block, x: float, cy: float, previous: tuple | None
                   ) -> tuple[float, float, Box]:
        rows = [self.row_size(b) for b in block.branches]
        total = sum(h + 26 for _, h in rows)
        y = cy - total / 2
        entry_x = x - 10
        if previous is not None:
            self.svg.line(previous[0] + 2, previous[1], entry_x, cy, "#888")
        branch_w = max((w for w, _ in rows), default=0)
        merge_x = x + branch_w + 30
        self.svg.parts.append(f"<g class='block' data-name='{escape(block.name, True)}' "
                              f"data-repeat='{block.repeat}' data-branches="
                              f"'{len(block.branches)}'>")
        for branch, (_, h) in zip(block.branches, rows, strict=True):
            row_cy = y + (h + 26) / 2
            self.svg.line(entry_x, cy, x, row_cy, "#888", 0.8)
            self.draw_branch(branch, x, row_cy, (merge_x - 12, cy), block.repeat)
            y += h + 26
        symbol = MERGE_SYMBOL.get(block.merge.head.tag, "+")
        self.svg.parts.append(f"<circle cx='{merge_x:.1f}' cy='{cy:.1f}' r='11' fill='white' "
                              f"stroke='#444'/>")
        self.svg.text(merge_x, cy + 4, symbol, 12, weight="bold")
        if block.repeat > 1:
            self.svg.parts.append(f"<rect x='{x - 14:.1f}' y='{cy - total / 2 - 6:.1f}' "
                                  f"width='{merge_x - x + 28:.1f}' height='{total + 12:.1f}' "
                                  f"fill='none' stroke='#999' stroke-dasharray='5 4' rx='6'/>")
            self.svg.text(x - 8, cy - total / 2 - 10, f"x{block.repeat}", 12, "start", "bold",
                          "#aa3333")
        self.svg.parts.append("</g>")
        label = block.label
        inset = max(0.0, (self.label_width(block.merge, block.repeat, label) -
                          cuboid_of(block.merge.last.output_shape).width) / 2)
        return self.draw_box(block.merge, merge_x + 30 + inset, cy,
                             (merge_x + 11, cy, block.merge), block.repeat, name=label)

    def draw_branch(self, branch: tuple[Box, ...], x: float, cy: float,
                    merge: tuple[float, float], repeat: int) -> None:
        """One row of a block, small boxes left to right, then a line to the merge."""
        if not branch:  # identity shortcut
            self.svg.line(x, cy, merge[0], cy, "#888", 1.0, "4 3")
            self.svg.text((x + merge[0] + 12) / 2, cy - 4, "identity", 10, fill="#666")
            return
        bx, last_x = x + 8, x
        for b in branch:
            cub = cuboid_of(b.last.output_shape, 0.45)
            inset = (slot(cub, b) - cub.width) / 2
            self.svg.line(last_x, cy, bx + inset, cy, "#888", 0.8)
            draw_cuboid(self.svg, bx + inset, cy, cub, FILL.get(b.head.kind, "#ddd"),
                        box_attrs(b, repeat, " branch"))
            self.svg.text(bx + inset + cub.width / 2, cy + cub.height / 2 + 10, b.head.tag, 10,
                          fill="#444")
            last_x = bx + inset + cub.width
            bx += slot(cub, b) + 26
        self.svg.line(last_x, cy, *merge, "#888", 0.8)


def draw(report: Report, style: str = "blocks", labels: tuple[str, ...] = ("name", "shape",
                                                                         "params"),
         width: int = 1600, depth: int | None = None) -> str:
    """The SVG text of ``report``'s network; the blocks style wraps its rows at ``width``
    pixels (a single item wider than that keeps its own row); with ``depth`` (graph style)
    each module that many levels deep is one box."""
    from ..errors import ConvscopeError, closest

    if depth is not None:
        from ..analysis.rollup import rollup

        if style != "graph":
            raise ConvscopeError("a module depth is drawn in the graph style: add --style graph")
        report = rollup(report, depth)

    if not isinstance(width, int) or isinstance(width, bool) or not 200 <= width <= 100_000:
        raise ConvscopeError(f"the width is in pixels, from 200 to 100,000; received {width!r}")
    for label in labels:
        if label not in LABELS:
            raise ConvscopeError(f"unknown label '{label}'.{closest(label, LABELS)} Labels: "
                                 f"{', '.join(LABELS)}")
    if style == "blocks":
        return BlocksDrawing(report, labels, width).render()
    if style == "graph":
        from .graph_diagram import draw_graph

        return draw_graph(report, labels)
    raise ConvscopeError(f"unknown style '{style}'; choose blocks or graph")


def to_png(svg: str) -> bytes:
    """The SVG rasterised by resvg (the pip package resvg-py; no system library)."""
    try:
        import resvg_py
    except ImportError:
        from ..errors import ConvscopeError

        raise ConvscopeError("PNG output needs resvg-py: pip install 'convscope[draw]'") \
            from None
    return bytes(resvg_py.svg_to_bytes(svg_string=svg))
