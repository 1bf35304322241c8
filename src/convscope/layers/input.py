"""The network's input: a shape written as in the seeds (224x224x3, H x W x C).

No parameters, no operations; the receptive field starts here at one position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .base import Layer, Shape, shape_str
from .torch_util import nn


@dataclass(frozen=True)
class Input(Layer):
    """A graph input of a fixed per-sample shape."""

    kind: ClassVar[str] = "input"
    min_inputs: ClassVar[int] = 0
    max_inputs: ClassVar[int | None] = 0
    summary: ClassVar[str] = "a network input (shape H x W x C)"

    shape: Shape

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Input:
        layer = cls(shape=args.shape("shape"))
        args.finish()
        return layer

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return self.shape

    def type_label(self) -> str:
        return "InputLayer"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        return [f"input of shape {shape_str(self.shape)}", "params = 0"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        return nn().Identity()
