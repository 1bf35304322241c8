"""The importer's description items as a Graph, without the description parser.

The importer (importer.py) writes a description of the model item by item, and builds
each mapped layer as it checks it against PyTorch (``aten_map.kind_counts``). Parsing that
description would walk it as a person's text: blocks, repeats, defaults, one-line tokens
and the budgets of hostile input, none of which the importer writes, and build every
layer again. So its items become nodes here, with the layers built already (the others,
opaque layers, built here; equal ones once), through the same
:class:`~convscope.ir.GraphBuilder` that checks each node and infers its shape for a
parsed description, at the same locations (``layers[12]``). The inputs' shapes and the
layer budget are checked as the parser checks them; tests/test_torch_import.py checks
that the graph equals the parser's graph of the same description.
"""

from __future__ import annotations

from typing import Any

from ..description.args import Args
from ..description.budget import check_layers
from ..description.kinds import lookup, read_inputs
from ..description.layer_memo import LayerMemo
from ..errors import LayerRuleError, Named, SpecError
from ..frozen import assemble
from ..ir import Graph, GraphBuilder, Node
from ..layers.base import Shape

NODE_KEYS = ("name", "inputs", "shares", "shared_params")  # the rest are the layer's


def graph_of(name: str, inputs: dict[str, list[int]], items: list[dict[str, Any]],
             outputs: list[str], built: dict[str, Any]) -> Graph:
    """The validated graph of a description ``{"name", "inputs", "layers": items,
    "outputs"}`` written by the importer (items with a name and their inputs named;
    ``built``: the layers built already, by name)."""
    memo = LayerMemo()
    shapes = read_inputs({"inputs": inputs}, None)
    check_layers(len(items), len(shapes))
    graph = GraphBuilder()
    for input_name, shape in shapes.items():
        add(graph, memo, {"type": "input", "name": input_name, "inputs": [],
                          "shape": list(shape)}, (Named("input", input_name),))
    for i, item in enumerate(items):
        add(graph, memo, item, ("layers", i), built.get(item["name"]))
    for ref in outputs:
        if ref not in graph.index:
            raise SpecError(f"output '{ref}' is not a layer", path=("outputs",))
    return graph.build(tuple(outputs), name)


def add(graph: GraphBuilder, memo: LayerMemo, item: dict[str, Any],
        path: tuple[Any, ...], layer: Any = None) -> None:
    """One item as a node: its ``layer``, else built once per (type, arguments, input
    shapes)."""
    type_name = item["type"]
    raw = {k: v for k, v in item.items() if k != "type" and k not in NODE_KEYS}
    in_shapes: tuple[Shape, ...] = tuple(graph.shapes[r] for r in item["inputs"])
    entry = lookup(type_name)
    if entry is None:
        raise SpecError(f"unknown layer type '{type_name}'", path=path)
    kind, fixed = entry
    try:
        layer = layer or memo.layer(type_name, raw, in_shapes,
                                    lambda: kind.from_args(Args(type_name, raw, fixed), in_shapes))
    except LayerRuleError as err:
        raise SpecError(err.message, path=path, layer=item["name"], kind=kind.kind,
                        **err.details()) from None
    graph.add(assemble(Node, {  # Node(...) without a setattr per field (frozen.py)
        "name": item["name"], "layer": layer, "inputs": tuple(item["inputs"]),
        "trainable": True, "shares": item.get("shares", ""),
        "shared_params": item.get("shared_params"), "path": path, "repeated_params": 0}))


__all__ = ["graph_of"]
