"""A learned position embedding added to its input (ViT, DeiT: ``x + pos_embed``, one
learned value per position and channel; torchvision's ``Encoder.pos_embedding``).

* params: every value of the input's per-sample shape, L x C for tokens (197 x 192 =
  37,824 in ViT-Tiny at 224).
* MACs 0 (an addition; torch.utils.flop_counter counts none); other_ops: one per value.
* shape and receptive field unchanged (each position gets its own vector); autograd keeps
  nothing (an addition's gradient needs no tensor).

PyTorch: an addition of a parameter of the input's per-sample shape (``merge.py``'s reader
tells it apart from a merge of two computed tensors). Keras and ONNX: refused (below).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from .base import NOTHING_SAVED, Layer, ParamCount, Saved, Shape, prod, shape_str


@dataclass(frozen=True)
class PositionEmbedding(Layer):
    """x + a learned tensor of x's per-sample shape."""

    kind: ClassVar[str] = "position_embedding"
    autocast_policy = "promote"  # plus a float32 parameter: float32 under autocast
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "pos_embed": {}, "positional_embedding": {}, "learned_position_embedding": {}}
    reads_channels_last: ClassVar[bool] = True  # tokens (N, L, C)
    refused: ClassVar[dict[str, str]] = {
        "keras": "Keras 3 has no position-embedding layer (KerasHub's is not part of Keras)",
        "onnx": "ONNX adds the stored tensor (Add), which Merge's reader keeps opaque with its "
                "parameters: no reader tells a position embedding apart"}
    summary: ClassVar[str] = ("x + a learned embedding of x's shape (ViT's pos_embed: "
                              "L x C params)")

    shape: Shape

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> PositionEmbedding:
        declared = args.value("shape", None)
        args.finish()
        layer = cls(shape=inputs[0])
        if declared is not None and tuple(declared) != inputs[0]:
            raise LayerRuleError(f"position_embedding has the input's shape "
                                 f"{shape_str(inputs[0])}; received shape {declared}")
        return layer

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        if inputs[0] != self.shape:
            raise LayerRuleError(f"position_embedding of shape {shape_str(self.shape)} "
                                 f"added to an input of shape {shape_str(inputs[0])}")
        return inputs[0]

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        """One learned value per position and channel."""
        return ParamCount(trainable=prod(self.shape), formula=" x ".join(map(str, self.shape)),
                          tensors=1)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return prod(output)

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        return NOTHING_SAVED

    def type_label(self) -> str:
        return "PositionEmbedding"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        return ["output shape = input shape",
                f"params = {' x '.join(map(str, self.shape))} = {prod(self.shape):,} (one "
                "learned value per position and channel, added)"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .token_torch import PositionEmbedding as TorchPositionEmbedding

        return TorchPositionEmbedding((self.shape[-1], *self.shape[:-1]))
