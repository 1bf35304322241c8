"""Which convscope kind one captured ATen operation is (used by importer.py).

``map_op`` returns a description item (a dict) with the data tensors it reads, ``ALIAS``
when the operation only passes its input on (``clone``, ``alias``, ``_to_copy``), or None
when no kind describes it: the importer then keeps it as an ``opaque`` layer, with its
measured shape, parameters and flop-formula MACs. The table ``MAPPERS`` is keyed by ATen
overload packets and refuses duplicates, like ``torch.utils.flop_counter``'s registry.

Only operations that keep the batch in dim 0 of every data tensor are mapped: convscope
shapes are per sample. Shapes convert from PyTorch's (N, C, *S) to convscope's (*S, C).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .capture import Op

aten = torch.ops.aten
ALIAS = "alias"
Result = Any  # tuple[dict, list[torch.Tensor]] | str | None
MAPPERS: dict[Any, Callable[[Op, torch.Tensor, torch.Tensor], Result]] = {}


def maps(*packets: Any) -> Callable[[Any], Any]:
    def register(f: Any) -> Any:
        for packet in packets:
            if packet in MAPPERS:
                raise RuntimeError(f"duplicate registrations for {packet}")
            MAPPERS[packet] = f
        return f
    return register


def our_axis(dim: int, rank: int) -> int | None:
    """A dim of a channels-first tensor -> the axis in H x W x C order (None: the batch)."""
    dim %= rank
    if dim == 0:
        return None
    return rank - 2 if dim == 1 else dim - 2


def arg(op: Op, index: int, key: str, default: Any = None) -> Any:
    if len(op.args) > index:
        return op.args[index]
    return op.kwargs.get(key, default)


def ints(value: Any) -> list[int]:
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]


def map_op(op: Op, batch: int) -> Result:
    """The item for ``op`` (see the module docstring)."""
    mapper = MAPPERS.get(op.func._overloadpacket)
    data = op.data_args()
    if mapper is None or not data or not op.outputs:
        return None
    if any(t.dim() == 0 or t.shape[0] != batch for t in (*data, op.outputs[0])):
        return None  # the batch moved (tokens folded into rows, windows, heads ...)
    try:
        found = mapper(op, data[0], op.outputs[0])
    except Exception:  # noqa: BLE001 - arguments no kind reads (tensor bounds ...): opaque
        return None
    if isinstance(found, dict):
        return found, data
    return found


# ------------------------------------------------------------- weighted ---
@maps(aten.convolution)
def _convolution(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    _, w, bias, stride, padding, dilation, transposed, output_padding, groups = op.args[:9]
    n = x.dim() - 2
    if op.is_data(w) or op.is_data(bias) or n not in (1, 2, 3):
        return None
    item = {"type": f"conv_transpose{n}d" if transposed else f"conv{n}d",
            "out_channels": int(w.shape[1] * groups if transposed else w.shape[0]),
            "kernel_size": ints(w.shape[2:]), "stride": ints(stride), "padding": ints(padding),
            "dilation": ints(dilation), "groups": int(groups), "bias": bias is not None}
    if transposed:
        item["output_padding"] = ints(output_padding)
    return item, [x]


@maps(aten.addmm, aten.mm)
def _matmul(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    """``F.linear`` on (N, K): addmm(bias, x, weight.t()) or mm(x, weight.t())."""
    with_bias = op.func._overloadpacket is aten.addmm
    bias, a, w = op.args[:3] if with_bias else (None, *op.args[:2])
    if a is not x or op.is_data(w) or op.is_data(bias) or x.dim() != 2:
        return None
    if with_bias and (arg(op, 3, "beta", 1) != 1 or arg(op, 4, "alpha", 1) != 1
                      or bias.dim() != 1):
        return None
    return {"type": "dense", "units": int(w.shape[1]), "bias": with_bias}


# ---------------------------------------------------------------- pools ---
def _pool(mode: str, op: Op, x: torch.Tensor) -> Result:
    kernel = ints(arg(op, 1, "kernel_size"))
    stride = arg(op, 2, "stride", None) or kernel
    item = {"type": f"{mode}pool{x.dim() - 2}d", "kernel_size": kernel, "stride": ints(stride),
            "padding": ints(arg(op, 3, "padding", 0))}
    if mode == "max":
        item["dilation"] = ints(arg(op, 4, "dilation", 1))
        item["ceil_mode"] = bool(arg(op, 5, "ceil_mode", False))
    else:
        item["ceil_mode"] = bool(arg(op, 4, "ceil_mode", False))
        if arg(op, 6, "divisor_override", None) is not None:
            return None
    return item


@maps(aten.max_pool1d_with_indices, aten.max_pool2d_with_indices,
      aten.max_pool3d_with_indices, aten.max_pool1d, aten.max_pool2d, aten.max_pool3d)
def _max_pool(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return _pool("max", op, x)


@maps(aten.avg_pool1d, aten.avg_pool2d, aten.avg_pool3d)
def _avg_pool(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return _pool("avg", op, x)


def _adaptive(mode: str, x: torch.Tensor, out: torch.Tensor) -> Result:
    if all(s == 1 for s in out.shape[2:]):
        return {"type": "global_pool", "mode": mode, "keepdims": True}
    return {"type": "adaptive_pool", "mode": mode, "output_size": ints(out.shape[2:])}


@maps(aten._adaptive_avg_pool2d, aten._adaptive_avg_pool3d, aten.adaptive_avg_pool1d)
def _adaptive_avg(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return _adaptive("avg", x, out)


@maps(aten.adaptive_max_pool1d, aten.adaptive_max_pool2d, aten.adaptive_max_pool3d)
def _adaptive_max(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return _adaptive("max", x, out)


@maps(aten.mean, aten.amax)
def _reduce(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    """x.mean((2, 3)) / x.amax((2, 3)), kept or not: a global pool."""
    dims = arg(op, 1, "dim", None)
    if dims is None or x.dim() < 3 or arg(op, 3, "dtype", None) is not None:
        return None
    if sorted(d % x.dim() for d in ints(dims)) != list(range(2, x.dim())):
        return None
    mode = "avg" if op.func._overloadpacket is aten.mean else "max"
    return {"type": "global_pool", "mode": mode, "keepdims": bool(arg(op, 2, "keepdim", False))}


# ---------------------------------------------------------------- norms ---
@maps(aten.native_batch_norm, aten._native_batch_norm_legit,
      aten._native_batch_norm_legit_no_training)
def _batch_norm(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    weight, bias = op.args[1], op.args[2]
    stats = op.func._overloadname != "no_stats"
    running = op.args[3] if stats else None
    momentum, eps = op.args[-2], op.args[-1]
    if any(op.is_data(t) for t in (weight, bias, running)) or not 0 <= momentum <= 1:
        return None
    return {"type": "batchnorm", "eps": float(eps), "momentum": float(momentum),
            "center": bias is not None, "scale": weight is not None,
            "track_running_stats": running is not None}


@maps(aten.native_group_norm)
def _group_norm(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    weight, bias, groups, eps = op.args[1], op.args[2], op.args[6], op.args[7]
    if (weight is None) != (bias is None) or op.is_data(weight) or op.is_data(bias):
        return None
    return {"type": "groupnorm", "groups": int(groups), "eps": float(eps),
            "affine": weight is not None}


@maps(aten.native_layer_norm)
def _layer_norm(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    _, shape, weight, bias, eps = op.args[:5]
    if list(shape) != list(x.shape[1:]) or op.is_data(weight) or op.is_data(bias):
        return None  # tokens normalised over their last dim: no kind (yet)
    if weight is None and bias is not None:
        return None
    return {"type": "layernorm", "axes": "channels" if x.dim() == 2 else "all",
            "eps": float(eps), "elementwise_affine": weight is not None,
            "bias": bias is not None}


# ------------------------------------------------------ element-wise ---
ACTIVATIONS = {aten.relu: "relu", aten.relu_: "relu", aten.silu: "silu", aten.silu_: "silu",
               aten.sigmoid: "sigmoid", aten.sigmoid_: "sigmoid", aten.tanh: "tanh",
               aten.tanh_: "tanh", aten.hardswish: "hardswish", aten.hardswish_: "hardswish",
               aten.hardsigmoid: "hard_sigmoid", aten.hardsigmoid_: "hard_sigmoid",
               aten.mish: "mish", aten.mish_: "mish"}


@maps(*ACTIVATIONS)
def _activation(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return {"type": ACTIVATIONS[op.func._overloadpacket]}


@maps(aten.gelu, aten.gelu_)
def _gelu(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return {"type": "gelu"} if op.kwargs.get("approximate", "none") == "none" else None


@maps(aten.elu, aten.elu_)
def _elu(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return {"type": "elu"} if tuple(op.args[1:4]) in ((), (1.0,), (1.0, 1), (1.0, 1, 1)) \
        else None


@maps(aten.leaky_relu, aten.leaky_relu_)
def _leaky_relu(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return {"type": "leaky_relu", "negative_slope": float(arg(op, 1, "negative_slope", 0.01))}


@maps(aten.hardtanh, aten.hardtanh_, aten.clamp, aten.clamp_)
def _relu6(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    bounds = (arg(op, 1, "min", -1.0), arg(op, 2, "max", 1.0))
    numbers = all(isinstance(b, (int, float)) for b in bounds)
    return {"type": "relu6"} if numbers and bounds == (0, 6) else None


@maps(aten.softplus)
def _softplus(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return {"type": "softplus"} if tuple(op.args[1:3]) in ((), (1,), (1, 20)) else None


@maps(aten._softmax, aten._log_softmax, aten._safe_softmax)
def _softmax(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    if op.args[1] % x.dim() != 1:
        return None
    return {"type": "log_softmax" if op.func._overloadpacket is aten._log_softmax
            else "softmax"}


@maps(aten.native_dropout)
def _dropout(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return {"type": "dropout", "rate": float(op.args[1])}


BINARY = {aten.add: "add", aten.add_: "add", aten.sub: "subtract", aten.sub_: "subtract",
          aten.mul: "multiply", aten.mul_: "multiply", aten.div: "divide",
          aten.div_: "divide"}


@maps(*BINARY)
def _binary(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    """A merge of two data tensors, a rescaling by a number, or a dropout mask."""
    name = BINARY[op.func._overloadpacket]
    a, b = op.args[0], op.args[1] if len(op.args) > 1 else op.kwargs.get("other")
    if arg(op, 2, "alpha", 1) != 1 or op.kwargs.get("rounding_mode") is not None:
        return None
    if op.is_data(a) and op.is_data(b):
        return ({"type": name}, [a, b]) if name != "divide" else None
    other = b if op.is_data(a) else a
    if isinstance(other, torch.Tensor):
        const = op.consts.get(id(other))
        if name == "multiply" and const is not None and const.noise is not None:
            return {"type": "dropout", "rate": 1.0 - const.noise}  # x * bernoulli mask / p
        return None  # a learned or constant tensor: opaque, with its parameters
    if not isinstance(other, (int, float)) or isinstance(other, bool):
        return None
    c, first = float(other), op.is_data(a)
    items = {"add": {"offset": c}, "multiply": {"scale": c},
             "subtract": {"scale": 1.0 if first else -1.0, "offset": -c if first else c},
             "divide": {"scale": 1.0 / c} if first and c else None}
    found = items[name]
    return {"type": "rescaling", **found} if found is not None else None


# ------------------------------------------------------------- structure ---
@maps(aten.cat)
def _cat(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    tensors = list(arg(op, 0, "tensors"))
    axis = our_axis(arg(op, 1, "dim", 0), out.dim())
    if axis is None or not all(op.is_data(t) for t in tensors):
        return None
    return {"type": "concat", "axis": axis}, tensors


@maps(aten.view, aten._unsafe_view, aten.reshape, aten.unsqueeze, aten.squeeze,
      aten.flatten)
def _reshape(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    if out.dim() == 2 and x.dim() > 2:
        return {"type": "flatten"}
    target = [int(n) for n in out.shape[1:]]
    ours = target if len(target) <= 1 else [*target[1:], target[0]]
    return {"type": "reshape", "target_shape": ours, "layout": "channels_first"}


def permute_item(order: list[int], rank: int) -> Result:
    order = [d % rank for d in order]
    if order[0] != 0:
        return None
    to_ours = [our_axis(d, rank) for d in range(rank)]
    dims = [0] * (rank - 1)
    for out_dim, in_dim in enumerate(order):
        if out_dim:
            dims[to_ours[out_dim]] = to_ours[in_dim] + 1  # type: ignore[index,operator]
    return {"type": "permute", "dims": dims}


@maps(aten.permute)
def _permute(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return permute_item(ints(op.args[1]), x.dim())


@maps(aten.transpose)
def _transpose(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    order = list(range(x.dim()))
    a, b = op.args[1] % x.dim(), op.args[2] % x.dim()
    order[a], order[b] = order[b], order[a]
    return permute_item(order, x.dim())


@maps(aten.slice)
def _slice(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    dim = arg(op, 1, "dim", 0) % x.dim()
    if tuple(out.shape) == tuple(x.shape):
        return ALIAS
    start, stop, step = slice(arg(op, 2, "start", None), arg(op, 3, "end", None),
                              arg(op, 4, "step", 1)).indices(x.shape[dim])
    if dim == 0:
        return None
    return {"type": "slice", "axis": our_axis(dim, x.dim()), "start": start, "stop": stop,
            "step": step}


@maps(aten.clone, aten.alias, aten.detach, aten._to_copy, aten.lift_fresh, aten.expand,
      aten.contiguous, aten.to)
def _alias(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    return ALIAS if tuple(out.shape) == tuple(x.shape) else None


@maps(aten.constant_pad_nd)
def _pad(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    flat, value = ints(op.args[1]), float(arg(op, 2, "value", 0) or 0)
    if value != 0 or any(p < 0 for p in flat) or len(flat) % 2:
        return None
    pairs = [[flat[i], flat[i + 1]] for i in range(0, len(flat), 2)][::-1]  # first dim first
    spatial = x.dim() - 2
    if len(pairs) > spatial + 1:
        return None
    channels = pairs[0] if len(pairs) == spatial + 1 else [0, 0]
    pairs = pairs[-spatial:] if spatial else []
    pairs = [[0, 0]] * (spatial - len(pairs)) + pairs
    return {"type": "zero_padding", "padding": pairs, "channels": channels}


UPSAMPLE = {aten.upsample_nearest1d: "nearest", aten.upsample_nearest2d: "nearest",
            aten.upsample_nearest3d: "nearest", aten.upsample_linear1d: "linear",
            aten.upsample_bilinear2d: "linear", aten.upsample_trilinear3d: "linear"}


@maps(*UPSAMPLE)
def _upsample(op: Op, x: torch.Tensor, out: torch.Tensor) -> Result:
    pairs = list(zip(out.shape[2:], x.shape[2:], strict=True))
    if any(o % n for o, n in pairs):
        return None
    return {"type": "upsample", "scale_factor": [o // n for o, n in pairs],
            "mode": UPSAMPLE[op.func._overloadpacket]}


SPLITS = {aten.split, aten.split_with_sizes, aten.unsafe_split, aten.chunk}


def split_items(op: Op, batch: int) -> list[dict[str, Any] | None]:
    """``split`` / ``chunk`` along a non-batch dim: one ``slice`` item per output."""
    x = op.args[0]
    if op.func._overloadpacket not in SPLITS or not op.is_data(x) or x.shape[0] != batch:
        return [None] * len(op.outputs)
    dim = arg(op, 2, "dim", 0) % x.dim()
    if dim == 0:
        return [None] * len(op.outputs)
    items: list[dict[str, Any] | None] = []
    start = 0
    for part in op.outputs:
        stop = start + int(part.shape[dim])
        items.append({"type": "slice", "axis": our_axis(dim, x.dim()), "start": start,
                      "stop": stop})
        start = stop
    return items


__all__ = ["ALIAS", "MAPPERS", "SPLITS", "map_op", "our_axis", "split_items"]
