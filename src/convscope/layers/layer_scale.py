"""LayerScale (Touvron et al. 2021, "Going deeper with image transformers"; Keras's
ConvNeXt ``LayerScale``, timm's ``LayerScale`` / ``gamma``): y = x * gamma, one learned
factor per channel.

* params: C trainable (gamma), e.g. 96 after a 96-channel block.
* MACs: 0 (an element-wise multiply, as torch.utils.flop_counter counts it);
  other_ops: one multiply per value.
* shape and receptive field unchanged; autograd keeps the input (gamma's gradient).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .base import Layer, ParamCount, Saved, Shape, prod
from .bridge import Item
from .checks import check_declared, same_channels
from .fields import DIM, NUMBER, field


@dataclass(frozen=True)
class LayerScale(Layer):
    """A learned per-channel scale."""

    kind: ClassVar[str] = "layer_scale"
    autocast_policy = "promote"  # times a float32 parameter: float32 under autocast
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"layerscale": {}}
    keras_classes: ClassVar[tuple[str, ...]] = ("LayerScale",)  # keras.applications.convnext's
    refused: ClassVar[dict[str, str]] = {
        "onnx": "ONNX multiplies by the stored tensor (Mul), which Merge's reader keeps "
                "opaque, with its C parameters: no reader tells a layer scale apart"}
    summary: ClassVar[str] = "y = x * gamma, one learned factor per channel (C params)"

    channels: int
    init_values: float = 1e-6

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> LayerScale:
        layer = cls(channels=inputs[0][-1],
                    init_values=args.number("init_values", 1e-6, aliases=("init_value",)))
        declared = args.optional_int("projection_dim", aliases=("dim",))
        args.finish()
        check_declared("projection_dim", declared, layer.channels, "channels")
        return layer

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return same_channels(inputs[0], self.channels)

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        """gamma: one trainable factor per channel."""
        return ParamCount(trainable=self.channels, formula=f"{self.channels}", tensors=1)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return prod(output)

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """The multiply keeps its input for gamma's gradient (gamma is a parameter)."""
        return Saved(inputs=(0,))

    def type_label(self) -> str:
        return "LayerScale"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        return ["output shape = input shape",
                f"each of the {prod(output):,} values is multiplied by its channel's gamma",
                f"params = C = {self.channels} (gamma, initialised to {self.init_values:g})"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .layer_scale_torch import LayerScale as TorchLayerScale

        return TorchLayerScale(self.channels, len(inputs[0]) - 1, self.init_values)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        item: Item = {"type": "layer_scale",
                      "init_values": field(cfg, "init_values", NUMBER, 1e-6)}
        if cfg.get("projection_dim") is not None:
            item["projection_dim"] = field(cfg, "projection_dim", DIM)
        return item

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        """Not a public Keras layer: keras.applications' own class (ConvNeXt)."""
        from keras.src.applications.convnext import LayerScale as KerasLayerScale

        return [KerasLayerScale(self.init_values, self.channels, name=name)]
