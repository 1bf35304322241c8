"""Group normalisation (Wu & He 2018): ``groupnorm``; InstanceNorm is one group per channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from .aten_args import constant
from .base import (
    Layer,
    ParamCount,
    Saved,
    Shape,
    float32_statistics,
    prod,
)
from .bridge import Item, Unsupported
from .fields import DIM, FLAG, NUMBER, field
from .keras_read import last_axis
from .onnx_read import first_layout
from .torch_util import nn


@dataclass(frozen=True)
class GroupNorm(Layer):
    """Group normalisation: channels split into groups, 2C affine parameters."""

    kind: ClassVar[str] = "groupnorm"
    autocast_policy = {"cuda": "float32", "cpu": "follow"}  # CUDA: group norm in float32
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"group_norm": {}, "gn": {},
                                                     "group_normalization": {}}
    aten_ops: ClassVar[tuple[str, ...]] = ("native_group_norm",)
    keras_classes: ClassVar[tuple[str, ...]] = ("GroupNormalization",)
    onnx_ops: ClassVar[tuple[str, ...]] = ("InstanceNormalization",)
    onnx_arity: ClassVar[dict[str, int]] = {"InstanceNormalization": 3}
    refused: ClassVar[dict[str, str]] = {
        "onnx": "ONNX (opset 17) has no GroupNormalization: torch.onnx writes an "
                "InstanceNormalization of the input reshaped to one channel per group, then "
                "Mul and Add by the affine tensors (read back partly opaque)"}
    summary: ClassVar[str] = "group normalisation"

    groups: int
    channels: int
    eps: float = 1e-5
    affine: bool = True

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> GroupNorm:
        layer = cls(groups=args.integer("groups", aliases=("num_groups",)), channels=inputs[0][-1],
                    eps=args.number("eps", 1e-5, low=0.0, aliases=("epsilon",)),
                    affine=args.flag("affine", True))
        args.finish()
        if layer.channels % layer.groups:
            raise LayerRuleError(f"channels {layer.channels} are not divisible by groups "
                                 f"{layer.groups}")
        return layer

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        return ParamCount(trainable=2 * self.channels if self.affine else 0,
                          formula=f"2x{self.channels}" if self.affine else "0",
                          tensors=2 if self.affine else 0)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 4 * prod(output)

    def linear(self) -> Layer:
        """The identity: statistics over positions would make the measured field global."""
        from .activation import Activation

        return Activation(function="linear")

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """The input, and a mean and an inverse deviation per group, in the input's dtype
        (2 bytes each for 16-bit inputs on the CPU)."""
        return Saved(inputs=(0,), extra_bytes=2 * self.groups * itemsize)

    def saved_under_autocast(self, inputs: tuple[Shape, ...], output: Shape,
                             itemsize: int) -> Saved:
        """With float32 weights on a 16-bit input (autocast), the statistics are float32."""
        return float32_statistics(self.saved(inputs, output, itemsize), self.affine, itemsize)

    def type_label(self) -> str:
        return "GroupNormalization"

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        return nn().GroupNorm(self.groups, self.channels, eps=self.eps, affine=self.affine)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        last_axis(cfg, rank)
        center = field(cfg, "center", FLAG, True)
        if center != field(cfg, "scale", FLAG, True):
            raise Unsupported("GroupNormalization with center != scale")
        return {"type": "groupnorm", "groups": field(cfg, "groups", DIM),
                "epsilon": field(cfg, "epsilon", NUMBER, 1e-3), "affine": center}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        return [layers.GroupNormalization(self.groups, epsilon=self.eps, center=self.affine,
                                          scale=self.affine, name=name)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        weight, bias, groups, eps = op.args[1], op.args[2], op.args[6], op.args[7]
        if (weight is None) != (bias is None) or not constant(op, weight, bias):
            return None
        return {"type": "groupnorm", "groups": int(groups), "eps": float(eps),
                "affine": weight is not None}

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """InstanceNormalization: a group norm of one channel per group."""
        first_layout(reader, node.input[0], "InstanceNormalization")
        channels = int(reader.shape(node.input[1])[0])
        reader.emit(node, index, {"type": "groupnorm", "groups": channels,
                                  "eps": float(reader.attrs(node).get("epsilon", 1e-5))},
                    [node.input[0]], params=list(node.input[1:3]))


