"""``convscope verify``: the static analysis against what PyTorch measures, layer by layer.

For every layer of the built model:

* parameters: ``sum(p.numel())`` of the layer's module == the kind's trainable count, and
  ``sum(b.numel())`` of its buffers == the kind's buffer count;
* output shape: a forward pass on the meta device (no memory, no compute) == the
  static shape;
* FLOPs: ``torch.utils.flop_counter.FlopCounterMode``'s count for the layer's module
  (conv, linear, matmul), per sample of a batch of 2, == 2 x the static MACs (not for an
  imported opaque layer: its module is a stand-in that computes nothing, its MACs were
  measured on the real model);
* receptive field (where the field is not global): the gradient of the central output
  position, summed over all channels, with respect to an all-ones input, on a
  *linearised copy* (each kind's ``linear()``: activations -> identity, max pooling ->
  average pooling, ...; weights 1/fan-in, float64). The non-zero region must lie inside
  the predicted field, and equal it whenever the field lies inside the input (where the
  field's two ends are real taps). Layers whose output does not depend on the input in
  the built copy (after an opaque layer's stand-in) are not measured.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..analysis import analyze
from ..analysis.receptive_field import Field
from ..ir import Graph
from ..layers.base import shape_str
from .build import GraphModule, example_inputs


@dataclass(frozen=True)
class Check:
    layer: str
    what: str  # params, buffers, shape, flops, rf
    expected: str
    measured: str

    @property
    def ok(self) -> bool:
        return self.expected == self.measured


@dataclass(frozen=True)
class Verification:
    model: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


def _torch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape if len(shape) == 1 else (shape[-1], *shape[:-1])


def _inputs(graph: Graph, device: str, dtype: torch.dtype = torch.float32,
            batch: int = 1) -> list[torch.Tensor]:
    return example_inputs(graph, batch, device, dtype, random=False)


def static_checks(graph: Graph) -> list[Check]:
    """Parameters, buffers, output shapes and FLOPs of every layer, on the meta device."""
    with torch.device("meta"):
        module = GraphModule(graph)
    shapes: dict[str, tuple[int, ...]] = {}
    keys = {name: key for name, key, _ in module.steps}
    handles = [module.layers[key].register_forward_hook(
        lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:])))
        for name, key in keys.items()]
    with FlopCounterMode(display=False) as counter:  # a batch of 2: batch norm in training
        module(*_inputs(graph, "meta", batch=2))  # mode needs 2 values of a vector's channel
    for handle in handles:
        handle.remove()
    flops = {k: sum(v.values()) // 2 for k, v in counter.get_flop_counts().items()}
    prefix = f"{type(module).__name__}.layers."
    checks = []
    for node in graph.nodes:
        if node.name not in keys:
            continue
        sub = module.layers[keys[node.name]]
        in_shapes = graph.input_shapes(node)
        out = graph.shapes[node.name]
        count = node.layer.params(in_shapes)
        checks += [
            Check(node.name, "params", str(count.torch_params),
                  str(sum(p.numel() for p in sub.parameters()))),
            Check(node.name, "buffers", str(count.buffers),
                  str(sum(b.numel() for b in sub.buffers()))),
            Check(node.name, "shape", shape_str(_torch_shape(out)), shape_str(shapes[node.name])),
        ]
        if not node.layer.stand_in:  # a stand-in computes nothing: its MACs were measured
            checks.append(Check(node.name, "flops", str(2 * node.layer.macs(in_shapes, out)),
                                str(flops.get(prefix + keys[node.name], 0))))
    return checks


def linearised(graph: Graph) -> Graph:
    """The same graph with each layer replaced by its ``linear()`` form."""
    return replace(graph, nodes=tuple(replace(n, layer=n.layer.linear()) for n in graph.nodes))


def _positive_weights(module: torch.nn.Module) -> None:
    """Every weight 1 / fan-in (a layer scale's ``gamma`` too: a zero there would cut its
    branch off the measured field), every bias 0."""
    with torch.no_grad():
        for sub in module.modules():
            for name, p in sub.named_parameters(recurse=False):
                bias = "bias" in name
                fan = p[0].numel() if not bias and p.dim() > 1 else 1
                p.fill_(0.0 if bias else 1.0 / fan)
            for name, b in sub.named_buffers(recurse=False):
                if name == "running_var":
                    b.fill_(1.0)
                elif name == "running_mean":
                    b.fill_(0.0)


def choose_rf_layers(graph: Graph, fields: dict[str, Field], which: str) -> list[str]:
    """'all' spatial layers, or 'auto': where the field's stride changes, plus the last (maps
    only: not tensors whose positions a reshape moved between axes, Swin's tokens)."""
    spatial = [n.name for n in graph.nodes if n.layer.kind != "input"
               and not fields[n.name].is_global and fields[n.name].comps is None
               and fields[n.name].axes and len(graph.shapes[n.name]) > 1]
    if which == "none" or not spatial:
        return []
    if which == "all" or len(spatial) <= 12:
        return spatial
    picked, last_stride = [], None
    for name in spatial:
        stride = tuple(a.stride for a in fields[name].axes)
        if stride != last_stride:
            picked.append(name)
            last_stride = stride
    if spatial[-1] not in picked:
        picked.append(spatial[-1])
    return picked


