"""Training memory measured by PyTorch itself, to check convscope's estimate.

* saved activations: every tensor autograd keeps during a training-mode forward pass,
  caught with ``torch.autograd.graph.saved_tensors_hooks``; storages counted once, the
  model's parameters and buffers excluded;
* optimizer state: the real ``torch.optim`` state after one ``step()``;
* mixed precision (``amp``): the forward pass runs under ``torch.autocast('cpu', ...)``
  on the CPU; autocast's 16-bit copies of parameters (and views of them) are counted
  apart, as ``cast_bytes``: every distinct parameter cast, caught at the ATen level
  (``aten._to_copy`` of a parameter) by a ``TorchDispatchMode``;
* activation checkpointing: each block runs under ``torch.utils.checkpoint.checkpoint``
  (``use_reentrant=True``: the forward pass keeps the block's input through
  ``save_for_backward`` and nothing inside); ``recompute_bytes`` is the most any one
  block keeps when run again with gradients, as the backward pass does (its input,
  already kept, excluded).

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
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.checkpoint import checkpoint

from ..analysis.memory import AMP_NAMES
from ..analysis.saved import blocks
from ..errors import ConvscopeError
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
                            optimizer: str = "adam", device: str = "meta", *,
                            amp: str | None = None,
                            checkpointing: bool = False, target: str = "cpu") -> dict[str, Any]:
    """PyTorch's own numbers for one training step of ``graph``."""
    amp = AMP_NAMES.get(amp, amp) if amp else None
    if target == "cuda":
        from .cuda_memory import measure_cuda_peak

        return measure_cuda_peak(graph, batch, dtype, optimizer, amp, checkpointing)
    if amp is not None and device != "cpu":
        raise ConvscopeError("mixed precision is measured on the CPU (autocast does not run "
                             "on the meta device): use --device cpu")
    torch_dtype = DTYPES[dtype]
    with torch.device(device):
        module = GraphModule(graph).to(torch_dtype).train()
    params = list(module.parameters())
    exclude = {_storage(t) for t in [*params, *module.buffers()]}
    xs = example_inputs(graph, batch, device, torch_dtype)
    chosen = blocks(graph) if checkpointing else []
    kept: dict[int, int] = {}
    casts = ParameterCasts(params)
    with native_kernels(), autocast(amp), casts if amp else contextlib.nullcontext(), \
            torch.autograd.graph.saved_tensors_hooks(_packer(kept, exclude, params),
                                                     lambda t: t):
        out = run(module, graph, xs, chosen)
    del out
    result = {"activation_bytes": sum(kept.values()), **_optimizer_numbers(params, optimizer)}
    if amp is not None:
        result["cast_bytes"] = casts.nbytes
    if checkpointing:
        with torch.no_grad(), autocast(amp):  # every block's input, in one pass
            entries = run(module, graph, xs, [], keep={graph.nodes[b.start - 1].name
                                                       for b in chosen})
        result["recompute_bytes"] = max((_block_bytes(module, graph, entries, b, exclude,
                                                      params, amp) for b in chosen), default=0)
        result["blocks"] = len(chosen)
    return result


def _optimizer_numbers(params: list[torch.nn.Parameter], optimizer: str) -> dict[str, int]:
    for p in params:
        p.grad = torch.zeros_like(p)
    opt = _optimizer(optimizer, params)
    opt.step()
    state = sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values()
                if torch.is_tensor(v))
    return {"optimizer_bytes": state,
            "param_bytes": sum(p.numel() * p.element_size() for p in params),
            "gradient_bytes": sum(p.grad.numel() * p.grad.element_size() for p in params
                                  if p.grad is not None)}


def autocast(amp: str | None) -> contextlib.AbstractContextManager[Any]:
    """``torch.autocast`` on the CPU in ``amp``'s dtype, or nothing."""
    if amp is None:
        return contextlib.nullcontext()
    return torch.autocast("cpu", dtype=DTYPES[amp])


