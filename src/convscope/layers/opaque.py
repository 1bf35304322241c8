"""An operation an importer has no kind for (``convscope summary`` names each one).

It keeps what was measured on the framework's side: the output shape, the parameters
and buffers it reads that no other layer counts, and, where the importer can measure
them (PyTorch: ``torch.utils.flop_counter``'s formulas / 2), its MACs, so totals stay
exact. ``ops`` lists the framework operations it stands for. Its receptive field is
unknown and shown as global, unless the importer measured its window (``rf_kernel``,
``rf_stride``, ``rf_padding``: the padding before each axis, negative where it crops; one
sliding window with element-wise work around it, as a convolution whose weight is
computed, pytorch/window.py). In PyTorch it builds as a stand-in with the same output
shape and parameter count (values are zeros).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from ..limits import MAX_COUNT, MAX_DIM
from .base import GLOBAL, Layer, ParamCount, RFRule, RFStep, Shape, shape_str
from .bridge import CannotExpress


def window_of(args: Any, inputs: tuple[Shape, ...]) -> RFStep | None:
    """The window ``rf_kernel`` / ``rf_stride`` / ``rf_padding`` (before, per spatial axis)
    of an opaque layer with one map as input (or several: the window is read over the
    union of their fields, index by index, as after a merge), or None when none is given."""
    if not args.has("rf_kernel"):
        return None
    if not inputs or len(inputs[0]) < 2 or any(len(s) != len(inputs[0]) for s in inputs):
        raise LayerRuleError("rf_kernel needs inputs with spatial axes, all of the same rank; "
                             f"received {', '.join(shape_str(s) for s in inputs) or 'none'}")
    ndim = len(inputs[0]) - 1
    kernel = args.ints("rf_kernel", ndim)
    stride = args.ints("rf_stride", ndim, 1)
    padding = args.ints("rf_padding", ndim, 0, minimum=-MAX_DIM)  # negative: a crop
    return RFStep(kernel=kernel, stride=stride, offset=tuple(-p for p in padding))


@dataclass(frozen=True)
class Opaque(Layer):
    """An unmapped operation with a measured output shape, parameter count and MACs."""

    kind: ClassVar[str] = "opaque"
    stand_in: ClassVar[bool] = True
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
    rf: RFStep | None = None  # its sliding window, when the importer measured one

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Opaque:
        layer = cls(op=str(args.value("op")), shape=args.shape("shape"),
                    trainable=args.integer("params", 0, minimum=0, maximum=MAX_COUNT),
                    buffers=args.integer("buffers", 0, minimum=0, maximum=MAX_COUNT),
                    measured_macs=args.integer("macs", 0, minimum=0, maximum=MAX_COUNT),
                    ops=str(args.value("ops", "")), rf=window_of(args, inputs))
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
        """Its measured window, else global (unknown: nothing is claimed)."""
        return self.rf if self.rf is not None else GLOBAL

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
