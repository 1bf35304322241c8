"""PyTorch nn.Module + input shape -> convscope description and graph.

The module is traced with torch.fx and measured on the meta device (see trace.py). Each
operation on the input's data path becomes a layer of the description: nn modules
(``layer1.0.conv1``) and functional calls (``F.conv2d``, ``torch.cat``, ``x + y``,
``x.mean((2, 3))``, ``torch.flatten``, ``x.view(n, -1)``, ``chunk`` ...) alike. An
operation it cannot map becomes an ``opaque`` layer that keeps the measured output shape
and parameter count, and the graph's notes (printed as warnings) name it. A module or
parameter used twice is counted once (``shares``). Parameters the forward never uses are
named in a note and not counted.

Shapes convert from PyTorch's (N, C, H, W) to convscope's H x W x C.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from ..errors import ConvscopeError
from ..ir import Graph
from ..layers.base import shape_str
from ..names import unique_name
from ..spec.parse import parse
from . import mapping
from .trace import Traced, trace


def our_shape(t: torch.Tensor) -> tuple[int, ...]:
    """(N, C, *S) -> (*S, C); (N, K) -> (K,)."""
    s = tuple(t.shape[1:])
    return s if len(s) <= 1 else (*s[1:], s[0])


def torch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape if len(shape) == 1 else (shape[-1], *shape[:-1])


class Mapper:
    """Walks a traced graph and writes the description's layer items."""

    def __init__(self, traced: Traced) -> None:
        self.t = traced
        self.items: list[dict[str, Any]] = []
        self.names: dict[fx.Node, str] = {}  # fx node -> layer name (or the aliased one)
        self.taken: set[str] = {"input"}  # the graph's input is called so
        self.owner: dict[int, str] = {}  # id of a parameter / buffer -> the layer owning it
        self.module_owner: dict[str, str] = {}  # module target -> first layer name
        self.notes: list[str] = []
        self.splits: dict[fx.Node, tuple[int, list[tuple[int, int]]]] = {}

    # ---- helpers used by the mapping tables ------------------------------------
    def value(self, arg: Any) -> Any:
        return self.t.values[arg] if isinstance(arg, fx.Node) else arg

    def is_data(self, arg: Any) -> bool:
        return isinstance(arg, fx.Node) and arg in self.t.activation

    def unique(self, base: str) -> str:
        return unique_name(base.replace("/", "."), self.taken)

    # ---- the walk ------------------------------------------------------------------
    def run(self, input_names: list[str]) -> list[str]:
        placeholders = iter(input_names)
        outputs: list[str] = []
        for node in self.t.graph.nodes:
            if node.op == "placeholder":
                name = next(placeholders, None)
                if name is not None:
                    self.names[node] = name
            elif node.op == "output":
                outputs = [self.names[n] for n in self.flatten_outputs(node.args[0])]
            elif node in self.t.activation and isinstance(self.t.values[node], torch.Tensor):
                self.map_node(node)
            elif node in self.t.activation and _is_split(node):
                self.record_split(node)
        return outputs

    def flatten_outputs(self, arg: Any) -> list[fx.Node]:
        if isinstance(arg, fx.Node):
            if arg.op == "call_function" and isinstance(arg.target, type) and \
                    issubclass(arg.target, tuple):  # a namedtuple of outputs
                return self.flatten_outputs(list(arg.args) + list(arg.kwargs.values()))
            return [arg] if arg in self.names else []
        if isinstance(arg, (list, tuple)):
            return [n for a in arg for n in self.flatten_outputs(a)]
        if isinstance(arg, dict):
            return [n for a in arg.values() for n in self.flatten_outputs(a)]
        return []

    def record_split(self, node: fx.Node) -> None:
        parts = self.t.values[node]
        dim: Any = node.kwargs.get("dim", node.args[2] if len(node.args) > 2 else 0)
        x = self.value(node.args[0])
        axis = mapping.our_axis(dim, x.dim())
        ranges, start = [], 0
        for part in parts:
            size = part.shape[dim]
            ranges.append((start, start + size))
            start += size
        if axis is not None:
            self.splits[node] = (axis, ranges)

    def map_node(self, node: fx.Node) -> None:
        found = mapping.map_node(self, node)
        if isinstance(found, fx.Node):  # an alias: the op passes its input through
            self.names[node] = self.names[found]
            return
        data_inputs = [a for a in node.all_input_nodes if a in self.t.activation
                       and a in self.names]
        if found is None:
            found = self.opaque(node)
        item, inputs = found if isinstance(found, tuple) else (found, data_inputs)
        self.add(node, item, inputs)

    def params_of(self, node: fx.Node) -> tuple[set[str], set[str]]:
        """(parameters, buffers) an operation reads: a module's own, or get_attr leaves."""
        if node.op == "call_module":
            sub = self.t.module.get_submodule(str(node.target))
            prefix = f"{node.target}." if node.target else ""
            return ({prefix + n for n, _ in sub.named_parameters()},
                    {prefix + n for n, b in sub.named_buffers() if b is not None})
        names = set().union(*(self.t.params.get(a, set()) for a in node.all_input_nodes))
        params = {n for n in names if isinstance(self.lookup(n), nn.Parameter)}
        return params, names - params

    def lookup(self, qualified: str) -> Any:
        value: Any = self.t.module
        for part in qualified.split("."):
            value = getattr(value, part, None)
        return value

    def add(self, node: fx.Node, item: dict[str, Any], inputs: list[fx.Node]) -> None:
        base = str(node.target) if node.op == "call_module" else node.name
        name = self.unique(base or "module")
        params, buffers = self.params_of(node)
        tensors = {id(t): t for t in map(self.lookup, sorted(params | buffers))}
        owned = [i for i in tensors if i in self.owner]
        if owned and item["type"] != "opaque":  # an opaque layer counts only its new ones
            item["shares"] = self.owner[owned[0]]
            if len(owned) != len(tensors):  # e.g. a tied weight and its own bias
                item["shared_params"] = sum(tensors[i].numel() for i in owned
                                            if isinstance(tensors[i], nn.Parameter))
        for i in tensors:
            self.owner.setdefault(i, name)
        self.items.append({**item, "name": name, "inputs": [self.names[a] for a in inputs]})
        self.names[node] = name

    def opaque(self, node: fx.Node) -> dict[str, Any]:
        params, buffers = self.params_of(node)
        new_p = sum(t.numel() for t in {id(t): t for t in map(self.lookup, params)}.values()
                    if id(t) not in self.owner)
        new_b = sum(t.numel() for t in {id(t): t for t in map(self.lookup, buffers)}.values()
                    if id(t) not in self.owner)
        label = mapping.describe(self.t.module, node)
        out = self.t.values[node]
        self.notes.append(f"unmapped operation {label} at '{node.name}' (output "
                          f"{shape_str(our_shape(out))}): shape and {new_p:,} parameters "
                          "measured, MACs not counted")
        return {"type": "opaque", "op": label, "shape": list(our_shape(out)), "params": new_p,
                "buffers": new_b}


