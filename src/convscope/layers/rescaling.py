"""Rescaling (Keras Rescaling; ``x * a + b`` with constants in PyTorch code):
y = x * scale + offset. params 0; other_ops: one per value; shape and receptive field
unchanged."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from ..limits import shown
from .base import Layer, ParamCount, Saved, Shape, prod
from .bridge import Item, Unsupported
from .fields import FLAG, NUMBERS, field
from .keras_read import last_axis


@dataclass(frozen=True)
class Rescaling(Layer):
    """Multiply by a constant and add a constant."""

    kind: ClassVar[str] = "rescaling"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"scale": {}}
    keras_classes: ClassVar[tuple[str, ...]] = ("Rescaling",)
    summary: ClassVar[str] = "y = x * scale + offset (constants)"

    scale: float = 1.0
    offset: float = 0.0

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Rescaling:
        layer = cls(scale=args.number("scale", 1.0), offset=args.number("offset", 0.0))
        args.finish()
        return layer

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return prod(output)

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .torch_modules import Rescale

        return Rescale(self.scale, self.offset)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        return {"type": "rescaling", "scale": field(cfg, "scale", NUMBERS, 1.0),
                "offset": field(cfg, "offset", NUMBERS, 0.0)}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        return [layers.Rescaling(self.scale, self.offset, name=name)]


@dataclass(frozen=True)
class Normalization(Layer):
    """Keras's Normalization: y = (x - mean) / sqrt(variance), per channel.

    With statistics learned by ``adapt()`` (Keras's default, mean and variance not given)
    Keras holds them as non-trainable weights: mean (C), variance (C) and the sample count
    (a scalar), 2C + 1 non-trainable params (EfficientNet's stem: 7). Constants given in
    the description are not weights (0 params; PyTorch holds them as 2C buffers).
    PyTorch view: the statistics as buffers.
    other_ops: two per value (subtract, divide).
    """

    kind: ClassVar[str] = "normalization"
    autocast_policy = "promote"  # float32 buffers: float32 under autocast
    keras_classes: ClassVar[tuple[str, ...]] = ("Normalization",)
    refused: ClassVar[dict[str, str]] = {
        "pytorch": "ATen subtracts and divides by buffers, which no reader maps (opaque); "
                   "the learned mean, variance and count are buffers there, not params",
        "onnx": "torch.onnx writes Sub and Div of stored tensors (the statistics), which "
                "Merge's reader keeps opaque: no reader tells a normalization apart"}
    summary: ClassVar[str] = "(x - mean) / sqrt(variance) per channel (Keras Normalization)"

    channels: int
    mean: tuple[float, ...] | None = None  # constants; None: learned by adapt()
    variance: tuple[float, ...] | None = None

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Normalization:
        c = inputs[0][-1]
        mean = constants(args.value("mean", None), c, "mean")
        variance = constants(args.value("variance", None), c, "variance")
        if (mean is None) != (variance is None):
            raise LayerRuleError("give both 'mean' and 'variance', or neither (statistics "
                                 "learned by adapt())")
        layer = cls(channels=c, mean=mean, variance=variance)
        args.finish()
        return layer

    @property
    def adapted(self) -> bool:
        return self.mean is None

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        """mean, variance (C each) and count (1), all non-trainable."""
        if not self.adapted:
            return ParamCount(buffers=2 * self.channels, formula="0 (constants)")
        n = 2 * self.channels + 1
        return ParamCount(non_trainable=n, buffers=n, formula=f"2x{self.channels}+1")

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 2 * prod(output)

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """The division keeps the C standard deviations (once per batch)."""
        return Saved(fixed_bytes=self.channels * itemsize)

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .torch_modules import Normalize

        return Normalize(self.channels, len(inputs[0]) - 1, self.mean, self.variance)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        last_axis(cfg, rank)
        if field(cfg, "invert", FLAG, False):
            raise Unsupported("Normalization with invert=True")
        item: Item = {"type": "normalization"}
        if cfg.get("mean") is not None:
            item |= {"mean": field(cfg, "mean", NUMBERS),
                     "variance": field(cfg, "variance", NUMBERS)}
        return item

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        if self.adapted:
            return [layers.Normalization(axis=-1, name=name)]
        return [layers.Normalization(axis=-1, mean=list(self.mean or ()),
                                     variance=list(self.variance or ()), name=name)]


def constants(value: Any, channels: int, what: str) -> tuple[float, ...] | None:
    """One number, or one per channel."""
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    if len(values) == 1:
        values = values * channels
    if len(values) != channels or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool)
            and (abs(v) <= 2**53 if isinstance(v, int) else math.isfinite(v)) for v in values):
        raise LayerRuleError(f"'{what}' must be a finite number or {channels} finite numbers "
                             f"(one per channel); received {shown(value)}")
    return tuple(float(v) for v in values)
