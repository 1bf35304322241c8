"""Receptive fields on any DAG (Araujo, Norris & Sim, "Computing Receptive Fields of
Convolutional Neural Networks", Distill 2019; seeds 001 and 004).

Per spatial axis of the network input, each node's field is described by

* ``size``: how many input positions one output position sees (the largest
  over paths); seed 001's recursion ``RF_l = RF_{l-1} + (k_l - 1) * s_1 * ... * s_{l-1}``;
* ``min_size``: the smallest field over the paths that reach the node;
* ``stride`` (jump): input positions between neighbouring outputs, the product
  of the strides so far;
* ``start``: input index of the first position seen by output 0 (negative
  when it lies in the padding); ``padding`` = -start (Distill's effective
  padding) and ``center`` = start + (size - 1) / 2.

A layer step with kernel k (effective: d*(k-1)+1), stride s and offset o maps
(size, stride, start) to (size + (k-1)*stride, stride*s, start + o*stride).
Where paths merge (add, concat, multiply) the field is the union of the
inputs' fields; the merge is *aligned* when every path has the same stride and
center, as google-research/receptive_field requires, and flagged otherwise.
Layers that mix all positions (dense on a flattened input, global pooling)
give a *global* field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..frozen import assemble
from ..ir import Graph
from ..layers.base import GLOBAL, IDENTITY, RFStep, Shape
from ..layers.regrid import Axis, Lost, Regroup, as_map, count, labelled, map_axes, plain, regrouped
from .layer_rules import LayerRules

if TYPE_CHECKING:  # pragma: no cover (fractions is imported where a Fraction is made)
    from fractions import Fraction

    Number = Fraction | int  # ints while exact (fast); Fractions after upsampling


@dataclass(frozen=True)
class AxisField:
    size: Number
    min_size: Number
    stride: Number
    start: Number

    @property
    def padding(self) -> Number:
        return -self.start

    @property
    def center(self) -> Number:
        """start + (size - 1) / 2; an int when that is whole (most fields: fast)."""
        half = self.size - 1
        if isinstance(half, int) and isinstance(self.start, int) and half % 2 == 0:
            return self.start + half // 2
        from fractions import Fraction

        return self.start + Fraction(half, 2)


@dataclass(frozen=True)
class Field:
    """The receptive field of one node, relative to the network input ``source``."""

    source: str
    extent: Shape  # the spatial size of that input
    axes: tuple[AxisField, ...] = ()
    is_global: bool = False
    aligned: bool = True
    # positions moved between axes (layers/regrid.py): this tensor's axes, in positions of
    # the map that ``axes`` describe; None: the tensor is that map
    comps: tuple[Axis, ...] | None = None

    def sizes(self) -> tuple[Number, ...]:
        return self.extent if self.is_global else tuple(a.size for a in self.axes)


def _start(source: str, shape: Shape, indices: bool = False) -> Field:
    """Every axis but the channels is spatial; token ids (read by an Embedding) have no
    channel axis: each position is one step of the sequence."""
    spatial = shape if indices else shape[:-1]
    return Field(source, spatial, tuple(AxisField(1, 1, 1, 0) for _ in spatial))


def _merge(fields: list[Field]) -> Field:
    """Union of the inputs' fields; aligned when strides and centers agree."""
    first = fields[0]
    if any(f.is_global for f in fields) or any(
            f.source != first.source or len(f.axes) != len(first.axes) or f.comps != first.comps
            for f in fields):
        return Field(first.source, first.extent, is_global=True)
    axes, aligned = [], True
    for per_axis in zip(*(f.axes for f in fields), strict=True):
        start = min(a.start for a in per_axis)
        end = max(a.start + a.size for a in per_axis)
        strides = {a.stride for a in per_axis}
        centers = {a.center for a in per_axis}
        aligned = aligned and len(strides) == 1 and len(centers) == 1
        axes.append(AxisField(end - start, min(a.min_size for a in per_axis), max(strides),
                              start))
    return Field(first.source, first.extent, tuple(axes), aligned=aligned, comps=first.comps)


def _global(field: Field) -> Field:
    return Field(field.source, field.extent, is_global=True, aligned=field.aligned)


