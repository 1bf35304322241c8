"""An operation an importer could not map (``convscope summary`` warns about each one).

It keeps what was measured on the framework's side: the output shape and the
parameter and buffer counts of the module, so totals stay exact; its MACs are not
known and count as 0 (the report names the operation). In PyTorch it builds as a
stand-in with the same output shape and parameter count (values are zeros).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .base import GLOBAL, Layer, ParamCount, RFRule, Shape


@dataclass(frozen=True)
class Opaque(Layer):
    """An unmapped operation with a measured output shape and parameter count."""

    kind: ClassVar[str] = "opaque"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"unmapped": {}}
    min_inputs: ClassVar[int] = 0
    max_inputs: ClassVar[int | None] = None
    summary: ClassVar[str] = "an imported operation convscope could not map (shape measured)"

    op: str
    shape: Shape
    trainable: int = 0
    buffers: int = 0

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Opaque:
        layer = cls(op=str(args.value("op")), shape=args.shape("shape"),
                    trainable=args.integer("params", 0, minimum=0),
                    buffers=args.integer("buffers", 0, minimum=0))
        args.finish()
        return layer

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return self.shape

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        return ParamCount(trainable=self.trainable, buffers=self.buffers,
                          formula=f"{self.trainable} (measured)", tensors=int(self.trainable > 0))

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        return GLOBAL  # unknown: nothing is claimed

    def type_label(self) -> str:
        return f"Unmapped[{self.op}]"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        return [f"'{self.op}' could not be mapped to a convscope layer: its output shape "
                f"and {self.trainable:,} parameters were measured; its MACs are not counted"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .torch_modules import StandIn

        first = self.shape if len(self.shape) == 1 else (self.shape[-1], *self.shape[:-1])
        return StandIn(self.op, first, self.trainable, self.buffers)
