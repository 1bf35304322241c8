"""The layout of each tensor a capture records (layout.py names them), decided operation by
operation as grouping.py adds them."""

from __future__ import annotations

from typing import Any

import torch

from .aten_map import heads_back, layout_flip, map_op, permute_order
from .captured import Capture, Op, Source
from .layout import FIRSTS

aten = torch.ops.aten
VIEWS = {aten.view, aten._unsafe_view, aten.reshape, aten.unsqueeze, aten.squeeze}


def heads_apart(op: Op, units: Any) -> None:
    """Scaled dot-product attention reads q, k and v as (N, H, L, E) whatever came before
    (the heads split off channels-last tokens, timm's qkv): from its first operation on,
    they are "heads" tensors, and a view that made one (``units``: grouping.py's) is read
    again for that layout."""
    cap, layouts = units.cap, units.layouts
    call = cap.calls[op.call] if op.call >= 0 else None
    if call is None or call.composite is None or call.layout:
        return
    for src in call.composite[1]:
        if layouts.get(src) != "last":
            continue
        layouts[src] = "heads"
        unit = units.units[units.of[src]] if src[0] >= 0 else None
        if unit is not None and isinstance(unit.item, dict):
            before, unit.op.layout = unit.op.layout, "heads"
            found = map_op(unit.op, cap.batch)
            unit.op.layout = before
            unit.item = found[0] if isinstance(found, tuple) else found


def out_layout(op: Op, data: list[torch.Tensor], t: torch.Tensor, cap: Capture,
               layouts: dict[Source, str]) -> str:
    """A permute that only moves the channels flips the layout; attention's result has
    its heads apart, moved back they are channels last; a channels-last tensor stays so
    through views (batch kept), operations that keep its rank (but permutes that move its
    channels) and operations that keep its channels; a convolution's
    output, and a map flattened to (N, C, L), is surely channels first; so does a
    function read whole that needs channels last give them (composite.py: F.linear).
    Channels-last tensors with the batch folded in (rows, Swin's windows) stay channels
    last whatever their sizes, until a view unfolds them: layers never start or end
    there (grouping.py), so the layout is what they give back."""
    call = cap.calls[op.call] if op.call >= 0 else None
    if call is not None and call.composite is not None and id(t) == call.result:
        if not call.layout:  # attention: (N, H, L, E)
            return "heads" if t.dim() == 4 else "first"
        if call.composite[1] and layouts.get(call.composite[1][0]) == call.layout:
            return call.layout
    x = data[0] if data else None
    if x is None:
        return "first"
    batch = cap.batch
    kept = x.shape[0] == batch and t.dim() > 0 and t.shape[0] == batch
    flip = layout_flip(op) if kept else None
    if flip is not None:
        return flip
    if kept and heads_back(op):
        return "last"
    packet = op.func._overloadpacket
    if op.layout == "last":
        folded = t.dim() == 0 or t.shape[0] != batch or x.shape[0] != batch
        if folded and t.dim() > 1 or packet in VIEWS and kept and t.dim() > 2:
            return "last"  # tokens folded into rows or windows stay channels last
        order = permute_order(op)
        if order is not None:  # a permute keeping the channels last (Swin: H and W)
            return "last" if order[-1] == len(order) - 1 else "first"
        if kept and t.dim() == x.dim() > 2:
            return "last"  # same rank: element-wise, cat, slices, pads, rolls
        return "last" if t.dim() > 2 and t.shape[-1:] == x.shape[-1:] else "first"
    if packet is aten.convolution and t.dim() > 2 or op.layout in FIRSTS and \
            packet in VIEWS and kept and x.dim() > 3 and t.dim() == 3 and \
            t.shape[1] == x.shape[1]:
        return "sure"
    return "sure" if op.layout == "sure" and t.shape == x.shape else "first"


