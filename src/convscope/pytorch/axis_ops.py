"""How each ATen operation moves positions between axes, for axis_flow.py's pass.

Each rule takes the operation, ``get`` (a tensor argument -> its :class:`Flow`, None for a
constant: a parameter, a buffer, a mask) and the number of spatial axes, and returns the
flows of the operation's outputs (None where an output is not followed). A rule raises
:class:`Lost` where it cannot follow; an operation with no rule does too.
"""

from __future__ import annotations

from typing import Any

import torch

from ..layers.aten_args import arg, ints
from ..layers.regrid import Axis, Lost, count, extent, labelled, plain, regroup
from .axis_flow import Flow, aligned, combine

aten = torch.ops.aten

NORMS = frozenset({aten.native_layer_norm, aten.native_group_norm,
                   aten._native_batch_norm_legit, aten.native_batch_norm})
VIEWS = frozenset({aten.view, aten._unsafe_view, aten.reshape, aten.unsqueeze, aten.squeeze,
                   aten.flatten, aten.unflatten, aten._reshape_alias, aten.view_copy})
SOFTMAX = frozenset({aten._softmax, aten._log_softmax, aten.softmax, aten._safe_softmax})
# reductions: where their dims argument is
REDUCE = {aten.mean: 1, aten.sum: 1, aten.amax: 1, aten.amin: 1, aten.var: 1, aten.std: 1,
          aten.max: 1, aten.min: 1, aten.linalg_vector_norm: 2, aten.logsumexp: 1}
ATTENTION = frozenset({aten._scaled_dot_product_flash_attention_for_cpu,
                       aten._scaled_dot_product_efficient_attention,
                       aten._scaled_dot_product_flash_attention, aten.scaled_dot_product_attention,
                       aten._scaled_dot_product_attention_math})
NOTHING = frozenset({aten.zeros_like, aten.ones_like, aten.empty_like, aten.full_like,
                     aten.new_zeros, aten.new_ones, aten.new_empty, aten.new_full})
NO_READ = Flow([], [], [])  # a tensor made without reading its input's values (zeros_like)


