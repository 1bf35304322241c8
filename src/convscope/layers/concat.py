"""Concatenation along one axis: ``concat``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from ..limits import shown
from .aten_args import arg
from .base import Layer, Shape, shape_str
from .bridge import Item, Unsupported, our_axis
from .fields import AXIS, field
from .merge import axis_label, inputs_text
from .onnx_read import data_inputs, need, value_axis


@dataclass(frozen=True)
class Concat(Layer):
    """Concatenation along one axis (channels by default)."""

    kind: ClassVar[str] = "concat"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"concatenate": {}, "cat": {}}
    aten_ops: ClassVar[tuple[str, ...]] = ("cat",)
    keras_classes: ClassVar[tuple[str, ...]] = ("Concatenate",)
    onnx_ops: ClassVar[tuple[str, ...]] = ("Concat",)
    onnx_any_first: ClassVar[tuple[str, ...]] = ("Concat",)
    reads_channels_last: ClassVar[bool] = True  # learned tokens before channels-last tokens
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = None
    summary: ClassVar[str] = "concatenation along the channels (or another axis)"

    axis: int = -1

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Concat:
        rank = len(inputs[0])
        value = args.value("axis", -1, aliases=("dim",))
        if value == "channels":
            value = -1
        if not isinstance(value, int) or isinstance(value, bool) or not -rank <= value < rank:
            raise LayerRuleError(f"argument 'axis' must be 'channels' or an axis of the "
                                 f"{rank}-axis input (H x W x C order, -1 = channels); "
                                 f"received {shown(value)}")
        args.finish()
        return cls(axis=value % rank - rank)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        rank = len(inputs[0])
        if any(len(s) != rank for s in inputs):
            raise LayerRuleError(f"inputs have different numbers of axes: {inputs_text(inputs)}")
        axis = self.axis % rank
        for i in range(rank):
            if i != axis and len({s[i] for s in inputs}) > 1:
                raise LayerRuleError(
                    f"inputs disagree on axis {axis_label(i, rank)}: {inputs_text(inputs)}. "
                    f"Expected equal sizes on every axis but the concatenation axis "
                    f"{axis_label(axis, rank)}")
        out = list(inputs[0])
        out[axis] = sum(s[axis] for s in inputs)
        return tuple(out)

    def type_label(self) -> str:
        return "Concatenate"

    def tag(self) -> str:
        return "concat"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        axis = self.axis % len(output)
        sizes = " + ".join(str(s[axis]) for s in inputs)
        return [f"sizes along {axis_label(axis, len(output))} add up: {sizes} = {output[axis]}",
                f"output shape: {shape_str(output)}", "params = 0"]

    def torch_dim(self, inputs: tuple[Shape, ...]) -> int:
        """The axis of the channels-first tensor (batch first): channels are dim 1."""
        rank = len(inputs[0])
        axis = self.axis % rank
        return 1 if axis == rank - 1 else axis + 2

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .torch_modules import Concat as TorchConcat

        return TorchConcat(self.torch_dim(inputs))

    def torch_expression(self, inputs: tuple[Shape, ...], names: tuple[str, ...]) -> str:
        return f"torch.cat([{', '.join(names)}], dim={self.torch_dim(inputs)})"

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        axis = field(cfg, "axis", AXIS, -1)
        if axis == 0:
            raise Unsupported("Concatenate along the batch axis")
        return {"type": "concat", "axis": axis - 1 if axis > 0 else axis}  # without the batch

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        return [layers.Concatenate(axis=self.axis + 1 if self.axis >= 0 else self.axis,
                                   name=name)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """torch.cat of data tensors along a non-batch dim; of learned tokens (each a
        parameter, expanded over the batch) before one sequence along its tokens: the
        class_token kind (ViT's ``torch.cat([cls_token.expand(N, -1, -1), x], 1)``)."""
        tensors = list(arg(op, 0, "tensors"))
        dim = arg(op, 1, "dim", 0)
        axis = our_axis(dim, out.dim(), op.layout)
        if axis is None:
            return None
        if all(op.is_data(t) for t in tensors):  # channels-last: joins its opaque group
            return ({"type": "concat", "axis": axis}, tensors) if op.layout != "last" else None
        *tokens, x = tensors
        learned = [op.consts.get(id(t)) for t in tokens]
        if out.dim() != 3 or axis != 0 or not tokens or not op.is_data(x) or \
                any(c is None or len(c.reads) != 1 for c in learned):
            return None
        return {"type": "class_token", "count": sum(int(t.shape[dim]) for t in tokens)}, [x]

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """Concat of data tensors of one layout, along any axis but the batch."""
        data = data_inputs(reader, node)
        if len(data) != len([i for i in node.input if i]):
            raise Unsupported("Concat with a constant tensor")
        layouts = {reader.values[d].layout for d in data if reader.values[d].rank > 2}
        if len(layouts) > 1:
            raise Unsupported("Concat of channels-first and channels-last tensors")
        layout = layouts.pop() if layouts else "first"
        v = reader.values[data[0]]
        axis = int(need(reader.attrs(node), "axis")) % v.rank
        if axis == 0:
            raise Unsupported("Concat along the batch axis")
        reader.emit(node, index, {"type": "concat", "axis": value_axis(v, axis)}, data,
                    layout=layout)
