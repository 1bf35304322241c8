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

import math
import re
from dataclasses import dataclass
from html import escape as _html_escape

from ..analysis.report import Report
from ..analysis.topology import Block, Box, Item, topology
from ..layers.base import shape_str
from ..units import rf_text, si

LABELS = ("name", "type", "shape", "params", "rf")
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"
MERGE_SYMBOL = {"add": "+", "multiply": "\u00d7", "concat": "C", "subtract": "\u2212",
                "average": "~", "maximum": "max", "minimum": "min"}
FILL = {"conv": "#8fb3dd", "conv_transpose": "#a9c7a4", "pool": "#f2c57c",
        "global_pool": "#f2c57c", "adaptive_pool": "#f2c57c", "dense": "#c9a0dc",
        "input": "#d8d8d8", "concat": "#e6e6e6", "merge": "#e6e6e6", "upsample": "#a9c7a4",
        "zero_padding": "#e0e0e0", "flatten": "#e6e6e6", "reshape": "#e6e6e6"}


#: characters XML 1.0 does not allow even escaped (most C0 controls, lone surrogates, FFFE/F)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def escape(text: str, quote: bool = True) -> str:
    """User text made safe for XML / HTML text and attributes: ``& < > " '`` escaped and
    the characters XML cannot hold (e.g. ``\\x01``) shown as U+FFFD, so that every SVG
    convscope draws parses whatever the layer names are."""
    return _html_escape(_NOT_XML.sub("\ufffd", str(text)), quote)


def log_size(n: int, base: float, per: float, top: float) -> float:
    return min(top, base + per * math.log2(max(n, 1)))


@dataclass
class Svg:
    parts: list[str]

    def text(self, x: float, y: float, s: str, size: int = 11, anchor: str = "middle",
             weight: str = "normal", fill: str = "#222") -> None:
        self.parts.append(f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' "
                          f"text-anchor='{anchor}' font-weight='{weight}' fill='{fill}' {FONT}>"
                          f"{escape(s)}</text>")

    def line(self, x1: float, y1: float, x2: float, y2: float, color: str = "#666",
             width: float = 1.0, dash: str = "") -> None:
        d = f" stroke-dasharray='{dash}'" if dash else ""
        self.parts.append(f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' "
                          f"stroke='{color}' stroke-width='{width}'{d}/>")


def box_attrs(box: Box, repeat: int = 1, extra: str = "") -> str:
    s = box.last
    title = f"{box.name}: {box.kinds}, output {shape_str(s.output_shape)}, " \
            f"{box.params:,} parameters" + (f", x{repeat}" if repeat > 1 else "")
    return (f"class='layer{extra}' data-name='{escape(box.name, True)}' "
            f"data-type='{escape(box.kinds, True)}' data-shape='{shape_str(s.output_shape)}' "
            f"data-params='{box.params}' data-repeat='{repeat}' data-index='{box.head.index}'"
            f"><title>{escape(title)}</title")


def label_lines(box: Box, labels: tuple[str, ...], repeat: int = 1,
                name: str | None = None) -> list[str]:
    s = box.last
    lines = []
    if "name" in labels:
        lines.append((name or box.name) + (f"  x{repeat}" if repeat > 1 else ""))
    if "type" in labels:
        lines.append(box.kinds.replace("BatchNormalization", "BN"))
    if "shape" in labels:
        lines.append(shape_str(s.output_shape))
    if "params" in labels and box.params:
        lines.append(f"{si(box.params)} params" if box.params >= 10000 else
                     f"{box.params:,} params")
    if "rf" in labels and s.receptive_field.axes or "rf" in labels and \
            s.receptive_field.is_global:
        lines.append(f"RF {rf_text(s.receptive_field)}")
    return lines


# ------------------------------------------------------------------- blocks ---
@dataclass
class Cuboid:
    w: float  # thickness (channels)
    h: float  # height (H)
    d: float  # oblique depth (W)

    @property
    def width(self) -> float:
        return self.w + self.d * 0.7

    @property
    def height(self) -> float:
        return self.h + self.d * 0.7


def cuboid_of(shape: tuple[int, ...], scale: float = 1.0) -> Cuboid:
    if len(shape) == 1:  # a vector: a bar
        return Cuboid(10 * scale, log_size(shape[0], 12, 11, 150) * scale, 0)
    *spatial, c = shape
    w = log_size(c, 3, 3.2, 40) * scale
    h = log_size(spatial[0], 10, 13, 120) * scale
    d = log_size(spatial[1], 10, 13, 120) * scale * 0.6 if len(spatial) > 1 else 0
    return Cuboid(w, h, d)


