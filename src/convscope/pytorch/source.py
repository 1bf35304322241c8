"""Readable, runnable PyTorch source for a graph (``convscope build MODEL -o model.py``).

The file defines one ``nn.Module`` class, written as a person writes one (torchvision's
resnet.py): a named submodule per layer (the layer's name made a Python identifier), built
by the same ``to_torch`` rules as :func:`convscope.pytorch.build` and written as its
constructor (``nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)``), and a
``forward`` that mirrors the description's wiring: ``x = self.conv1(x)`` along a chain,
the layer's name for a value read again later, and the layers whose kind has a
``torch_expression`` (merges) as expressions: ``x = layer1_0_bn2 + maxpool``,
``torch.cat([...], dim=1)``. It imports only torch; the helper classes of
``layers/torch_modules.py`` that the network uses, and only those, are copied in with
``inspect.getsource`` (a helper with a ``plain()`` method is written as that stock module).
The module has the same parameters, buffers and outputs as ``build(graph)``, in the same
order.
"""

from __future__ import annotations

import keyword
import re

import torch

from ..errors import ConvscopeError
from ..ir import Graph
from ..limits import echo
from ..version import __version__
from .source_parts import (
    CHAIN,
    WIDTH,
    doc_text,
    fit,
    helper_sources,
    identifier,
    identifier_chars,
    module_source,
)


# ------------------------------------------------------------------ forward ---
def variables(graph: Graph, steps: list[tuple[str, str, tuple[str, ...]]],
              names: dict[str, str]) -> dict[str, str]:
    """The variable holding each value in ``forward``: ``x`` for a value that only the next
    statement reads (``x = self.bn1(x)``), else the layer's identifier."""
    produced = {n.name: -1 for n in graph.inputs}
    produced.update({name: i for i, (name, _, _) in enumerate(steps)})
    uses: dict[str, set[int]] = {value: set() for value in produced}
    for i, (_, _, refs) in enumerate(steps):
        for ref in refs:
            uses[ref].add(i)
    for out in graph.outputs:
        uses[out].add(len(steps))
    chained: set[int] = set()  # statements that already read an 'x'
    out_names = {}
    for value, at in produced.items():
        if uses[value] == {at + 1} and at + 1 not in chained:
            chained.add(at + 1)
            out_names[value] = CHAIN
        else:
            out_names[value] = names[value]
    return out_names


def _class_name(graph: Graph, class_name: str | None) -> str:
    if class_name is not None and (not class_name.isidentifier() or
                                   keyword.iskeyword(class_name)):
        raise ConvscopeError(f"--class-name {echo(class_name)!r} is not a Python class name; "
                             "expected a letter or '_' followed by letters, digits or '_'")
    class_name = class_name or "".join(p.capitalize() for p in
                                       identifier_chars(graph.name).split("_") if p) or "Model"
    if class_name[0].isdigit():
        class_name = f"Net{class_name}"
    if keyword.iskeyword(class_name) or class_name in ("torch", "nn", "F", "Any"):
        class_name += "_"
    return class_name


def _attribute_path(name: str) -> str:
    """'0.weight' -> '[0].weight' (a parameter inside a Sequential)."""
    return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in name.split("."))


