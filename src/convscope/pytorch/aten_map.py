"""Which convscope kind one captured ATen operation is (used by importer.py, grouping.py).

Each kind reads its own operators: ``aten_ops`` and ``from_aten`` in its file (the contract:
layers/bridge.py). This module only dispatches. ``map_op`` returns a description item (a
dict) with the data tensors it reads, ``ALIAS`` when the operation only passes its input
on (``clone``, ``alias``, ``_to_copy``), or None when no kind describes it: the importer
then keeps it as an ``opaque`` layer, with its measured shape, parameters and flop-formula
MACs. ``MAPPERS`` is keyed by ATen overload packets; an operator claimed by two kinds, or
a name ATen does not have, fails at import.

Only operations that keep the batch in dim 0 of every data tensor are mapped: convscope
shapes are per sample. Shapes convert from PyTorch's (N, C, *S) to convscope's (*S, C).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..description.args import Args
from ..description.layer_memo import LayerMemo
from ..description.parse import lookup
from ..layers import LAYER_KINDS
from ..layers.aten_args import arg
from ..layers.bridge import ALIAS, our_axis, table
from .captured import Op
from .layout import FIRSTS, flipped

aten = torch.ops.aten
Result = Any  # tuple[dict, list[torch.Tensor]] | dict | str | None
Reader = Callable[[Op, torch.Tensor, torch.Tensor], Result]

# Copies, casts, same-size expands and in-place restrides (an adaptive pool's meta kernel
# ends with as_strided_) pass their input on: they are no layer, so no kind reads them;
# the importer names their output after their input (a slice that keeps everything is one
# too, but only Slice's reader can tell).
ALIASES = ("clone", "alias", "detach", "_to_copy", "lift_fresh", "expand", "contiguous", "to",
           "as_strided_")


def _alias(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return ALIAS if tuple(out.shape) == tuple(x.shape) else None


def _packet(name: str, owner: str) -> Any:
    try:
        return getattr(aten, name)
    except AttributeError:
        raise RuntimeError(f"{owner} reads the ATen operator '{name}', which this PyTorch "
                           f"({torch.__version__}) does not have") from None


def mappers() -> dict[Any, Reader]:
    """ATen overload packet -> its reader, from every kind's ``aten_ops``."""
    readers: dict[str, tuple[str, Reader]] = {
        name: (kind.__name__, kind.from_aten)
        for name, kind in table(LAYER_KINDS, "aten_ops").items()}
    for name in ALIASES:
        if name in readers:
            raise RuntimeError(f"duplicate registrations for aten_ops '{name}': "
                               f"{readers[name][0]} and the aliases of aten_map.py")
        readers[name] = ("aten_map.py", _alias)
    return {_packet(name, owner): reader for name, (owner, reader) in readers.items()}


MAPPERS = mappers()
# the operators whose kinds read them on channels-last maps too (``reads_channels_last``)
LAST_READERS = frozenset(_packet(name, kind.__name__)
                         for name, kind in table(LAYER_KINDS, "aten_ops").items()
                         if kind.reads_channels_last) | {_packet(n, "aten_map.py")
                                                         for n in ALIASES}


def map_op(op: Op, batch: int) -> Result:
    """The item for ``op`` (see the module docstring)."""
    mapper = MAPPERS.get(op.func._overloadpacket)
    data = op.data_args()
    if mapper is None or not data or not op.outputs:
        return None
    if any(t.dim() == 0 or t.shape[0] != batch for t in (*data, op.outputs[0])):
        return None  # the batch moved (tokens folded into rows, windows, heads ...)
    if layout_flip(op) is not None:
        return ALIAS  # only the layout changes (grouping.py keeps it per tensor)
    if heads_back(op):  # (L, E, H) -> (L, H, E), channels last
        return {"type": "permute", "dims": [1, 3, 2]}, data
    if op.layout == "mixed" or op.layout == "last" and \
            op.func._overloadpacket not in LAST_READERS:
        return None  # channels-last maps: only the kinds that read them (and aliases)
    try:
        found = mapper(op, data[0], op.outputs[0])
    except Exception:  # noqa: BLE001 - arguments no kind reads (tensor bounds ...): opaque
        return None
    if isinstance(found, dict):
        return found, data
    return found


def permute_order(op: Op) -> list[int] | None:
    """The order of a permute or transpose (None for any other operation)."""
    packet = op.func._overloadpacket
    if packet not in (aten.permute, aten.transpose):
        return None
    rank = op.args[0].dim()
    if packet is aten.permute:
        return [d % rank for d in op.args[1]]
    order, a, b = list(range(rank)), op.args[1] % rank, op.args[2] % rank
    order[a], order[b] = order[b], order[a]
    return order


def layout_flip(op: Op) -> str | None:
    """The layout a permute that only moves the channels gives (layout.py), else None."""
    order = permute_order(op)
    return None if order is None else flipped(order, len(order), op.layout)


def heads_back(op: Op) -> bool:
    """Attention's output (N, H, L, E) transposed to (N, L, H, E): a channels-last tensor
    (positions L, H; channels E), ready to merge its heads into L x (H x E) tokens."""
    return op.layout == "heads" and permute_order(op) == [0, 2, 1, 3]


# split / chunk give one slice per output, not one item: grouping.py makes a unit of each
# piece. They are not in MAPPERS (the capture lets the operators outside it decompose,
# as FlopCounterMode does), so they are read here, beside the dispatcher.
SPLITS = {aten.split, aten.split_with_sizes, aten.unsafe_split, aten.chunk}


def split_items(op: Op, batch: int) -> list[dict[str, Any] | None]:
    """``split`` / ``chunk`` along a non-batch dim: one ``slice`` item per output (of a
    channels-last tensor too: the axis in its own order, a ViT's q, k and v)."""
    x = op.args[0]
    if op.func._overloadpacket not in SPLITS or not op.is_data(x) or x.shape[0] != batch or \
            op.layout not in (*FIRSTS, "last"):
        return [None] * len(op.outputs)
    dim = arg(op, 2, "dim", 0) % x.dim()
    if dim == 0:
        return [None] * len(op.outputs)
    axis = our_axis(dim, x.dim(), op.layout)
    items: list[dict[str, Any] | None] = []
    start = 0
    for part in op.outputs:
        stop = start + int(part.shape[dim])
        items.append({"type": "slice", "axis": axis, "start": start, "stop": stop})
        start = stop
    return items


def kind_counts(item: dict[str, Any], in_shapes: tuple[tuple[int, ...], ...],
                memo: LayerMemo) -> Any:
    """(output shape, trainable, buffers, MACs, the layer) by the kind's own rules; None if
    refused. Equal layers are built once (``memo``)."""
    entry = lookup(item["type"])
    if entry is None:
        return None
    kind, fixed = entry
    raw = {k: v for k, v in item.items() if k != "type"}
    try:
        layer = memo.layer(item["type"], raw, in_shapes,
                           lambda: kind.from_args(Args(item["type"], raw, fixed), in_shapes))
        out = layer.output_shape(in_shapes)
        count = layer.params(in_shapes)
        return out, count.trainable, count.buffers, layer.macs(in_shapes, out), layer
    except Exception:  # noqa: BLE001 - any refusal means: not this kind
        return None


__all__ = ["ALIAS", "ALIASES", "MAPPERS", "SPLITS", "map_op", "split_items"]
