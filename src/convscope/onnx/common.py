"""Reading ONNX attributes and initializers (what needs the onnx package), the importer's
bounds and its last-resort error. The kinds' shared reading helpers are
layers/onnx_read.py (pure Python)."""

from __future__ import annotations

import math
from typing import Any

from ..errors import SpecError
from ..layers.bridge import Malformed
from ..limits import MAX_DIM, MAX_ELEMENTS, echo, shown

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


#: size of an .onnx file (protobuf cannot hold more than 2 GiB in one message)
MAX_ONNX_BYTES = 2**31 - 1


class UnexpectedModel(SpecError):
    """The last-resort guard of the ONNX importer: an exception no check foresaw, turned
    into a message naming the node. The fuzz tests keep it rare."""


def node_label(node: Any) -> str:
    return f"'{echo(node.name or node.op_type)}' ({echo(node.op_type)})"


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
