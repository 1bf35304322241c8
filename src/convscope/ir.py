"""The graph IR: immutable, validated when built.

A :class:`Graph` is a tuple of :class:`Node` in topological order (every node
names only earlier nodes as inputs) plus the names of its outputs. Building one
checks the structure and infers every output shape with each layer's own
``output_shape`` rule; a graph that exists is therefore a graph whose shapes
work out, and its ``shapes`` are available to every analysis pass.

Cost is linear in the number of nodes and nothing recurses over the graph, so
ResNet-1202 (thousands of nodes) is as easy as LeNet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .errors import LayerRuleError, Location, ShapeError, SpecError
from .layers.base import Layer, Shape, check_shape, shape_str


@dataclass(frozen=True)
class Node:
    """One layer of the graph.

    ``where`` is the position in the description (``layers[3]``, or a path into a
    block) used by every error message, and ``path`` the same as steps
    (:data:`convscope.errors.Step`); ``trainable=False`` freezes the layer
    (its parameters count as non-trainable, as Keras's ``layer.trainable``);
    ``shares`` names an earlier layer whose weights this one reuses (tied weights,
    counted once): all of them, or ``shared_params`` of them.
    """

    name: str
    layer: Layer
    inputs: tuple[str, ...] = ()
    where: str = ""
    trainable: bool = True
    shares: str = ""
    shared_params: int | None = None  # None: every parameter is the other layer's
    path: Location = field(default=(), compare=False, repr=False)

    def at(self) -> dict[str, Any]:
        """The location fields of an error about this node."""
        return {"path": self.path or self.where or None, "layer": self.name,
                "kind": self.layer.kind}

    def label(self) -> str:
        """``layers[3] 'conv2' (conv)``: how errors name this node."""
        where = f"{self.where} " if self.where else ""
        return f"{where}'{self.name}' ({self.layer.kind})"


def infer_shape(node: Node, input_shapes: tuple[Shape, ...],
                input_names: tuple[str, ...] = ()) -> Shape:
    """``node.layer.output_shape`` with the node's location added to any error."""
    try:
        out = node.layer.output_shape(input_shapes)
    except LayerRuleError as err:
        detail = ""
        if len(input_shapes) > 1 and input_names:
            detail = " Inputs: " + ", ".join(f"'{n}' -> {shape_str(s)}"
                                              for n, s in zip(input_names, input_shapes,
                                                              strict=True)) + "."
        raise ShapeError(f"{err.message}{detail}", **node.at(), **err.details()) from None
    try:
        check_shape(out, "the output")
    except LayerRuleError as err:
        raise ShapeError(f"{err.message} (input "
                         f"{', '.join(shape_str(s) for s in input_shapes)})", **node.at(),
                         **err.details()) from None
    bad = [n for n in out if n < 1]
    if bad:
        raise ShapeError(f"computed output shape {out} has a size below 1 "
                         f"(input {', '.join(shape_str(s) for s in input_shapes)})",
                         **node.at())
    return out


@dataclass(frozen=True)
class Graph:
    """An immutable, shape-checked network."""

    nodes: tuple[Node, ...]
    outputs: tuple[str, ...] = ()
    name: str = "model"
    notes: tuple[str, ...] = ()  # e.g. an importer's warnings: what it could not map
    shapes: Mapping[str, Shape] = field(init=False, repr=False, compare=False)
    index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, int] = {}
        shapes: dict[str, Shape] = {}
        for i, node in enumerate(self.nodes):
            if node.name in index:
                first = self.nodes[index[node.name]]
                raise SpecError(f"the name '{node.name}' is already used by "
                                f"{first.label()}; layer names must be unique", **node.at())
            kind = type(node.layer)
            count = len(node.inputs)
            if count < kind.min_inputs or (kind.max_inputs is not None and count >
                                           kind.max_inputs):
                want = (f"{kind.min_inputs}" if kind.max_inputs == kind.min_inputs
                        else f"at least {kind.min_inputs}")
                raise SpecError(f"takes {want} input(s); received {count}", **node.at(),
                                rule="inputs", expected=want, received=str(count))
            for ref in node.inputs:
                if ref not in index:
                    raise SpecError(f"input '{ref}' is not an earlier layer", **node.at())
            in_shapes = tuple(shapes[ref] for ref in node.inputs)
            shapes[node.name] = infer_shape(node, in_shapes, node.inputs)
            if node.shares:
                self._check_shares(node, index, shapes, in_shapes)
            index[node.name] = i
        outputs = self.outputs or ((self.nodes[-1].name,) if self.nodes else ())
        for name in outputs:
            if name not in index:
                raise SpecError(f"output '{name}' is not a layer of the graph")
        if not self.nodes:
            raise SpecError("the description has no layers")
        object.__setattr__(self, "outputs", tuple(outputs))
        object.__setattr__(self, "shapes", MappingProxyType(shapes))
        object.__setattr__(self, "index", MappingProxyType(index))

    def _check_shares(self, node: Node, index: dict[str, int], shapes: dict[str, Shape],
                      in_shapes: tuple[Shape, ...]) -> None:
        """A layer may reuse the weights of an earlier layer of the same kind and size."""
        if node.shares not in index:
            raise SpecError(f"shares the weights of '{node.shares}', which is not an earlier "
                            "layer", **node.at())
        other = self.nodes[index[node.shares]]
        other_in = tuple(shapes[r] for r in other.inputs)
        mine, theirs = node.layer.params(in_shapes), other.layer.params(other_in)
        if node.shared_params is not None:
            if not 0 < node.shared_params <= min(mine.trainable, theirs.trainable):
                raise SpecError(f"shared_params {node.shared_params} must be between 1 and its "
                                f"{mine.trainable:,} parameters", **node.at())
            return
        if type(node.layer) is not type(other.layer) or (mine.trainable, mine.buffers) != (
                theirs.trainable, theirs.buffers):
            raise SpecError(f"cannot share the weights of {other.label()}: "
                            f"{mine.total:,} parameters ({mine.formula}) against "
                            f"{theirs.total:,} ({theirs.formula})", **node.at())

    def node(self, name: str) -> Node:
        return self.nodes[self.index[name]]

    def input_shapes(self, node: Node) -> tuple[Shape, ...]:
        return tuple(self.shapes[ref] for ref in node.inputs)

    @property
    def inputs(self) -> tuple[Node, ...]:
        """The network's input nodes."""
        return tuple(n for n in self.nodes if n.layer.kind == "input")

    @property
    def index_inputs(self) -> frozenset[str]:
        """Names of the nodes some layer reads as integer indices (an Embedding's token ids)."""
        return frozenset(r for n in self.nodes if n.layer.reads_indices for r in n.inputs)
