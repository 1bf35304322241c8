"""``convscope calc``: one layer worked out by hand, the arithmetic shown.

    $ convscope calc conv --input 227x227x3 --kernel 11 --stride 4 --filters 96
    output size per axis: out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1
      H, W: out = floor((227 + 2*0 - 11) / 4) + 1 = 55
    ...
"""

from __future__ import annotations

from typing import Any

from .description.load import load
from .description.oneline import value
from .errors import ConvscopeError
from .layers.base import shape_str

RENAME = {"kernel": "kernel_size", "filters": "out_channels"}


def calc(layer_type: str, input_shape: str, args: dict[str, Any]) -> list[str]:
    """The explanation lines of one layer of type ``layer_type`` on ``input_shape``.

    ``dense`` flattens its input first, like the seeds' FC rows."""
    item: dict[str, Any] = {"type": "fc" if layer_type == "dense" else layer_type}
    for key, raw in args.items():
        item[RENAME.get(key, key)] = value(raw) if isinstance(raw, str) else raw
    try:
        graph = load({"name": "calc", "input": input_shape, "layers": [item]})
    except ConvscopeError as err:
        # one layer of a one-layer description: its path says nothing to the user
        raise err.replace(source="calc", path=None) from None
    node = graph.nodes[-1]
    inputs = graph.input_shapes(node)
    output = graph.shapes[node.name]
    header = (f"{node.layer.type_label()} on input {shape_str(inputs[0])} "
              f"(H x W x C, one sample)")
    return [header, *node.layer.explain(inputs, output)]
