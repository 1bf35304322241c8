"""Local response normalisation (AlexNet's LRN): ``lrn``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .base import (
    Layer,
    Saved,
    Shape,
    prod,
)
from .onnx_read import first_layout, need


@dataclass(frozen=True)
class LRN(Layer):
    """Local response normalisation across neighbouring channels (AlexNet's 'Norm')."""

    kind: ClassVar[str] = "lrn"
    autocast_policy = None  # pieces in different dtypes (pooled squares, power): not modelled
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "local_response_norm": {}, "localresponsenorm": {}}
    onnx_ops: ClassVar[tuple[str, ...]] = ("LRN",)
    refused: ClassVar[dict[str, str]] = {
        "keras": "Keras has no LocalResponseNorm layer",
        "pytorch": "ATen has no LRN operator: F.local_response_norm imports as the operations "
                   "computing it (mul, pad, avg_pool, pow, div: partly opaque)"}
    summary: ClassVar[str] = "local response normalisation (AlexNet), no parameters"

    size: int = 5
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> LRN:
        args.ndim(inputs)  # normalises across channels at each position of a map
        layer = cls(size=args.integer("size", 5, aliases=("depth_radius",)),
                    alpha=args.number("alpha", 1e-4), beta=args.number("beta", 0.75),
                    k=args.number("k", 1.0, aliases=("bias",)))
        args.finish()
        return layer

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return (self.size + 2) * prod(output)

    def linear(self) -> Layer:
        """The identity: statistics over positions would make the measured field global."""
        from .activation import Activation

        return Activation(function="linear")

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """F.local_response_norm's pieces: the input, the channel-padded squares
        ((C + size - 1) per position) and two input-sized intermediates."""
        positions = prod(inputs[0][:-1])
        c = inputs[0][-1]
        extra = (positions * (c + self.size - 1) + 2 * positions * c) * itemsize
        return Saved(inputs=(0,), extra_bytes=extra)

    def type_label(self) -> str:
        return "LocalResponseNorm"

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .torch_modules import LocalResponseNorm

        return LocalResponseNorm(self.size, self.alpha, self.beta, self.k)

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        first_layout(reader, node.input[0], "LRN")
        a = reader.attrs(node)
        reader.emit(node, index, {"type": "lrn", "size": int(need(a, "size")),
                                  "alpha": float(a.get("alpha", 1e-4)),
                                  "beta": float(a.get("beta", 0.75)),
                                  "k": float(a.get("bias", 1.0))}, [node.input[0]])
