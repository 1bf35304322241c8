"""What autograd keeps for the backward pass, storage by storage: Graph -> frozen
:class:`Kept`, with each tensor in the dtype it has under automatic mixed precision and,
with activation checkpointing, split into what the forward pass keeps and what each
checkpointed block keeps again when the backward pass recomputes it.

Mixed precision (``torch.autocast``). Each layer kind states its cast policy per device
(``Layer.autocast``), as PyTorch's autocast lists do (``aten/src/ATen/autocast_mode.h``
for CUDA, ``autocast_mode.cpp`` for the CPU):

* ``lower``: runs in 16 bit (convolutions, matrix products); an input in float32 is cast
  to a new 16-bit copy, which is what the layer keeps; the weights are cast too (the cast
  copies of parameters are counted apart, :func:`cast_parameter_bytes`);
* ``float32``: runs in float32 (CUDA: layer and group norm, softmax, upsampling; CPU:
  3-d pooling, reflection and replication padding); a 16-bit input is cast up;
* ``follow``: runs in the dtype of its inputs (the widest when they differ: type
  promotion), so it keeps its inputs as they are;
* ``promote``: as ``follow``, with its float32 weights taking part in the promotion
  (a per-channel scale multiplies a 16-bit input into float32).

Integer inputs (an Embedding's indices) are never cast.

Activation checkpointing (``torch.utils.checkpoint``, one checkpoint per block as timm's
``set_grad_checkpointing`` and torchvision do): a *block* is the layers between two cut
points of the graph that are not adjacent (a residual or Inception block, from the layer
after its input to its merge). The forward pass keeps each block's input and what the
layers outside blocks keep; the backward pass recomputes one block at a time, which then
keeps what its layers keep (its input is already kept).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecError
from ..ir import Graph, Node
from ..layers.base import ParamCount, prod
from .layer_rules import LayerRules

LOW_PRECISION = {"bfloat16": 2, "float16": 2}
TARGETS = ("cpu", "cuda")


@dataclass(frozen=True)
class Kept:
    """Storages autograd keeps: name -> bytes, and the layer that keeps each first."""

    forward: dict[str, int]  # kept from the forward pass until the backward pass
    keeper: dict[str, str]  # storage -> first layer keeping it
    recompute: tuple[tuple[int, ...], ...]  # per checkpointed block: the storages' bytes
    itemsizes: dict[str, int]  # node -> bytes per element of its output


def compute_itemsize(node: Node, in_sizes: list[int], itemsize: int, amp: str | None,
                     target: str) -> int:
    """Bytes per element a layer computes in: the dtype's without autocast; under autocast
    16 bit for ``lower`` kinds, 4 for ``float32`` kinds, the widest input for the rest
    (float32 weights included for ``promote`` kinds)."""
    if amp is None:
        return itemsize
    policy = node.layer.autocast(target)
    if policy is None:
        raise SpecError(f"no mixed-precision rule for {target}: what autocast keeps in this "
                        "layer is not modelled; estimate without --amp", **node.at(),
                        rule="autocast")
    if policy == "lower":
        return LOW_PRECISION[amp]
    if policy == "float32":
        return 4
    return max([*in_sizes, 4] if policy == "promote" else in_sizes, default=4)


def blocks(graph: Graph) -> list[range]:
    """Node index ranges of the checkpointed blocks: between cut points (nodes no edge
    jumps over: every path from the inputs to the outputs goes through them) that are
    not adjacent, whose input carries a gradient. (A reentrant checkpoint whose inputs
    need no gradient returns an output that needs none either: its layers would not
    train, so such a block is left as it is.)"""
    index = {n.name: i for i, n in enumerate(graph.nodes)}
    last_use = {n.name: i for i, n in enumerate(graph.nodes)}
    grad: dict[str, bool] = {}
    for i, node in enumerate(graph.nodes):
        grad[node.name] = (node.layer.params(graph.input_shapes(node)).trainable > 0 or
                           any(grad[r] for r in node.inputs))
        for ref in node.inputs:
            last_use[ref] = max(last_use[ref], i)
    cuts, reach = [], 0
    for i, node in enumerate(graph.nodes):
        if reach <= i:
            cuts.append(i)
        reach = max(reach, last_use[node.name], *(index[r] for r in node.inputs))
    return [range(a + 1, b + 1) for a, b in zip(cuts, cuts[1:], strict=False)
            if b - a > 1 and grad[graph.nodes[a].name] and
            not any(graph.nodes[j].layer.kind == "input" for j in range(a + 1, b + 1))]


def param_counts(graph: Graph) -> dict[str, ParamCount]:
    """Each node's parameter count, asked once per (layer, input shapes) (layer_rules.py:
    a description's equal layers are one object)."""
    rules = LayerRules()
    return {n.name: rules.of(n.layer, graph.input_shapes(n), graph.shapes[n.name]).count
            for n in graph.nodes}


