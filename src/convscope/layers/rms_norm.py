"""RMS normalisation (Zhang & Sennrich 2019, "Root Mean Square Layer Normalization"): each
position's channels divided by their root mean square, then (``elementwise_affine``) one
learned gain per channel. PyTorch's nn.RMSNorm, timm's RmsNorm / RmsNorm2d (MobileNet-V5,
Gemma and Qwen vision towers), Keras's RMSNormalization.

    y = x / sqrt(mean(x^2 over the channels) + eps) * weight

* params: C (the gain), or 0 without it.
* MACs: 0 (squares, a mean, products: torch.utils.flop_counter counts none of them);
  other_ops: the square, the sum and the product per value, and the gain's product.
* shape and receptive field unchanged (the mean is over one position's channels).
* autograd, as the module it builds (and timm's functions) computes it: the input (the
  square's), the inverse RMS per position (the reciprocal square root's), and with a gain
  the normalised values (the gain's gradient).

How each bridge reads it: PyTorch has no ATen operator for it (``aten.rms_norm`` runs as
its formula), so the importer recognises the formula's operations (pytorch/rms_norm_ops.py)
and writes them as one layer when this kind's rules give what PyTorch measured; Keras's
RMSNormalization over the last axis; ONNX: refused (below).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .base import Layer, ParamCount, Saved, Shape, prod
from .bridge import CannotExpress, Item, Unsupported
from .fields import NUMBER, field


@dataclass(frozen=True)
class RMSNorm(Layer):
    """RMS normalisation over the channels of each position."""

    kind: ClassVar[str] = "rms_norm"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "rmsnorm": {}, "rms_normalization": {}, "rmsnormalization": {}}
    reads_channels_last: ClassVar[bool] = True  # tokens and channels-last maps
    keras_classes: ClassVar[tuple[str, ...]] = ("RMSNormalization",)
    refused: ClassVar[dict[str, str]] = {
        "onnx": "ONNX has RMSNormalization only from opset 23; torch.onnx (opset 17) writes "
                "its formula (Pow, ReduceMean, Add, Sqrt, Div, Mul), which no reader "
                "joins back"}
    summary: ClassVar[str] = "RMS normalisation over the channels (C params with the gain)"

    channels: int
    eps: float = 1e-6
    affine: bool = True

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> RMSNorm:
        layer = cls(channels=inputs[0][-1],
                    eps=args.number("eps", 1e-6, low=0.0, aliases=("epsilon",)),
                    affine=args.flag("elementwise_affine", True, aliases=("scale",)))
        args.finish()
        return layer

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        """The gain: one per channel."""
        n = self.channels if self.affine else 0
        return ParamCount(trainable=n, formula=f"{n}", tensors=int(self.affine))

    def autocast(self, device: str) -> str | None:
        """Without a gain, in the input's dtype. With one, not modelled: the last product
        promotes to float32 while the inverse RMS and the normalised values kept for the
        backward stay in the input's dtype, which the rule of ``saved`` is not told."""
        return None if self.affine else "follow"

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return (3 + int(self.affine)) * prod(output)

    def linear(self) -> Layer:
        """The identity (same positions), as layer norm's."""
        from .activation import Activation

        return Activation(function="linear")

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """The input, one inverse RMS per position, and with a gain the normalised values."""
        positions = prod(inputs[0]) // self.channels
        return Saved(inputs=(0,), extra_bytes=(positions + self.affine * prod(output))
                     * itemsize)

    def type_label(self) -> str:
        return "RMSNormalization"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        gain = f"params = C = {self.channels} (the gain)" if self.affine else "params = 0"
        return ["output shape = input shape",
                f"each position's {self.channels} channels are divided by their root mean "
                f"square (+ eps {self.eps:g})", gain]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .rms_norm_torch import RMSNorm as TorchRMSNorm

        return TorchRMSNorm(self.channels, self.eps, self.affine)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        """Over the last axis (the channels); Keras's layer always has its gain."""
        axis = cfg.get("axis", -1)
        axes = axis if isinstance(axis, list) else [axis]
        if len(axes) != 1 or not isinstance(axes[0], int) or rank is None or \
                axes[0] % rank != rank - 1:
            raise Unsupported(f"RMSNormalization over axis {axis}")
        return {"type": "rms_norm", "eps": field(cfg, "epsilon", NUMBER, 1e-6)}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        if not self.affine:
            raise CannotExpress("Keras's RMSNormalization always has its gain")
        return [layers.RMSNormalization(axis=-1, epsilon=self.eps, name=name)]