class ParameterCasts(TorchDispatchMode):
    """Counts the bytes of the distinct 16-bit copies autocast makes of parameters (its
    cache keeps one per parameter until the autocast region ends)."""

    def __init__(self, params: list[torch.nn.Parameter]) -> None:
        super().__init__()
        self.params = {_storage(p) for p in params}
        self.seen: set[int] = set()
        self.nbytes = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if func is torch.ops.aten._to_copy.default and torch.is_tensor(args[0]):
            source = _storage(args[0])
            if source in self.params and source not in self.seen:
                self.seen.add(source)
                self.nbytes += out.untyped_storage().nbytes()
        return out


VIEWS_AND_CASTS = ("ToCopyBackward0", "TBackward0", "ViewBackward0", "PermuteBackward0",
                   "UnsqueezeBackward0", "ExpandBackward0")


def is_parameter_copy(t: torch.Tensor, params: set[int]) -> bool:
    """A cast copy of a parameter, or a view of one: its autograd history leads to the
    parameter through casts and views only."""
    fn, cast = t.grad_fn, False
    while fn is not None and type(fn).__name__ != "AccumulateGrad":
        if type(fn).__name__ not in VIEWS_AND_CASTS:
            return False
        cast = cast or type(fn).__name__ == "ToCopyBackward0"
        fn = fn.next_functions[0][0]
    return cast and fn is not None and id(fn.variable) in params


def _packer(kept: dict[int, int], exclude: set[int], params: list[torch.nn.Parameter],
            skip: int | None = None) -> Any:
    ids = {id(p) for p in params}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = _storage(t)
        if key not in exclude and key != skip and not is_parameter_copy(t, ids):
            kept[key] = t.untyped_storage().nbytes()
        return t

    return pack


def run(module: GraphModule, graph: Graph, xs: list[torch.Tensor],
        chosen: list[range], keep: set[str] | None = None) -> Any:
    """The module's forward pass, each block in ``chosen`` under a checkpoint (or, given
    ``keep``, the outputs of those layers by name)."""
    values = dict(zip(module.input_names, xs, strict=True))
    steps = {name: (key, refs) for name, key, refs in module.steps}
    starts = {b.start: b for b in chosen}
    i = len(graph.inputs)
    while i < len(graph.nodes):
        block = starts.get(i)
        if block is None:
            key, refs = steps[graph.nodes[i].name]
            values[graph.nodes[i].name] = module.layers[key](*(values[r] for r in refs))
            i += 1
            continue
        entry = graph.nodes[block.start - 1].name
        names = [graph.nodes[j].name for j in block]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an input without gradient: nothing to keep
            values[names[-1]] = checkpoint(_block_runner(module, steps, entry, names),
                                           values[entry], use_reentrant=True)
        i = block.stop
    if keep is not None:
        return {name: values[name] for name in keep}
    outs = [values[n] for n in module.output_names]
    return outs[0] if len(outs) == 1 else tuple(outs)


def _block_runner(module: GraphModule, steps: dict[str, Any], entry: str,
                  names: list[str]) -> Any:
    def forward(x: torch.Tensor) -> torch.Tensor:
        local = {entry: x}
        for name in names:
            key, refs = steps[name]
            local[name] = module.layers[key](*(local[r] for r in refs))
        return local[names[-1]]

    return forward


def _block_bytes(module: GraphModule, graph: Graph, entries: dict[str, torch.Tensor],
                 block: range, exclude: set[int], params: list[torch.nn.Parameter],
                 amp: str | None) -> int:
    """What one block keeps when the backward pass runs it again: its input comes from the
    checkpoint (a tensor already kept)."""
    x = entries[graph.nodes[block.start - 1].name]
    x = x.detach().requires_grad_(x.is_floating_point())
    steps = {name: (key, refs) for name, key, refs in module.steps}
    names = [graph.nodes[j].name for j in block]
    kept: dict[int, int] = {}
    with native_kernels(), autocast(amp), torch.autograd.graph.saved_tensors_hooks(
            _packer(kept, exclude, params, _storage(x)), lambda t: t):
        _block_runner(module, steps, graph.nodes[block.start - 1].name, names)(x)
    return sum(kept.values())
