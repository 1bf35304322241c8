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
    with torch.backends.mkldnn.flags(enabled=True):  # what autocast runs on the CPU
        check_saved_amp(graph, module, torch.bfloat16)
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


def is_cast_parameter(t: torch.Tensor, params: set[int]) -> bool:
    """A 16-bit copy autocast made of a parameter, or a view of one (its grad_fn leads
    to the parameter through a cast and views only)."""
    fn, cast = t.grad_fn, False
    while fn is not None and type(fn).__name__ != "AccumulateGrad":
        if type(fn).__name__ not in ("ToCopyBackward0", "TBackward0", "ViewBackward0",
                                     "PermuteBackward0", "UnsqueezeBackward0"):
            return False
        cast = cast or type(fn).__name__ == "ToCopyBackward0"
        fn = fn.next_functions[0][0]
    return cast and fn is not None and id(fn.variable) in params


def check_saved_amp(graph, module, low: torch.dtype) -> None:
    """Under ``torch.autocast('cpu', low)``, from float32 and from 16-bit inputs: the
    output dtype is the one the kind's autocast policy gives, and what autograd keeps
    (parameters, buffers and autocast's copies of parameters excluded) is what
    ``analysis.saved`` computes for the layer."""
    from convscope.analysis.saved import kept, param_counts

    layer = graph.nodes[-1].layer
    in_shapes = graph.input_shapes(graph.nodes[-1])
    policy = layer.autocast("cpu")
    if policy is None:
        return
    module.train()
    exclude = {storage(t) for t in [*module.parameters(), *module.buffers()]}
    params = {id(p) for p in module.parameters()}
    low_name = str(low).removeprefix("torch.")
    for in_dtype in (torch.float32, low):
        xs = [example(layer, s, grad=not layer.reads_indices) for s in in_shapes]
        xs = [x if layer.reads_indices else x.detach().to(in_dtype).requires_grad_()
              for x in xs]
        kept_bytes: dict[int, int] = {}

        def pack(t: torch.Tensor, kept_bytes: dict[int, int] = kept_bytes) -> torch.Tensor:
            if storage(t) not in exclude and not is_cast_parameter(t, params):
                kept_bytes[storage(t)] = t.untyped_storage().nbytes()
            return t

        with torch.autocast("cpu", dtype=low), \
                torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            y = module(*xs)
        estimate = kept(graph, param_counts(graph), BATCH, 4, low_name, "cpu",
                        input_itemsize=in_dtype.itemsize, inputs_need_grad=True)
        expected_size = estimate.itemsizes[graph.nodes[-1].name]
        assert y.dtype.itemsize == expected_size, (
            f"{layer} ({policy}) from {in_dtype}: output {y.dtype}, rule says {expected_size} B")
        expected = sum(estimate.forward.values())
        assert sum(kept_bytes.values()) == expected, (
            f"{layer} ({policy}) from {in_dtype}: saved {sum(kept_bytes.values())} B under "
            f"autocast, rule says {expected} B")

