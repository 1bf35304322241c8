"""Grouping captured ATen operations back into layers that read like the model.

Every data operation becomes a *unit* (``split``/``chunk`` one unit per piece), except
those that nothing reads and that cost nothing (``live_ops``). A unit that maps onto a convscope
kind stays a layer of its own; the others are joined into opaque groups:

* unmapped operations issued by the same module call and feeding each other join (timm's
  ``Attention``: permute, unbind, bmm, softmax, bmm ... is one layer, named by its path);
* a tensor whose dim 0 is not the batch (tokens folded into rows, Swin's windows) can
  never be a layer boundary, so its producer and consumers join, across modules;
* light mapped operations (views, permutes, activations, rescalings) issued by the same
  call and sandwiched with an unmapped group join it, so a module's shuffling of
  its tensors is not shown as a dozen rows around one opaque layer;
* the operations of a function call read whole (composite.py: scaled dot-product
  attention) are one group, whatever they map to;
* finally every group is made convex (an operation between two members on a path is a
  member), so that the layer graph stays acyclic.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch

from .aten_map import ALIAS, map_op, split_items
from .captured import Capture, Op, Source
from .layout import layout_of
from .rms_norm_ops import mark_rms_norms
from .tensor_layout import heads_apart, last_by_use, merged_alike, out_layout

LIGHT = {"reshape", "flatten", "permute", "slice", "rescaling", "dropout", "relu", "relu6",
         "gelu", "silu", "sigmoid", "tanh", "hardswish", "hard_sigmoid", "softmax",
         "leaky_relu", "elu", "mish", "softplus", "log_softmax", "selu", "celu", "hard_tanh",
         "soft_shrink", "hard_shrink"}


@dataclass
class Unit:
    """One data operation (or one piece of a split) and how it maps."""

    index: int
    op: Op
    pos: int  # which output of the op this unit exposes
    item: Any  # dict | ALIAS | None
    inputs: list[Source]  # data sources, in the order the item takes them
    preds: set[int] = field(default_factory=set)  # producer units
    succs: set[int] = field(default_factory=set)

    @property
    def out(self) -> torch.Tensor:
        return self.op.outputs[self.pos]

    @property
    def mapped(self) -> bool:
        return self.item is not None

    @property
    def light(self) -> bool:
        return self.item == ALIAS or (isinstance(self.item, dict) and self.item["type"] in LIGHT)


def live_ops(cap: Capture) -> set[int]:
    """The operations that are layers: those the model's outputs depend on, those that cost
    something (flops, parameters or buffers read; counted used or not, as FlopCounterMode
    counts them), those that write into a tensor (in place, ``out=``: another view of it
    may be read, as MViT's ``attn[..., a:, a:] += ...``) and what they read. The others
    compute nothing anyone reads: F.max_pool1d squeezing the indices of its 2-D pool (the
    pool would be opaque, its side output used), nn.LSTM stacking final states that the
    model drops (with no batch axis: no layer could hold them)."""
    wanted = {src[0] for src in cap.outputs}
    live: set[int] = set()
    for op in reversed(cap.ops):  # consumers come after their producers
        writes = op.name.endswith("_") or op.overload == "out" or "out" in op.kwargs
        if op.index in wanted or op.flops or op.reads or writes:
            live.add(op.index)
            wanted.update(src[0] for src in op.sources.values())
    return live


class Units:
    """The units of a capture, their producer/consumer links, and their groups."""

    def __init__(self, cap: Capture) -> None:
        self.cap = cap
        self.units: list[Unit] = []
        self.of: dict[Source, int] = {}  # (op, output) -> unit
        self.layouts: dict[Source, str] = {}  # the channels-last tensors (layout.py)
        self.read: set[Source] = set()  # the tensors some operation added so far reads
        live = live_ops(cap)
        for op in cap.ops:
            if op.index in live:
                self.add(op)
        self.link()
        mark_rms_norms(self)  # their operations: one call each, read whole
        self.parent = list(range(len(self.units)))
        self.per_call = Counter(u.op.call for u in self.units)  # units each call issued

    def add(self, op: Op) -> None:
        data = op.data_args()
        all_data = [op.sources[id(t)] for t in data]
        heads_apart(op, self)
        merged_alike(op, self)
        last_by_use(op, self)
        self.read.update(all_data)
        op.layout = layout_of([self.layouts.get(s, "first") for s in all_data],
                              [t.dim() if t.shape[0] == self.cap.batch else 3 for t in data])
        self.keep_layout(op, data)
        pieces = split_items(op, self.cap.batch) if len(op.outputs) > 1 else []
        if pieces and all(p is not None for p in pieces):
            for pos, item in enumerate(pieces):
                self.of[(op.index, pos)] = len(self.units)
                self.units.append(Unit(len(self.units), op, pos, item, all_data[:1]))
            return
        found = map_op(op, self.cap.batch)
        item, inputs = (found if isinstance(found, tuple) else (found, None))
        sources = [op.sources[id(t)] for t in inputs] if inputs is not None else all_data
        for pos in range(max(len(op.outputs), 1)):
            self.of[(op.index, pos)] = len(self.units)
        self.units.append(Unit(len(self.units), op, 0, item, sources))

    def keep_layout(self, op: Op, data: list[torch.Tensor]) -> None:
        """The layout of each output (layout.py; only those not plain "first" are kept)."""
        for pos, t in enumerate(op.outputs):
            layout = out_layout(op, data, t, self.cap, self.layouts)
            if layout != "first":
                self.layouts[(op.index, pos)] = layout

    def link(self) -> None:
        consumed = [s for u in self.units for s in u.inputs] + list(self.cap.outputs)
        for op_index, pos in consumed:  # a side output (indices, saved statistics) is used
            if op_index >= 0:
                unit = self.units[self.of[(op_index, pos)]]
                if unit.pos != pos and split_items(unit.op, self.cap.batch)[0] is None:
                    unit.item = None
        for u in self.units:
            for src in u.inputs:
                if src[0] >= 0:
                    p = self.of[src]
                    u.preds.add(p)
                    self.units[p].succs.add(u.index)

    # ---- union-find -------------------------------------------------------------------
    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True

    # ---- the rules of the module docstring ------------------------------------------
    def group(self) -> list[list[Unit]]:
        self.join_composites()
        while self.join_unmapped() | self.absorb_light():
            pass
        self.make_convex()
        groups: dict[int, list[Unit]] = {}
        for u in self.units:
            groups.setdefault(self.find(u.index), []).append(u)
        return self.ordered(groups)

    def join_composites(self) -> None:
        """The operations of a function call read whole (composite.py) are one group; a
        tensor with no values (an empty slice) is no layer boundary: its producer and
        consumers join."""
        first: dict[int, int] = {}
        for u in self.units:
            if u.op.call >= 0 and self.cap.calls[u.op.call].composite is not None:
                self.union(u.index, first.setdefault(u.op.call, u.index))
            for p in u.preds:
                if self.units[p].out.numel() == 0:
                    self.union(u.index, p)

    def opaque_roots(self) -> set[int]:
        return {self.find(u.index) for u in self.units if not u.mapped}

    def join_unmapped(self) -> bool:
        """Members of opaque groups join their producers in opaque groups of the same call,
        and the producers of tensors that have no batch axis."""
        batch, changed = self.cap.batch, False
        opaque = self.opaque_roots()
        for u in self.units:
            if self.find(u.index) not in opaque:
                continue
            for p in u.preds:
                q = self.units[p]
                clean = q.out.dim() > 0 and q.out.shape[0] == batch
                if self.find(p) in opaque and (q.op.call == u.op.call or not clean):
                    changed |= self.union(u.index, p)
                    opaque.add(self.find(u.index))
                elif not clean:
                    changed |= self.union(u.index, p)
                    opaque.add(self.find(u.index))
        return changed

    def absorb_light(self) -> bool:
        opaque, changed = self.opaque_roots(), False
        for u in self.units:  # trailing: a view / activation after the group, same call
            if not u.light or self.find(u.index) in opaque:
                continue
            for p in u.preds:
                if self.find(p) in opaque and self.units[p].op.call == u.op.call:
                    changed |= self.union(u.index, p)
                    opaque.add(self.find(u.index))
                    break
        for u in reversed(self.units):  # leading: a view consumed only by the group
            if u.light and self.find(u.index) not in opaque and u.succs and all(
                    self.find(s) in opaque and self.units[s].op.call == u.op.call
                    for s in u.succs) and len({self.find(s) for s in u.succs}) == 1:
                changed |= self.union(u.index, next(iter(u.succs)))
                opaque.add(self.find(u.index))
        return changed

    def make_convex(self) -> None:
        changed = True
        while changed:
            changed = False
            members: dict[int, list[int]] = {}
            for u in self.units:
                members.setdefault(self.find(u.index), []).append(u.index)
            for root, idx in members.items():
                if len(idx) > 1 and self.fill(root, idx):
                    changed = True

    def fill(self, root: int, idx: list[int]) -> bool:
        lo, hi = min(idx), max(idx)
        inside = set(idx)
        below: set[int] = set()
        for i in range(lo + 1, hi):
            if i not in inside and self.units[i].preds & (inside | below):
                below.add(i)
        above: set[int] = set()
        for i in range(hi - 1, lo, -1):
            if i not in inside and self.units[i].succs & (inside | above):
                above.add(i)
        changed = False
        for i in below & above:
            changed |= self.union(root, i)
        return changed

    def ordered(self, groups: dict[int, list[Unit]]) -> list[list[Unit]]:
        """Groups in a topological order of the layer graph (earliest first)."""
        deps: dict[int, set[int]] = {r: set() for r in groups}
        users: dict[int, set[int]] = {r: set() for r in groups}
        for r, members in groups.items():
            for u in members:
                for p in u.preds:
                    q = self.find(p)
                    if q != r:
                        deps[r].add(q)
                        users[q].add(r)
        ready = [r for r, d in deps.items() if not d]
        heapq.heapify(ready)
        order: list[list[Unit]] = []
        while ready:
            r = heapq.heappop(ready)
            order.append(groups[r])
            for s in users[r]:
                deps[s].discard(r)
                if not deps[s]:
                    heapq.heappush(ready, s)
        if len(order) != len(groups):
            raise RuntimeError("grouping made a cycle")  # make_convex prevents it
        return order


def exposed(units: Units, members: list[Unit]) -> list[Source]:
    """The sources of a group that something outside it (or the model's output) reads."""
    inside = {u.index for u in members}
    wanted = set(units.cap.outputs)
    found: list[Source] = []
    for u in members:
        sources = [(u.op.index, p) for p in range(len(u.op.outputs))]
        for src in (s for s in sources if units.of[s] == u.index):
            used = src in wanted or any(
                src in units.units[s].inputs for s in u.succs if s not in inside)
            if used and src not in found:
                found.append(src)
    return found


__all__ = ["LIGHT", "Unit", "Units", "exposed"]
