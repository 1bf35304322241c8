"""The peak of one training step on a CUDA device as PyTorch's caching allocator reports
it (``torch.cuda.max_memory_allocated``), beside ``convscope memory --target cuda``.

One step is run first so that the optimizer's state exists (as in every later step);
the peak of the second step is measured: forward (under ``torch.autocast('cuda')`` with
``amp``, each block under ``torch.utils.checkpoint`` with checkpointing), backward, the
optimizer's step. The estimate adds its parts' maxima, which do not all coincide in time
(the saved activations are freed as the backward pass runs while the gradients grow), so
it is an upper bound of this number plus the allocator's rounding.

The development machine has no GPU: there, this path stops with the reason, which is
what its tests check.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from ..analysis.saved import blocks
from ..errors import ConvscopeError
from ..ir import Graph
from .build import GraphModule, example_inputs
from .memory import DTYPES, _optimizer, run


def measure_cuda_peak(graph: Graph, batch: int, dtype: str = "float32",
                      optimizer: str = "adam", amp: str | None = None,
                      checkpointing: bool = False) -> dict[str, int]:
    """``{"peak_bytes": ...}``: the allocator's peak over one steady training step
    (``amp``: 'bfloat16', 'float16' or None)."""
    if not torch.cuda.is_available():
        raise ConvscopeError("--measure with --target cuda runs a training step on a CUDA "
                             "device; torch.cuda.is_available() is False here. Drop --measure "
                             "for the estimate, or use --target cpu to measure on the CPU")
    with torch.device("cuda"):
        module = GraphModule(graph).to(DTYPES[dtype]).train()
    opt = _optimizer(optimizer, list(module.parameters()))
    xs = example_inputs(graph, batch, "cuda", DTYPES[dtype])
    chosen = blocks(graph) if checkpointing else []
    for step in range(2):
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if step:
            torch.cuda.reset_peak_memory_stats()
        with torch.autocast("cuda", dtype=DTYPES[amp]) if amp else contextlib.nullcontext():
            out: Any = run(module, graph, xs, chosen)
        outs = out if isinstance(out, tuple) else (out,)
        sum(o.float().sum() for o in outs if o.is_floating_point()).backward()
        opt.step()
        del out, outs
    torch.cuda.synchronize()
    return {"peak_bytes": torch.cuda.max_memory_allocated()}
