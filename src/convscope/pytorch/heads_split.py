"""A packed q, k, v projection split into heads in one go, read as the layers that split
nn.MultiheadAttention's.

timm's attention blocks (ViT, DeiT, CaiT, Swin's windows, ...) split their projection with

    qkv.reshape(B, N, 3, heads, head_dim).permute(2, 0, 3, 1, 4).unbind(0)

whose middle tensor has no batch in dim 0, so the three operations would stay one opaque
group with three outputs. They compute exactly, for each of q, k and v, a slice of the
tokens' channels, a view of it as heads and a transpose, which is how the importer reads
nn.MultiheadAttention (composite.py runs it so). So the group is written as those layers
when it is that pattern on channels-last tokens and the kinds' own rules give every shape
PyTorch measured (else it stays opaque, with the same totals).
"""

from __future__ import annotations

from typing import Any

import torch

from ..layers.aten_args import arg
from ..layers.bridge import our_axis
from ..names import unique_name
from .aten_map import kind_counts

aten = torch.ops.aten
VIEWS = (aten.view, aten._unsafe_view, aten.reshape)
PARTS = "qkv"


def heads_split(builder: Any, members: list[Any], call: int) -> bool:
    """Write ``members`` (a group of ``builder``: importer.py's) as the split of q, k and v
    into heads, if they are that pattern (see the module docstring); True if written."""
    pattern = split_pattern(builder, members)
    if pattern is None:
        return False
    x, heads, length, width, outputs = pattern
    path = builder.path(call)
    chains = []
    for j, out in enumerate(outputs):
        items = [{"type": "slice", "axis": our_axis(2, 3, "last"), "start": j * width,
                  "stop": (j + 1) * width},
                 {"type": "reshape", "target_shape": [length, heads, width // heads],
                  "layout": "channels_last"},
                 {"type": "permute", "dims": [1, 3, 2]}]
        built, shape = [], builder.shape(x)
        for item in items:
            found = kind_counts(item, (shape,), builder.memo)
            if found is None or any(found[1:4]):  # no parameters, buffers or MACs
                return False
            shape = found[0]
            built.append((found[0], found[4]))
        if shape != builder.shape(out):
            return False
        chains.append((items, built, out))
    for j, (items, built, out) in enumerate(chains):
        part = PARTS[j] if len(outputs) == len(PARTS) else str(j)
        names = [builder.names[x]]
        for item, (shape, layer), step in zip(items, built, ("", "_heads", "_heads_first"),
                                              strict=True):
            name = unique_name(".".join(p for p in (path, part + step) if p), builder.taken)
            builder.add(item, name, [], shape, names, layer)
            names = [name]
        builder.names[out] = names[0]
    builder.counted_ops.update(u.op.index for u in members)
    return True


def split_pattern(builder: Any, members: list[Any]) -> Any:
    """(the tokens' source, heads, tokens, channels per part, the parts' sources) when the
    group is view (N, L, C) -> (N, L, S, H, d), permute (2, 0, 3, 1, 4), unbind(0) on
    channels-last tokens; else None."""
    ops = [u.op for u in members]
    if len(ops) != 3 or ops[0].func._overloadpacket not in VIEWS or \
            ops[1].func._overloadpacket is not aten.permute or \
            ops[2].func._overloadpacket is not aten.unbind:
        return None
    view, permute, unbind = ops
    x, y = view.args[0], view.outputs[0]
    if not view.is_data(x) or x.dim() != 3 or x.shape[0] != builder.cap.batch or \
            y.dim() != 5 or tuple(y.shape[:2]) != tuple(x.shape[:2]) or \
            y.shape[2] * y.shape[3] * y.shape[4] != x.shape[2] or \
            permute.args[0] is not y or list(permute.args[1]) != [2, 0, 3, 1, 4] or \
            unbind.args[0] is not permute.outputs[0] or arg(unbind, 1, "dim", 0) != 0:
        return None
    src = view.sources[id(x)]
    if builder.units.layouts.get(src) != "last" or any(u.op.reads for u in members):
        return None
    return (src, int(y.shape[3]), int(x.shape[1]), int(y.shape[3] * y.shape[4]),
            [(unbind.index, j) for j in range(len(unbind.outputs))])


__all__ = ["heads_split"]
