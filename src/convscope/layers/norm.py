"""Batch normalisation (``batchnorm``); its siblings have their own files: layer_norm.py,
group_norm.py, lrn.py. The parameter conventions of the four:

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
from .base import Layer, ParamCount, Saved, Shape, acc_bytes, prod
from .bridge import CannotExpress, Item
from .checks import check_declared, same_channels
from .fields import FLAG, NUMBER, RATE, field
from .keras_read import last_axis
from .onnx_read import first_layout, learned
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