def kept(graph: Graph, counts: dict[str, ParamCount], batch: int, itemsize: int,
         amp: str | None = None, target: str = "cpu", checkpointing: bool = False,
         input_itemsize: int | None = None, inputs_need_grad: bool = False) -> Kept:
    """Every storage autograd keeps for one training step of ``graph`` (see the module
    docstring): each layer kind's ``saved`` rule, in the dtype the layer computes in,
    every storage counted once (a view shares its base's storage). The inputs are data
    (no gradient) in the dtype, or float32 under autocast, unless said otherwise."""
    first = input_itemsize or (itemsize if amp is None else 4)
    indices = graph.index_inputs
    sizes: dict[str, int] = {}
    base: dict[str, str] = {}  # node -> the node whose storage its output is
    needs_grad: dict[str, bool] = {}
    nbytes: dict[str, int] = {}
    by_node: list[list[str]] = []
    for node in graph.nodes:
        by_node.append(keys := [])
        in_shapes = graph.input_shapes(node)
        out = graph.shapes[node.name]
        floating = [sizes[r] for r in node.inputs if r not in indices]
        size = sizes[node.name] = first if node.layer.kind == "input" else compute_itemsize(
            node, floating, itemsize, amp, target)
        rule = (node.layer.saved(in_shapes, out, size) if amp is None else
                node.layer.saved_under_autocast(in_shapes, out, size))
        base[node.name] = base[node.inputs[0]] if rule.view and node.inputs else node.name
        needs_grad[node.name] = (counts[node.name].trainable > 0 or
                                 any(needs_grad[r] for r in node.inputs) or
                                 (inputs_need_grad and node.layer.kind == "input"))
        if not needs_grad[node.name]:
            continue
        casts = amp is not None and node.layer.autocast(target) in ("lower", "float32")
        for i in rule.inputs:
            ref = node.inputs[i]
            if casts and sizes[ref] != size and ref not in indices:  # a cast copy
                key = f"{node.name}:cast{i}"
                nbytes[key] = batch * prod(graph.shapes[ref]) * size
            else:
                key = base[ref]
                nbytes[key] = batch * prod(graph.shapes[key]) * sizes[key]
            keys.append(key)
        if rule.output:
            key = base[node.name]
            nbytes[key] = batch * prod(graph.shapes[key]) * sizes[key]
            keys.append(key)
        if rule.extra_bytes or rule.fixed_bytes:
            key = f"{node.name}:extra"
            nbytes[key] = batch * rule.extra_bytes + rule.fixed_bytes
            keys.append(key)
    for node in graph.nodes:  # a checkpoint may keep any layer's output
        nbytes.setdefault(node.name, batch * prod(graph.shapes[node.name]) * sizes[node.name])
    return _split(graph, by_node, nbytes, base, sizes, checkpointing)


def _split(graph: Graph, by_node: list[list[str]], nbytes: dict[str, int],
           base: dict[str, str], sizes: dict[str, int], checkpointing: bool) -> Kept:
    """What the forward pass keeps (all of it, or with checkpointing: layers outside
    blocks and each block's input) and what each block keeps again when recomputed."""
    chosen = blocks(graph) if checkpointing else []
    inside = {i for b in chosen for i in b}
    keeper: dict[str, str] = {}
    for i, keys in enumerate(by_node):
        for key in keys if i not in inside else ():
            keeper.setdefault(key, graph.nodes[i].name)
    for b in chosen:  # the checkpoint keeps the block's input
        keeper.setdefault(base[graph.nodes[b.start - 1].name], graph.nodes[b.start].name)
    recompute = []
    for b in chosen:
        own = {k for i in b for k in by_node[i] if k not in keeper}
        recompute.append(tuple(nbytes[k] for k in sorted(own)))
    return Kept(forward={k: nbytes[k] for k in keeper}, keeper=keeper,
                recompute=tuple(recompute), itemsizes=sizes)
