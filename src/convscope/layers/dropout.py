"""Dropout (Keras Dropout / SpatialDropout, PyTorch nn.Dropout / Dropout2d).

Active only while training: at inference it is the identity. params 0,
other_ops 0 (inference), shape and receptive field unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .base import Layer, Saved, Shape, prod
from .bridge import Item
from .fields import RATE, field
from .torch_util import nn


@dataclass(frozen=True)
class Dropout(Layer):
    """Randomly zeroes values with probability ``rate`` during training."""

    kind: ClassVar[str] = "dropout"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        **{f"dropout{n}d": {"spatial": True} for n in (1, 2, 3)},
        "spatial_dropout": {"spatial": True},
        **{f"spatialdropout{n}d": {"spatial": True} for n in (1, 2, 3)}}
    # F.dropout in training mode; a spatial dropout's mask (bernoulli_ on a constant, times
    # the input) is read by Merge's reader of ``mul``; in evaluation mode both vanish
    aten_ops: ClassVar[tuple[str, ...]] = ("native_dropout",)
    reads_channels_last: ClassVar[bool] = True  # element-wise
    keras_classes: ClassVar[tuple[str, ...]] = (
        "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
    onnx_ops: ClassVar[tuple[str, ...]] = ("Dropout",)
    summary: ClassVar[str] = "dropout (identity at inference)"

    rate: float = 0.5
    spatial: bool = False

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Dropout:
        layer = cls(rate=args.number("rate", 0.5, low=0.0, high=1.0, aliases=("p",)),
                    spatial=args.flag("spatial", False))
        args.finish()
        return layer

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """A mask in the input's dtype (one value per element, or per channel for spatial
        dropout); nothing when the rate is 0."""
        if self.rate == 0:
            return Saved(view=True)
        per = inputs[0][-1] if self.spatial and len(inputs[0]) > 1 else prod(inputs[0])
        return Saved(extra_bytes=per * itemsize)

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        return [f"during training each value is zeroed with probability {self.rate:g}; at "
                "inference the layer passes its input through", "params = 0"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        if self.spatial and len(inputs[0]) > 1:
            return getattr(nn(), f"Dropout{min(len(inputs[0]) - 1, 3)}d")(self.rate)
        return nn().Dropout(self.rate)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        item = {"type": "dropout", "rate": field(cfg, "rate", RATE, 0.5)}
        return {**item, "spatial": True} if class_name.startswith("Spatial") else item

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        if self.spatial and len(inputs[0]) > 1:
            return [getattr(layers, f"SpatialDropout{len(inputs[0]) - 1}D")(self.rate, name=name)]
        return [layers.Dropout(self.rate, name=name)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        return {"type": "dropout", "rate": float(op.args[1])}

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """Dropout: the ratio attribute (opset < 12) or constant input (default 0.5)."""
        x = reader.values[node.input[0]]
        ratio = reader.attrs(node).get("ratio")
        if ratio is None and len(node.input) > 1 and node.input[1] in reader.constants:
            ratio = float(reader.constants[node.input[1]])
        reader.emit(node, index, {"type": "dropout",
                                  "rate": float(0.5 if ratio is None else ratio)},
                    [node.input[0]], layout=x.layout)
