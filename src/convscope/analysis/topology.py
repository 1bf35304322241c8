"""The shape of a network, as the diagrams draw it: a chain of *items* between the points
every path goes through (cut points), each item a single box or a *block* of parallel
branches (an Inception module, a residual block) ending in a merge box; element-wise
layers join the box before them (conv + bn + relu is one box), and runs of identical
blocks are folded ("x35").

A pure pass over a :class:`~convscope.analysis.report.Report`: :func:`topology` returns
frozen values and the renderers only read them. Linear in the number of layers; works on
any graph (a tangle that is not a set of branches becomes one block of everything).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .report import LayerStats, Report

# kinds that keep the shape and only refine a value: drawn inside the box before them
ELEMENTWISE = frozenset({"activation", "batchnorm", "layernorm", "groupnorm", "lrn",
                         "dropout", "rescaling", "layer_scale"})


@dataclass(frozen=True)
class Box:
    """One drawn element: a layer plus the element-wise layers merged into it."""

    layers: tuple[LayerStats, ...]

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
        """The layer types in the box, 'Conv2D + BatchNormalization + ReLU'."""
        return " + ".join(dict.fromkeys(s.type for s in self.layers))

    @property
    def params(self) -> int:
        return sum(s.params for s in self.layers)


@dataclass(frozen=True)
class Block:
    """Parallel branches from the previous item to a merge box, drawn ``repeat`` times."""

    branches: tuple[tuple[Box, ...], ...]  # an empty branch is an identity shortcut
    merge: Box
    repeat: int = 1
    names: tuple[str, ...] = ()  # the layers of every folded copy's merge box

    @property
    def name(self) -> str:
        return self.merge.name

    @property
    def label(self) -> str:
        """The name prefix shared by all the block's layers ('layer1.0'), else the merge's."""
        names = [b.name for branch in self.branches for b in branch] + [self.merge.name]
        parts = [n.split(".") for n in names]
        common: list[str] = []
        for level in zip(*parts, strict=False):
            if len(set(level)) != 1:
                break
            common.append(level[0])
        return ".".join(common) if common and len(common) < len(parts[-1]) else self.name

    def signature(self) -> tuple[object, ...]:
        """Equal for blocks that are copies of each other (what folding compares)."""
        return (tuple(tuple((b.head.kind, b.last.output_shape, b.params) for b in branch)
                      for branch in self.branches),
                self.merge.head.kind, self.merge.last.output_shape)


Item = Box | Block


@dataclass(frozen=True)
class Topology:
    """The drawable chain of a network."""

    items: tuple[Item, ...]
    cut_points: tuple[int, ...]  # layer indices every input-to-output path goes through

    def boxes(self) -> tuple[tuple[Box, int], ...]:
        """Every drawn box with the repeat count of the block it sits in (1 outside)."""
        out: list[tuple[Box, int]] = []
        for item in self.items:
            if isinstance(item, Box):
                out.append((item, 1))
            else:
                out += [(b, item.repeat) for branch in item.branches for b in branch]
                out.append((item.merge, item.repeat))
        return tuple(out)


def cut_points(report: Report) -> tuple[int, ...]:
    """Indices of the layers every path from the input to the output goes through: layer
    i is one when no edge jumps over it (every edge j -> k has k <= i or j >= i)."""
    index = {s.name: s.index for s in report.layers}
    reach = list(range(len(report.layers)))
    for s in report.layers:
        for ref in s.inputs:
            reach[index[ref]] = max(reach[index[ref]], s.index)
    cuts, furthest = [], 0
    for i in range(len(report.layers)):
        if furthest <= i:
            cuts.append(i)
        furthest = max(furthest, reach[i])
    return tuple(cuts)


def boxes(layers: list[LayerStats]) -> tuple[Box, ...]:
    """Consecutive layers of a chain, element-wise ones merged into the box before."""
    out: list[list[LayerStats]] = []
    for s in layers:
        if out and s.kind in ELEMENTWISE and s.output_shape == out[-1][-1].output_shape:
            out[-1].append(s)
        else:
            out.append([s])
    return tuple(Box(tuple(group)) for group in out)


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


def chain(report: Report, cuts: tuple[int, ...]) -> list[Item]:
    """Boxes between cut points; the layers between two non-adjacent cut points form a
    block whose merge is the second cut point."""
    layers = list(report.layers)
    out: list[Item] = []
    run: list[LayerStats] = []
    merged: set[int] = set()  # merge layers already drawn as their block's end
    for a, b in zip(cuts, [*cuts[1:], None], strict=True):
        if a not in merged:
            run.append(layers[a])
        if b is None or b == a + 1:
            continue
        merged.add(b)
        out += boxes(run)
        run = []
        segment = layers[a + 1:b]
        parts = branches_of(segment, layers[b], layers[a].name)
        if parts is None:  # a tangle: one block of everything
            parts = [segment]
        out.append(Block(tuple(boxes(p) for p in parts), Box((layers[b],))))
    return out + list(boxes(run))


def absorb(seq: list[Item]) -> list[Item]:
    """Element-wise layers right after a block (a ReLU after a residual add) join its merge."""
    out: list[Item] = []
    for item in seq:
        last = out[-1] if out else None
        if isinstance(item, Box) and isinstance(last, Block) and all(
                s.kind in ELEMENTWISE for s in item.layers):
            out[-1] = replace(last, merge=Box(last.merge.layers + item.layers))
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
            out[-1] = replace(last, repeat=last.repeat + 1,
                              names=last.names + tuple(s.name for s in item.merge.layers))
        elif isinstance(item, Block):
            out.append(replace(item, names=tuple(s.name for s in item.merge.layers)))
        else:
            out.append(item)
    return out


def topology(report: Report) -> Topology:
    """The network as the diagrams draw it: cut points, blocks, folds."""
    cuts = cut_points(report)
    return Topology(items=tuple(fold(absorb(chain(report, cuts)))), cut_points=cuts)
