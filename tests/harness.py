"""One oracle for every layer kind: PyTorch (tinygrad's helper_test_op idea).

``check_against_torch`` builds a one-layer description, analyses it, builds the
kind's own torch module and compares, on a real forward pass of a batch of 2:

* output shape == the tensor's shape (channels-first <-> H x W x C);
* PyTorch-view params (trainable + torch_extra) == sum(p.numel() for p in module.parameters());
* buffers == sum(b.numel() for b in module.buffers());
* 2 x MACs x batch == torch.utils.flop_counter.FlopCounterMode's total;
* the bytes autograd keeps for the backward pass (training mode, inputs requiring
  grad; ``torch.autograd.graph.saved_tensors_hooks``, storages counted once, parameters
  and buffers excluded) == the kind's ``saved`` rule; a layer that says its output is a
  view really returns a tensor sharing its input's storage.

PyTorch's own kernels are measured: oneDNN (mkldnn) is switched off, because its CPU LSTM
keeps an opaque workspace and skips the flop counter. A layer that reads integer indices
(Embedding) gets random indices below its ``index_bound()``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

import convscope

BATCH = 2


def channels_first(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape if len(shape) == 1 else (shape[-1], *shape[:-1])


def one_layer(item: dict[str, Any], *shapes: tuple[int, ...]) -> convscope.Graph:
    names = [f"x{i}" for i in range(len(shapes))]
    return convscope.load({"inputs": {n: list(s) for n, s in zip(names, shapes, strict=True)},
                           "layers": [{**item, "inputs": names}]})


def example(layer, shape: tuple[int, ...], grad: bool = False) -> torch.Tensor:
    if layer.reads_indices:
        return torch.randint(0, layer.index_bound(), (BATCH, *shape))
    return torch.randn(BATCH, *channels_first(shape), requires_grad=grad)


def check_against_torch(item: dict[str, Any], *shapes: tuple[int, ...]) -> dict[str, int]:
    with torch.backends.mkldnn.flags(enabled=False):
        return _check(item, *shapes)


def _check(item: dict[str, Any], *shapes: tuple[int, ...]) -> dict[str, int]:
    graph = one_layer(item, *shapes)
    node = graph.nodes[-1]
    in_shapes = graph.input_shapes(node)
    out = graph.shapes[node.name]
    module = node.layer.to_torch(in_shapes).eval()
    xs = [example(node.layer, s) for s in in_shapes]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = module(*xs)
    count = node.layer.params(in_shapes)
    macs = node.layer.macs(in_shapes, out)
    measured = {
        "shape": tuple(y.shape[1:]),
        "params": sum(p.numel() for p in module.parameters()),
        "tensors": len(list(module.parameters())),
        "buffers": sum(b.numel() for b in module.buffers()),
        "flops": counter.get_total_flops(),
    }
    expected = {"shape": channels_first(out), "params": count.torch_params,
                "tensors": count.tensors,
                "buffers": count.buffers, "flops": 2 * BATCH * macs}
    assert measured == expected, f"{item} on {shapes}: convscope {expected} != torch {measured}"
    check_saved(node.layer, in_shapes, out, module)
    return {"macs": macs, "params": count.total}


def storage(t: torch.Tensor) -> int:
    return t.untyped_storage()._cdata


def measure_saved(module: torch.nn.Module, xs: list[torch.Tensor]) -> tuple[int, torch.Tensor]:
    """Bytes of the distinct storages autograd saves, parameters and buffers excluded."""
    exclude = {storage(t) for t in [*module.parameters(), *module.buffers()]}
    kept: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        if storage(t) not in exclude:
            kept[storage(t)] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = module(*xs)
    return sum(kept.values()), y


def check_saved(layer, in_shapes, out, module) -> None:
    module.train()
    xs = [example(layer, s, grad=True) for s in in_shapes]
    measured, y = measure_saved(module, xs)
    rule = layer.saved(in_shapes, out, 4)
    expected = rule.fixed_bytes + BATCH * rule.extra_bytes
    expected += sum(BATCH * 4 * math.prod(in_shapes[i]) for i in rule.inputs)
    expected += BATCH * 4 * math.prod(out) if rule.output else 0
    assert measured == expected, f"{layer}: saved {measured} B, rule says {expected} B"
    if rule.view:
        assert storage(y) == storage(xs[0]), f"{layer}: the output is not a view"
