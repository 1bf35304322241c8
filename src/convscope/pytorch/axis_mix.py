"""The operations that read across positions, for axis_flow.py's pass: contractions
(mm, bmm, addmm), scaled dot-product attention, windows (convolutions, pools, im2col,
unfold) and concatenations; then the table of every rule and the pass itself
(:func:`flow_window`)."""

from __future__ import annotations

from typing import Any

import torch

from ..layers.aten_args import arg, ints
from ..layers.regrid import Axis, Lost, extent, labelled, plain
from . import axis_ops as ops
from .axis_flow import Flow, combine, start
from .elementwise import PADS, POINTWISE
from .layout import sizes_of
from .view_writes import written

aten = torch.ops.aten


def contracted(parts: list[tuple[Flow | None, Any, dict[int, int | None]]],
               shape: tuple[int, ...], spatial: int, product: bool = True) -> Flow:
    """Inputs right-aligned to the output ``shape`` except the axes in each one's dict
    (its own axis -> the output's, None: read across). Output axes take the first
    full-size input axis with positions; in a ``product``, a column whose row already has
    positions is a second copy of them (Q x K^T's keys): it keeps none, its spread read
    across."""
    rank = len(shape)
    out: list[Axis] = [plain(int(n)) for n in shape]
    chosen: set[int] = set()
    parts_where = []
    for flow, t, special in parts:
        if flow is None:
            continue
        shift, where = rank - t.dim(), []
        for i, axis in enumerate(flow.axes):
            k = special[i - t.dim()] if i - t.dim() in special else i + shift
            if k is not None and i - t.dim() not in special and int(t.shape[i]) != shape[k]:
                k = None
            where.append(k)
            if k is not None and k not in chosen and labelled(axis):
                if product and k == rank - 1 and labelled(out[rank - 2]):
                    continue  # a column copying the rows' positions
                out[k] = axis
                chosen.add(k)
        parts_where.append((flow, where))
    if not parts_where:
        raise Lost("a contraction of constants")
    return combine(parts_where, out, spatial)


