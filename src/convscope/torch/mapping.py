"""How PyTorch operations map to convscope layer items (used by importer.py).

``map_node`` returns a description item (a dict), an ``(item, inputs)`` pair, an
``fx.Node`` when the operation only passes that input through (``contiguous``,
``nn.Identity``), or None when it cannot map the operation (the importer then records an
``opaque`` layer and a warning).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

Result = Any  # dict | tuple[dict, list[fx.Node]] | fx.Node | None

ACTIVATION_MODULES: dict[type, str] = {
    nn.ReLU: "relu", nn.ReLU6: "relu6", nn.ELU: "elu", nn.SELU: "selu", nn.Sigmoid: "sigmoid",
    nn.Hardsigmoid: "hard_sigmoid", nn.Tanh: "tanh", nn.GELU: "gelu", nn.SiLU: "silu",
    nn.Hardswish: "hardswish", nn.Mish: "mish", nn.Softplus: "softplus",
}
ACTIVATION_FUNCTIONS: dict[Any, str] = {
    F.relu: "relu", torch.relu: "relu", torch.relu_: "relu", F.relu_: "relu", F.relu6: "relu6",
    F.elu: "elu", F.selu: "selu", torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid",
    F.hardsigmoid: "hard_sigmoid", torch.tanh: "tanh", F.tanh: "tanh", F.gelu: "gelu",
    F.silu: "silu", F.hardswish: "hardswish", F.mish: "mish", F.softplus: "softplus",
}
ACTIVATION_METHODS = {"relu": "relu", "relu_": "relu", "sigmoid": "sigmoid",
                      "sigmoid_": "sigmoid", "tanh": "tanh", "tanh_": "tanh"}
ALIAS_METHODS = {"contiguous", "clone", "detach", "float", "to", "type_as", "requires_grad_"}


def our_axis(dim: int, rank: int) -> int | None:
    """A dim of a channels-first tensor -> the axis in H x W x C order (None: the batch)."""
    dim %= rank
    if dim == 0:
        return None
    if dim == 1:
        return rank - 2
    return dim - 2


def describe(module: nn.Module, node: fx.Node) -> str:
    if node.op == "call_module":
        return f"{type(module.get_submodule(str(node.target))).__name__} ('{node.target}')"
    target = node.target
    if node.op == "call_method":
        return f"Tensor.{target}"
    mod = getattr(target, "__module__", "") or ""
    name = getattr(target, "__name__", str(target))
    return f"{mod}.{name}" if mod else name


def arg(node: fx.Node, index: int, key: str, default: Any = None) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(key, default)


def ints(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [int(v) for v in value]
    return int(value) if isinstance(value, int) else value


# ---------------------------------------------------------------- modules ---
def conv_module(m: Any, n: int, transposed: bool) -> dict[str, Any]:
    item = {"type": f"conv_transpose{n}d" if transposed else f"conv{n}d",
            "out_channels": m.out_channels, "kernel_size": list(m.kernel_size),
            "stride": list(m.stride), "dilation": list(m.dilation), "groups": m.groups,
            "bias": m.bias is not None,
            "padding": m.padding if isinstance(m.padding, str) else list(m.padding)}
    if transposed:
        item["output_padding"] = list(m.output_padding)
    return item


def pool_module(m: Any, mode: str, n: int) -> dict[str, Any] | None:
    if getattr(m, "return_indices", False):
        return None
    item = {"type": f"{mode}pool{n}d", "kernel_size": ints(m.kernel_size),
            "stride": ints(m.stride if m.stride is not None else m.kernel_size),
            "ceil_mode": bool(m.ceil_mode)}
    if mode != "lp":
        item["padding"] = ints(m.padding)
    else:
        item["norm_type"] = float(m.norm_type)
    if mode == "max":
        item["dilation"] = ints(m.dilation)
    return item


def adaptive(mode: str, size: Any, x: Any) -> dict[str, Any]:
    spatial = list(x.shape[2:])
    size = size if isinstance(size, (tuple, list)) else [size] * len(spatial)
    size = [s if s is not None else n for s, n in zip(size, spatial, strict=True)]
    if all(s == 1 for s in size):
        return {"type": "global_pool", "mode": mode, "keepdims": True}
    return {"type": "adaptive_pool", "mode": mode, "output_size": size}


def map_module(mapper: Any, node: fx.Node) -> Result:
    m = mapper.t.module.get_submodule(str(node.target))
    x: Any = mapper.value(node.args[0]) if node.args else None
    kind = type(m)
    if kind in ACTIVATION_MODULES:
        return {"type": ACTIVATION_MODULES[kind]}
    for n in (1, 2, 3):
        if kind is getattr(nn, f"Conv{n}d"):
            return conv_module(m, n, False)
        if kind is getattr(nn, f"ConvTranspose{n}d"):
            return conv_module(m, n, True)
        if kind is getattr(nn, f"MaxPool{n}d"):
            return pool_module(m, "max", n)
        if kind is getattr(nn, f"AvgPool{n}d"):
            return pool_module(m, "avg", n)
        if n < 3 and kind is getattr(nn, f"LPPool{n}d"):
            return pool_module(m, "lp", n)
        if kind is getattr(nn, f"AdaptiveAvgPool{n}d"):
            return adaptive("avg", m.output_size, x)
        if kind is getattr(nn, f"AdaptiveMaxPool{n}d") and not m.return_indices:
            return adaptive("max", m.output_size, x)
    handler = MODULES.get(kind)
    return handler(m, x) if handler else None


def _linear(m: Any, x: Any) -> Result:
    # nn.Linear acts on the last dim: the channels only for (N, C) inputs
    return {"type": "dense", "units": m.out_features, "bias": m.bias is not None} \
        if x.dim() == 2 else None


def _layer_norm(m: Any, x: Any) -> Result:
    full = tuple(m.normalized_shape) == tuple(x.shape[1:])
    if not full:
        return None
    return {"type": "layernorm", "axes": "all" if x.dim() > 2 else "channels", "eps": m.eps,
            "elementwise_affine": m.elementwise_affine, "bias": m.bias is not None}


def _flatten(m: Any, x: Any) -> Result:
    if m.start_dim == 1 and m.end_dim in (-1, x.dim() - 1):
        return {"type": "flatten"}
    return None


def _pad(m: Any, x: Any) -> Result:
    return pad_item(list(m.padding), float(m.value), x)


def pad_item(flat: list[int], value: float, x: Any) -> Result:
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


def _upsample(m: Any, x: Any) -> Result:
    return upsample_item(m.scale_factor, m.size, m.mode, x)


def upsample_item(scale: Any, size: Any, mode: str, x: Any) -> Result:
    if mode not in ("nearest", "linear", "bilinear", "trilinear"):
        return None
    spatial = list(x.shape[2:])
    if size is not None:
        size = size if isinstance(size, (tuple, list)) else [size] * len(spatial)
        if any(o % n for o, n in zip(size, spatial, strict=True)):
            return None
        scale = [o // n for o, n in zip(size, spatial, strict=True)]
    scale = scale if isinstance(scale, (tuple, list)) else [scale] * len(spatial)
    if any(float(f) != int(f) for f in scale):
        return None
    return {"type": "upsample", "scale_factor": [int(f) for f in scale],
            "mode": "nearest" if mode == "nearest" else "linear"}


MODULES: dict[type, Callable[[Any, torch.Tensor], Result]] = {
    nn.Linear: _linear,
    nn.Identity: lambda m, x: "alias",
    nn.Flatten: _flatten,
    nn.LayerNorm: _layer_norm,
    nn.Upsample: _upsample,
    nn.ZeroPad1d: _pad, nn.ZeroPad2d: _pad, nn.ZeroPad3d: _pad,
    nn.ConstantPad1d: _pad, nn.ConstantPad2d: _pad, nn.ConstantPad3d: _pad,
    nn.LeakyReLU: lambda m, x: {"type": "leaky_relu", "negative_slope": m.negative_slope},
    nn.Softmax: lambda m, x: {"type": "softmax"} if m.dim in (1, -x.dim() + 1) else None,
    nn.LogSoftmax: lambda m, x: {"type": "log_softmax"} if m.dim in (1, -x.dim() + 1) else None,
    nn.Hardtanh: lambda m, x: {"type": "relu6"} if (m.min_val, m.max_val) == (0, 6) else None,
    nn.LocalResponseNorm: lambda m, x: {"type": "lrn", "size": m.size, "alpha": m.alpha,
                                        "beta": m.beta, "k": m.k},
    nn.GroupNorm: lambda m, x: {"type": "groupnorm", "groups": m.num_groups, "eps": m.eps,
                                "affine": m.affine},
    **{getattr(nn, f"BatchNorm{n}d"): lambda m, x: {
        "type": "batchnorm", "eps": m.eps, "momentum": m.momentum if m.momentum else 0.1,
        "affine": m.affine, "track_running_stats": m.track_running_stats} for n in (1, 2, 3)},
    **{cls: lambda m, x: {"type": "dropout", "rate": m.p}
       for cls in (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)},
}


# -------------------------------------------------------------- functions ---
def binary(mapper: Any, node: fx.Node, op: str) -> Result:
    """x + y, x * y, x - y, x / y: a merge, a rescaling by a constant, or unmapped."""
    a, b = node.args[0], node.args[1] if len(node.args) > 1 else node.kwargs.get("other")
    data = [v for v in (a, b) if mapper.is_data(v)]
    if len(data) == 2:
        if op == "divide":
            return None
        name = {"add": "add", "subtract": "subtract", "multiply": "multiply"}[op]
        return {"type": name}, data
    other = b if data[0] is a else a
    if not isinstance(other, (int, float)) or isinstance(other, bool):
        return None  # a tensor that is not data: a learned or constant tensor
    c = float(other)
    if op == "add":
        return {"type": "rescaling", "offset": c}
    if op == "subtract":
        return {"type": "rescaling", "scale": 1.0 if data[0] is a else -1.0,
                "offset": -c if data[0] is a else c}
    if op == "multiply":
        return {"type": "rescaling", "scale": c}
    return {"type": "rescaling", "scale": 1.0 / c} if data[0] is a and c else None


def reshape_item(x: Any, out: Any) -> Result:
    if out.shape[0] != x.shape[0]:
        return None
    if out.dim() == 2 and x.dim() > 2:
        return {"type": "flatten"}
    target = list(out.shape[1:])
    ours = target if len(target) <= 1 else [*target[1:], target[0]]
    return {"type": "reshape", "target_shape": ours, "layout": "channels_first"}


def permute_item(order: list[int], x: Any) -> Result:
    rank = x.dim()
    order = [d % rank for d in order]
    if order[0] != 0:
        return None
    to_ours = [our_axis(d, rank) for d in range(rank)]
    dims = [0] * (rank - 1)
    for out_dim, in_dim in enumerate(order):
        if out_dim:
            dims[to_ours[out_dim]] = to_ours[in_dim] + 1  # type: ignore[index,operator]
    return {"type": "permute", "dims": dims}


def mean_item(dims: Any, keepdim: bool, x: Any) -> Result:
    dims = dims if isinstance(dims, (tuple, list)) else [dims]
    if sorted(d % x.dim() for d in dims) != list(range(2, x.dim())):
        return None
    return {"type": "global_pool", "mode": "avg", "keepdims": bool(keepdim)}


def functional_pool(node: fx.Node, mode: str, x: Any) -> Result:
    kernel = arg(node, 1, "kernel_size")
    stride = arg(node, 2, "stride") or kernel
    item = {"type": f"{mode}pool{x.dim() - 2}d", "kernel_size": ints(kernel),
            "stride": ints(stride), "padding": ints(arg(node, 3, "padding", 0)),
            "ceil_mode": bool(arg(node, 5 if mode == "max" else 4, "ceil_mode", False))}
    if mode == "max":
        item["dilation"] = ints(arg(node, 4, "dilation", 1))
        if arg(node, 6, "return_indices", False):
            return None
    return item


def functional_conv(mapper: Any, node: fx.Node, x: Any, transposed: bool) -> Result:
    w = mapper.value(arg(node, 1, "weight"))
    n = x.dim() - 2
    groups = int(arg(node, 6 if not transposed else 6, "groups", 1))
    item = {"type": f"conv_transpose{n}d" if transposed else f"conv{n}d",
            "out_channels": w.shape[1] * groups if transposed else w.shape[0],
            "kernel_size": list(w.shape[2:]), "stride": ints(arg(node, 3, "stride", 1)),
            "padding": ints(arg(node, 4, "padding", 0)), "groups": groups,
            "bias": arg(node, 2, "bias") is not None}
    if transposed:
        item["output_padding"] = ints(arg(node, 5, "output_padding", 0))
        item["dilation"] = ints(arg(node, 7, "dilation", 1))
    else:
        item["dilation"] = ints(arg(node, 5, "dilation", 1))
    return item, [node.args[0]]


def map_function(mapper: Any, node: fx.Node) -> Result:
    f = node.target
    x: Any = mapper.value(node.args[0]) if node.args else None
    out = mapper.value(node)
    if f in ACTIVATION_FUNCTIONS:
        return {"type": ACTIVATION_FUNCTIONS[f]}
    name = getattr(f, "__name__", "")
    table: dict[Any, Callable[[], Result]] = {
        torch.cat: lambda: concat_item(mapper, node),
        torch.concat: lambda: concat_item(mapper, node),
        operator.add: lambda: binary(mapper, node, "add"),
        operator.iadd: lambda: binary(mapper, node, "add"),
        torch.add: lambda: binary(mapper, node, "add"),
        operator.sub: lambda: binary(mapper, node, "subtract"),
        torch.sub: lambda: binary(mapper, node, "subtract"),
        operator.mul: lambda: binary(mapper, node, "multiply"),
        operator.imul: lambda: binary(mapper, node, "multiply"),
        torch.mul: lambda: binary(mapper, node, "multiply"),
        operator.truediv: lambda: binary(mapper, node, "divide"),
        torch.div: lambda: binary(mapper, node, "divide"),
        torch.flatten: lambda: reshape_item(x, out),
        torch.reshape: lambda: reshape_item(x, out),
        torch.transpose: lambda: transpose_item(node, x),
        torch.permute: lambda: permute_item(list(arg(node, 1, "dims")), x),
        torch.mean: lambda: mean_item(arg(node, 1, "dim"), arg(node, 2, "keepdim", False), x),
        F.adaptive_avg_pool1d: lambda: adaptive("avg", arg(node, 1, "output_size"), x),
        F.adaptive_avg_pool2d: lambda: adaptive("avg", arg(node, 1, "output_size"), x),
        F.adaptive_avg_pool3d: lambda: adaptive("avg", arg(node, 1, "output_size"), x),
        F.adaptive_max_pool2d: lambda: adaptive("max", arg(node, 1, "output_size"), x),
        F.avg_pool1d: lambda: functional_pool(node, "avg", x),
        F.avg_pool2d: lambda: functional_pool(node, "avg", x),
        F.avg_pool3d: lambda: functional_pool(node, "avg", x),
        F.max_pool1d: lambda: functional_pool(node, "max", x),
        F.max_pool2d: lambda: functional_pool(node, "max", x),
        F.max_pool3d: lambda: functional_pool(node, "max", x),
        F.conv1d: lambda: functional_conv(mapper, node, x, False),
        F.conv2d: lambda: functional_conv(mapper, node, x, False),
        F.conv3d: lambda: functional_conv(mapper, node, x, False),
        F.conv_transpose2d: lambda: functional_conv(mapper, node, x, True),
        F.linear: lambda: ({"type": "dense", "units": mapper.value(arg(node, 1, "weight")).shape[0],
                            "bias": arg(node, 2, "bias") is not None}, [node.args[0]])
        if x.dim() == 2 else None,
        F.dropout: lambda: {"type": "dropout", "rate": float(arg(node, 1, "p", 0.5))},
        F.dropout2d: lambda: {"type": "dropout2d", "rate": float(arg(node, 1, "p", 0.5))},
        F.interpolate: lambda: upsample_item(arg(node, 2, "scale_factor"), arg(node, 1, "size"),
                                             arg(node, 3, "mode", "nearest"), x),
        F.pad: lambda: pad_item(list(arg(node, 1, "pad")), float(arg(node, 3, "value", 0) or 0),
                                x) if arg(node, 2, "mode", "constant") == "constant" else None,
        F.softmax: lambda: {"type": "softmax"} if arg(node, 1, "dim") in (1, -x.dim() + 1)
        else None,
        F.leaky_relu: lambda: {"type": "leaky_relu",
                               "negative_slope": float(arg(node, 1, "negative_slope", 0.01))},
        torch.clamp: lambda: {"type": "relu6"} if (arg(node, 1, "min"), arg(node, 2, "max"))
        == (0, 6) else None,
        F.hardtanh: lambda: {"type": "relu6"} if (arg(node, 1, "min_val", -1.0),
                                                   arg(node, 2, "max_val", 1.0)) == (0, 6)
        else None,
        operator.getitem: lambda: getitem_item(mapper, node, x),
    }
    if f in table:
        return table[f]()
    if name in ("stochastic_depth", "drop_path"):  # torchvision.ops / timm: identity at test
        return {"type": "dropout", "rate": float(arg(node, 1, "p", 0.0))}
    return None


def concat_item(mapper: Any, node: fx.Node) -> Result:
    tensors = list(arg(node, 0, "tensors"))
    dim = arg(node, 1, "dim", 0)
    rank = mapper.value(tensors[0]).dim()
    axis = our_axis(dim, rank)
    if axis is None or not all(mapper.is_data(t) for t in tensors):
        return None
    return {"type": "concat", "axis": axis}, tensors


def transpose_item(node: fx.Node, x: Any) -> Result:
    a, b = arg(node, 1, "dim0") % x.dim(), arg(node, 2, "dim1") % x.dim()
    order = list(range(x.dim()))
    order[a], order[b] = order[b], order[a]
    return permute_item(order, x)


def getitem_item(mapper: Any, node: fx.Node, x: Any) -> Result:
    source, index = node.args[0], node.args[1]
    if isinstance(source, fx.Node) and source in mapper.splits:
        axis, ranges = mapper.splits[source]
        start, stop = ranges[index]
        return {"type": "slice", "axis": axis, "start": start, "stop": stop}, \
            [source.args[0]]
    if not isinstance(x, torch.Tensor):
        return None
    index = index if isinstance(index, tuple) else (index,)
    if len(index) > x.dim() or any(not isinstance(i, slice) for i in index):
        return None
    cut = [(d, s) for d, s in enumerate(index) if s != slice(None)]
    if len(cut) != 1 or cut[0][0] == 0:
        return None
    d, s = cut[0]
    start, stop, step = s.indices(x.shape[d])
    return {"type": "slice", "axis": our_axis(d, x.dim()), "start": start, "stop": stop,
            "step": step}


def permute_dims(node: fx.Node) -> list[int]:
    """x.permute(0, 2, 3, 1) or x.permute((0, 2, 3, 1))."""
    dims: Any = node.args[1:] if len(node.args) > 2 else node.args[1]
    return [int(d) for d in dims]


def map_method(mapper: Any, node: fx.Node) -> Result:
    name = str(node.target)
    x = mapper.value(node.args[0])
    out = mapper.value(node)
    if name in ALIAS_METHODS and tuple(out.shape) == tuple(x.shape):
        return node.args[0]
    if name in ACTIVATION_METHODS:
        return {"type": ACTIVATION_METHODS[name]}
    methods: dict[str, Callable[[], Result]] = {
        "view": lambda: reshape_item(x, out), "reshape": lambda: reshape_item(x, out),
        "flatten": lambda: reshape_item(x, out),
        "squeeze": lambda: reshape_item(x, out), "unsqueeze": lambda: reshape_item(x, out),
        "mean": lambda: mean_item(arg(node, 1, "dim"), arg(node, 2, "keepdim", False), x),
        "transpose": lambda: transpose_item(node, x),
        "permute": lambda: permute_item(permute_dims(node), x),
        "softmax": lambda: {"type": "softmax"} if arg(node, 1, "dim") in (1, -x.dim() + 1)
        else None,
        "add": lambda: binary(mapper, node, "add"), "add_": lambda: binary(mapper, node, "add"),
        "mul": lambda: binary(mapper, node, "multiply"),
        "mul_": lambda: binary(mapper, node, "multiply"),
        "sub": lambda: binary(mapper, node, "subtract"),
        "div": lambda: binary(mapper, node, "divide"),
        "clamp": lambda: {"type": "relu6"} if (arg(node, 1, "min"), arg(node, 2, "max"))
        == (0, 6) else None,
    }
    return methods[name]() if name in methods else None


def map_node(mapper: Any, node: fx.Node) -> Result:
    if node.op == "call_module":
        found = map_module(mapper, node)
        return node.args[0] if found == "alias" else found
    if node.op == "call_function":
        return map_function(mapper, node)
    if node.op == "call_method":
        return map_method(mapper, node)
    return None
