"""``convscope compare``: descriptions side by side, and the seeds' classic comparisons.

Every figure comes from the analysis of the descriptions; the demonstrations print the
seeds' formulas next to them (one 5x5 against two 3x3 layers, naive against bottleneck
Inception, a fully connected against a convolutional first layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..analysis import Report, analyze
from ..analysis.stages import Stage, stages
from ..errors import ConvscopeError, closest
from ..layers.base import shape_str
from ..sources import load
from ..units import human_bytes, rf_text, si


@dataclass(frozen=True)
class Entry:
    label: str
    report: Report


def last_spatial_field(report: Report) -> str:
    """The receptive field of the output, or of the last layer before it turns global."""
    if not report.totals.receptive_field.is_global:
        return rf_text(report.totals.receptive_field)
    spatial = [s for s in report.layers if not s.receptive_field.is_global
               and s.receptive_field.axes and s.kind != "input"]
    return f"{rf_text(spatial[-1].receptive_field)} at '{spatial[-1].name}'" if spatial else "-"


METRICS: list[tuple[str, Any, bool]] = [
    ("input", lambda r: shape_str(r.inputs[0][1]), False),
    ("output", lambda r: shape_str(r.outputs[0][1]), False),
    ("layers", lambda r: sum(1 for s in r.layers if s.kind != "input"), True),
    ("params", lambda r: r.totals.params, True),
    ("trainable params", lambda r: r.totals.trainable_params, True),
    ("MACs (per sample)", lambda r: r.totals.macs, True),
    ("FLOPs = 2 x MACs", lambda r: r.totals.flops, True),
    ("activation memory", lambda r: r.totals.activation_bytes, True),
    ("parameter memory", lambda r: r.totals.param_bytes, True),
    ("receptive field", last_spatial_field, False),
]


def entries(sources: list[str], labels: list[str] | None = None,
            input_shape: str | None = None) -> list[Entry]:
    labels = labels or sources
    return [Entry(label, analyze(load(src, input_shape)))
            for src, label in zip(sources, labels, strict=True)]


def _cell(name: str, value: Any) -> str:
    if not isinstance(value, int):
        return str(value)
    if "memory" in name:
        return human_bytes(value)
    return f"{value:,}" if value < 10**7 else f"{value:,} ({si(value)})"


def compare_table(items: list[Entry]) -> str:
    header = ["", *(e.label for e in items)]
    rows = []
    for name, get, numeric in METRICS:
        values = [get(e.report) for e in items]
        row = [name, *(_cell(name, v) for v in values)]
        rows.append(row)
        if numeric and len(items) > 1 and values[0]:
            rows.append([f"  vs {items[0].label}", "1", *(f"{v / values[0]:.3g}x"
                                                          for v in values[1:])])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in [header, *rows]]
    return "\n".join(lines) + "\nMACs and FLOPs per sample; memory in float32, KB = 1024 B.\n"


def ratio(first: Any, other: Any) -> float | None:
    """``other / first`` for two numbers (None when there is no ratio to show)."""
    if not isinstance(first, int) or not isinstance(other, int) or not first:
        return None
    return other / first


def ratio_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}x"


def _stage_side(stage: Stage | None) -> dict[str, Any] | None:
    if stage is None:
        return None
    return {"first": stage.first, "last": stage.last, "layers": stage.layers,
            "params": stage.params, "trainable_params": stage.trainable_params,
            "macs": stage.macs}


def compare_stages(first: Report, other: Report) -> list[dict[str, Any]]:
    """Each stage of either network (analysis/stages.py) with its numbers in both and the
    ratios other / first; a stage only one network has shows None on the other side."""
    ours = {s.name: s for s in stages(first)}
    theirs = {s.name: s for s in stages(other)}
    names = [*ours, *(n for n in theirs if n not in ours)]
    rows = []
    for name in names:
        a, b = ours.get(name), theirs.get(name)
        sides = [_stage_side(a), _stage_side(b)]
        ratios = {key: ratio(getattr(a, key, None), getattr(b, key, None))
                  for key in ("params", "trainable_params", "macs")}
        rows.append({"name": name, "sides": sides, "ratios": ratios,
                     "ratio_text": {k: ratio_text(v) for k, v in ratios.items()}})
    return rows


def compare_data(first: Entry, other: Entry) -> dict[str, Any]:
    """compare_table's numbers for two models as data (the web page's comparison): each
    metric's value and text in both, the ratio other / first, and the stages."""
    rows = []
    for name, get, numeric in METRICS:
        values = [get(first.report), get(other.report)]
        value = ratio(*values) if numeric else None
        rows.append({"name": name, "values": values,
                     "cells": [_cell(name, v) for v in values], "ratio": value,
                     "ratio_text": ratio_text(value) if numeric else ""})
    return {"labels": [first.label, other.label], "rows": rows,
            "stages": compare_stages(first.report, other.report)}


