"""The receptive-field window of an opaque group, when one can be read off its operations.

A group that no kind describes usually gets a global field (nothing is claimed). But many
are one convolution whose weight the model computes (NF-Nets' weight standardisation and
gain, timm's ``ScaledStdConv2d``), or whose weight is a buffer (``BlurPool2d``'s fixed
filter), with element-wise work around it and maybe a padding before it. Such a group
reads its input through exactly that convolution's window, so it gets that window:
kernel d x (k - 1) + 1, the stride, and the padding before (the convolution's own plus
any pad in front of it, negative where a pad crops); a group of paddings and element-wise
work only reads its input position by position (kernel 1, shifted by the padding), as do
reductions, splits and concatenations along the channels alone (an RMS norm over
channels), on channels-last tensors too, and permutes that only move the channels. A
group with several inputs or outputs keeps kernel 1 only if it reads position by position
with no shift. Anything else in the group (a reduction over positions, another permute,
a second window, a transposed convolution) leaves it global.
"""

from __future__ import annotations

from typing import Any

import torch

from ..layers.aten_args import arg
from .axis_mix import flow_window
from .elementwise import PADS, POINTWISE
from .layout import flipped, sizes_of

aten = torch.ops.aten

# reductions, selections and concatenations along the channels alone (axis 1, or the last
# axis of a channels-last tensor) keep each position reading only itself (an RMS norm's
# mean of squares, a split of the channels): (where dim is, where keepdim is; -1: none)
PER_POSITION = {aten.mean: (1, 2), aten.sum: (1, 2), aten.amax: (1, 2), aten.amin: (1, 2),
                aten.var: (1, None), aten.linalg_vector_norm: (2, 3), aten.slice: (1, -1),
                aten.split: (2, -1), aten.split_with_sizes: (2, -1), aten.narrow: (1, -1),
                aten.cat: (1, -1)}


def along_channels(op: Any, last: bool) -> bool:
    """Whether a PER_POSITION operation works along the channels alone (axis 1, or the last
    axis of a channels-last tensor), a reduction keeping the axis."""
    at, keep_at = PER_POSITION[op.func._overloadpacket]
    first = op.args[0]
    rank = (first[0] if isinstance(first, (list, tuple)) else first).dim()
    dims = arg(op, at, "dim")
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    keep = True if keep_at == -1 else \
        bool(op.kwargs.get("keepdim", False) if keep_at is None else arg(op, keep_at, "keepdim"))
    return keep and len(dims) == 1 and dims[0] % rank == (rank - 1 if last else 1)


def pad_before(op: Any, spatial: int) -> list[int] | None:
    """The padding a pad operation adds before each spatial axis (its list runs from the
    last axis: (left, right, top, bottom, ...)); negative where it crops (NASNet's
    ``ZeroPad2d((-1, 1, -1, 1))`` shifts the map by one: output 0 reads input 1); None when
    it pads the channels."""
    pads = [int(p) for p in op.args[1]]
    if len(pads) > 2 * spatial:
        return None
    before = [0] * spatial
    for i in range(len(pads) // 2):
        before[spatial - 1 - i] = pads[2 * i]
    return before


def conv_window(op: Any, spatial: int) -> tuple[list[int], list[int], list[int]] | None:
    """(effective kernel, stride, padding before) of a forward convolution's window."""
    args = op.args
    if len(args) < 9 or args[6] or args[1].dim() != spatial + 2:
        return None
    stride, padding, dilation = ([int(v) for v in a] for a in (args[3], args[4], args[5]))
    kernel = [d * (int(k) - 1) + 1 for k, d in zip(args[1].shape[2:], dilation, strict=True)]
    return kernel, stride, padding


def group_window(members: list[Any], inputs: list[Any], tensor: Any, layout: Any,
                 outs: list[Any]) -> dict[str, Any] | None:
    """``{"rf_kernel", "rf_stride", "rf_padding"}`` for an opaque group (``members``: units
    of grouping.py, ``inputs``: its outside data sources, ``tensor``: source -> tensor,
    ``layout``: source -> "first" or "last"), or None when its field is not one
    convolution's window (or none at all): then, for a group with one output,
    axis_flow.py's pass (windowed attention). On channels-last tensors only position-by-
    position work has a window (and permutes that only move the channels). A group with
    several inputs or ``outputs`` (a split and concatenation of the channels around
    element-wise work) gets a window only when it reads position by position with no
    shift, every tensor of the same spatial sizes (each output's field is then the union
    of the inputs' fields, as a merge's). axis_flow.py's pass also reads inputs of different
    sizes (HaloNet's queries and its padded keys): index by index, as a merge does."""
    rank = tensor(inputs[0]).dim() if inputs else 0
    sizes = {sizes_of(tensor(s), layout(s) == "last") for s in inputs}
    if rank < 3 or any(tensor(s).dim() != rank for s in inputs):
        return None
    found = scanned(members, inputs, tensor, layout, len(outs), rank, sizes) \
        if len(sizes) == 1 else None
    if found is None and len(outs) == 1:
        return flow_window(members, inputs, outs[0], tensor, layout)
    return found


def scanned(members: list[Any], inputs: list[Any], tensor: Any, layout: Any, outputs: int,
            rank: int, sizes: set[tuple[int, ...]]) -> dict[str, Any] | None:
    """The window of a group that is one convolution (or none) with element-wise work."""
    spatial = rank - 2
    window, extra = None, [0] * spatial
    for u in sorted(members, key=lambda m: m.op.index):
        packet = u.op.func._overloadpacket
        first = next(iter(u.op.sources.values()), None)
        last = first is not None and layout(first) == "last"
        if packet is aten.permute and first is not None:
            if flipped(list(u.op.args[1]), rank, layout(first)) is None:
                return None
        elif last and packet not in POINTWISE and packet not in PER_POSITION:
            return None
        elif packet is aten.convolution and window is None:
            window = conv_window(u.op, spatial)
            if window is None:
                return None
        elif packet in PADS and window is None:
            before = pad_before(u.op, spatial)
            if before is None:
                return None
            extra = [a + b for a, b in zip(extra, before, strict=True)]
        elif packet not in POINTWISE and not (packet in PER_POSITION and
                                              along_channels(u.op, last)):
            return None
    kernel, stride, padding = window or ([1] * spatial, [1] * spatial, [0] * spatial)
    if (outputs > 1 or len(inputs) > 1) and (window is not None or any(extra) or any(
            sizes_of(t, layout((u.op.index, k)) == "last") not in sizes
            for u in members for k, t in enumerate(u.op.outputs))):
        return None  # several inputs or outputs: position by position, same sizes, only
    return {"rf_kernel": kernel, "rf_stride": stride,
            "rf_padding": [p + e for p, e in zip(padding, extra, strict=True)]}