def network_source(graph: Graph, helpers: set[type]) -> list[str]:
    """The lines of the network's class after its ``class`` line: ``__init__``, ``forward``."""
    from .build import GraphModule

    with torch.device("meta"):  # only the constructors' arguments are read: no weights
        module = GraphModule(graph)
    taken: set[str] = {CHAIN}
    names = {n.name: identifier(n.name, taken) for n in graph.nodes}
    nodes = {n.name: n for n in graph.nodes}
    var = variables(graph, module.steps, names)
    init, forward, ties = [], [], []
    for name, key, refs in module.steps:
        node = nodes[name]
        args = tuple(var[r] for r in refs)
        expr = node.layer.torch_expression(graph.input_shapes(node), args)
        if expr is None:
            init += fit(" " * 8, f"self.{names[name]} = ",
                        module_source(module.layers[key], helpers))
            expr = f"self.{names[name]}({', '.join(args)})"
            if node.shares:
                ties += [f"        self.{names[name]}{_attribute_path(p)} = "
                         f"self.{names[node.shares]}{_attribute_path(p)}"
                         for p, _ in module.layers[key].named_parameters()]
        forward += fit(" " * 8, f"{var[name]} = ", expr)
    inputs = [f"{var[n.name]}: torch.Tensor" for n in graph.inputs]
    returns = "torch.Tensor" if len(graph.outputs) == 1 else "tuple[torch.Tensor, ...]"
    returned = ", ".join(var[n] for n in graph.outputs)
    signature = f"    def forward(self, {', '.join(inputs)}) -> {returns}:"
    if len(signature) > WIDTH:
        signature = "\n".join(["    def forward(", "        self,",
                               *(f"        {i}," for i in inputs), f"    ) -> {returns}:"])
    return [
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *init,
        *ties,
        "",
        signature,
        *forward,
        *fit(" " * 8, "return ", returned if len(returned) <= WIDTH - 15 or
             len(graph.outputs) == 1 else f"({returned})"),
    ]


def graph_source(graph: Graph, class_name: str | None = None) -> str:
    """The whole Python file for ``graph``."""
    class_name = _class_name(graph, class_name)
    helpers: set[type] = set()
    network = network_source(graph, helpers)
    helper_text = helper_sources(helpers)
    while class_name in helper_text:  # a network called 'reshape' next to the Reshape helper
        class_name += "Net"
    network.insert(0, f"class {class_name}(nn.Module):")
    shapes = ", ".join("(N, " + ", ".join(map(str, _first(graph.shapes[n.name]))) + ")"
                       for n in graph.inputs)
    indices = graph.index_inputs
    example = ", ".join(
        f"torch.zeros(1, {', '.join(map(str, graph.shapes[n.name]))}, dtype=torch.long)"
        if n.name in indices else
        f"torch.randn(1, {', '.join(map(str, _first(graph.shapes[n.name])))})"
        for n in graph.inputs)
    imports = _imports("\n".join([*helper_text.values(), *network]), bool(helper_text))
    shown = ("tuple(out.shape)" if len(graph.outputs) == 1 else
             "[tuple(o.shape) for o in out]")
    lines = [
        f'"""{doc_text(graph.name)}: PyTorch model generated by convscope {__version__}.',
        "",
        f"Input: {shapes}, channels first. Layer names follow the description.",
        '"""',
        "",
        *imports,
        "",
    ]
    for i, text in enumerate(helper_text.values()):
        lines += ["", *([] if i else ["# helpers from convscope/layers/"]), text]
    lines += [
        "",
        *network,
        "",
        "",
        'if __name__ == "__main__":',
        f"    model = {class_name}().eval()",
        "    with torch.no_grad():",
        *fit(" " * 8, "out = ", f"model({example})"),
        "    count = sum(p.numel() for p in model.parameters())",
        f'    print(type(model).__name__, count, "parameters, output", {shown})',
    ]
    return "\n".join(lines) + "\n"


def _imports(body: str, helpers: bool) -> list[str]:
    """The import lines ``body`` needs (``Any``, ``F`` and ``sdpa_kernel`` only when it uses
    them)."""
    imports = ["from __future__ import annotations", ""] if helpers else []
    if re.search(r"\bAny\b", body):
        imports += ["from typing import Any", ""]
    imports += ["import torch"]
    if re.search(r"\bF\.", body):
        imports += ["import torch.nn.functional as F"]
    imports += ["from torch import nn"]
    if re.search(r"\bsdpa_kernel\(", body):  # attention on PyTorch's math backend
        imports += ["from torch.nn.attention import SDPBackend, sdpa_kernel"]
    return imports


def _first(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape if len(shape) == 1 else (shape[-1], *shape[:-1])
