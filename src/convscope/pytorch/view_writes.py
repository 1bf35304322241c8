"""Writes into views, for the capture (capture.py): ``y[:, :, 4:8] = ...``, ``row += ...``,
``torch.add(v, m, out=v)``, and F.pad's circular mode, which fills slices of an empty
tensor with ``copy_``.

The write changes the tensor the view was taken of (its base), which the operation itself
does not return: a later reader of the base would otherwise read it from before the write
(a wrong receptive field), and a base that was an empty buffer would stay a constant (the
circular pad was refused as returning nothing computed from its input). After such a
write, the base becomes the output of one more recorded operation, which reads the base
before the write and the written view: ``aten.as_strided_scatter``, the operation
PyTorch's functionalization writes for a mutation through a view. It computes nothing
(no flops), and no kind describes it: it joins an opaque layer, whose field is global
unless a window can be read off it. A view that is the whole base (same sizes, strides and
offset) simply is the base after the write.
"""

from __future__ import annotations

from typing import Any

import torch

from .captured import Op

aten = torch.ops.aten


def written(op: Op) -> torch.Tensor | None:
    """The tensor an operation writes into: ``out=``, or an in-place operation's first."""
    out = op.kwargs.get("out")
    if isinstance(out, torch.Tensor):
        return out
    if op.name.endswith("_") and op.args and isinstance(op.args[0], torch.Tensor):
        return op.args[0]
    return None


def whole(view: torch.Tensor, base: torch.Tensor) -> bool:
    return view.shape == base.shape and view.stride() == base.stride() and \
        view.storage_offset() == base.storage_offset()


def base_after(mode: Any, op: Op) -> None:
    """After ``op`` (just recorded by the capture ``mode``) wrote into a view, make the
    view's base the output of the write (module docstring)."""
    target = written(op)
    base = None if target is None else target._base
    if base is None or id(target) not in mode.data:
        return
    if whole(target, base):
        mode.data[id(base)] = mode.data[id(target)]
        mode.const.pop(id(base), None)
        return
    sources = {id(base): mode.data[id(base)]} if id(base) in mode.data else {}
    sources[id(target)] = mode.data[id(target)]
    consts = {id(base): mode.const[id(base)]} if id(base) in mode.const else {}
    reads = frozenset().union(*(c.reads for c in consts.values()))
    data = [t for t in (base, target) if id(t) in sources]
    scatter = Op(len(mode.ops), aten.as_strided_scatter.default, (base, target), {}, [base],
                 mode.call, sources, consts, reads, 0, data=data)
    mode.ops.append(scatter)
    mode.alive.append([base])
    mode.data[id(base)] = (scatter.index, 0)
    mode.const.pop(id(base), None)
