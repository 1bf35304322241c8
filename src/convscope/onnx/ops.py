"""ONNX operators -> convscope layers, one small function per operator (ONNX's operator
specification, opsets 11-21: https://onnx.ai/onnx/operators/).

Each handler reads the node's attributes and constant inputs and calls
``reader.emit`` (a new layer), ``reader.alias`` (no layer: the output is an input, maybe
in the other layout) or raises :class:`Unsupported` (an opaque layer with a note).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .common import Malformed, Unsupported, attrs, data_inputs, first_layout, need, text
from .structure_ops import (
    concat,
    flatten,
    gather,
    identity,
    pad,
    recurrent,
    reshape,
    resize,
    slice_op,
    split,
    transpose,
)

ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Elu": "elu",
               "Selu": "selu", "HardSigmoid": "hard_sigmoid", "HardSwish": "hardswish",
               "Gelu": "gelu", "Softplus": "softplus", "Mish": "mish"}
MERGES = {"Add": "add", "Sub": "subtract", "Mul": "multiply", "Max": "maximum",
          "Min": "minimum", "Mean": "average", "Sum": "add"}


def window(a: dict[str, Any], spatial: int) -> dict[str, Any]:
    """strides, dilations and pads (or auto_pad) of Conv / pooling nodes."""
    pad_mode = text(a.get("auto_pad", "NOTSET"))
    out: dict[str, Any] = {"stride": list(a.get("strides", [1] * spatial)),
                           "dilation": list(a.get("dilations", [1] * spatial))}
    for key, n in (("strides", spatial), ("dilations", spatial), ("pads", 2 * spatial)):
        if key in a and len(a[key]) != n:
            raise Malformed(f"attribute '{key}' needs {n} values for {spatial} spatial axes; "
                            f"received {len(a[key])}")
    if pad_mode == "SAME_UPPER":  # the extra pixel at the end: TensorFlow's 'same'
        out["padding"] = "same"
    elif pad_mode == "VALID":
        out["padding"] = "valid"
    elif pad_mode == "SAME_LOWER":
        raise Unsupported("auto_pad SAME_LOWER")
    else:
        pads = list(a.get("pads", [0] * (2 * spatial)))
        out["padding"] = [[pads[i], pads[i + spatial]] for i in range(spatial)]
    return out


# ---- convolutions, dense ---------------------------------------------------------
def has_bias(reader: Any, node: Any) -> bool:
    """A third input that is a stored tensor; a computed all-zero constant (what some
    exporters write for a convolution without bias) is not a parameter."""
    if len(node.input) < 3 or not node.input[2]:
        return False
    name = node.input[2]
    if name in reader.initializers:
        return True
    value = reader.constants.get(name)
    return value is None or bool(value.any())


def conv(reader: Any, node: Any, index: int) -> None:
    first_layout(reader, node.input[0], "Conv")
    if reader.is_data(node.input[1]):
        raise Unsupported("a convolution whose weights are computed")
    w = reader.shape(node.input[1])  # (M, C/group, *k)
    a = attrs(node)
    n = len(w) - 2
    item = {"type": f"conv{n}d", "out_channels": int(w[0]), "kernel_size": list(w[2:]),
            "groups": int(a.get("group", 1)),
            "bias": has_bias(reader, node), **window(a, n)}
    reader.emit(node, index, item, [node.input[0]], params=list(node.input[1:]))


def conv_transpose(reader: Any, node: Any, index: int) -> None:
    first_layout(reader, node.input[0], "ConvTranspose")
    w = reader.shape(node.input[1])  # (C, M/group, *k)
    a = attrs(node)
    n = len(w) - 2
    if "output_shape" in a:
        raise Unsupported("ConvTranspose with output_shape")
    groups = int(a.get("group", 1))
    item: dict[str, Any] = {
        "type": f"conv_transpose{n}d", "out_channels": int(w[1]) * groups,
        "kernel_size": list(w[2:]), "groups": groups,
        "bias": has_bias(reader, node), **window(a, n)}
    if item["padding"] == "same":
        raise Unsupported("ConvTranspose with auto_pad SAME_UPPER")
    if any(a.get("output_padding", [])):
        item["output_padding"] = list(a["output_padding"])
    reader.emit(node, index, item, [node.input[0]], params=list(node.input[1:]))


def gemm(reader: Any, node: Any, index: int) -> None:
    a = attrs(node)
    if a.get("transA", 0) or reader.is_data(node.input[1]):
        raise Unsupported("Gemm with a transposed or computed A / B")
    b = reader.shape(node.input[1])
    units = int(b[0] if a.get("transB", 0) else b[1])
    bias = has_bias(reader, node)
    reader.emit(node, index, {"type": "dense", "units": units, "bias": bias}, [node.input[0]],
                params=list(node.input[1:]))


def matmul(reader: Any, node: Any, index: int) -> None:
    if reader.is_data(node.input[1]) or len(reader.shape(node.input[1])) != 2:
        raise Unsupported("MatMul of two computed tensors")
    x = reader.values[node.input[0]]
    if x.rank > 2 and x.layout != "last":
        raise Unsupported("MatMul over a channels-first tensor's last axis")
    units = int(reader.shape(node.input[1])[1])
    name = reader.emit(node, index, {"type": "dense", "units": units, "bias": False},
                       [node.input[0]], layout=x.layout, params=[node.input[1]])
    reader.pending_bias[node.output[0]] = name


# ---- element-wise ---------------------------------------------------------------
def activation(reader: Any, node: Any, index: int) -> None:
    x = reader.values[node.input[0]]
    reader.emit(node, index, {"type": "activation", "function": ACTIVATIONS[node.op_type]},
                [node.input[0]], layout=x.layout)


def leaky_relu(reader: Any, node: Any, index: int) -> None:
    x = reader.values[node.input[0]]
    reader.emit(node, index, {"type": "activation", "function": "leaky_relu",
                              "negative_slope": float(attrs(node).get("alpha", 0.01))},
                [node.input[0]], layout=x.layout)


def clip(reader: Any, node: Any, index: int) -> None:
    a = attrs(node)
    low = float(reader.const(node.input[1])) if len(node.input) > 1 and node.input[1] \
        else a.get("min")
    high = float(reader.const(node.input[2])) if len(node.input) > 2 and node.input[2] \
        else a.get("max")
    x = reader.values[node.input[0]]
    if low == 0 and high == 6:
        function = "relu6"
    elif low == 0 and high is None:
        function = "relu"
    else:
        raise Unsupported(f"Clip to [{low}, {high}]")
    reader.emit(node, index, {"type": "activation", "function": function}, [node.input[0]],
                layout=x.layout)


def channel_axis(v: Any, axis: int) -> bool:
    axis %= v.rank
    return axis == (1 if v.layout == "first" or v.rank == 2 else v.rank - 1)


def softmax(reader: Any, node: Any, index: int) -> None:
    x = reader.values[node.input[0]]
    if not channel_axis(x, int(attrs(node).get("axis", -1))):
        raise Unsupported(f"{node.op_type} over an axis other than the channels")
    function = "softmax" if node.op_type == "Softmax" else "log_softmax"
    reader.emit(node, index, {"type": "activation", "function": function}, [node.input[0]],
                layout=x.layout)


def binary(reader: Any, node: Any, index: int) -> None:
    data = data_inputs(reader, node)
    if len(data) == len([i for i in node.input if i]):
        layouts = {reader.values[d].layout for d in data if reader.values[d].rank > 2}
        if len(layouts) > 1:
            raise Unsupported(f"{node.op_type} of channels-first and channels-last tensors")
        if node.op_type not in MERGES:
            raise Unsupported(f"{node.op_type} of two computed tensors")
        reader.emit(node, index, {"type": MERGES[node.op_type]}, data,
                    layout=layouts.pop() if layouts else "first")
        return
    const = next(i for i in node.input if i and not reader.is_data(i))
    x = reader.values[data[0]]
    if node.op_type == "Add" and data[0] in reader.pending_bias and \
            const in reader.initializers:  # MatMul + Add: a dense layer's bias
        item = next(it for it in reader.items if it["name"] == reader.pending_bias[data[0]])
        item["bias"] = True
        reader.used_initializers.add(const)
        reader.owner.setdefault(const, item["name"])
        reader.alias(node, data[0])
        return
    value = reader.constants.get(const)
    if value is None or value.size != 1:
        raise Unsupported(f"{node.op_type} with a constant tensor")
    c = float(value.reshape(-1)[0])
    scale, offset = {"Mul": (c, 0.0), "Div": (1.0 / c if c else 0.0, 0.0),
                     "Add": (1.0, c), "Sub": (1.0, -c)}.get(node.op_type, (None, None))
    if scale is None or (node.op_type in ("Sub", "Div") and node.input[0] == const):
        raise Unsupported(f"{node.op_type} with a constant")
    reader.emit(node, index, {"type": "rescaling", "scale": scale, "offset": offset},
                data, layout=x.layout)


# ---- pooling, normalisation ------------------------------------------------------
def pool(reader: Any, node: Any, index: int) -> None:
    first_layout(reader, node.input[0], node.op_type)
    a = attrs(node)
    kernel = list(need(a, "kernel_shape"))
    mode = {"MaxPool": "max", "AveragePool": "avg", "LpPool": "lp"}[node.op_type]
    item: dict[str, Any] = {"type": f"{mode}pool{len(kernel)}d", "kernel_size": kernel,
                            "ceil_mode": bool(a.get("ceil_mode", 0)),
                            **window(a, len(kernel))}
    if mode != "max":
        if any(d != 1 for d in item.pop("dilation")):
            raise Unsupported(f"{node.op_type} with dilations")
    if mode == "lp":
        item["norm_type"] = float(a.get("p", 2))
    reader.emit(node, index, item, [node.input[0]])


def global_pool(reader: Any, node: Any, index: int) -> None:
    first_layout(reader, node.input[0], node.op_type)
    mode = "avg" if node.op_type == "GlobalAveragePool" else "max"
    reader.emit(node, index, {"type": "global_pool", "mode": mode, "keepdims": True},
                [node.input[0]])


def reduce(reader: Any, node: Any, index: int) -> None:
    x = first_layout(reader, node.input[0], node.op_type)
    a = attrs(node)
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = [int(v) for v in reader.const(node.input[1]).reshape(-1)]
    spatial = set(range(2, x.rank))
    if axes is None or {int(v) % x.rank for v in axes} != spatial or x.layout != "first":
        raise Unsupported(f"{node.op_type} over axes {axes}")
    mode = "avg" if node.op_type == "ReduceMean" else "max"
    reader.emit(node, index, {"type": "global_pool", "mode": mode,
                              "keepdims": bool(a.get("keepdims", 1))}, [node.input[0]])


def batch_norm(reader: Any, node: Any, index: int) -> None:
    first_layout(reader, node.input[0], "BatchNormalization")
    a = attrs(node)
    item = {"type": "batchnorm", "eps": float(a.get("epsilon", 1e-5)),
            "momentum": round(1.0 - float(a.get("momentum", 0.9)), 9)}  # PyTorch's sense
    reader.emit(node, index, item, [node.input[0]], params=list(node.input[1:5]))


def instance_norm(reader: Any, node: Any, index: int) -> None:
    first_layout(reader, node.input[0], "InstanceNormalization")
    channels = int(reader.shape(node.input[1])[0])
    reader.emit(node, index, {"type": "groupnorm", "groups": channels,
                              "eps": float(attrs(node).get("epsilon", 1e-5))},
                [node.input[0]], params=list(node.input[1:3]))


def layer_norm(reader: Any, node: Any, index: int) -> None:
    x = reader.values[node.input[0]]
    axis = int(attrs(node).get("axis", -1)) % x.rank
    if x.layout == "last" and axis == x.rank - 1 or x.rank == 2 and axis == 1:
        axes = "channels"
    elif axis == 1:
        axes = "all"
    else:
        raise Unsupported(f"LayerNormalization from axis {axis}")
    item = {"type": "layernorm", "axes": axes, "eps": float(attrs(node).get("epsilon", 1e-5)),
            "bias": len(node.input) > 2 and bool(node.input[2])}
    reader.emit(node, index, item, [node.input[0]], layout=x.layout,
                params=list(node.input[1:3]))


def lrn(reader: Any, node: Any, index: int) -> None:
    first_layout(reader, node.input[0], "LRN")
    a = attrs(node)
    reader.emit(node, index, {"type": "lrn", "size": int(need(a, "size")),
                              "alpha": float(a.get("alpha", 1e-4)),
                              "beta": float(a.get("beta", 0.75)),
                              "k": float(a.get("bias", 1.0))}, [node.input[0]])


def dropout(reader: Any, node: Any, index: int) -> None:
    x = reader.values[node.input[0]]
    ratio = attrs(node).get("ratio")
    if ratio is None and len(node.input) > 1 and node.input[1] in reader.constants:
        ratio = float(reader.constants[node.input[1]])
    reader.emit(node, index, {"type": "dropout", "rate": float(0.5 if ratio is None else ratio)},
                [node.input[0]], layout=x.layout)


Handler = Callable[[Any, Any, int], None]
HANDLERS: dict[str, Handler] = {
    "Conv": conv, "ConvTranspose": conv_transpose, "Gemm": gemm, "MatMul": matmul,
    **dict.fromkeys(ACTIVATIONS, activation), "LeakyRelu": leaky_relu, "Clip": clip,
    "Softmax": softmax, "LogSoftmax": softmax,
    **dict.fromkeys(("Add", "Sub", "Mul", "Div", "Max", "Min", "Mean", "Sum"), binary),
    "MaxPool": pool, "AveragePool": pool, "LpPool": pool,
    "GlobalAveragePool": global_pool, "GlobalMaxPool": global_pool,
    "ReduceMean": reduce, "ReduceMax": reduce,
    "BatchNormalization": batch_norm, "InstanceNormalization": instance_norm,
    "LayerNormalization": layer_norm, "LRN": lrn, "Dropout": dropout,
    "Concat": concat, "Flatten": flatten, "Reshape": reshape, "Squeeze": reshape,
    "Unsqueeze": reshape, "Transpose": transpose, "Pad": pad, "Resize": resize,
    "Upsample": resize, "Slice": slice_op, "Split": split, "Gather": gather,
    "Identity": identity, "Cast": identity,
    "RNN": recurrent, "LSTM": recurrent, "GRU": recurrent,
}


# inputs each operator needs (ONNX's operator specification); the others need one
ARITY = {"Conv": 2, "ConvTranspose": 2, "Gemm": 2, "MatMul": 2, "BatchNormalization": 5,
         "InstanceNormalization": 3, "LayerNormalization": 2, "Reshape": 2, "Slice": 3,
         "Gather": 2, "RNN": 3, "LSTM": 3, "GRU": 3, "Sub": 2, "Div": 2}
# operators whose first input may be a constant (the others read data there)
ANY_FIRST = {"Gather", "Concat", *MERGES}


def handle(reader: Any, node: Any, index: int) -> None:
    """Map one node that reads data; unknown operators become opaque layers."""
    handler = HANDLERS.get(node.op_type)
    if len(node.input) < ARITY.get(node.op_type, 1) or not node.input[0] and handler:
        raise Malformed(f"{node.op_type} takes at least {ARITY.get(node.op_type, 1)} inputs; "
                        f"received {len(node.input)}")
    try:
        if handler is None:
            raise Unsupported(f"the operator {node.op_type}")
        if node.op_type not in ANY_FIRST and not reader.is_data(node.input[0]):
            raise Unsupported(f"{node.op_type} whose first input is a constant")
        handler(reader, node, index)
    except Unsupported as why:
        reader.opaque(node, index, str(why))
