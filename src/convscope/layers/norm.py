"""Normalisation layers: batch norm, layer norm, group norm, local response norm.

Parameter conventions (SPEC 1, seed 004's Keras summary):

* BatchNorm over C channels: 4C parameters in Keras's count, of which 2C
  (gamma, beta) are trainable and 2C (moving mean, variance) non-trainable;
  PyTorch holds the 2C as parameters and 2C + 1 buffers (the statistics and
  ``num_batches_tracked``). other_ops: 2 per value (scale and shift at inference).
* LayerNorm: 2 x (normalised size) with affine weights; other_ops 4 per value.
* GroupNorm: 2C; other_ops 4 per value.
* LRN ("Norm1" in seed 002's AlexNet): 0 parameters; other_ops size + 2 per value.
All four keep the shape and the receptive field.
"""

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
    acc_bytes,
    check_declared,
    prod,
    same_channels,
)
from .bridge import CannotExpress, Item, Unsupported
from .fields import DIM, FLAG, NUMBER, RATE, field
from .keras_read import last_axis
from .onnx_read import first_layout, learned, need
from .torch_util import nn


def _rank_suffix(shape: Shape) -> int:
    """PyTorch's BatchNorm1d covers (C,) and (C, L); 2d (C, H, W); 3d (C, D, H, W)."""
    return max(1, len(shape) - 1)