def _regroup(field: Field, step: Regroup) -> Field:
    """A reshape or permute: each value keeps its field. When the positions are a map
    again (one axis per spatial axis, in order), an axis whose positions are now ``c``
    apart has stride x c, and positions moved into the channels (a space-to-depth) widen
    every field by what they spread: size + spread x stride."""
    spatial = len(field.axes)
    if field.comps is None and len(step.before) != spatial + 1:
        return _global(field)
    try:
        comps = regrouped(field.comps or map_axes(step.before), step)
    except Lost:
        return _global(field)
    settled = as_map(comps, spatial)
    if settled is None:
        return Field(field.source, field.extent, field.axes, aligned=field.aligned,
                     comps=comps)
    steps, spread = settled
    axes = tuple(AxisField(a.size + e * a.stride, a.min_size + e * a.stride, a.stride * c,
                           a.start) for a, c, e in zip(field.axes, steps, spread, strict=True))
    return Field(field.source, field.extent, axes, aligned=field.aligned)


def _resized(field: Field, shape: Shape) -> Field:
    """A field whose tensor moved positions, against the layer's output ``shape``: an axis
    without positions takes the new size (a dense layer's units); a layer that changed an
    axis holding positions, or mixes the channels holding some, mixes them."""
    comps = field.comps
    if comps is None or field.is_global:
        return field
    if len(comps) != len(shape) or any(count(c) != n and labelled(c)
                                       for c, n in zip(comps, shape, strict=True)):
        return _global(field)
    return Field(field.source, field.extent, field.axes, aligned=field.aligned,
                 comps=tuple(c if count(c) == n else plain(n)
                             for c, n in zip(comps, shape, strict=True)))


def _apply(field: Field, step: RFStep | str) -> Field:
    if field.is_global or step == IDENTITY and not (field.comps and labelled(field.comps[-1])):
        return field
    if isinstance(step, Regroup):
        return _regroup(field, step)
    if step == GLOBAL or not isinstance(step, RFStep) or len(step.kernel) != len(field.axes) \
            or field.comps is not None:  # a window over moved positions mixes them
        return Field(field.source, field.extent, is_global=True, aligned=field.aligned)
    axes = []  # AxisField(...) and Field(...) without a setattr per field (frozen.py)
    for a, k, s, o in zip(field.axes, step.kernel, step.stride, step.offset, strict=True):
        jump = a.stride
        axes.append(assemble(AxisField, {"size": a.size + (k - 1) * jump,
                                         "min_size": a.min_size + (k - 1) * jump,
                                         "stride": jump * s, "start": a.start + o * jump}))
    return assemble(Field, {"source": field.source, "extent": field.extent,
                            "axes": tuple(axes), "is_global": False,
                            "aligned": field.aligned, "comps": None})


def _strides_differ(fields: list[Field]) -> bool:
    """Inputs of an opaque window (the only layer with several inputs and a window) whose
    strides differ: its window, read index by index, spans different distances in each."""
    return len({tuple(a.stride for a in f.axes) for f in fields if not f.is_global}) > 1


def receptive_fields(graph: Graph, rules: LayerRules | None = None) -> dict[str, Field]:
    """The receptive field of every node (a pure function of the graph); ``rules``: the
    steps of layers already asked (see layer_rules.py)."""
    rules = rules or LayerRules()
    fields: dict[str, Field] = {}
    indices = graph.index_inputs
    unseen: Field | None = None  # the field of a node that reads no input (found once)
    for node in graph.nodes:
        if node.layer.kind == "input":
            fields[node.name] = _start(node.name, graph.shapes[node.name],
                                       node.name in indices)
            continue
        if not node.inputs:  # e.g. an imported constant: it sees no input at all
            if unseen is None:  # graph.inputs scans every node: once, not per constant
                first = graph.inputs[0]
                unseen = Field(first.name, graph.shapes[first.name][:-1], is_global=True)
            fields[node.name] = unseen
            continue
        incoming = [fields[ref] for ref in node.inputs]
        merged = incoming[0] if len(incoming) == 1 else _merge(incoming)
        if len(incoming) == 1 and not merged.aligned:  # one path: aligned by definition
            merged = Field(merged.source, merged.extent, merged.axes, merged.is_global,
                           comps=merged.comps)
        step = rules.rf_step(node.layer, graph.input_shapes(node), graph.shapes[node.name])
        if len(incoming) > 1 and isinstance(step, RFStep) and _strides_differ(incoming) and \
                (set(step.kernel) | set(step.stride) != {1} or any(step.offset)):
            step = GLOBAL  # a window read index by index over maps of different strides
        fields[node.name] = _resized(_apply(merged, step), graph.shapes[node.name])
    return fields
