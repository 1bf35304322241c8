"""Rescaling (Keras Rescaling; ``x * a + b`` with constants in PyTorch code):
y = x * scale + offset. params 0; other_ops: one per value; shape and receptive field
unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .base import Layer, Shape, prod


@dataclass(frozen=True)
class Rescaling(Layer):
    """Multiply by a constant and add a constant."""

    kind: ClassVar[str] = "rescaling"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"scale": {}}
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
