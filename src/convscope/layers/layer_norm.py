"""Layer normalisation (Ba, Kiros & Hinton 2016): ``layernorm`` over the channels or all axes."""

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
from .fields import FLAG, NUMBER, field
from .keras_read import last_axis
from .onnx_read import learned
from .torch_util import nn


@dataclass(frozen=True)
class LayerNorm(Layer):
    """Layer normalisation over the channels (Keras's default) or over all axes."""

    kind: ClassVar[str] = "layernorm"
    autocast_policy = {"cuda": "float32", "cpu": "follow"}  # CUDA: layer norm in float32
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "layer_norm": {}, "layer_normalization": {}, "layernormalization": {}, "ln": {}}
    aten_ops: ClassVar[tuple[str, ...]] = ("native_layer_norm",)
    reads_channels_last: ClassVar[bool] = True  # over a channels-last map's channels
    keras_classes: ClassVar[tuple[str, ...]] = ("LayerNormalization",)
    onnx_ops: ClassVar[tuple[str, ...]] = ("LayerNormalization",)
    onnx_arity: ClassVar[dict[str, int]] = {"LayerNormalization": 2}
    summary: ClassVar[str] = "layer normalisation (over channels, or over all axes)"

    normalized: tuple[int, ...]
    eps: float = 1e-5
    affine: bool = True
    bias: bool = True

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> LayerNorm:
        axes = args.choice("axes", ("channels", "all"), "channels")
        layer = cls(normalized=inputs[0] if axes == "all" else inputs[0][-1:],
                    eps=args.number("eps", 1e-5, low=0.0, aliases=("epsilon",)),
                    affine=args.flag("elementwise_affine", True, aliases=("scale",)),
                    bias=args.flag("bias", True, aliases=("center",)))
        args.finish()
        return layer

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        if inputs[0][len(inputs[0]) - len(self.normalized):] != self.normalized:
            raise LayerRuleError(f"normalises over {self.normalized}; received {inputs[0]}")
        return inputs[0]

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        n = prod(self.normalized)
        k = int(self.affine) + int(self.affine and self.bias)
        return ParamCount(trainable=k * n, formula=f"{k}x{n}", tensors=k)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 4 * prod(output)

    def linear(self) -> Layer:
        """The identity: statistics over positions would make the measured field global."""
        from .activation import Activation

        return Activation(function="linear")

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """The input, and a mean and an inverse deviation per normalised group, in the
        input's dtype (float64 in float64, 2 bytes for 16-bit inputs on the CPU)."""
        groups = prod(inputs[0]) // prod(self.normalized)
        return Saved(inputs=(0,), extra_bytes=2 * groups * itemsize)

    def saved_under_autocast(self, inputs: tuple[Shape, ...], output: Shape,
                             itemsize: int) -> Saved:
        """With float32 weights on a 16-bit input (autocast), the statistics are float32."""
        return float32_statistics(self.saved(inputs, output, itemsize), self.affine, itemsize)

    def type_label(self) -> str:
        return "LayerNormalization"

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        shape = inputs[0]
        if len(self.normalized) == 1 and len(shape) > 1:
            from .torch_modules import ChannelLayerNorm

            return ChannelLayerNorm(shape[-1], self.eps, self.affine, self.bias)
        first = (shape[-1], *shape[:-1])  # channels-first order of the normalised axes
        return nn().LayerNorm(list(first), eps=self.eps, elementwise_affine=self.affine,
                              bias=self.bias)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        every = rank is not None and rank > 2 and cfg.get("axis") == list(range(1, rank))
        if not every:  # axis [1, ..., rank - 1]: every axis but the batch ("all")
            last_axis(cfg, rank)
        center, scale = field(cfg, "center", FLAG, True), field(cfg, "scale", FLAG, True)
        if center and not scale:
            raise Unsupported("LayerNormalization with center=True and scale=False")
        return {"type": "layernorm", "epsilon": field(cfg, "epsilon", NUMBER, 1e-3),
                "scale": scale, "center": center, **({"axes": "all"} if every else {})}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        rank = len(inputs[0])
        axis = -1 if len(self.normalized) == 1 else list(
            range(rank - len(self.normalized) + 1, rank + 1))
        return [layers.LayerNormalization(axis=axis, epsilon=self.eps, scale=self.affine,
                                          center=self.affine and self.bias, name=name)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """Over every dim but the batch ("all"; a vector's: "channels"), or over the channels
        of a channels-last map (timm's LayerNorm2d and ConvNeXt blocks: permute, norm)."""
        _, shape, weight, bias, eps = op.args[:5]
        last = op.layout == "last"
        if list(shape) != list(x.shape[-1:] if last else x.shape[1:]) or \
                not constant(op, weight, bias) or (weight is None and bias is not None):
            return None  # tokens normalised over their last dim: no kind (yet)
        return {"type": "layernorm", "axes": "channels" if x.dim() == 2 or last else "all",
                "eps": float(eps), "elementwise_affine": weight is not None,
                "bias": bias is not None}

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """LayerNormalization from the channels of a channels-last tensor (or a vector),
        or from axis 1 (every axis but the batch); a scale or bias computed in the graph
        (torch.onnx's ones and zeros without elementwise_affine or bias) is no weight."""
        x = reader.values[node.input[0]]
        a = reader.attrs(node)
        axis = int(a.get("axis", -1)) % x.rank
        if x.layout == "last" and axis == x.rank - 1 or x.rank == 2 and axis == 1:
            axes = "channels"
        elif axis == 1:
            axes = "all"
        else:
            raise Unsupported(f"LayerNormalization from axis {axis}")
        bias = len(node.input) > 2 and learned(reader, node.input[2])
        item = {"type": "layernorm", "axes": axes, "eps": float(a.get("epsilon", 1e-5)),
                "elementwise_affine": learned(reader, node.input[1]) or bias, "bias": bias}
        reader.emit(node, index, item, [node.input[0]], layout=x.layout,
                    params=list(node.input[1:3]))


