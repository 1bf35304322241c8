"""Reading ONNX nodes, shared by the kinds' ``from_onnx`` (ONNX's operator specification,
opsets 11-21: https://onnx.ai/onnx/operators/).

Pure Python: nothing here imports onnx. A reader gets the node (its ``op_type``,
``input``, ``output``) and ``reader`` (onnx/importer.py), which reads what needs the
onnx package: ``reader.attrs(node)`` (the attributes, type-checked), ``reader.shape``,
``reader.const``, ``reader.values`` (each data value's layer, layout and ONNX shape).
A reader writes with ``reader.emit`` (a new layer), ``reader.alias`` (no layer: the
output is an input, maybe in the other layout) or raises ``Unsupported`` (an opaque
layer with a note) / ``Malformed`` (the node breaks the specification).
"""

from __future__ import annotations

from typing import Any

from ..limits import shown
from .bridge import Malformed, Unsupported


def need(a: dict[str, Any], name: str) -> Any:
    """A required attribute."""
    if name not in a:
        raise Malformed(f"attribute '{name}' is missing")
    return a[name]


def text(value: Any) -> Any:
    """A string attribute (bytes in the file) as text."""
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise Malformed(f"attribute text {shown(value)} is not UTF-8") from None
    return value


def data_inputs(reader: Any, node: Any) -> list[str]:
    """The node's inputs that are data (computed from the graph's inputs)."""
    return [i for i in node.input if i and reader.is_data(i)]


def first_layout(reader: Any, name: str, op: str) -> Any:
    """The value ``name``, which must be channels first (or a vector)."""
    v = reader.values[name]
    if v.rank > 2 and v.layout != "first":
        raise Unsupported(f"{op} on a channels-last tensor")
    return v


def channel_axis(v: Any, axis: int) -> bool:
    """Whether ONNX ``axis`` of the value ``v`` holds its channels."""
    axis %= v.rank
    return axis == (1 if v.layout == "first" or v.rank == 2 else v.rank - 1)


def value_axis(x: Any, axis: int) -> int:
    """An ONNX axis (batch = 0) of the value ``x`` -> convscope's (channels last, -1)."""
    if x.rank == 2 or (x.layout == "first" and axis == 1):
        return -1
    return axis - 2 if x.layout == "first" else axis - 1


def permutation(reader: Any, node: Any, rank: int) -> list[int]:
    """Transpose's perm (default: the axes reversed), an order of the axes 0 .. rank - 1
    (a negative axis breaks the specification: onnx's shape inference misreads it)."""
    perm = list(reader.attrs(node).get("perm", list(reversed(range(rank)))))
    if sorted(perm) != list(range(rank)):
        raise Malformed(f"attribute 'perm' must order the {rank} axes; received {perm}")
    return perm


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


def learned(reader: Any, name: str) -> bool:
    """An input that holds weights: a stored tensor (or one computed from data), not a
    constant computed in the graph (torch.onnx's ones / zeros for an absent scale or bias)."""
    return bool(name) and (name in reader.initializers or name not in reader.constants)


def optional_ints(reader: Any, node: Any, position: int) -> list[int] | None:
    """The integers of the constant input at ``position``, None when it is absent."""
    if len(node.input) <= position or not node.input[position]:
        return None
    return [int(v) for v in reader.const(node.input[position]).reshape(-1)]