def _is_split(node: fx.Node) -> bool:
    name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
    return node.op in ("call_method", "call_function") and name in ("chunk", "split")


def import_module(module: nn.Module, input_shapes: list[tuple[int, ...]],
                  name: str | None = None) -> Graph:
    """The convscope graph of ``module`` for inputs of ``input_shapes`` (H x W x C each).

    The graph's ``notes`` list what could not be mapped and which parameters the forward
    does not use. Raises ConvscopeError when the module cannot be traced.
    """
    # batch 2: batch norm refuses one value per channel in training mode (1x1 maps)
    traced = trace(module, [(2, *torch_shape(s)) for s in input_shapes])
    placeholders = [n for n in traced.graph.nodes if n.op == "placeholder"]
    input_names = [n.name for n in placeholders[:len(input_shapes)]]
    mapper = Mapper(traced)
    outputs = mapper.run(input_names)
    if not outputs:
        raise ConvscopeError(f"{type(module).__name__}.forward returns no tensor computed "
                             "from its input")
    description = {"name": name or type(module).__name__,
                   "inputs": {n: list(s) for n, s in zip(input_names, input_shapes, strict=True)},
                   "layers": mapper.items, "outputs": outputs}
    graph = parse(description)
    check_shapes(graph, mapper)
    notes = list(mapper.notes) + unused_parameters(module, mapper.owner)
    return replace(graph, notes=tuple(notes))


def check_shapes(graph: Graph, mapper: Mapper) -> None:
    """Every static shape must equal the one PyTorch computed (else the mapping is wrong)."""
    for node, name in mapper.names.items():
        value = mapper.t.values[node]
        if isinstance(value, torch.Tensor) and name in graph.shapes and \
                node.op != "placeholder" and graph.shapes[name] != our_shape(value):
            raise ConvscopeError(
                f"internal error importing '{node.name}': convscope computes "
                f"{shape_str(graph.shapes[name])}, PyTorch {shape_str(our_shape(value))}; "
                "please report this model")


def unused_parameters(module: nn.Module, owner: dict[int, str]) -> list[str]:
    unused: dict[str, int] = {}
    seen: set[int] = set()
    for name, p in module.named_parameters(remove_duplicate=False):
        if id(p) in seen:
            continue
        seen.add(id(p))
        if id(p) not in owner:
            top = name.split(".")[0]
            unused[top] = unused.get(top, 0) + p.numel()
    if not unused:
        return []
    listed = ", ".join(f"{k} ({v:,})" for k, v in sorted(unused.items()))
    return [f"parameters the forward pass does not use (not counted): {listed}"]


__all__ = ["import_module", "our_shape"]