@dataclass(frozen=True)
class BatchNorm(Layer):
    """Batch normalisation over the channel axis."""

    kind: ClassVar[str] = "batchnorm"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "bn": {}, "batch_norm": {}, "batch_normalization": {}, "batchnormalization": {},
        **{f"batchnorm{n}d": {} for n in (1, 2, 3)}}
    aten_ops: ClassVar[tuple[str, ...]] = (
        "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training")
    keras_classes: ClassVar[tuple[str, ...]] = ("BatchNormalization",)
    onnx_ops: ClassVar[tuple[str, ...]] = ("BatchNormalization",)
    onnx_arity: ClassVar[dict[str, int]] = {"BatchNormalization": 5}
    summary: ClassVar[str] = "batch normalisation (Keras: 4C params, 2C non-trainable)"

    channels: int
    eps: float = 1e-5
    momentum: float = 0.1
    center: bool = True
    scale: bool = True
    track_running_stats: bool = True

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> BatchNorm:
        affine = args.flag("affine", True)
        layer = cls(channels=inputs[0][-1],
                    eps=args.number("eps", 1e-5, low=0.0, aliases=("epsilon",)),
                    momentum=args.number("momentum", 0.1, low=0.0, high=1.0),
                    center=args.flag("center", affine), scale=args.flag("scale", affine),
                    track_running_stats=args.flag("track_running_stats", True))
        declared = args.optional_int("num_features")
        args.finish()
        check_declared("num_features", declared, layer.channels, "channels")
        return layer

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return same_channels(inputs[0], self.channels)

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        """gamma and beta trainable (C each), moving mean and variance not (C each)."""
        c = self.channels
        learned = int(self.center) + int(self.scale)
        stats = 2 if self.track_running_stats else 0
        return ParamCount(trainable=learned * c, non_trainable=stats * c,
                          buffers=stats * c + (1 if stats else 0),
                          formula=f"{learned + stats}x{c}", tensors=learned)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 2 * prod(output)

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """The input, and the batch mean and inverse deviation (C each, once per batch)."""
        return Saved(inputs=(0,), fixed_bytes=2 * self.channels * acc_bytes(itemsize))

    def type_label(self) -> str:
        return "BatchNormalization"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        c = self.channels
        count = self.params(inputs)
        return ["output shape = input shape",
                f"params = 4*C = 4*{c} = {4 * c} in Keras: gamma and beta ({2 * c}) are "
                f"trainable, the moving mean and variance ({2 * c}) are not"
                if count.formula == f"4x{c}" else f"params = {count.formula} = {count.total}",
                f"PyTorch view: {count.trainable} parameters + {count.buffers} buffers "
                "(running mean, running var, num_batches_tracked)"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        if self.center != self.scale:
            raise LayerRuleError("PyTorch's BatchNorm has gamma and beta together "
                                 "(affine); center and scale must agree to build it")
        bn = getattr(nn(), f"BatchNorm{_rank_suffix(inputs[0])}d")
        return bn(self.channels, eps=self.eps, momentum=self.momentum, affine=self.center,
                  track_running_stats=self.track_running_stats)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        last_axis(cfg, rank)
        return {"type": "batchnorm", "epsilon": field(cfg, "epsilon", NUMBER, 1e-3),
                "momentum": round(1.0 - field(cfg, "momentum", RATE, 0.99), 12),  # PyTorch's
                "center": field(cfg, "center", FLAG, True),
                "scale": field(cfg, "scale", FLAG, True)}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        if not self.track_running_stats:
            raise CannotExpress("Keras's BatchNormalization always keeps moving statistics")
        return [layers.BatchNormalization(epsilon=self.eps, momentum=1.0 - self.momentum,
                                          center=self.center, scale=self.scale, name=name)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        weight, bias = op.args[1], op.args[2]
        running = op.args[3] if op.overload != "no_stats" else None
        momentum, eps = op.args[-2], op.args[-1]
        if not constant(op, weight, bias, running) or not 0 <= momentum <= 1:
            return None
        return {"type": "batchnorm", "eps": float(eps), "momentum": float(momentum),
                "center": bias is not None, "scale": weight is not None,
                "track_running_stats": running is not None}

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """BatchNormalization: scale, bias, mean, var (a scale or bias computed in the
        graph, torch.onnx's ones / zeros without affine, is no weight); ONNX's momentum
        is Keras's."""
        first_layout(reader, node.input[0], "BatchNormalization")
        a = reader.attrs(node)
        item = {"type": "batchnorm", "eps": float(a.get("epsilon", 1e-5)),
                "momentum": round(1.0 - float(a.get("momentum", 0.9)), 9),  # PyTorch's sense
                "scale": learned(reader, node.input[1]), "center": learned(reader, node.input[2])}
        reader.emit(node, index, item, [node.input[0]], params=list(node.input[1:5]))


@dataclass(frozen=True)
class LayerNorm(Layer):
    """Layer normalisation over the channels (Keras's default) or over all axes."""

    kind: ClassVar[str] = "layernorm"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "layer_norm": {}, "layer_normalization": {}, "layernormalization": {}, "ln": {}}
    aten_ops: ClassVar[tuple[str, ...]] = ("native_layer_norm",)
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
        """The input, and a mean and an inverse deviation per normalised group."""
        groups = prod(inputs[0]) // prod(self.normalized)
        return Saved(inputs=(0,), extra_bytes=2 * groups * acc_bytes(itemsize))

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
        _, shape, weight, bias, eps = op.args[:5]
        if list(shape) != list(x.shape[1:]) or not constant(op, weight, bias) or \
                (weight is None and bias is not None):
            return None  # tokens normalised over their last dim: no kind (yet)
        return {"type": "layernorm", "axes": "channels" if x.dim() == 2 else "all",
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


@dataclass(frozen=True)
class GroupNorm(Layer):
    """Group normalisation: channels split into groups, 2C affine parameters."""

    kind: ClassVar[str] = "groupnorm"
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
        """The input, and a mean and an inverse deviation per group."""
        return Saved(inputs=(0,), extra_bytes=2 * self.groups * acc_bytes(itemsize))

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


@dataclass(frozen=True)
class LRN(Layer):
    """Local response normalisation across neighbouring channels (AlexNet's 'Norm')."""

    kind: ClassVar[str] = "lrn"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "local_response_norm": {}, "localresponsenorm": {}}
    onnx_ops: ClassVar[tuple[str, ...]] = ("LRN",)
    refused: ClassVar[dict[str, str]] = {
        "keras": "Keras has no LocalResponseNorm layer",
        "pytorch": "ATen has no LRN operator: F.local_response_norm imports as the operations "
                   "computing it (mul, pad, avg_pool, pow, div: partly opaque)"}
    summary: ClassVar[str] = "local response normalisation (AlexNet), no parameters"

    size: int = 5
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> LRN:
        args.ndim(inputs)  # normalises across channels at each position of a map
        layer = cls(size=args.integer("size", 5, aliases=("depth_radius",)),
                    alpha=args.number("alpha", 1e-4), beta=args.number("beta", 0.75),
                    k=args.number("k", 1.0, aliases=("bias",)))
        args.finish()
        return layer

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return (self.size + 2) * prod(output)

    def linear(self) -> Layer:
        """The identity: statistics over positions would make the measured field global."""
        from .activation import Activation

        return Activation(function="linear")

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """F.local_response_norm's pieces: the input, the channel-padded squares
        ((C + size - 1) per position) and two input-sized intermediates."""
        positions = prod(inputs[0][:-1])
        c = inputs[0][-1]
        extra = (positions * (c + self.size - 1) + 2 * positions * c) * itemsize
        return Saved(inputs=(0,), extra_bytes=extra)

    def type_label(self) -> str:
        return "LocalResponseNorm"

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .torch_modules import LocalResponseNorm

        return LocalResponseNorm(self.size, self.alpha, self.beta, self.k)

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        first_layout(reader, node.input[0], "LRN")
        a = reader.attrs(node)
        reader.emit(node, index, {"type": "lrn", "size": int(need(a, "size")),
                                  "alpha": float(a.get("alpha", 1e-4)),
                                  "beta": float(a.get("beta", 0.75)),
                                  "k": float(a.get("bias", 1.0))}, [node.input[0]])
