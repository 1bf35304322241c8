"""The PyTorch oracle shared by the import tests and benchmarks: what a model really has
and does, measured with PyTorch's own tools on the meta device (no weights allocated)."""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

from convscope.pytorch.layout import our_shape


class Reads(TorchDispatchMode):
    """The ids of every tensor some ATen operation reads (the parameters the forward uses;
    an auxiliary head that eval mode skips is named in a note, not counted: SPEC)."""

    def __init__(self):
        super().__init__()
        self.ids = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.ids.update(id(t) for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor))
        return func(*args, **kwargs)


def reference(model: Any, shapes: list[tuple[int, ...]]
              ) -> tuple[int, int, list[Any], int]:
    """(parameters some operation reads, buffers, output shapes in convscope's order,
    FlopCounterMode / 2 per sample with attention on its math backend), batch 2."""
    model = model.to("meta")
    buffers = sum(b.numel() for b in model.buffers())
    xs = [torch.empty(2, s[-1], *s[:-1], device="meta") for s in shapes]
    reads = Reads()
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), \
            FlopCounterMode(display=False) as counter, reads:
        out = model(*xs)
    params = sum(p.numel() for p in model.parameters() if id(p) in reads.ids)
    shapes = [our_shape(t) for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
    return params, buffers, shapes, counter.get_total_flops() // 4
