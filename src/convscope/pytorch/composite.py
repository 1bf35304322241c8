"""Calls PyTorch decomposes below autograd that convscope reads whole: scaled dot-product
attention.

``F.scaled_dot_product_attention`` has no ATen operator a dispatch mode sees: on meta
tensors it runs as its math (scaling, two batched products folding the heads into the
batch, a softmax). A ``TorchFunctionMode`` sees the call itself, before it decomposes: the
capture marks it as a call of its own (like a module call, ``path.attention``), so its
operations group together, and the importer writes that group as one ``attention`` layer
when the kind's rules give exactly what PyTorch measured (inputs with their heads apart,
(N, H, L, E); no mask tensor, no dropout, q, k and v with the same heads). Otherwise the
group stays opaque, labelled ``scaled_dot_product_attention``, with the same totals.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

SDPA = torch.nn.functional.scaled_dot_product_attention
LABEL = "scaled_dot_product_attention"


class Composites(TorchFunctionMode):
    """Marks each scaled dot-product attention call in ``recorder``'s stack of calls."""

    def __init__(self, recorder: Any) -> None:
        super().__init__()
        self.recorder = recorder

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None
                           ) -> Any:
        kwargs = kwargs or {}
        if func is not SDPA:  # (run without the mode: an attention call inside a Python
            return func(*args, **kwargs)  # function, nn.MultiheadAttention's, stays its math)
        self.recorder.push_composite(LABEL, item(args, kwargs, self.recorder.data))
        try:
            return func(*args, **kwargs)
        finally:
            self.recorder.pop()


def item(args: Any, kwargs: dict[str, Any], data: dict[int, Any]) -> Any:
    """(attention item, the sources of q, k, v) for the call; (None, []) when no attention
    layer can describe it (the call's operations still make one group: an opaque layer)."""
    names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale",
             "enable_gqa")
    given = {**dict(zip(names, args, strict=False)), **kwargs}
    q, k, v = (given.get(n) for n in names[:3])
    tensors = (q, k, v)
    if not all(isinstance(t, torch.Tensor) and t.dim() == 4 for t in tensors) or \
            given.get("attn_mask") is not None or given.get("dropout_p", 0.0) or \
            given.get("enable_gqa", False) or any(id(t) not in data for t in tensors):
        return None, []
    scale = given.get("scale")
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return ({"type": "attention", "scale": scale, "causal": bool(given.get("is_causal"))},
            [data[id(t)] for t in tensors])


__all__ = ["LABEL", "Composites"]


def read_whole(builder: Any, members: list[Any], name: str, call: int) -> bool:
    """Write the group of a function call read whole (``builder``: importer.py's) as its
    layer, if the group is exactly that call's operations and the kind's rules give the
    shape and MACs PyTorch measured (no parameters or buffers read); True if written."""
    from .aten_map import kind_counts
    from .grouping import exposed
    from .layout import our_shape

    found = builder.cap.calls[call].composite if call >= 0 else None
    inside = {u.index for u in members}
    if found is None or found[0] is None or any(u.op.call != call for u in members) or \
            any(u.op.call == call and u.index not in inside for u in builder.units.units):
        return False
    item, sources = found
    outs = exposed(builder.units, members)
    batch = builder.cap.batch
    flops = sum(u.op.flops for u in members if u.op.index not in builder.counted_ops)
    counts = kind_counts(item, tuple(our_shape(builder.tensor(s)) for s in sources))
    if len(outs) != 1 or counts is None or flops % (2 * batch) or \
            any(u.op.reads for u in members):
        return False
    shape, trainable, buffers, macs = counts
    if shape != our_shape(builder.tensor(outs[0])) or macs != flops // (2 * batch) or \
            trainable or buffers:
        return False
    builder.counted_ops.update(u.op.index for u in members)
    builder.counts[name] = (item["type"], 0, 0)
    builder.add(item, name, sources, shape)
    builder.names[outs[0]] = name
    return True