def draw_cuboid(svg: Svg, x: float, cy: float, cub: Cuboid, fill: str, attrs: str) -> tuple:
    """Front face at x..x+w, vertically centred on cy; depth drawn up and to the right."""
    dx, dy = cub.d * 0.7, -cub.d * 0.7
    top, bottom = cy - cub.h / 2 - dy / 2, cy + cub.h / 2 - dy / 2
    svg.parts.append(f"<g {attrs}>")
    face = f"{x:.1f},{top:.1f} {x + cub.w:.1f},{top:.1f} {x + cub.w:.1f},{bottom:.1f} " \
           f"{x:.1f},{bottom:.1f}"
    if cub.d:
        svg.parts.append(f"<polygon points='{x:.1f},{top:.1f} {x + dx:.1f},{top + dy:.1f} "
                         f"{x + cub.w + dx:.1f},{top + dy:.1f} {x + cub.w:.1f},{top:.1f}' "
                         f"fill='{fill}' fill-opacity='0.65' stroke='#444' stroke-width='0.7'/>")
        svg.parts.append(f"<polygon points='{x + cub.w:.1f},{top:.1f} "
                         f"{x + cub.w + dx:.1f},{top + dy:.1f} {x + cub.w + dx:.1f},"
                         f"{bottom + dy:.1f} {x + cub.w:.1f},{bottom:.1f}' fill='{fill}' "
                         f"fill-opacity='0.45' stroke='#444' stroke-width='0.7'/>")
    svg.parts.append(f"<polygon points='{face}' fill='{fill}' stroke='#444' "
                     f"stroke-width='0.7'/>")
    svg.parts.append("</g>")
    return top, bottom


def kernel_of(box: Box) -> tuple[int, int] | None:
    """The window drawn projected from the previous map into this box (two axes)."""
    window = box.head.window
    return (window[0], window[1]) if len(window) >= 2 else None


class BlocksDrawing:
    """Left to right: boxes, blocks of branches, bars."""

    def __init__(self, report: Report, labels: tuple[str, ...]) -> None:
        self.report, self.labels = report, labels
        self.svg = Svg([])
        self.items = topology(report).items
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
        return sum(c.width + 26 for c in sizes), max(c.height for c in sizes) + 12

    def render(self) -> str:
        sizes = [self.item_size(i) for i in self.items]
        height = max(h for _, h in sizes) + self.label_h + 70
        width = sum(w for w, _ in sizes) + 40 * len(sizes) + 40
        cy = 30 + (height - self.label_h - 40) / 2
        x = 30.0
        previous: tuple[float, float, Box] | None = None  # right edge, centre y, box
        for item, (w, _) in zip(self.items, sizes, strict=True):
            if isinstance(item, Box):
                inset = (w - cuboid_of(item.last.output_shape).width) / 2
                previous = self.draw_box(item, x + inset, cy, previous)
            else:
                previous = self.draw_block(item, x, cy, previous)
            x += w + 40
        title = f"{self.report.model}: {self.report.totals.params:,} parameters, " \
                f"{si(self.report.totals.macs)} MACs per sample"
        head = (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' "
                f"height='{height:.0f}' viewBox='0 0 {width:.0f} {height:.0f}' "
                f"data-model='{escape(self.report.model, True)}' data-style='blocks'>"
                f"<rect width='100%' height='100%' fill='white'/>")
        self.svg.text(30, 18, title, 12, "start", "bold")
        return head + "".join(self.svg.parts) + "</svg>\n"

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
            bx = x + 8
            if not branch:  # identity shortcut
                self.svg.line(x, row_cy, merge_x - 12, row_cy, "#888", 1.0, "4 3")
                self.svg.text((x + merge_x) / 2, row_cy - 4, "identity", 9, fill="#666")
            last_x = x
            for b in branch:
                cub = cuboid_of(b.last.output_shape, 0.45)
                self.svg.line(last_x, row_cy, bx, row_cy, "#888", 0.8)
                draw_cuboid(self.svg, bx, row_cy, cub, FILL.get(b.head.kind, "#ddd"),
                            box_attrs(b, block.repeat, " branch"))
                self.svg.text(bx + cub.width / 2, row_cy + cub.height / 2 + 8, b.head.tag, 8,
                              fill="#444")
                last_x = bx + cub.width
                bx += cub.width + 26
            if branch:
                self.svg.line(last_x, row_cy, merge_x - 12, cy, "#888", 0.8)
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


def draw(report: Report, style: str = "blocks", labels: tuple[str, ...] = ("name", "shape",
                                                                         "params")) -> str:
    """The SVG text of ``report``'s network."""
    from ..errors import ConvscopeError, closest

    for label in labels:
        if label not in LABELS:
            raise ConvscopeError(f"unknown label '{label}'.{closest(label, LABELS)} Labels: "
                                 f"{', '.join(LABELS)}")
    if style == "blocks":
        return BlocksDrawing(report, labels).render()
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
