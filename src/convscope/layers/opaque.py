"""An operation an importer has no kind for (``convscope summary`` names each one).

It keeps what was measured on the framework's side: the output shape, the parameters
and buffers it reads that no other layer counts, and, where the importer can measure
them (PyTorch: ``torch.utils.flop_counter``'s formulas / 2), its MACs, so totals stay
exact. ``ops`` lists the framework operations it stands for. Its receptive field is
unknown and shown as global. In PyTorch it builds as a stand-in with the same output
shape and parameter count (values are zeros).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..limits import MAX_COUNT
from .base import GLOBAL, Layer, ParamCount, RFRule, Shape
from .bridge import CannotExpress


@dataclass(frozen=True)
class Opaque(Layer):
    """An unmapped operation with a measured output shape, parameter count and MACs."""

    kind: ClassVar[str] = "opaque"
    autocast_policy = None  # which operations it runs is not known: not modelled under autocast
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"unmapped": {}}
    refused: ClassVar[dict[str, str]] = {
        "keras": "Keras has no layer for an operation convscope could not read",
        "pytorch": "its stand-in module returns zeros computed from no input, which the "
                   "importer refuses (an unknown ATen operation is what becomes opaque)",
        "onnx": "its stand-in module computes nothing from its input, so the ONNX file's "
                "output is not computed from the inputs (an unknown ONNX operator is what "
                "becomes opaque)"}
    min_inputs: ClassVar[int] = 0
    max_inputs: ClassVar[int | None] = None
    summary: ClassVar[str] = ("an imported operation convscope has no kind for (shape, "
                              "parameters and MACs measured)")

    op: str
    shape: Shape
    trainable: int = 0
    buffers: int = 0
    measured_macs: int = 0
    ops: str = ""

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Opaque:
        layer = cls(op=str(args.value("op")), shape=args.shape("shape"),
                    trainable=args.integer("params", 0, minimum=0, maximum=MAX_COUNT),
                    buffers=args.integer("buffers", 0, minimum=0, maximum=MAX_COUNT),
                    measured_macs=args.integer("macs", 0, minimum=0, maximum=MAX_COUNT),
                    ops=str(args.value("ops", "")))
        args.finish()
        return layer

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return self.shape

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        return ParamCount(trainable=self.trainable, buffers=self.buffers,
                          formula=f"{self.trainable} (measured)", tensors=int(self.trainable > 0))

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        """As measured by the importer (0 when it could not measure them)."""
        return self.measured_macs

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        return GLOBAL  # unknown: nothing is claimed

    def type_label(self) -> str:
        return f"Opaque[{self.op}]"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        ops = f" (operations: {self.ops})" if self.ops else ""
        return [f"'{self.op}'{ops} has no convscope kind: its output shape, "
                f"{self.trainable:,} parameters and {self.measured_macs:,} MACs were measured"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .torch_modules import StandIn

        first = self.shape if len(self.shape) == 1 else (self.shape[-1], *self.shape[:-1])
        return StandIn(self.op, first, self.trainable, self.buffers)

    # ---- Keras bridge ----
    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        """Refused (``refused['keras']``), naming the operation: 'Opaque[Erf]'."""
        raise CannotExpress(f"Keras has no {self.type_label()} layer")
