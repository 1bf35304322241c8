"""A network's stages: the runs of consecutive layers whose outputs share one spatial size
(ResNet's conv2_x .. conv5_x at 56x56, 28x28, 14x14 and 7x7), then the layers without
spatial axes (the head). ``convscope compare`` and the web page's comparison use them to
set two networks' stages side by side.

A stage is named by its spatial size ('56x56'); a size met again later (a decoder going
back up) is named '56x56 (2)', so that names stay unique within a network and the n-th
run at a size of one network meets the n-th run at that size of the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from .report import LayerStats, Report


@dataclass(frozen=True)
class Stage:
    name: str  # '56x56', '56x56 (2)' or 'head'
    first: str  # the names of its first and last layers
    last: str
    layers: int
    params: int
    trainable_params: int
    macs: int
    activation_bytes: int


def spatial_name(shape: tuple[int, ...]) -> str:
    """'56x56' for a 56x56x64 map (H x W x C), 'head' for a vector."""
    return "x".join(str(n) for n in shape[:-1]) if len(shape) >= 2 else "head"


def _stage(name: str, run: list[LayerStats]) -> Stage:
    return Stage(name=name, first=run[0].name, last=run[-1].name, layers=len(run),
                 params=sum(s.params for s in run),
                 trainable_params=sum(s.trainable_params for s in run),
                 macs=sum(s.macs for s in run),
                 activation_bytes=sum(s.activation_bytes for s in run))


def stages(report: Report) -> tuple[Stage, ...]:
    """The stages of ``report``'s network in order (input layers are in none)."""
    runs: list[tuple[str, list[LayerStats]]] = []
    for layer in report.layers:
        if layer.kind == "input":
            continue
        name = spatial_name(tuple(layer.output_shape))
        if runs and runs[-1][0] == name:
            runs[-1][1].append(layer)
        else:
            runs.append((name, [layer]))
    seen: dict[str, int] = {}
    found = []
    for name, run in runs:
        seen[name] = seen.get(name, 0) + 1
        found.append(_stage(name if seen[name] == 1 else f"{name} ({seen[name]})", run))
    return tuple(found)
