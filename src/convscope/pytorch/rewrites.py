"""Groups of operations no kind reads one by one, written as the layers they compute.

A group the importer cannot map stays one opaque layer (exact totals, a global receptive
field). Two such groups compute exactly what layers of known kinds compute, so they are
written as those layers, each checked by the kinds' own rules against the shapes PyTorch
measured (else the group stays opaque):

* a packed q, k, v projection split into heads in one go, timm's attention blocks (ViT,
  DeiT, CaiT, PiT, Twins ...)::

      qkv.reshape(B, N, 3, heads, head_dim).permute(2, 0, 3, 1, 4).unbind(0)

  whose middle tensor has no batch in dim 0: for each of q, k and v, a slice of the
  tokens' channels, a view of it as heads and a transpose, which is how the importer
  reads nn.MultiheadAttention (composite.py runs it so);
* one token taken out of a sequence, ``x[:, 0]`` (a ViT's class token): a slice of the
  token axis, flattened.
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
# (name suffix, item) per layer in order, the output it gives, the stem of their names
Chain = tuple[list[tuple[str, dict[str, Any]]], tuple[Any, int], str]


def rewritten(builder: Any, members: list[Any], call: int) -> bool:
    """Write ``members`` (a group of ``builder``: importer.py's) as the layers they compute,
    if they are one of the patterns above and the kinds' rules agree; True if written."""
    if any(u.op.reads or u.op.flops for u in members):  # only views of data: nothing to count
        return False
    chains = heads_split(builder, members) or selection(builder, members)
    if not chains:
        return False
    source = members[0].op.sources[id(members[0].op.args[0])]
    written = [checked(builder, source, [item for _, item in steps], out)
               for steps, out, _ in chains]
    if any(w is None for w in written):
        return False
    path = builder.path(call)
    for (steps, out, stem), layers in zip(chains, written, strict=True):
        names = [builder.names[source]]
        for (suffix, item), (shape, layer) in zip(steps, layers, strict=True):
            name = unique_name(".".join(p for p in (path, stem + suffix) if p), builder.taken)
            builder.add(item, name, [], shape, names, layer)
            names = [name]
        builder.names[out] = names[0]
    builder.counted_ops.update(u.op.index for u in members)
    return True


def checked(builder: Any, source: Any, items: list[dict[str, Any]], out: Any) -> Any:
    """Each item's (output shape, layer) by its kind's rules, from ``source``'s shape; None
    unless they add no parameters, buffers or MACs and end at the shape of ``out``."""
    shape, layers = builder.shape(source), []
    for item in items:
        found = kind_counts(item, (shape,), builder.memo)
        if found is None or any(found[1:4]):
            return None
        shape = found[0]
        layers.append((shape, found[4]))
    return layers if shape == builder.shape(out) else None


def heads_split(builder: Any, members: list[Any]) -> list[Chain]:
    """The chains of q, k and v (see the module docstring) when the group is view (N, L,
    C) -> (N, L, S, H, d), permute (2, 0, 3, 1, 4), unbind(0) on channels-last tokens."""
    ops = [u.op for u in members]
    if len(ops) != 3 or ops[0].func._overloadpacket not in VIEWS or \
            ops[1].func._overloadpacket is not aten.permute or \
            ops[2].func._overloadpacket is not aten.unbind:
        return []
    view, permute, unbind = ops
    x, y = view.args[0], view.outputs[0]
    if not tokens(builder, view, x) or y.dim() != 5 or \
            tuple(y.shape[:2]) != tuple(x.shape[:2]) or \
            y.shape[2] * y.shape[3] * y.shape[4] != x.shape[2] or \
            permute.args[0] is not y or list(permute.args[1]) != [2, 0, 3, 1, 4] or \
            unbind.args[0] is not permute.outputs[0] or arg(unbind, 1, "dim", 0) != 0:
        return []
    heads, width = int(y.shape[3]), int(y.shape[3] * y.shape[4])
    count = len(unbind.outputs)
    return [([("", {"type": "slice", "axis": our_axis(2, 3, "last"), "start": j * width,
                    "stop": (j + 1) * width}),
              ("_heads", {"type": "reshape",
                          "target_shape": [int(x.shape[1]), heads, width // heads],
                          "layout": "channels_last"}),
              ("_heads_first", {"type": "permute", "dims": [1, 3, 2]})],
             (unbind.index, j), PARTS[j] if count == len(PARTS) else str(j))
            for j in range(count)]


def selection(builder: Any, members: list[Any]) -> list[Chain]:
    """The chain of ``x[:, i]`` on channels-last tokens: a slice of the token axis, then
    a flatten of that one token."""
    op = members[0].op
    if len(members) != 1 or op.func._overloadpacket is not aten.select:
        return []
    x = op.args[0]
    if not tokens(builder, op, x) or arg(op, 1, "dim", 0) % 3 != 1:
        return []
    start = arg(op, 2, "index", 0) % x.shape[1]
    return [([("", {"type": "slice", "axis": our_axis(1, 3, "last"), "start": start,
                    "stop": start + 1}),
              ("_flat", {"type": "flatten"})], (op.index, 0), "token")]


def tokens(builder: Any, op: Any, x: Any) -> bool:
    """``x`` is data of channels-last tokens (N, L, C)."""
    return op.is_data(x) and x.dim() == 3 and x.shape[0] == builder.cap.batch and \
        builder.units.layouts.get(op.sources[id(x)]) == "last"


__all__ = ["rewritten"]
