"""Charts of a report with matplotlib (the extra ``convscope[plot]``): per-layer
parameters, MACs or activation memory as bars, and the receptive field's growth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..analysis.report import Report
from ..errors import ConvscopeError
from ..units import si

WHAT = {"params": ("parameters", lambda s: s.params),
        "macs": ("multiply-adds (MACs) per sample", lambda s: s.macs),
        "memory": ("activation memory (bytes, per sample)", lambda s: s.activation_bytes)}


def pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConvscopeError("plots need matplotlib: pip install 'convscope[plot]'") from None
    return plt


def figure(report: Report, what: str) -> Any:
    plt = pyplot()
    layers = [s for s in report.layers if s.kind != "input"]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.22 * len(layers) + 2), 4))
    x = list(range(len(layers)))
    if what == "rf":
        sizes = [float(s.receptive_field.axes[0].size) if not s.receptive_field.is_global and
                 s.receptive_field.axes else None for s in layers]
        points = [(i, v) for i, v in zip(x, sizes, strict=True) if v is not None]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", ms=3)
        ax.set_ylabel("receptive field (pixels, first spatial axis)")
        ax.set_title(f"{report.model}: receptive field per layer (global layers omitted)")
    else:
        title, get = WHAT[what]
        values = [get(s) for s in layers]
        ax.bar(x, values, color="#4c72b0")
        ax.set_ylabel(title)
        ax.set_title(f"{report.model}: {title}, total {si(sum(values))}")
    step = max(1, len(layers) // 40)
    ax.set_xticks(x[::step], [s.name for s in layers][::step], rotation=90, fontsize=7)
    fig.tight_layout()
    return fig


def plot(report: Report, what: str, path: str) -> Path:
    from ..files import save_atomic

    if what not in (*WHAT, "rf"):
        raise ConvscopeError(f"--what must be params, macs, memory or rf; received '{what}'")
    suffix = Path(path).suffix.lower().lstrip(".") or "png"
    if suffix not in ("png", "svg"):
        raise ConvscopeError(f"{path}: plots are written as .png or .svg")
    fig = figure(report, what)
    target = save_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format=suffix))
    pyplot().close(fig)
    return target


def plot_latency(profile: Any, path: str) -> Path:
    """Seed 001's operations-versus-latency chart: one point per layer of a measured
    profile (``convscope profile --plot``), MACs against milliseconds, log scales."""
    from ..files import save_atomic

    suffix = Path(path).suffix.lower().lstrip(".") or "png"
    if suffix not in ("png", "svg"):
        raise ConvscopeError(f"{path}: plots are written as .png or .svg")
    plt = pyplot()
    points = [(t.macs, t.ms, t.name) for t in profile.layers if t.macs > 0 and t.ms > 0]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.scatter([p[0] for p in points], [p[1] for p in points], s=14, color="#4c72b0")
    for macs, ms, name in sorted(points, key=lambda p: -p[1])[:5]:
        ax.annotate(name, (macs, ms), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"multiply-adds (MACs, batch {profile.batch})")
    ax.set_ylabel("measured time (ms, median)")
    ax.set_title(f"{profile.model}: operations versus latency, {profile.device}")
    fig.tight_layout()
    target = save_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format=suffix))
    plt.close(fig)
    return target
