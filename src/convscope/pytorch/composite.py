"""Calls PyTorch decomposes below autograd that convscope reads whole: scaled dot-product
attention, and ``F.linear`` on a channels-last map; and nn.MultiheadAttention's plain
self-attention, run as the same operations written so that those two read it
(``Composites.self_attention``).

Neither has an ATen operator a dispatch mode sees whole: ``F.scaled_dot_product_attention``
runs as its math on meta tensors (scaling, two batched products folding the heads into the
batch, a softmax), and ``F.linear`` on (N, H, W, C) folds the positions into the batch
(view, mm, view). A ``TorchFunctionMode`` sees the call itself, before it decomposes: the
capture marks it as a call of its own (like a module call), so its operations group
together, and the importer writes that group as one layer when the kind's rules give
exactly what PyTorch measured:

* attention (``path.attention``): q, k, v with their heads apart, (N, H, L, E); no mask
  tensor, no dropout, no grouped heads;
* dense (named by its module, ``blocks.0.mlp.fc1``): the input a channels-last map or
  sequence (layout.py: after a permute that moves the channels last, ConvNeXt's and Swin's
  blocks, a ViT's tokens), whose output is then channels last too; its weight and bias are
  what it reads.

Otherwise the group stays one opaque layer, with the same totals.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

SDPA = torch.nn.functional.scaled_dot_product_attention
LINEAR = torch.nn.functional.linear
MHA = torch.nn.functional.multi_head_attention_forward


class Composites(TorchFunctionMode):
    """Marks each call read whole in ``recorder``'s stack of calls."""

    def __init__(self, recorder: Any) -> None:
        super().__init__()
        self.recorder = recorder
        self.suffix = ""  # of the next linear's name (self_attention's projections)

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None
                           ) -> Any:
        kwargs = kwargs or {}
        if func is SDPA:
            self.recorder.push_composite("attention", "scaled_dot_product_attention",
                                         attention(args, kwargs, self.recorder.data), "")
        elif func is LINEAR and isinstance(args[0], torch.Tensor) and args[0].dim() > 2:
            self.recorder.push_composite(self.suffix, "linear",
                                         dense(args, kwargs, self.recorder), "last")
        elif func is MHA and (plain := plain_self_attention(args, kwargs)) is not None:
            with self:  # its projections and attention are then seen as calls
                return self.self_attention(*plain)
        else:  # (run without the mode: a Python function's inner calls stay their math)
            return func(*args, **kwargs)
        try:
            result = func(*args, **kwargs)
            self.recorder.calls[self.recorder.call].result = id(result)
            return result
        finally:
            self.recorder.pop()

    def self_attention(self, x: torch.Tensor, heads: int, w_in: torch.Tensor,
                       b_in: torch.Tensor | None, w_out: torch.Tensor,
                       b_out: torch.Tensor | None) -> tuple[torch.Tensor, None]:
        """``F.multi_head_attention_forward`` on x (L, N, E) as query, key and value, no
        mask, dropout or attention weights asked for: the same operations, in the order
        timm's Attention writes them (the packed projection over the channels of
        (N, L, E), heads apart, scaled dot-product attention, the output projection),
        so the same counts as PyTorch's function and layers that read like it."""
        length, batch, channels = x.shape
        tokens = x.transpose(0, 1)
        try:
            self.suffix = "in_proj"
            qkv = LINEAR(tokens, w_in, b_in)
            q, k, v = (part.reshape(batch, length, heads, channels // heads).transpose(1, 2)
                       for part in qkv.split(channels, dim=-1))
            out = SDPA(q, k, v).transpose(1, 2).reshape(batch, length, channels)
            self.suffix = "out_proj"
            out = LINEAR(out, w_out, b_out)
        finally:
            self.suffix = ""
        return out.transpose(0, 1), None


def plain_self_attention(args: Any, kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
    """(x, heads, in-projection weight and bias, output projection weight and bias) when
    an ``F.multi_head_attention_forward`` call is plain self-attention (query, key and
    value the same batched tensor, one packed projection, no bias_k / bias_v, zero
    attention, mask, dropout or weights returned); None otherwise."""
    names = ("query", "key", "value", "embed_dim_to_check", "num_heads", "in_proj_weight",
             "in_proj_bias", "bias_k", "bias_v", "add_zero_attn", "dropout_p",
             "out_proj_weight", "out_proj_bias", "training", "key_padding_mask",
             "need_weights", "attn_mask", "use_separate_proj_weight")
    given = {**dict(zip(names, args, strict=False)), **kwargs}
    x, heads, w_in = given.get("query"), given.get("num_heads"), given.get("in_proj_weight")
    if not isinstance(x, torch.Tensor) or x.dim() != 3 or given.get("key") is not x or \
            given.get("value") is not x or not isinstance(heads, int) or heads < 1 or \
            not isinstance(w_in, torch.Tensor) or x.shape[2] % heads or \
            tuple(w_in.shape) != (3 * x.shape[2], x.shape[2]):
        return None
    dropout = given.get("dropout_p", 0.0) if given.get("training", True) else 0.0
    unused = ("bias_k", "bias_v", "key_padding_mask", "attn_mask", "static_k", "static_v")
    if dropout or any(given.get(n) is not None for n in unused) or \
            given.get("add_zero_attn") or given.get("need_weights", True) or \
            given.get("use_separate_proj_weight") or given.get("is_causal"):
        return None
    return (x, heads, w_in, given.get("in_proj_bias"), given.get("out_proj_weight"),
            given.get("out_proj_bias"))


def attention(args: Any, kwargs: dict[str, Any], data: dict[int, Any]) -> Any:
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


def dense(args: Any, kwargs: dict[str, Any], recorder: Any) -> Any:
    """(dense item, the source of x) for ``F.linear(x, weight, bias)`` on data x with a
    learned or constant weight and bias; (None, []) otherwise."""
    given = {**dict(zip(("input", "weight", "bias"), args, strict=False)), **kwargs}
    x, w, b = given.get("input"), given.get("weight"), given.get("bias")
    if id(x) not in recorder.data or not isinstance(w, torch.Tensor) or w.dim() != 2 or \
            id(w) in recorder.data or b is not None and id(b) in recorder.data:
        return None, []
    return {"type": "dense", "units": int(w.shape[0]), "bias": b is not None}, \
        [recorder.data[id(x)]]


def read_whole(builder: Any, members: list[Any], name: str, call: int) -> bool:
    """Write the group of a function call read whole (``builder``: importer.py's) as its
    layer, if the group is exactly that call's operations, its input has the layout the
    call needs, and the kind's rules give the shape, parameters, buffers and MACs PyTorch
    measured (weights another layer counts: no); True if written."""
    from .aten_map import kind_counts
    from .grouping import exposed

    c = builder.cap.calls[call] if call >= 0 else None
    found = c.composite if c is not None else None
    if found is None or found[0] is None or any(u.op.call != call for u in members) or \
            builder.units.per_call[call] != len(members):
        return False
    item, sources = found
    layouts = {builder.units.layouts.get(s, "first") for s in sources}
    outs = exposed(builder.units, members)
    batch = builder.cap.batch
    reads = set().union(*(u.op.reads for u in members))
    flops = sum(u.op.flops for u in members if u.op.index not in builder.counted_ops)
    counts = kind_counts(item, tuple(builder.shape(s) for s in sources), builder.memo)
    if c.layout and layouts != {c.layout} or len(outs) != 1 or counts is None or \
            flops % (2 * batch) or any(n in builder.owner for n in reads):
        return False
    shape, trainable, buffers, macs, layer = counts
    if shape != builder.shape(outs[0]) or macs != flops // (2 * batch) or \
            (trainable, buffers) != (builder.numel(reads, True), builder.numel(reads, False)):
        return False
    builder.counted_ops.update(u.op.index for u in members)
    builder.claim(reads, name)
    builder.counts[name] = (item["type"], trainable, buffers)
    builder.add(item, name, sources, shape, layer=layer)
    builder.names[outs[0]] = name
    return True


__all__ = ["Composites", "read_whole"]
