"""Graph -> torch.nn.Module. Each node's module comes from its kind's ``to_torch``.

The module takes channels-first tensors (N, C, H, W), as PyTorch does; a
convscope shape H x W x C corresponds to a tensor of shape (N, C, H, W).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import ConvscopeError, LayerRuleError
from ..ir import Graph
from ..names import unique_name

_RESERVED = frozenset(dir(nn.ModuleDict()))  # names a ModuleDict cannot take as keys


def module_key(name: str, taken: set[str]) -> str:
    """A ModuleDict key for a node name: '.' is not allowed in module names, and a name that
    is an attribute of nn.ModuleDict ('eval', 'keys', 'training', ...) gets a trailing '_'."""
    key = name.replace(".", "_").replace("/", "_") or "_"
    if key in _RESERVED or key.startswith("__"):
        key = f"{key}_"
    return unique_name(key, taken)


def tie(module: nn.Module, owner: nn.Module) -> None:
    """Make ``module`` use ``owner``'s parameters (tied weights; same kind, same sizes)."""
    owned = dict(owner.named_parameters())
    for name, _ in list(module.named_parameters()):
        *path, attr = name.split(".")
        holder = module.get_submodule(".".join(path)) if path else module
        setattr(holder, attr, owned[name])


class GraphModule(nn.Module):
    """Runs the graph's nodes in order; frees each value after its last use."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.graph_name = graph.name
        self.layers = nn.ModuleDict()
        taken: set[str] = set()
        self.input_names = [n.name for n in graph.inputs]
        self.output_names = list(graph.outputs)
        self.steps: list[tuple[str, str, tuple[str, ...]]] = []
        keys: dict[str, str] = {}
        for node in graph.nodes:
            if node.layer.kind == "input":
                continue
            key = keys[node.name] = module_key(node.name, taken)
            try:
                self.layers[key] = node.layer.to_torch(graph.input_shapes(node))
            except LayerRuleError as why:
                raise ConvscopeError(f"cannot be built in PyTorch: {why}", **node.at(),
                                     **why.details()) from None
            if node.shares:
                tie(self.layers[key], self.layers[keys[node.shares]])
            self.steps.append((node.name, key, node.inputs))
        last_use: dict[str, int] = {}
        for i, (_, _, refs) in enumerate(self.steps):
            for ref in refs:
                last_use[ref] = i
        self.free_after = [[r for r in refs if last_use[r] == i and r not in self.output_names]
                           for i, (_, _, refs) in enumerate(self.steps)]

    def forward(self, *inputs: torch.Tensor) -> Any:
        if len(inputs) != len(self.input_names):
            raise TypeError(f"{self.graph_name} takes {len(self.input_names)} input tensor(s); "
                            f"received {len(inputs)}")
        values = dict(zip(self.input_names, inputs, strict=True))
        for (name, key, refs), free in zip(self.steps, self.free_after, strict=True):
            values[name] = self.layers[key](*(values[r] for r in refs))
            for ref in free:
                values.pop(ref, None)
        outs = [values[n] for n in self.output_names]
        return outs[0] if len(outs) == 1 else tuple(outs)


def build(source: Any, input_shape: Any = None) -> GraphModule:
    """A torch.nn.Module for any description (zoo id, file, one-line form, mapping, Graph)."""
    if isinstance(source, Graph):
        return GraphModule(source)
    from ..description.load import load

    return GraphModule(load(source, input_shape))


def example_inputs(graph: Graph, batch: int = 1, device: str = "cpu",
                   dtype: torch.dtype = torch.float32, random: bool = True) -> list[torch.Tensor]:
    """One tensor per graph input, channels first: random values (or ones), and zeros of
    int64 for inputs that a layer reads as indices (an Embedding's token ids)."""
    indices = graph.index_inputs
    out = []
    for node in graph.inputs:
        shape = graph.shapes[node.name]
        if node.name in indices:
            out.append(torch.zeros(batch, *shape, dtype=torch.long, device=device))
            continue
        first = shape if len(shape) == 1 else (shape[-1], *shape[:-1])
        make = torch.randn if random else torch.ones
        out.append(make(batch, *first, device=device, dtype=dtype))
    return out
