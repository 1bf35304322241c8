"""PyTorch nn.Module + input shape -> convscope description and graph.

The forward runs on meta tensors, each ATen operation recorded with its module path
(capture.py), mapped onto a kind (aten_map.py) and grouped back into the user's modules
(grouping.py; calls read whole: composite.py). Layer names are module paths
(``layer1.0.conv1``; several layers of one call: ``path.kind``). Checked for every layer:

* a mapped layer is kept only if its kind's own rules give exactly what PyTorch measured:
  output shape, parameters and buffers read, and MACs (torch.utils.flop_counter's formula
  / 2); otherwise it becomes an opaque layer;
* an opaque layer carries its measured output shape, the parameters and buffers its
  operations read that no earlier layer counted (never invented, never counted twice)
  and its flop-formula MACs, so totals equal ``FlopCounterMode`` / 2 for every model
  (scaled dot-product attention counted as its math decomposition: on meta tensors
  PyTorch runs that one);
* a buffer that no operation reads (``num_batches_tracked`` in evaluation mode) belongs
  to the first layer its module gives that counts it; the others (buffers of modules the
  forward never calls, or reads through a method rather than ``forward``) are state all
  the same: they are counted in a layer of their own per module (no input, no MACs) and
  named in a note, so buffers always equal ``sum(b.numel() for b in model.buffers())``;
* parameters the forward does not use (an auxiliary head in eval mode) are named in a
  note and not counted: they take no part in what the model computes (SPEC).

Shapes convert from PyTorch's (N, C, *S) (or a channels-last map's (N, *S, C): layout.py)
to convscope's H x W x C; numbers are per sample (the model runs with a batch of 2, as
batch norm in training mode needs two values).
"""

from __future__ import annotations

import gc
import re
from typing import Any

import torch
from torch import nn

from ..description.layer_memo import LayerMemo
from ..errors import ConvscopeError
from ..ir import Graph
from ..layers.base import shape_str
from ..names import unique_name
from .aten_map import ALIAS, MAPPERS, kind_counts
from .capture import capture
from .captured import Capture, Source
from .composite import read_whole
from .graph_of import graph_of
from .grouping import Unit, Units, exposed
from .layout import our_shape, torch_shape
from .notes import import_notes, state_layers
from .rewrites import rewritten
from .tensor_layout import same_view
from .window import group_window

BATCH = 2


