"""Each layer's rules, asked once per distinct layer and input shapes (issue 16).

A graph read from a description shares one layer object between all the nodes that
describe the same layer on the same input shapes (description/layer_memo.py), so a
100,000-layer chain of the same conv and ReLU asks each rule twice, not 100,000 times.
Every rule is a pure function of the layer and its input and output shapes, which is
what makes the answers reusable; they are per sample (the caller scales by the batch).
The memo lives as long as one analysis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..layers.base import Layer, ParamCount, RFRule, Shape


@dataclass(frozen=True)
class Rules:
    """What a layer's rules say on given input and output shapes, per sample."""

    count: ParamCount
    macs: int
    other_ops: int
    hyper: Mapping[str, str]  # copied by each reader: a LayerStats holds its own
    window: tuple[int, ...]
    tag: str
    type: str


Key = tuple[int, tuple[Shape, ...], Shape]


class LayerRules:
    """The rules of the layers seen so far, per (id of the layer, input shapes, output);
    each entry keeps its layer alive, so that no other layer takes its id meanwhile."""

    def __init__(self) -> None:
        self.rules: dict[Key, tuple[Layer, Rules]] = {}
        self.steps: dict[Key, tuple[Layer, RFRule]] = {}

    def of(self, layer: Layer, inputs: tuple[Shape, ...], output: Shape) -> Rules:
        key = (id(layer), inputs, output)
        found = self.rules.get(key)
        if found is None:
            rules = Rules(count=layer.params(inputs), macs=layer.macs(inputs, output),
                          other_ops=layer.other_ops(inputs, output),
                          hyper=layer.hyper(inputs, output), window=layer.window(),
                          tag=layer.tag(), type=layer.type_label())
            found = self.rules[key] = (layer, rules)
        return found[1]

    def rf_step(self, layer: Layer, inputs: tuple[Shape, ...], output: Shape) -> Any:
        """``layer.rf_step(inputs, output)``, asked once per key."""
        key = (id(layer), inputs, output)
        found = self.steps.get(key)
        if found is None:
            found = self.steps[key] = (layer, layer.rf_step(inputs, output))
        return found[1]