def same_view(builder: Any, members: list[Any], outs: list[Source]
              ) -> tuple[Source, Source] | None:
    """(its output, its input) for a group of views that gives its input back unchanged:
    two or more operations (one is the user's own layer, even an identity permute), each
    aliasing its input (``transpose``, ``view``, ...), one tensor comes in and one goes
    out, of the same sizes, strides, offset and layout, so the same elements in the same
    places (nn.MultiheadAttention's batch_first transposes around composite.py's
    self-attention; ``outs``: what leaves the group). None otherwise."""
    if len(members) < 2 or len(outs) != 1 or not all(
            r.alias_info is not None for u in members for r in u.op.func._schema.returns):
        return None
    inputs = builder.inputs_of(members)
    if len(inputs) != 1:
        return None
    (src,) = inputs
    x, t = builder.tensor(src), builder.tensor(outs[0])
    layouts = builder.units.layouts
    same = (x.shape, x.stride(), x.storage_offset()) == (t.shape, t.stride(),
                                                          t.storage_offset())
    return (outs[0], src) if same and layouts.get(src, "first") == layouts.get(
        outs[0], "first") else None


MERGES = {aten.add, aten.add_, aten.sub, aten.mul, aten.mul_}


def merged_alike(op: Op, units: Any) -> None:
    """An element-wise merge of two data tensors of the same sizes, one channels last and
    the other of no known layout, made by an operation convscope has no kind for (and read
    by nothing before): element by element, the two have the same layout, so the other is
    channels last too (CaiT's and ConvIT's residual adds after attention written by hand,
    its output moved back from the heads by a view no rule reads)."""
    data = op.data_args()
    if op.func._overloadpacket not in MERGES or len(data) != 2 or \
            data[0].shape != data[1].shape or data[0].dim() < 3 or \
            data[0].shape[0] != units.cap.batch:
        return
    sources = [op.sources[id(t)] for t in data]
    layouts = [units.layouts.get(s, "first") for s in sources]
    if sorted(layouts) != ["first", "last"]:
        return
    src = sources[layouts.index("first")]
    if src[0] >= 0 and src not in units.read and units.units[units.of[src]].item is None:
        units.layouts[src] = "last"


def last_by_use(op: Op, units: Any) -> None:
    """A tensor of three or more dims and no known layout, made by operations no kind reads
    or by a view of something else (even one out_layout guessed a channels-first map
    flattened: (N, 1, H, E) to (N, 1, H x E)), read by nothing before, that ``F.linear``
    (composite.py), a layer norm over its last dim alone or a product with a vector of
    its last dim's size (a LayerScale's gamma) reads first: all work on the last dim, so
    that is its channels (a cross-attention's class token, CrossViT's projections back,
    Hiera-Det's attention output). The view is then part of an opaque layer: no reshape
    goes from the layout it read to channels last."""
    data = op.data_args()
    if len(data) != 1 or data[0].dim() < 3 or data[0].shape[0] != units.cap.batch:
        return
    call = units.cap.calls[op.call] if op.call >= 0 else None
    src = op.sources[id(data[0])]
    linear = call is not None and call.layout == "last" and call.composite is not None and \
        src in call.composite[1]  # the linear's input, not a tensor of its own
    norm = op.func._overloadpacket is aten.native_layer_norm and \
        list(op.args[1]) == [data[0].shape[-1]]
    scale = op.func._overloadpacket in (aten.mul, aten.mul_) and any(  # LayerScale's gamma
        isinstance(a, torch.Tensor) and id(a) in op.consts and
        tuple(a.shape) == (data[0].shape[-1],) for a in op.args)
    layout = units.layouts.get(src, "first")
    if not (linear or norm or scale) or src[0] < 0 or src in units.read or \
            layout not in ("first", "sure"):
        return
    maker = units.units[units.of[src]]
    view = maker.op.func._overloadpacket in VIEWS or \
        maker.op.func._overloadpacket is aten.alias  # "sure" is then a guess (out_layout)
    if view or maker.item is None and layout == "first":
        maker.item = None  # a view into channels last from a layout it did not read: opaque
        units.layouts[src] = "last"