# ----------------------------------------------------------------- demos ---
def demo_3x3(x: int) -> str:
    items = entries([f"{x}x{x}x1 | conv5-1 nobias", f"{x}x{x}x1 | conv3-1 nobias | conv3-1 nobias"],
                    ["one 5x5", "two 3x3"])
    one, two = (e.report.totals for e in items)
    lines = [f"Seed 004: one 5x5 convolution against two stacked 3x3 on a {x}x{x} map "
             "(one channel, stride 1, no padding, no bias)", compare_table(items),
             f"weights: 5*5 = 25 against 3*3 + 3*3 = 18 (convscope: {one.params} and "
             f"{two.params})",
             f"MACs: 25x^2 - 200x + 400 = {25 * x * x - 200 * x + 400:,} at x = {x} "
             f"(convscope: {one.macs:,}); 18x^2 - 108x + 180 = {18 * x * x - 108 * x + 180:,} "
             f"(convscope: {two.macs:,})",
             f"receptive field: 5 both ways (convscope: {rf_text(one.receptive_field)} and "
             f"{rf_text(two.receptive_field)})"]
    return "\n".join(lines) + "\n"


def demo_inception() -> str:
    items = entries(["inception_naive", "inception_bottleneck"], ["naive", "bottleneck"])
    naive, bottle = (e.report for e in items)
    return "\n".join([
        "Seed 001: the Inception module on 28x28x256, without and with 1x1 bottleneck layers",
        compare_table(items),
        f"output depth: 128 + 192 + 96 + 256 = {naive.outputs[0][1][-1]} against "
        f"128 + 192 + 96 + 64 = {bottle.outputs[0][1][-1]}",
        f"operations (multiply-adds): {naive.totals.macs:,} against {bottle.totals.macs:,}, "
        f"{naive.totals.macs / bottle.totals.macs:.2f} times fewer with the bottleneck"]) + "\n"


def demo_fc_conv() -> str:
    items = entries(["28x28x3 | fc500", "28x28x3 | conv3-500"],
                    ["fully connected", "convolution 3x3"])
    fc, conv = (e.report.totals for e in items)
    return "\n".join([
        "Seed 003: a first layer of 500 units on a 28x28x3 image, fully connected against a "
        "3x3 convolution with 500 filters",
        compare_table(items),
        f"fully connected: 28*28*3*500 + 500 = {fc.params:,} parameters (seed 003 prints "
        "1176000: the product alone, 28*28*3*500 = 1,176,000, without the 500 biases)",
        f"convolution: 3*3*3*500 + 500 = {conv.params:,} parameters, whatever the image size: "
        f"{fc.params / conv.params:.0f} times fewer"]) + "\n"


def demo_classics() -> str:
    items = entries(["vgg16", "resnet50", "googlenet"], ["VGG-16", "ResNet-50", "GoogLeNet"])
    return "VGG-16 against ResNet-50 and GoogLeNet (torchvision's versions, 224x224x3)\n" + \
        compare_table(items)


DEMOS = {"3x3": demo_3x3, "inception": demo_inception, "fc-vs-conv": demo_fc_conv,
         "classics": demo_classics}


def demo(name: str, x: int = 28) -> str:
    if name not in DEMOS:
        raise ConvscopeError(f"no demonstration '{name}'.{closest(name, list(DEMOS))} "
                             f"Demonstrations: {', '.join(DEMOS)}")
    if name == "3x3":
        if x < 5:
            raise ConvscopeError(f"--x must be at least 5 for a 5x5 kernel; received {x}")
        return demo_3x3(x)
    return DEMOS[name]()  # type: ignore[operator]


def demo_sources(name: str, x: int = 28) -> list[str]:
    return {"3x3": [f"{x}x{x}x1 | conv5-1 nobias", f"{x}x{x}x1 | conv3-1 nobias | conv3-1 nobias"],
            "inception": ["inception_naive", "inception_bottleneck"],
            "fc-vs-conv": ["28x28x3 | fc500", "28x28x3 | conv3-500"],
            "classics": ["vgg16", "resnet50", "googlenet"]}[name]


def plot(items: list[Entry], path: str) -> None:
    """Bar charts of parameters, MACs and activation memory (log scale) per model."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConvscopeError("--plot needs matplotlib: pip install 'convscope[plot]'") from None
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    labels = [e.label for e in items]
    for ax, (title, get) in zip(axes, (("parameters", lambda t: t.params),
                                       ("MACs per sample", lambda t: t.macs),
                                       ("activation memory (bytes)",
                                        lambda t: t.activation_bytes)), strict=True):
        values = [get(e.report.totals) for e in items]
        ax.bar(range(len(values)), values, color="#4c72b0")
        ax.set_xticks(range(len(values)), labels, rotation=20, ha="right", fontsize=8)
        if min(values) > 0 and max(values) / min(values) > 50:
            ax.set_yscale("log")
        ax.set_title(title)
        for i, v in enumerate(values):
            ax.annotate(si(v), (i, v), ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    from ..files import save_atomic

    save_atomic(path, lambda target: fig.savefig(target, dpi=120, format="png"))
    plt.close(fig)