def elementwise(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    """Each output of the first output's shape reads its inputs at the same index
    (broadcast); a normalisation's too (its statistics are not part of the field)."""
    shape = tuple(op.outputs[0].shape)
    flows = [(f, t) for t in op.data if (f := get(t)) is not None]
    if not flows:  # of tensors that read no input value
        return [NO_READ] * len(op.outputs)
    flow = aligned(flows, shape, spatial)
    return [flow if tuple(o.shape) == shape else None for o in op.outputs]


def view(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    x = get(op.args[0])
    return [Flow(regroup(x.axes, tuple(op.outputs[0].shape)), list(x.lo), list(x.hi))]


def permute(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    x, rank = get(op.args[0]), op.args[0].dim()
    if op.func._overloadpacket is aten.permute:
        order = [int(d) % rank for d in op.args[1]]
    else:  # transpose(x, a, b), t(x)
        a, b = (int(op.args[1]) % rank, int(op.args[2]) % rank) if len(op.args) > 2 \
            else (0, rank - 1)
        order = list(range(rank))
        order[a], order[b] = b, a
    return [Flow([x.axes[d] for d in order], list(x.lo), list(x.hi))]


def expand(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    return [aligned([(get(op.args[0]), op.args[0])], tuple(op.outputs[0].shape), spatial)]


def digits(axis: Axis, index: int) -> list[tuple[Any, int]]:
    """(spatial axis, pixels) that an index along ``axis`` adds to the position."""
    out = []
    for a, step, n in reversed(axis):
        out.append((a, step * (index % n)))
        index //= n
    return [(a, d) for a, d in out if a is not None]


def moved(x: Flow, axes: list[Axis], shifts: list[tuple[Any, int]]) -> Flow:
    lo, hi = list(x.lo), list(x.hi)
    for a, d in shifts:
        lo[a], hi[a] = lo[a] + d, hi[a] + d
    return Flow(axes, lo, hi)


def single(x: Flow, dim: int) -> Flow:
    """``x`` with axis ``dim`` holding one component or none: several (a window folded
    with its place, HaloNet's skewed relative logits) are forgotten, each element then
    standing for any of their positions, 0 to their spread past the others': hi + spread."""
    axis = x.axes[dim]
    if len(axis) < 2 or not labelled(axis):
        return x
    axes = list(x.axes)
    axes[dim] = plain(count(axis))
    return Flow(axes, list(x.lo), [h + e for h, e in zip(x.hi, extent([axis], len(x.hi)),
                                                          strict=True)])


def cut(x: Flow, dim: int, begin: int, size: int, stride: int = 1) -> Flow:
    """Indices begin, begin + stride, ... (``size`` of them) along ``dim``."""
    x = single(x, dim)
    axis = x.axes[dim]
    rest = x.axes[:dim], x.axes[dim + 1:]
    if not labelled(axis):
        return Flow([*rest[0], plain(size), *rest[1]], list(x.lo), list(x.hi))
    a, step, _ = axis[0]
    return moved(x, [*rest[0], ((a, step * stride, size),), *rest[1]], [(a, begin * step)])


def select(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    x, dim = get(op.args[0]), int(op.args[1]) % op.args[0].dim()
    index = int(op.args[2]) % int(op.args[0].shape[dim])
    return [moved(x, x.axes[:dim] + x.axes[dim + 1:], digits(x.axes[dim], index))]


def slicing(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    t = op.args[0]
    dim = int(arg(op, 1, "dim", 0)) % t.dim()
    size = int(t.shape[dim])
    begin = arg(op, 2, "start", 0)
    begin = 0 if begin is None else int(begin)
    begin = min(max(begin + size if begin < 0 else begin, 0), size)
    stride = int(arg(op, 4, "step", 1))
    return [cut(get(t), dim, begin, int(op.outputs[0].shape[dim]), stride)]


def pieces(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    """unbind (one select per output), split and split_with_sizes (one slice each)."""
    t, x = op.args[0], get(op.args[0])
    packet = op.func._overloadpacket
    dim = int(arg(op, 1 if packet is aten.unbind else 2, "dim", 0)) % t.dim()
    if packet is aten.unbind:
        return [moved(x, x.axes[:dim] + x.axes[dim + 1:], digits(x.axes[dim], k))
                for k in range(len(op.outputs))]
    out, begin = [], 0
    for o in op.outputs:
        count = int(o.shape[dim])
        out.append(cut(x, dim, begin, count))
        begin += count
    return out


def roll(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    """A cyclic shift of the whole map is read as a shift (what wraps round the map's edge
    is Swin's masked part); inside a window, index q reads q - s or q - s + n."""
    x = get(op.args[0])
    shifts, dims = ints(op.args[1]), ints(arg(op, 2, "dims", []))
    if len(shifts) != len(dims):
        raise Lost("roll of the flattened tensor")
    out = x
    for shift, dim in zip(shifts, dims, strict=True):
        out = single(out, dim % len(out.axes))
        axis = out.axes[dim % len(out.axes)]
        if not labelled(axis):
            continue
        a, step, n = axis[0]
        if whole(axis, get):
            out = moved(out, out.axes, [(a, -shift * step)])
        elif shift % n:
            lo, hi = list(out.lo), list(out.hi)
            lo[a], hi[a] = lo[a] - shift % n * step, hi[a] + (n - shift % n) * step
            out = Flow(out.axes, lo, hi)
    return [out]


# reflection reads up to 2 x the padding further in, replication up to 1 x
MIRRORS = {aten.reflection_pad1d: 2, aten.reflection_pad2d: 2, aten.reflection_pad3d: 2,
           aten.replication_pad1d: 1, aten.replication_pad2d: 1, aten.replication_pad3d: 1}


def pad(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    """The output index q reads input index q - before along each padded axis (a
    reflection or replication of the map's own edge reads the padding, as a convolution's
    padding; inside a window it reads that window's values)."""
    t, x = op.args[0], get(op.args[0])
    pads = [int(p) for p in op.args[1]]
    for i in range(len(pads) // 2):
        x = single(x, t.dim() - 1 - i)
    axes, shifts = list(x.axes), []
    lo, hi = list(x.lo), list(x.hi)
    for i in range(len(pads) // 2):
        dim = t.dim() - 1 - i
        size = int(op.outputs[0].shape[dim])
        axis = axes[dim]
        if not labelled(axis):
            axes[dim] = plain(size)
            continue
        a, step, _ = axis[0]
        mirror = MIRRORS.get(op.func._overloadpacket, 0)
        if mirror and not whole(axis, get):  # inside a window: values from within it
            before, after = max(pads[2 * i], 0), max(pads[2 * i + 1], 0)
            lo[a], hi[a] = lo[a] - mirror * after * step, hi[a] + mirror * before * step
        axes[dim] = ((a, step, size),)
        shifts.append((a, -pads[2 * i] * step))
    return [moved(Flow(x.axes, lo, hi), axes, shifts)]


def softmax(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    x, rank = get(op.args[0]), op.args[0].dim()
    dim = int(op.args[1]) % rank
    return [combine([(x, [k if k != dim else None for k in range(rank)])], x.axes, spatial)]


def reduce(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    if len(op.args) > 1 and hasattr(op.args[1], "shape"):  # max(a, b), min(a, b)
        return elementwise(op, get, spatial)
    t, x = op.args[0], get(op.args[0])
    rank = t.dim()
    dims = arg(op, REDUCE[op.func._overloadpacket], "dim", None)
    dims = list(range(rank)) if dims in (None, []) else [int(d) % rank for d in ints(dims)]
    shape = tuple(op.outputs[0].shape)
    keep = len(shape) == rank
    where: list[int | None] = []
    k = 0
    for d in range(rank):
        where.append(None if d in dims else k)
        k += 0 if d in dims and not keep else 1
    out = [plain(int(n)) for n in shape]
    for d, w in enumerate(where):
        if w is not None:
            out[w] = x.axes[d]
    flow = combine([(x, where)], out, spatial)
    return [flow if tuple(o.shape) == shape else None for o in op.outputs]  # max's indices


MORE_POINTWISE = frozenset({
    aten.abs, aten.minimum, aten.maximum, aten.erf, aten.log, aten.reciprocal, aten.square,
    aten.hardtanh, aten.hardtanh_, aten.masked_fill, aten.lerp, aten.addcdiv, aten.sign,
    aten.log1p, aten.expm1, aten.tanh_, aten.gelu_, aten.sin, aten.cos, aten.floor,
    aten.ceil, aten.round, aten.lift_fresh_copy, aten.copy, aten.mish_, aten.silu_,
    aten.hardsigmoid_, aten.sigmoid_, aten.relu6, aten.prelu, aten._prelu_kernel})


def nothing(op: Any, get: Any, spatial: int) -> list[Flow | None]:
    return [NO_READ] * len(op.outputs)


def getter(op: Any, env: dict[Any, Any], sizes: list[int]) -> Any:
    """An operation's ``get``: a data argument's flow; None for a constant. ``get.sizes``:
    the group input's spatial sizes."""
    def get(t: Any) -> Flow | None:
        if t is None or not op.is_data(t):
            return None
        flow = env.get(op.sources[id(t)])
        if flow is None:
            raise Lost("an argument not followed")
        return None if flow is NO_READ else flow
    get.sizes = sizes  # type: ignore[attr-defined]
    return get


def whole(axis: Axis, get: Any) -> bool:
    """Whether a one-component axis spans its spatial axis of the group input (the map's
    own edge, not a window's)."""
    a, step, n = axis[0]
    return bool(step * n >= get.sizes[a])


def check(flow: Flow, t: Any) -> None:
    """A rule's flow has the tensor's axes and sizes (a guard: never a wrong window)."""
    if flow is NO_READ:
        return
    if len(flow.axes) != t.dim():
        raise Lost("rank")
    if any(count(axis) != int(n) for axis, n in zip(flow.axes, t.shape, strict=True)):
        raise Lost("size")


def window_of(flow: Flow, t: Any, last: bool, sizes: list[int]) -> dict[str, Any] | None:
    """The window of a group output (N, C, *S) or (N, *S, C) whose spatial axes are each
    one component, in order; its channels' positions widen it (each position's field
    holds every channel's). None when every output reads the whole input."""
    spatial = len(sizes)
    if t.dim() != spatial + 2 or labelled(flow.axes[0]):
        raise Lost("the output")
    dims = range(1, spatial + 1) if last else range(2, spatial + 2)
    hi = [h + e for h, e in zip(flow.hi, extent([flow.axes[-1 if last else 1]], spatial),
                                strict=True)]
    kernel, stride, padding, covers = [], [], [], True
    for i, d in enumerate(dims):
        axis = flow.axes[d]
        if len(axis) != 1 or axis[0][0] != i:
            raise Lost("the output's positions")
        _, step, n = axis[0]
        covers = covers and (n - 1) * step + flow.lo[i] <= 0 and hi[i] >= sizes[i] - 1
        kernel.append(hi[i] - flow.lo[i] + 1)
        stride.append(step)
        padding.append(-flow.lo[i])
    return None if covers else {"rf_kernel": kernel, "rf_stride": stride,
                                "rf_padding": padding}