def _reached(y: torch.Tensor, wrt: list[torch.Tensor]) -> torch.Tensor | None:
    """Where the gradient of ``y`` is non-zero, over the positions of the inputs ``wrt``
    (summed over channels); None when ``y`` does not depend on them."""
    grads = [g for g in torch.autograd.grad(y, wrt, retain_graph=True, allow_unused=True)
             if g is not None] if y.requires_grad else []
    return torch.stack([g[0].abs().sum(0) for g in grads]).sum(0) > 0 if grads else None


def rf_checks(graph: Graph, which: str = "auto") -> list[Check]:
    """Empirical receptive fields on the linearised copy (CPU, float64)."""
    fields = {s.name: s.receptive_field for s in analyze(graph).layers}
    names = choose_rf_layers(graph, fields, which)
    if not names:
        return []
    module = GraphModule(linearised(graph)).double().eval()
    _positive_weights(module)
    keys = {name: key for name, key, _ in module.steps}
    # token ids carry no gradient: for an input read as indices, the field is measured
    # on the output of the Embedding that reads it (one vector per position, same axes)
    embeddings = {n.name: n.inputs[0] for n in graph.nodes if n.layer.reads_indices}
    outputs: dict[str, torch.Tensor] = {}
    handles = [module.layers[keys[n]].register_forward_hook(
        lambda _m, _i, out, n=n: outputs.__setitem__(n, out))
        for n in {*names, *embeddings}]
    xs = [x if x.dtype == torch.long else x.requires_grad_()
          for x in _inputs(graph, "cpu", torch.float64)]
    module(*xs)
    for handle in handles:
        handle.remove()
    checks = []
    for name in names:
        field = fields[name]
        source = next(i for i, n in enumerate(graph.inputs) if n.name == field.source)
        wrt = [xs[source]] if xs[source].requires_grad else \
            [outputs[e] for e, read in embeddings.items() if read == field.source]
        y = outputs[name]
        center = tuple(n // 2 for n in y.shape[2:])
        index: Any = (0, slice(None), *center)
        hit = _reached(y[index].sum(), wrt)
        if hit is None:
            continue  # after an opaque layer's stand-in (zeros): nothing to measure
        expected, measured = [], []
        for axis, (a, o, n) in enumerate(zip(field.axes, center, hit.shape, strict=True)):
            first = a.start + o * a.stride
            last = first + a.size - 1
            other = tuple(d for d in range(hit.dim()) if d != axis)
            idx = hit.any(dim=other).nonzero().flatten().tolist() if other else \
                hit.nonzero().flatten().tolist()
            inside = first >= 0 and last <= n - 1
            expected.append(f"{first}..{last}")
            ok = bool(idx) and first <= min(idx) and max(idx) <= last and (
                not inside or (min(idx), max(idx)) == (first, last))
            measured.append(f"{first}..{last}" if ok else
                            f"{min(idx)}..{max(idx)}" if idx else "nothing")
        checks.append(Check(name, "rf", " ".join(expected), " ".join(measured)))
    return checks


def verify(graph: Graph, rf: str = "auto") -> Verification:
    """Every check of this module for ``graph``."""
    return Verification(graph.name, tuple(static_checks(graph) + rf_checks(graph, rf)))


def render_verification(result: Verification, verbose: bool = False) -> str:
    """A pass/fail table: one row per layer; mismatches in full."""
    by_layer: dict[str, dict[str, Check]] = {}
    for check in result.checks:
        by_layer.setdefault(check.layer, {})[check.what] = check
    whats = ("shape", "params", "buffers", "flops", "rf")
    width = max(len(n) for n in by_layer) if by_layer else 5
    lines = [f"Verify '{result.model}' against PyTorch "
             f"(params/buffers: numel; shape: meta forward; flops: FlopCounterMode = 2 x MACs;"
             f" rf: gradient extent on a linearised copy)",
             f"{'layer':{width}}  " + "  ".join(f"{w:7}" for w in whats)]
    for layer, checks in by_layer.items():
        if not verbose and all(c.ok for c in checks.values()) and len(by_layer) > 40:
            continue
        cells = [("ok" if checks[w].ok else "FAIL") if w in checks else "-" for w in whats]
        lines.append(f"{layer:{width}}  " + "  ".join(f"{c:7}" for c in cells))
    failures = result.failures()
    for c in failures:
        lines.append(f"MISMATCH {c.layer} {c.what}: convscope {c.expected}, PyTorch {c.measured}")
    total = len(result.checks)
    lines.append(f"{total - len(failures)}/{total} checks passed over {len(by_layer)} layers"
                 + ("" if failures else ": all match") + (
                     "" if verbose or len(by_layer) <= 40 else
                     " (rows that all pass are hidden; --verbose shows them)"))
    return "\n".join(lines) + "\n"
