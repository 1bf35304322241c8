"""Training memory measured by PyTorch itself, to check convscope's estimate.

* saved activations: every tensor autograd keeps during a training-mode forward pass,
  caught with ``torch.autograd.graph.saved_tensors_hooks``; storages counted once, the
  model's parameters and buffers excluded;
* optimizer state: the real ``torch.optim`` state after one ``step()``.

PyTorch's native kernels are measured (oneDNN switched off): oneDNN's CPU LSTM keeps an
extra workspace that the estimate does not model.

The default device is ``meta``: no memory is used and autograd keeps exactly what it keeps
on the CPU (tests/test_memory.py checks that on real CPU runs).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import torch

from ..ir import Graph
from .build import GraphModule, example_inputs

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
          "float64": torch.float64}


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage()._cdata


def _optimizer(name: str, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.1)
    if name == "sgd_momentum":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params)
    return torch.optim.AdamW(params)


@contextlib.contextmanager
def native_kernels() -> Iterator[None]:
    """PyTorch's own kernels, not oneDNN's: on CPU, oneDNN's LSTM keeps an opaque
    workspace that no per-layer rule can state (convolutions save the same either way)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a note about TF32 on Intel GPUs
        with torch.backends.mkldnn.flags(enabled=False):
            yield


def measure_training_memory(graph: Graph, batch: int = 1, dtype: str = "float32",
                            optimizer: str = "adam", device: str = "meta") -> dict[str, Any]:
    """PyTorch's own numbers for one training step of ``graph``."""
    torch_dtype = DTYPES[dtype]
    with torch.device(device):
        module = GraphModule(graph).to(torch_dtype).train()
    params = list(module.parameters())
    exclude = {_storage(t) for t in [*params, *module.buffers()]}
    kept: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        if _storage(t) not in exclude:
            kept[_storage(t)] = t.untyped_storage().nbytes()
        return t

    xs = example_inputs(graph, batch, device, torch_dtype)
    with native_kernels(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = module(*xs)
    del out
    for p in params:
        p.grad = torch.zeros_like(p)
    opt = _optimizer(optimizer, params)
    opt.step()
    state = sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values()
                if torch.is_tensor(v))
    return {"activation_bytes": sum(kept.values()), "optimizer_bytes": state,
            "param_bytes": sum(p.numel() * p.element_size() for p in params),
            "gradient_bytes": sum(p.grad.numel() * p.grad.element_size() for p in params
                                  if p.grad is not None)}
