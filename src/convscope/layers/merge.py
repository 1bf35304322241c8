"""Element-wise merges of several inputs (``add``, ``multiply``, ...); concatenation, the
other merge, is in concat.py.

* Concat (Keras Concatenate, torch.cat): every axis but ``axis`` must agree; the
  output adds up the sizes along ``axis`` (the channels by default: seed 001's
  Inception module, 28x28x(64+128+32+32)). other_ops 0.
* Merge (Keras Add / Multiply / Subtract / Average / Maximum / Minimum): NumPy
  broadcasting on the H x W x C layout (so a 1x1xC squeeze-excite gate
  multiplies an H x W x C map). other_ops: (inputs - 1) per output value.
params 0. Receptive field: the union of the inputs' fields (the RF pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from .aten_args import arg, is_tensor
from .base import NOTHING_SAVED, Layer, Saved, Shape, axis_names, prod, shape_str
from .bridge import Item, Unsupported
from .onnx_read import data_inputs


def axis_label(axis: int, rank: int) -> str:
    """'C (channels)' for the last axis, the spatial name otherwise."""
    if axis == rank - 1:
        return "C (channels)"
    return axis_names(rank - 1)[axis]


def inputs_text(inputs: tuple[Shape, ...]) -> str:
    return ", ".join(f"{shape_str(s)} (input {i + 1})" for i, s in enumerate(inputs))


OPS = ("add", "subtract", "multiply", "average", "maximum", "minimum")
ATEN_MERGES = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "divide",
               "maximum": "maximum", "minimum": "minimum"}
ONNX_MERGES = {"Add": "add", "Sub": "subtract", "Mul": "multiply", "Max": "maximum",
               "Min": "minimum", "Mean": "average", "Sum": "add"}


def per_channel(factor: tuple[int, ...], x: tuple[int, ...], layout: str = "first") -> bool:
    """``factor`` broadcasts over ``x`` as one value per channel: channels first (N, C, *S),
    (C,) for (N, C), (C, 1, 1) or (1, C, 1, 1) for (N, C, H, W); channels last (N, *S, C),
    (C,) or (1, 1, 1, C)."""
    if len(x) < 2 or len(factor) > len(x):
        return False
    padded = (1,) * (len(x) - len(factor)) + factor
    axis = len(x) - 1 if layout == "last" else 1
    return padded[axis] == x[axis] and all(n == 1 for i, n in enumerate(padded) if i != axis)


def broadcast(inputs: tuple[Shape, ...], op: str) -> Shape:
    """NumPy broadcasting, aligned on the right (channels): sizes equal or 1."""
    rank = max(len(s) for s in inputs)
    padded = [(1,) * (rank - len(s)) + s for s in inputs]
    out = []
    for i in range(rank):
        sizes = {s[i] for s in padded} - {1}
        if len(sizes) > 1:
            hint = (" Did you mean to project the shortcut with a 1x1 conv?"
                    if op == "add" and i == rank - 1 else "")
            raise LayerRuleError(f"inputs disagree on axis {axis_label(i, rank)}: "
                                 f"{inputs_text(inputs)}. Expected equal shapes (or size 1 "
                                 f"to broadcast) for {op}.{hint}")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


@dataclass(frozen=True)
class Merge(Layer):
    """Element-wise merge of several inputs."""

    kind: ClassVar[str] = "merge"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {op: {"op": op} for op in OPS}
    # add / sub / mul / div (in place too), maximum / minimum; also rescalings by a number
    # and dropout masks
    aten_ops: ClassVar[tuple[str, ...]] = (*ATEN_MERGES, "add_", "sub_", "mul_", "div_")
    reads_channels_last: ClassVar[bool] = True  # element-wise; a layer scale checks its axis
    keras_classes: ClassVar[tuple[str, ...]] = tuple(op.capitalize() for op in OPS)
    # with a constant: a dense layer's bias (MatMul + Add) or a rescaling by a number
    onnx_ops: ClassVar[tuple[str, ...]] = (*ONNX_MERGES, "Div")
    onnx_arity: ClassVar[dict[str, int]] = {"Sub": 2, "Div": 2}
    onnx_any_first: ClassVar[tuple[str, ...]] = tuple(ONNX_MERGES)
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = None
    summary: ClassVar[str] = "element-wise add / subtract / multiply / average / max / min"

    op: str

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Merge:
        op = args.choice("op", OPS)
        args.finish()
        if op == "subtract" and len(inputs) != 2:
            raise LayerRuleError(f"subtract takes exactly 2 inputs; received {len(inputs)}")
        return cls(op=op)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return broadcast(inputs, self.op)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return (len(inputs) - 1) * prod(output)

    def linear(self) -> Layer:
        """maximum / minimum / subtract become add (no cancellation, same positions)."""
        return Merge(op="add") if self.op in ("maximum", "minimum", "subtract") else self

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """multiply / maximum / minimum keep both inputs; add, subtract, average nothing."""
        if self.op in ("multiply", "maximum", "minimum"):
            return Saved(inputs=tuple(range(len(inputs))))
        return NOTHING_SAVED

    def type_label(self) -> str:
        return self.op.capitalize()

    def tag(self) -> str:
        return self.op

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        return [f"{self.op} of {len(inputs)} inputs value by value: {inputs_text(inputs)} -> "
                f"{shape_str(output)}", "params = 0"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .torch_modules import Merge as TorchMerge

        return TorchMerge(self.op)

    def torch_expression(self, inputs: tuple[Shape, ...], names: tuple[str, ...]) -> str:
        """'a + b', 'a * b', '(a + b) / 2', 'torch.maximum(a, b)'. Inputs of equal rank
        broadcast alike channels first and channels last; an input with fewer axes gets
        size-1 axes after its channels (x[:, :, None, None]), as TorchMerge aligns them."""
        rank = max(len(s) for s in inputs)
        xs = [name if len(shape) == rank else
              f"{name}[:, :, {', '.join(['None'] * (rank - len(shape)))}]"
              for name, shape in zip(names, inputs, strict=True)]
        if self.op in ("maximum", "minimum"):
            out = xs[0]
            for x in xs[1:]:
                out = f"torch.{self.op}({out}, {x})"
            return out
        symbol = {"add": " + ", "average": " + ", "subtract": " - ", "multiply": " * "}
        out = symbol[self.op].join(xs)
        return f"({out}) / {len(xs)}" if self.op == "average" else out

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        return {"type": class_name.lower()}  # Add -> add, Maximum -> maximum, ...

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        return [getattr(layers, self.op.capitalize())(name=name)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """A merge of two data tensors, a rescaling by a number, or a dropout mask (x times
        a bernoulli_ mask over the keep probability: spatial dropout in training)."""
        name = ATEN_MERGES[op.name.rstrip("_")]
        a, b = op.args[0], op.args[1] if len(op.args) > 1 else op.kwargs.get("other")
        if arg(op, 2, "alpha", 1) != 1 or op.kwargs.get("rounding_mode") is not None:
            return None
        if op.is_data(a) and op.is_data(b):
            return ({"type": name}, [a, b]) if name != "divide" else None
        other = b if op.is_data(a) else a
        if is_tensor(other):
            const = op.consts.get(id(other))
            if name == "multiply" and const is not None and const.noise is not None:
                return {"type": "dropout", "rate": 1.0 - const.noise}
            if name == "multiply" and const is not None and len(const.reads) == 1 and \
                    per_channel(tuple(other.shape), tuple(x.shape), op.layout):
                return {"type": "layer_scale"}  # x * gamma, one learned factor per channel
            if name == "add" and const is not None and len(const.reads) == 1 and x.dim() > 2 and \
                    tuple(other.shape)[-x.dim() + 1:] == tuple(x.shape[1:]) and \
                    all(n == 1 for n in tuple(other.shape)[:-x.dim() + 1]):
                return {"type": "position_embedding"}  # x + one learned vector per position
            return None  # another learned or constant tensor: opaque, with its parameters
        if not isinstance(other, (int, float)) or isinstance(other, bool):
            return None
        c, first = float(other), op.is_data(a)
        items = {"add": {"offset": c}, "multiply": {"scale": c},
                 "subtract": {"scale": 1.0 if first else -1.0, "offset": -c if first else c},
                 "divide": {"scale": 1.0 / c} if first and c else None}
        found = items.get(name)  # maximum / minimum: of two tensors only
        return {"type": "rescaling", **found} if found is not None else None

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """A merge of data tensors of one layout; with a constant: the bias of the MatMul
        before it (a dense layer's), or a rescaling by one number (an Add / Sub after a
        rescaling that only it reads is that rescaling's offset)."""
        data = data_inputs(reader, node)
        if len(data) == len([i for i in node.input if i]):
            layouts = {reader.values[d].layout for d in data if reader.values[d].rank > 2}
            if len(layouts) > 1:
                raise Unsupported(f"{node.op_type} of channels-first and channels-last tensors")
            if node.op_type not in ONNX_MERGES:
                raise Unsupported(f"{node.op_type} of two computed tensors")
            reader.emit(node, index, {"type": ONNX_MERGES[node.op_type]}, data,
                        layout=layouts.pop() if layouts else "first")
            return
        const = next(i for i in node.input if i and not reader.is_data(i))
        if node.op_type == "Add" and data[0] in reader.pending_bias and \
                const in reader.initializers:  # MatMul + Add: a dense layer's bias
            reader.dense_bias(node, data[0], const)
            return
        value = reader.constants.get(const)
        if value is None or value.size != 1:
            raise Unsupported(f"{node.op_type} with a constant tensor")
        c = float(value.reshape(-1)[0])
        scale, offset = {"Mul": (c, 0.0), "Div": (1.0 / c if c else 0.0, 0.0),
                         "Add": (1.0, c), "Sub": (1.0, -c)}.get(node.op_type, (None, None))
        if scale is None or (node.op_type in ("Sub", "Div") and node.input[0] == const):
            raise Unsupported(f"{node.op_type} with a constant")
        if scale == 1.0 and reader.fold_offset(node, data[0], offset):
            return  # x * scale + offset: one rescaling
        reader.emit(node, index, {"type": "rescaling", "scale": scale, "offset": offset},
                    data, layout=reader.values[data[0]].layout)
