"""The window of an opaque group whose operations move positions between axes (issue 11).

window.py reads a group that is one convolution with element-wise work around it. A
windowed-attention block (Swin, TinyViT, NesT) is not: it cuts the map into windows
folded into the batch (view, permute), lets the tokens of each window attend to each other
(matmul, softmax, scaled dot-product attention) and puts the map back, maybe after a
cyclic shift (roll). Its outputs still read only their window. This pass follows, for
every tensor of the group, which input position each index stands for, and how far from
it the values it holds may read:

* each axis is a list of components ``(spatial axis, step in input pixels, count)``, row
  major (``None`` for an axis with no position: the batch, the channels, the heads); a
  window partition splits ``(0, 1, 56)`` into ``(0, 7, 8)`` and ``(0, 1, 7)``;
* an element's position p along spatial axis a is the sum of its components' index x
  step; the tensor holds, per spatial axis, the offsets ``[lo, hi]`` around p that it
  may read from the group's input.

An operation whose output index reads input indices it does not share (a reduction, a
softmax, a contraction, an input broadcast or a row against a column) widens the offsets
by what those positions can differ: with p_in - p_out in [-E_out, E_in], E the summed
``step x (count - 1)`` of the components the other side lacks. This is sound for every
element, and exact for a window attention (7 tokens each way: offsets -6..6). A cyclic
shift of the whole map is read as a shift: what torch.roll carries round the map's edge is
what Swin's mask keeps apart; one inside a window widens by what wraps, as a reflection or
replication pad inside a window does by what it mirrors. Normalisations read position by
position (statistics are not part of the field, as in SPEC's recurrence). A write into a
view, an operation without a rule, or a group output whose positions are not one
component per spatial axis in the layout the graph gives it leaves the group global
(:class:`Lost`).
"""

from __future__ import annotations

from typing import Any

from ..layers.regrid import Axis, extent, labelled, map_axes, normal, plain
from .layout import our_shape


class Flow:
    """What one tensor of the group holds: its axes' components and, per spatial axis,
    the offsets [lo, hi] from each element's position that its values may read."""

    __slots__ = ("axes", "lo", "hi")

    def __init__(self, axes: list[Axis], lo: list[int], hi: list[int]) -> None:
        self.axes, self.lo, self.hi = [normal(a) for a in axes], lo, hi


def start(t: Any, last: bool) -> Flow:
    """A group input (N, C, *S), or channels last (N, *S, C): each spatial axis is itself."""
    spatial = t.dim() - 2
    *maps, channels = map_axes(our_shape(t, "last" if last else "first"))
    axes = [*maps, channels] if last else [channels, *maps]
    return Flow([plain(int(t.shape[0])), *axes], [0] * spatial, [0] * spatial)


def combine(parts: list[tuple[Flow, list[int | None]]], out: list[Axis],
            spatial: int) -> Flow:
    """The output of an operation whose output axes are ``out``: each input ``Flow`` with,
    per axis of it, the output axis whose index it shares (None: one it reads across)."""
    lo, hi = [0] * spatial, [0] * spatial
    first = True
    for flow, where in parts:
        matched = {k for k, axis in zip(where, flow.axes, strict=True)
                   if k is not None and axis == out[k]}
        e_in = extent([a for a, k in zip(flow.axes, where, strict=True) if k not in matched],
                      spatial)
        e_out = extent([a for k, a in enumerate(out) if k not in matched], spatial)
        for a in range(spatial):
            low, high = flow.lo[a] - e_out[a], flow.hi[a] + e_in[a]
            lo[a], hi[a] = (low, high) if first else (min(lo[a], low), max(hi[a], high))
        first = False
    return Flow(out, lo, hi)


def aligned(flows: list[tuple[Flow, Any]], shape: tuple[int, ...],
            spatial: int) -> Flow:
    """Element-wise with broadcasting: ``flows`` (flow, its tensor), right-aligned to the
    output ``shape``; each output axis takes the components of the first input that
    holds it at full size with positions."""
    rank = len(shape)
    out: list[Axis] = [plain(int(n)) for n in shape]
    chosen = [False] * rank
    parts = []
    for flow, t in flows:
        shift = rank - t.dim()
        where: list[int | None] = []
        for i, axis in enumerate(flow.axes):
            k = i + shift
            full = int(t.shape[i]) == int(shape[k])
            where.append(k if full else None)
            if full and not chosen[k] and labelled(axis):
                out[k], chosen[k] = axis, True
        parts.append((flow, where))
    return combine(parts, out, spatial)
