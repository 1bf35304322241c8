"""The graph IR: immutable, validated when built.

A :class:`Graph` is a tuple of :class:`Node` in topological order (every node
names only earlier nodes as inputs) plus the names of its outputs. Building one
checks the structure and infers every output shape with each layer's own
``output_shape`` rule; a graph that exists is therefore a graph whose shapes
work out, and its ``shapes`` are available to every analysis pass. A
:class:`GraphBuilder` does the same one node at a time (each shape is inferred
once, when its node is added) for a caller that needs the shapes while it builds,
as the description parser does.

Cost is linear in the number of nodes and nothing recurses over the graph, so
ResNet-1202 (thousands of nodes) is as easy as LeNet.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from .errors import LayerRuleError, Location, ShapeError, SpecError, path_str
from .layers.base import Layer, Shape, shape_str
from .layers.checks import check_shape


@dataclass(frozen=True)
class Node:
    """One layer of the graph.

    ``path`` is the position in the description as steps (:data:`convscope.errors.Step`),
    used by every error message, and ``where`` the same as text (``layers[3]``, or a path
    into a block; composed when asked for, not per layer); ``trainable=False`` freezes the layer
    (its parameters count as non-trainable, as Keras's ``layer.trainable``);
    ``shares`` names an earlier layer whose weights this one reuses (tied weights,
    counted once): all of them, or ``shared_params`` of them; ``repeated_params`` of its
    values repeat tensors counted before, by another layer or by itself (an ONNX exporter
    stores equal tensors once): they are not counted again, its non-trainable values first.
    """

    name: str
    layer: Layer
    inputs: tuple[str, ...] = ()
    trainable: bool = True
    shares: str = ""
    shared_params: int | None = None  # None: every parameter is the other layer's
    path: Location = field(default=(), compare=False, repr=False)
    repeated_params: int = 0

    @property
    def where(self) -> str:
        """``layers[3]``: :attr:`path` as text."""
        return path_str(self.path)

    def at(self) -> dict[str, Any]:
        """The location fields of an error about this node."""
        return {"path": self.path or None, "layer": self.name, "kind": self.layer.kind}

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


class GraphBuilder:
    """Adds nodes one at a time, checking each and inferring its output shape once;
    :meth:`build` freezes them into a :class:`Graph` without checking or inferring again.

    ``shapes`` (and ``index``) grow as nodes are added, so a caller can read the shape of
    every node added so far (the description parser does, to expand blocks and shortcuts).
    """

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.shapes: dict[str, Shape] = {}
        self.index: dict[str, int] = {}
        # output shapes inferred so far, per (id of a layer, input shapes): a layer shared by
        # many nodes (the description parser builds equal layers once) is inferred once;
        # the layer is kept beside its shape, so its id is not reused while the key lives
        self.inferred: dict[tuple[int, tuple[Shape, ...]], tuple[Layer, Shape]] = {}

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, name: object) -> bool:
        return name in self.index

    def add(self, node: Node) -> Shape:
        """Check ``node`` against the nodes before it, infer its output shape and keep both.
        The weights it ``shares`` are checked by :meth:`check_shares` (``build`` does)."""
        if node.name in self.index:
            first = self.nodes[self.index[node.name]]
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
            if ref not in self.index:
                raise SpecError(f"input '{ref}' is not an earlier layer", **node.at())
        in_shapes = tuple(self.shapes[ref] for ref in node.inputs)
        key = (id(node.layer), in_shapes)
        found = self.inferred.get(key)
        if found is None:
            shape = infer_shape(node, in_shapes, node.inputs)
            self.inferred[key] = (node.layer, shape)
        else:
            shape = found[1]
        self.index[node.name] = len(self.nodes)
        self.nodes.append(node)
        self.shapes[node.name] = shape
        return shape

    def rename_last(self, name: str) -> None:
        """The last node takes the name ``name`` (no node can read it yet); its shape is
        kept."""
        old = self.nodes[-1]
        if name in self.index:
            first = self.nodes[self.index[name]]
            raise SpecError(f"the name '{name}' is already used by {first.label()}; layer "
                            "names must be unique", **old.at())
        self.nodes[-1] = replace(old, name=name)
        self.shapes[name] = self.shapes.pop(old.name)
        self.index[name] = self.index.pop(old.name)

    def check_shares(self, node: Node) -> None:
        """A layer may reuse the weights of an earlier layer of the same kind and size."""
        position = self.index.get(node.shares)
        if position is None or position >= self.index[node.name]:
            raise SpecError(f"shares the weights of '{node.shares}', which is not an earlier "
                            "layer", **node.at())
        other = self.nodes[position]
        in_shapes = tuple(self.shapes[r] for r in node.inputs)
        other_in = tuple(self.shapes[r] for r in other.inputs)
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

    def check_repeated(self, node: Node) -> None:
        """Repeated values are some of those the layer itself adds."""
        count = node.layer.params(tuple(self.shapes[r] for r in node.inputs))
        own = 0 if node.shares and node.shared_params is None else \
            count.total - (node.shared_params or 0)
        if not 0 < node.repeated_params <= own:
            raise SpecError(f"repeated_params {node.repeated_params} must be between 1 and "
                            f"the {own:,} parameters the layer adds", **node.at())

    def build(self, outputs: tuple[str, ...] = (), name: str = "model",
              notes: tuple[str, ...] = ()) -> Graph:
        """The frozen graph of the nodes added (default output: the last node), after
        checking the weights each node shares. Shapes are not inferred again."""
        for node in self.nodes:
            if node.shares:
                self.check_shares(node)
            if node.repeated_params:
                self.check_repeated(node)
        graph = object.__new__(Graph)  # the fields __init__ would set; __post_init__ would
        for key, value in (("nodes", tuple(self.nodes)), ("outputs", tuple(outputs)),
                           ("name", name), ("notes", tuple(notes))):  # infer again
            object.__setattr__(graph, key, value)
        graph._freeze(dict(self.shapes), dict(self.index))  # copies: the builder may go on
        return graph


@dataclass(frozen=True)
class Graph:
    """An immutable, shape-checked network.

    ``Graph(nodes, ...)`` checks the nodes and infers every shape (through a
    :class:`GraphBuilder`); a graph built node by node comes from
    :meth:`GraphBuilder.build` instead, which does not infer them twice.
    """

    nodes: tuple[Node, ...]
    outputs: tuple[str, ...] = ()
    name: str = "model"
    notes: tuple[str, ...] = ()  # e.g. an importer's warnings: what it could not map
    shapes: Mapping[str, Shape] = field(init=False, repr=False, compare=False)
    index: Mapping[str, int] = field(init=False, repr=False, compare=False)
    # each node's input shapes, by name (every pass asks for them, some several times)
    in_shapes: Mapping[str, tuple[Shape, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        builder = GraphBuilder()
        for node in self.nodes:
            builder.add(node)
            if node.shares:
                builder.check_shares(node)
            if node.repeated_params:
                builder.check_repeated(node)
        self._freeze(builder.shapes, builder.index)

    def _freeze(self, shapes: dict[str, Shape], index: dict[str, int]) -> None:
        """Check the outputs and keep the shapes and index of the nodes."""
        outputs = self.outputs or ((self.nodes[-1].name,) if self.nodes else ())
        for name in outputs:
            if name not in index:
                raise SpecError(f"output '{name}' is not a layer of the graph")
        if not self.nodes:
            raise SpecError("the description has no layers")
        object.__setattr__(self, "outputs", tuple(outputs))
        object.__setattr__(self, "shapes", MappingProxyType(shapes))
        object.__setattr__(self, "index", MappingProxyType(index))
        object.__setattr__(self, "in_shapes", {n.name: tuple(shapes[r] for r in n.inputs)
                                               for n in self.nodes})

    def with_notes(self, notes: Iterable[str]) -> Graph:
        """This graph with ``notes`` added (an importer's warnings); nothing is checked or
        inferred again."""
        graph = copy.copy(self)
        object.__setattr__(graph, "notes", (*self.notes, *notes))
        return graph

    def node(self, name: str) -> Node:
        return self.nodes[self.index[name]]

    def input_shapes(self, node: Node) -> tuple[Shape, ...]:
        position = self.index.get(node.name)
        if position is not None and self.nodes[position] is node:
            return self.in_shapes[node.name]
        return tuple(self.shapes[ref] for ref in node.inputs)  # a node of another graph

    @property
    def inputs(self) -> tuple[Node, ...]:
        """The network's input nodes."""
        return tuple(n for n in self.nodes if n.layer.kind == "input")

    @property
    def index_inputs(self) -> frozenset[str]:
        """Names of the nodes some layer reads as integer indices (an Embedding's token ids)."""
        return frozenset(r for n in self.nodes if n.layer.reads_indices for r in n.inputs)