def matmul(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    """mm, bmm, addmm and baddbmm: rows of the first factor, columns of the second."""
    packet = op.func._overloadpacket
    a, b = op.args[1:3] if packet in (aten.addmm, aten.baddbmm) else op.args[:2]
    shape = tuple(int(n) for n in op.outputs[0].shape)
    parts = [(get(a), a, {-1: None, -2: len(shape) - 2}),
             (get(b), b, {-2: None, -1: len(shape) - 1})]
    if packet in (aten.addmm, aten.baddbmm) and get(op.args[0]) is not None:
        parts.append((get(op.args[0]), op.args[0], {}))
    return [contracted(parts, shape, spatial)]


def attention(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    """softmax(Q K^T) V: each query row reads every key and value row of its batch."""
    q, k, v = op.args[:3]
    if any(get(t) is not None for t in op.data if not any(t is x for x in (q, k, v))):
        raise Lost("an attention mask or bias computed from the input")
    shape = tuple(int(n) for n in op.outputs[0].shape)
    rows, cols = len(shape) - 2, len(shape) - 1
    parts = [(get(q), q, {-2: rows, -1: None}), (get(k), k, {-2: None, -1: None}),
             (get(v), v, {-2: None, -1: cols})]
    return [contracted(parts, shape, spatial)] + [None] * (len(op.outputs) - 1)


MAX_POOLS = frozenset({aten.max_pool2d_with_indices, aten.max_pool3d_with_indices})


def window_args(op: Any, nd: int) -> tuple[list[int], list[int], list[int], list[int], bool]:
    """(kernel, stride, padding, dilation, mixes channels) of a convolution or pool."""
    packet = op.func._overloadpacket
    if packet is aten.convolution:
        if op.args[6] or any(d is not None and op.is_data(d) for d in op.args[1:3]):
            raise Lost("a transposed convolution, or one with computed weights")
        kernel = [int(n) for n in op.args[1].shape[2:]]
        return kernel, ints(op.args[3]), ints(op.args[4]), ints(op.args[5]), True
    kernel = ints(op.args[1])
    stride = ints(arg(op, 2, "stride", [])) or kernel
    dilation = ints(arg(op, 4, "dilation", 1)) if packet in MAX_POOLS else [1]
    full = [x * nd if len(x) == 1 else x for x in (kernel, stride, ints(arg(op, 3, "padding", 0)),
                                                   dilation)]
    return full[0], full[1], full[2], full[3], False


def window(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    """A convolution or pool on (N, C, *S): output index q reads input indices q x stride
    - padding ... + dilation x (kernel - 1); a convolution reads every input channel."""
    t, x = op.args[0], get(op.args[0])
    nd = t.dim() - 2
    kernel, stride, padding, dilation, mixes = window_args(op, nd)
    for i in range(nd):
        x = ops.single(x, 2 + i)
    out = op.outputs[0]
    axes = [x.axes[0], plain(int(out.shape[1])) if mixes else x.axes[1]]
    lo, hi = list(x.lo), list(x.hi)
    for i in range(nd):
        axis, size = x.axes[2 + i], int(out.shape[2 + i])
        if not labelled(axis):
            axes.append(plain(size))
            continue
        a, step, _ = axis[0]
        axes.append(((a, step * stride[i], size),))
        lo[a] -= padding[i] * step
        hi[a] += (dilation[i] * (kernel[i] - 1) - padding[i]) * step
    if mixes:
        hi = [h + e for h, e in zip(hi, extent([x.axes[1]], spatial), strict=True)]
    flow = Flow(axes, lo, hi)
    return [flow] + [flow if o.shape == out.shape else None for o in op.outputs[1:]]


def im2col(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    """F.unfold: (N, C, H, W) -> (N, C x kh x kw, L), each column one window."""
    x = ops.single(ops.single(get(op.args[0]), 2), 3)
    kernel, dilation, padding, stride = (ints(v) for v in op.args[1:5])
    out = op.outputs[0]
    offsets, places, shifts = list(x.axes[1]), [], []
    for i in range(2):
        n = int(op.args[0].shape[2 + i])
        a, step, _ = x.axes[2 + i][0] if labelled(x.axes[2 + i]) else (None, 0, n)
        count = (n + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
        offsets.append((a, step * dilation[i], kernel[i]))
        places.append((a, step * stride[i], count))
        if a is not None:
            shifts.append((a, -padding[i] * step))
    if int(out.shape[-1]) != places[0][2] * places[1][2]:
        raise Lost("im2col")
    return [ops.moved(x, [x.axes[0], tuple(offsets), tuple(places)], shifts)]


def unfold(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    """Tensor.unfold(dim, size, step): windows along ``dim``, their offsets on a new last
    axis."""
    dim = int(op.args[1]) % op.args[0].dim()
    x = ops.single(get(op.args[0]), dim)
    size, step_by = int(op.args[2]), int(op.args[3])
    axis, count = x.axes[dim], int(op.outputs[0].shape[dim])
    if not labelled(axis):
        axes = [*x.axes[:dim], plain(count), *x.axes[dim + 1:], plain(size)]
    else:
        a, step, _ = axis[0]
        axes = [*x.axes[:dim], ((a, step * step_by, count),), *x.axes[dim + 1:],
                ((a, step, size),)]
    return [Flow(axes, list(x.lo), list(x.hi))]


def cat(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    """Concatenation along an axis without positions (the channels, the heads)."""
    tensors = list(op.args[0])
    shape = tuple(int(n) for n in op.outputs[0].shape)
    dim = int(arg(op, 1, "dim", 0)) % len(shape)
    parts = []
    for t in tensors:
        flow = get(t)
        if flow is None or t.dim() != len(shape):
            continue
        if labelled(flow.axes[dim]):
            raise Lost("a concatenation along positions")
        parts.append((flow, t, {dim - len(shape): None}))
    return [contracted(parts, shape, spatial, product=False)] if parts else [None]


def stack(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    """torch.stack: the inputs side by side along a new axis."""
    shape = tuple(int(n) for n in op.outputs[0].shape)
    dim = int(arg(op, 1, "dim", 0)) % len(shape)
    parts = [(f, t, {k - t.dim(): (k if k < dim else k + 1) for k in range(t.dim())})
             for t in op.args[0] if (f := get(t)) is not None]
    return [contracted(parts, shape, spatial, product=False)] if parts else [None]


def is_view(op: Any) -> bool:
    """An operation that returns a view of its input (its schema aliases it, not a write)."""
    return any(r.alias_info is not None and not r.alias_info.is_write
               for r in op.func._schema.returns)


def follow_writes(order: list[Any]) -> None:
    """Raise :class:`Lost` for a write (in place, ``out=``) the pass cannot follow: one into
    a view (its base changes too) or into a tensor a view was taken of (the view changes):
    a later reader of the other would keep the value's field from before the write."""
    made = {op.index: op for op in order}
    for op in order:
        target = written(op)
        if target is None or not op.is_data(target):
            continue
        source = op.sources[id(target)]
        maker = made.get(source[0])
        if maker is not None and is_view(maker):
            raise Lost("a write into a view")
        if any(o.index < op.index and is_view(o) and source in o.sources.values()
               for o in order):
            raise Lost("a write into a tensor a view was taken of")


RULES: dict[Any, Any] = {
    **dict.fromkeys(POINTWISE | ops.NORMS | ops.MORE_POINTWISE, ops.elementwise),
    **dict.fromkeys(ops.VIEWS, ops.view), **dict.fromkeys(PADS, ops.pad),
    **dict.fromkeys((aten.permute, aten.transpose, aten.t), ops.permute),
    aten.expand: ops.expand, aten.select: ops.select, aten.slice: ops.slicing,
    **dict.fromkeys((aten.unbind, aten.split, aten.split_with_sizes), ops.pieces),
    aten.roll: ops.roll, **dict.fromkeys(ops.SOFTMAX, ops.softmax),
    **dict.fromkeys(ops.REDUCE, ops.reduce),
    **dict.fromkeys((aten.mm, aten.bmm, aten.addmm, aten.baddbmm), matmul),
    **dict.fromkeys(ops.ATTENTION, attention),
    **dict.fromkeys((aten.convolution, *MAX_POOLS, aten.avg_pool2d, aten.avg_pool3d), window),
    aten.im2col: im2col, aten.unfold: unfold, aten.cat: cat, aten.stack: stack,
    **dict.fromkeys(ops.NOTHING, ops.nothing),
}


def flow_window(members: list[Any], inputs: list[Any], out: Any, tensor: Any,
                layout: Any) -> dict[str, Any] | None:
    """``{"rf_kernel", "rf_stride", "rf_padding"}`` of an opaque group's output ``out``
    (a source) after following every operation of ``members`` (grouping.py's units) from
    its ``inputs``; None when one cannot be followed or the window covers the input."""
    spatial = tensor(inputs[0]).dim() - 2
    order = sorted({id(u.op): u.op for u in members}.values(), key=lambda o: o.index)
    try:
        sizes = [max(n) for n in zip(*(sizes_of(tensor(s), layout(s) == "last")
                                       for s in inputs), strict=True)]
        env: dict[Any, Any] = {s: start(tensor(s), layout(s) == "last") for s in inputs}
        follow_writes(order)
        for op in order:
            rule = RULES.get(op.func._overloadpacket)
            if rule is None:
                raise Lost(op.name)
            flows = rule(op, ops.getter(op, env, sizes), spatial)
            for k, (flow, t) in enumerate(zip(flows, op.outputs, strict=False)):
                if flow is not None:
                    ops.check(flow, t)
                    env[(op.index, k)] = flow
        flow = env.get(out)
        if flow is None or flow is ops.NO_READ:
            raise Lost("the output")
        return ops.window_of(flow, tensor(out), layout(out) == "last", sizes)
    except Exception:  # noqa: BLE001 - a refinement: what it cannot read stays global
        return None
