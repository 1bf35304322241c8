"""The drawing primitives shared by the diagram styles: XML-safe text, the colour of each
kind, an SVG buffer, the labels and data attributes of a layer box, and the log-scaled 3-D
cuboid of a feature map (H, W and C on a log scale, so that 224x224x3 and 7x7x512 both
read well)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape as _html_escape

from ..analysis.topology import Box
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
