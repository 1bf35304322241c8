"""Helpers shared by the ONNX operator handlers."""

from __future__ import annotations

import math
from typing import Any

from ..errors import SpecError
from ..limits import MAX_DIM, MAX_ELEMENTS, echo, shown


class Unsupported(Exception):
    """An operator or setting convscope has no rule for."""


class Malformed(Exception):
    """A node that breaks the ONNX specification (an attribute of the wrong type, too few
    inputs); the importer names the node."""


INT_ATTRS = {"axis", "group", "size", "keepdims", "ceil_mode", "transA", "transB",
             "hidden_size", "layout", "linear_before_reset", "p", "start", "end", "to"}
INTS_ATTRS = {"strides", "pads", "dilations", "kernel_shape", "output_padding",
              "output_shape", "perm", "axes"}
FLOAT_ATTRS = {"epsilon", "momentum", "alpha", "beta", "bias", "ratio", "min", "max"}
TEXT_ATTRS = {"auto_pad", "mode", "direction"}


def checked(name: str, value: Any) -> Any:
    """An attribute's value if it has the type the operators give it, else Malformed."""
    def small(v: Any) -> bool:
        return isinstance(v, int) and -MAX_DIM <= v <= MAX_DIM

    if name in INT_ATTRS:
        ok = small(value)
    elif name in INTS_ATTRS:
        ok = isinstance(value, list) and len(value) <= 64 and all(small(v) for v in value)
    elif name in FLOAT_ATTRS:
        ok = isinstance(value, (int, float)) and math.isfinite(value)
        value = float(value) if ok else value
    elif name in TEXT_ATTRS:
        ok = isinstance(value, bytes)
    elif name == "activations":
        ok = isinstance(value, list) and all(isinstance(v, bytes) for v in value)
    else:
        return value
    if not ok:
        raise Malformed(f"attribute '{name}' has the wrong type or size; received "
                        f"{shown(value)}")
    return value


def attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    out = {}
    for a in node.attribute:
        try:
            value = helper.get_attribute_value(a)
        except Exception as err:  # noqa: BLE001 - an attribute without a valid type
            raise Malformed(f"attribute '{echo(a.name)}' is unreadable ({err})") from None
        out[a.name] = checked(a.name, value)
    return out


def need(a: dict[str, Any], name: str) -> Any:
    """A required attribute."""
    if name not in a:
        raise Malformed(f"attribute '{name}' is missing")
    return a[name]


def text(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise Malformed(f"attribute text {shown(value)} is not UTF-8") from None
    return value


def data_inputs(reader: Any, node: Any) -> list[str]:
    return [i for i in node.input if i and reader.is_data(i)]


def first_layout(reader: Any, name: str, op: str) -> Any:
    v = reader.values[name]
    if v.rank > 2 and v.layout != "first":
        raise Unsupported(f"{op} on a channels-last tensor")
    return v


# ---- bounds on what an ONNX file can make convscope do ------------------------------
#: size of an .onnx file (protobuf cannot hold more than 2 GiB in one message)
MAX_ONNX_BYTES = 2**31 - 1
#: values of one tensor computed while folding constants (shapes, bounds: a few values)
MAX_FOLD = 2**20
SAME_SIZE = {"Identity", "Cast", "CastLike", "Squeeze", "Unsqueeze", "Reshape", "Flatten",
             "Transpose", "Neg", "Abs", "Floor", "Ceil", "Sqrt", "Sign", "Not", "Relu", "Slice",
             "Split", "Clip", "Exp", "Log", "Reciprocal", "Round", "ReduceProd", "ReduceSum",
             "ReduceMin", "ReduceMax", "ReduceMean", "Shape", "Size", "Softmax"}
BROADCAST = {"Add", "Sub", "Mul", "Div", "Mod", "Pow", "Equal", "Less", "Greater",
             "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where", "Min", "Max", "Sum",
             "Mean"}


class UnexpectedModel(SpecError):
    """The last-resort guard of the ONNX importer: an exception no check foresaw, turned
    into a message naming the node. The fuzz tests keep it rare."""


def node_label(node: Any) -> str:
    return f"'{echo(node.name or node.op_type)}' ({echo(node.op_type)})"


def bounded_prod(values: Any) -> int | None:
    """The product of integers, None when one is negative or the product passes MAX_FOLD."""
    total = 1
    for v in values:
        v = int(v)
        if v < 0:
            return None
        total *= v
        if total > MAX_FOLD:
            return None
    return total


def fold_size(node: Any, feeds: dict[str, Any]) -> int | None:
    """The values a constant-only node would compute, when known and at most MAX_FOLD;
    None otherwise (the node is then not folded: no ConstantOfShape of 10**12 zeros)."""
    import numpy as np

    arrays = [np.asarray(feeds[i]) if i else np.zeros(0) for i in node.input]
    sizes = [int(a.size) for a in arrays]
    if sum(sizes) > MAX_FOLD:
        return None
    op, first = node.op_type, arrays[0] if arrays else None
    try:
        if op in SAME_SIZE:
            return max(sizes, default=1)
        if op in BROADCAST:
            return bounded_prod(np.broadcast_shapes(*[a.shape for a in arrays]))
        if op == "Concat":
            return sum(sizes)
        if op == "Gather":
            return bounded_prod([sizes[0], sizes[1]])
        if op == "ConstantOfShape":
            return bounded_prod(first.reshape(-1)) if first is not None else 1
        if op == "Expand":
            target = [int(v) for v in arrays[1].reshape(-1)]
            if any(v < 0 for v in target):
                return None
            return bounded_prod(np.broadcast_shapes(first.shape, tuple(target)))
        if op == "Tile":
            return bounded_prod([sizes[0], *arrays[1].reshape(-1)])
        if op == "Range":
            start, limit, delta = (float(a.reshape(-1)[0]) for a in arrays[:3])
            count = math.ceil((limit - start) / delta) if delta else -1
            return count if 0 <= count <= MAX_FOLD else None
    except (ValueError, TypeError, IndexError, OverflowError, AttributeError):
        return None
    return None


def weights(tensor: Any) -> Any:
    """An initializer as a numpy array; one stored outside the file (external data, never
    read) as an array of zeros of its shape that takes no memory."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    dims = list(tensor.dims)
    where = f"ONNX initializer '{echo(tensor.name)}'"
    if any(not 0 <= d <= MAX_DIM for d in dims) or math.prod(dims) > MAX_ELEMENTS:
        raise SpecError(f"{where} has impossible dims {echo(dims)} (each 0 to {MAX_DIM})")
    if tensor.data_location == TensorProto.EXTERNAL:
        try:
            dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
        except (KeyError, ValueError, TypeError):
            dtype = np.float32
        return np.broadcast_to(np.zeros((), dtype=dtype), dims)
    try:
        return numpy_helper.to_array(tensor)
    except Exception as err:  # noqa: BLE001 - wrong data size, unknown type, ...
        raise SpecError(f"{where} is corrupt ({type(err).__name__}: "
                        f"{echo(str(err).splitlines()[0] if str(err) else '')})") from None