class Builder:
    """Writes the description's items, one group of units at a time."""

    def __init__(self, cap: Capture, units: Units) -> None:
        self.cap, self.units = cap, units
        self.names: dict[Source, str] = {(-1, i): n for i, n in enumerate(cap.input_names)}
        self.taken = {"input", *cap.input_names}
        self.items: list[dict[str, Any]] = []
        self.expect: dict[str, tuple[int, ...]] = {}
        self.owner: dict[str, str] = {}  # parameter / buffer name -> layer counting it
        self.counts: dict[str, tuple[str, int, int]] = {}
        self.opaque: dict[str, list[str]] = {}  # label -> layer names
        self.counted_ops: set[int] = set()
        self.memo, self.built = LayerMemo(), {}  # layers checked (equal ones built once)
        self.state: dict[str, int] = {}  # layer holding buffers no operation reads -> count
        self.unread: dict[str, list[str]] = {}  # module path -> its buffers nobody reads
        for leaf in cap.leaves.values():
            if not leaf.is_param and leaf.name not in cap.used:
                self.unread.setdefault(leaf.owner, []).append(leaf.name)

    def tensor(self, src: Source) -> torch.Tensor:
        return self.cap.inputs[src[1]] if src[0] < 0 else self.cap.ops[src[0]].outputs[src[1]]

    def shape(self, src: Source) -> tuple[int, ...]:
        """The per-sample, channels-last shape of a tensor, in its layout."""
        return our_shape(self.tensor(src), self.units.layouts.get(src, "first"))

    def path(self, call: int) -> str:
        return self.cap.calls[call].path if call >= 0 else ""

    def common_call(self, members: list[Unit]) -> int:
        chains = []
        for u in members:
            chain, c = [], u.op.call
            while c >= 0:
                chain.append(c)
                c = self.cap.calls[c].parent
            chains.append(chain[::-1])
        common = -1
        for level in zip(*chains, strict=False):
            if len(set(level)) != 1:
                break
            common = level[0]
        return common

    def flops(self, members: list[Unit]) -> int:
        total = 0
        for u in members:
            if u.op.index not in self.counted_ops:
                self.counted_ops.add(u.op.index)
                total += u.op.flops
        return total

    def attachable(self, members: list[Unit]) -> list[str]:
        paths = {self.path(u.op.call) for u in members}
        return [n for p in sorted(paths) for n in self.unread.get(p, [])]

    def numel(self, names: Any, params: bool) -> int:
        return sum(self.cap.leaves[n].numel for n in names if self.cap.leaves[n].is_param == params)

    def claim(self, names: Any, layer: str) -> None:
        for n in names:
            self.owner.setdefault(n, layer)
            owner = self.cap.leaves[n].owner
            if n in self.unread.get(owner, []):
                self.unread[owner].remove(n)

    # ---- one mapped layer ---------------------------------------------------------------
    def mapped(self, u: Unit, name: str) -> bool:
        item = dict(u.item)
        in_shapes = tuple(self.shape(s) for s in u.inputs)
        found = kind_counts(item, in_shapes, self.memo)
        flops = u.op.flops if u.op.index not in self.counted_ops else 0
        reads = set(u.op.reads)
        if found is None or flops % (2 * BATCH):
            return False
        shape, trainable, buffers, macs, layer = found
        extra = self.attachable([u])
        if shape != self.shape((u.op.index, u.pos)) or macs != flops // (2 * BATCH) or \
                trainable != self.numel(reads, True):
            return False
        if buffers == self.numel(reads, False) + self.numel(extra, False):
            reads |= set(extra)
        elif buffers != self.numel(reads, False):
            return False
        owned = [n for n in sorted(reads) if n in self.owner]
        if owned:
            shares = self.shares(item, reads, owned, (trainable, buffers))
            if shares is None:
                return False
            item.update(shares)
        self.counted_ops.add(u.op.index)
        self.claim(reads, name)
        self.counts[name] = (item["type"], trainable, buffers)
        self.add(item, name, u.inputs, shape, layer=layer)
        self.names[(u.op.index, u.pos)] = name
        return True

    def shares(self, item: dict[str, Any], reads: set[str], owned: list[str],
               counts: tuple[int, int]) -> dict[str, Any] | None:
        """Tied weights: all of them another layer's (same kind and size), or some."""
        first = self.owner[owned[0]]
        if len(owned) == len(reads):
            if {self.owner[n] for n in owned} != {first} or \
                    self.counts.get(first) != (item["type"], *counts):
                return None
            return {"shares": first}
        shared = self.numel(owned, True)
        if shared == 0 or self.numel(owned, False) or first not in self.counts:
            return None
        return {"shares": first, "shared_params": shared}

    # ---- one opaque layer ---------------------------------------------------------------
    def inputs_of(self, members: list[Unit]) -> list[Source]:
        """The tensors a group reads from outside it, in order."""
        inside = {u.index for u in members}
        inputs: list[Source] = []
        for u in members:
            for src in u.inputs or [u.op.sources[id(t)] for t in u.op.data_args()]:
                if (src[0] < 0 or self.units.of[src] not in inside) and src not in inputs:
                    inputs.append(src)
        return inputs

    def opaque_layer(self, members: list[Unit], name: str, call: int) -> None:
        inputs = self.inputs_of(members)
        outs = exposed(self.units, members) or [(members[-1].op.index, members[-1].pos)]
        reads = set().union(*(u.op.reads for u in members)) | set(self.attachable(members))
        new = {n for n in reads if n not in self.owner}
        self.claim(reads, name)
        flops = self.flops(members)
        label = self.cap.calls[call].type if call >= 0 and self.path(call) else \
            members[0].op.name.lstrip("_").replace("native_", "")
        ops = sorted({u.op.name for u in members})
        main = self.shape_of(outs[-1], name)
        window = group_window(members, inputs, self.tensor,
                              lambda s: self.units.layouts.get(s, "first"), outs)
        self.add({"type": "opaque", "op": label, "shape": list(main),
                  "params": self.numel(new, True), "buffers": self.numel(new, False),
                  "macs": flops // (2 * BATCH), "ops": ", ".join(ops), **(window or {})},
                 name, inputs, main)
        self.names[outs[-1]] = name
        self.opaque.setdefault(label, []).append(name)
        same = {"rf_kernel": 1} if window else {}  # position by position, as the main output
        for k, src in enumerate(outs[:-1], start=1):  # more than one tensor leaves the group
            extra = unique_name(f"{name}.output{k}", self.taken)
            shape = self.shape_of(src, extra)
            self.add({"type": "opaque", "op": label, "shape": list(shape), "ops": "output",
                      **same}, extra, [], shape, [name])
            self.names[src] = extra

    def shape_of(self, src: Source, name: str) -> tuple[int, ...]:
        t = self.tensor(src)
        if t.dim() == 0 or t.shape[0] != BATCH:
            raise ConvscopeError(f"'{name}' returns a tensor of shape {tuple(t.shape)} for a "
                                 f"batch of {BATCH}: its first dim is not the batch, so it "
                                 "has no per-sample shape")
        return self.shape(src)

    def add(self, item: dict[str, Any], name: str, inputs: list[Source],
            shape: tuple[int, ...], names: list[str] | None = None, layer: Any = None) -> None:
        refs = names if names is not None else [self.names[s] for s in inputs]
        self.items.append({**item, "name": name, "inputs": refs})
        self.expect[name], self.built[name] = shape, layer  # its layer, if checked already

    # ---- the walk ---------------------------------------------------------------------------
    def run(self) -> None:
        groups = self.units.group()
        plans = []
        aliases: list[tuple[Source, Source]] = []  # (output, the input it names), in order
        per_call: dict[int, int] = {}
        for members in groups:
            u = members[0]
            if len(members) == 1 and u.item == ALIAS:
                aliases.append(((u.op.index, u.pos), u.inputs[0]))
                plans.append((members, -2, ""))
                continue
            given = same_view(self, members, exposed(self.units, members)) \
                if len(members) > 1 else None
            if given is not None:  # views that give their input back: no layer
                aliases.append(given)
                plans.append((members, -2, ""))
                continue
            call = self.common_call(members) if len(members) > 1 else u.op.call
            if len(members) == 1 and isinstance(u.item, dict):
                suffix = re.sub(r"[123]d$", "", u.item["type"])
            else:
                suffix = u.op.name.lstrip("_").replace("native_", "")
            plans.append((members, call, suffix))
            per_call[call] = per_call.get(call, 0) + 1
        for members, call, suffix in plans:
            if call == -2:
                out, given = aliases.pop(0)
                self.names[out] = self.names[given]
                continue
            path = self.path(call)
            base = path if path and per_call[call] == 1 else ".".join(p for p in (path, suffix)
                                                                      if p)
            name = unique_name(base, self.taken)
            single = len(members) == 1 and isinstance(members[0].item, dict)
            if not (single and self.mapped(members[0], name) or
                    read_whole(self, members, name, call) or rewritten(self, members, call)):
                self.opaque_layer(members, name, call)
        state_layers(self)

    def notes(self, module: nn.Module) -> list[str]:
        return import_notes(self.state, self.opaque, self.cap.leaves.values(), self.owner)


def import_module(module: nn.Module, input_shapes: list[tuple[int, ...]],
                  name: str | None = None) -> Graph:
    """The convscope graph of ``module`` for inputs of ``input_shapes`` (H x W x C each).

    The graph's ``notes`` name the layers convscope has no kind for and the parameters the
    forward does not use. Raises ConvscopeError when the module cannot run on meta tensors
    (an operation needs the data's values, or the forward fails).
    """
    # the capture keeps every tensor and operation alive: the cyclic garbage collector,
    # which would walk them all again and again, only finds work after it (the time of
    # ViT-B/16's import falls by 60 %)
    collecting = gc.isenabled()
    gc.disable()
    try:
        cap = capture(module, [(BATCH, *torch_shape(s)) for s in input_shapes],
                      frozenset(MAPPERS))
        builder = Builder(cap, Units(cap))
        builder.run()
    finally:
        if collecting:
            gc.enable()
    outputs = list(dict.fromkeys(builder.names[s] for s in cap.outputs))
    inputs = {n: list(s) for n, s in zip(cap.input_names, input_shapes, strict=True)}
    graph = graph_of(name or type(module).__name__, inputs, builder.items, outputs,
                     builder.built)  # the description's graph, its layers built once
    for layer, shape in builder.expect.items():
        if graph.shapes[layer] != shape:
            raise ConvscopeError(f"internal error importing '{layer}': convscope computes "
                                 f"{shape_str(graph.shapes[layer])}, PyTorch "
                                 f"{shape_str(shape)}; please report this model")
    return graph.with_notes(builder.notes(module))  # the shapes are not inferred again


__all__ = ["import_module", "our_shape"]
