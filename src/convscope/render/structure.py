"""The shape of a network for drawing: a chain of *items* between the points every path
goes through (cut points), each item a single layer or a *block* of parallel branches
(an Inception module, a residual block), element-wise layers merged into the layer
before them (conv + bn + relu is one box), and runs of identical blocks folded ("x35").

Linear in the number of layers; works on any graph (a tangle that is not a set of
branches is drawn as one block).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..analysis.report import LayerStats, Report

# kinds that keep the shape and only refine a value: drawn inside the box before them
ELEMENTWISE = {"activation", "batchnorm", "layernorm", "groupnorm", "lrn", "dropout",
               "rescaling"}


@dataclass
class Box:
    """One drawn element: a layer plus the element-wise layers merged into it."""

    layers: list[LayerStats]

    @property
    def head(self) -> LayerStats:
        return self.layers[0]

    @property
    def last(self) -> LayerStats:
        return self.layers[-1]

    @property
    def name(self) -> str:
        return self.head.name

    @property
    def kinds(self) -> str:
        return " + ".join(dict.fromkeys(s.type for s in self.layers))

    @property
    def params(self) -> int:
        return sum(s.params for s in self.layers)


@dataclass
class Block:
    """Parallel branches from the previous item to a merge box."""

    branches: list[list[Box]]  # an empty branch is an identity shortcut
    merge: Box
    repeat: int = 1
    names: list[str] = field(default_factory=list)  # layers of the folded copies' merges

    @property
    def name(self) -> str:
        return self.merge.name

    def signature(self) -> tuple[object, ...]:
        return (tuple(tuple((b.head.kind, b.last.output_shape, b.params) for b in branch)
                      for branch in self.branches),
                self.merge.head.kind, self.merge.last.output_shape)


Item = Box | Block


def cut_points(report: Report) -> list[int]:
    """Indices of the layers every path from the input to the output goes through."""
    index = {s.name: s.index for s in report.layers}
    reach = [i for i in range(len(report.layers))]
    for s in report.layers:
        for ref in s.inputs:
            reach[index[ref]] = max(reach[index[ref]], s.index)
    cuts, furthest = [], 0
    for i in range(len(report.layers)):
        if furthest <= i:
            cuts.append(i)
        furthest = max(furthest, reach[i])
    return cuts


def boxes(layers: list[LayerStats]) -> list[Box]:
    """Consecutive layers of a chain, element-wise ones merged into the box before."""
    out: list[Box] = []
    for s in layers:
        if out and s.kind in ELEMENTWISE and s.output_shape == out[-1].last.output_shape:
            out[-1].layers.append(s)
        else:
            out.append(Box([s]))
    return out


def branches_of(segment: list[LayerStats], merge: LayerStats, entry: str
                ) -> list[list[LayerStats]] | None:
    """The branches feeding ``merge`` back to ``entry``, or None if they share layers."""
    by_name = {s.name: s for s in segment}
    result, used = [], set()
    for ref in merge.inputs:
        chain = []
        while ref != entry:
            s = by_name.get(ref)
            if s is None or len(s.inputs) != 1 or s.name in used:
                return None
            chain.append(s)
            used.add(s.name)
            ref = s.inputs[0]
        result.append(list(reversed(chain)))
    if used != {s.name for s in segment}:
        return None
    return result


def items(report: Report) -> list[Item]:
    """The drawable chain of the network, folded."""
    layers = list(report.layers)
    cuts = cut_points(report)
    out: list[Item] = []
    chain: list[LayerStats] = []
    merged: set[int] = set()  # merge layers already drawn as their block's end
    for a, b in zip(cuts, cuts[1:] + [None], strict=True):
        if a not in merged:
            chain.append(layers[a])
        if b is None or b == a + 1:
            continue
        merged.add(b)
        # layers a+1 .. b-1 are inside a block whose merge is layer b
        out += boxes(chain)
        chain = []
        segment = layers[a + 1:b]
        parts = branches_of(segment, layers[b], layers[a].name)
        if parts is None:  # a tangle: one block of everything
            parts = [segment]
        merge = Box([layers[b]])
        out.append(Block([boxes(p) for p in parts], merge))
    out += boxes(chain)
    return fold(absorb(out))


def absorb(seq: list[Item]) -> list[Item]:
    """Element-wise layers right after a block (a ReLU after a residual add) join its merge."""
    out: list[Item] = []
    for item in seq:
        if isinstance(item, Box) and out and isinstance(out[-1], Block) and all(
                s.kind in ELEMENTWISE for s in item.layers):
            out[-1].merge.layers += item.layers
        else:
            out.append(item)
    return out


def fold(seq: list[Item]) -> list[Item]:
    """Runs of identical blocks become one block drawn once with 'x N'."""
    out: list[Item] = []
    for item in seq:
        last = out[-1] if out else None
        if isinstance(item, Block) and isinstance(last, Block) and \
                last.signature() == item.signature():
            last.repeat += 1
            last.names += [s.name for s in item.merge.layers]
        else:
            if isinstance(item, Block):
                item.names = [s.name for s in item.merge.layers]
            out.append(item)
    return out
