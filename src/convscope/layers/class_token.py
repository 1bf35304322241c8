"""Learned tokens put in front of a sequence (ViT's class token, DeiT's class and
distillation tokens, register tokens: ``torch.cat([cls_token.expand(N, -1, -1), x], 1)``).

* output: (L + n) x C for an input of L x C and n tokens;
* params: n x C (192 for ViT-Tiny's class token);
* MACs 0; other_ops 0 (a copy);
* receptive field: output o reads input o - n (the first n read nothing, as padding);
* autograd keeps nothing (a concatenation's gradient is a split).

PyTorch: a concatenation along the tokens of learned tensors first and the sequence last
(``concat.py``'s reader tells it apart from a concatenation of computed tensors). Keras
and ONNX: refused (below).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from .base import NOTHING_SAVED, Layer, ParamCount, RFRule, RFStep, Saved, Shape, shape_str


@dataclass(frozen=True)
class ClassToken(Layer):
    """``count`` learned tokens before a sequence."""

    kind: ClassVar[str] = "class_token"
    autocast_policy = "promote"  # joined to float32 parameters: float32 under autocast
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"cls_token": {}, "learned_tokens": {}}
    reads_channels_last: ClassVar[bool] = True  # tokens (N, L, C)
    refused: ClassVar[dict[str, str]] = {
        "keras": "Keras 3 has no layer that prepends learned tokens",
        "onnx": "ONNX concatenates a stored tensor (Concat with an initializer), which "
                "Concat's reader refuses: no reader tells learned tokens apart"}
    summary: ClassVar[str] = "n learned tokens before a sequence (ViT's class token: n x C)"

    count: int
    channels: int

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> ClassToken:
        if len(inputs[0]) != 2:
            raise LayerRuleError("class_token expects a sequence of tokens (L x C); received "
                                 f"{shape_str(inputs[0])}")
        layer = cls(count=args.integer("count", 1, minimum=1), channels=inputs[0][-1])
        args.finish()
        return layer

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        length, channels = inputs[0]
        if channels != self.channels:
            raise LayerRuleError(f"class_token of {self.channels} channels before tokens of "
                                 f"{channels}")
        return (length + self.count, channels)

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        """count x C learned values."""
        return ParamCount(trainable=self.count * self.channels,
                          formula=f"{self.count} x {self.channels}", tensors=1)

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        """Output o reads input o - count (the tokens in front read nothing)."""
        return RFStep(kernel=(1,), stride=(1,), offset=(-self.count,))

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        return NOTHING_SAVED

    def type_label(self) -> str:
        return "ClassToken"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        return [f"{self.count} learned token(s) before the {inputs[0][0]} tokens: "
                f"{shape_str(inputs[0])} -> {shape_str(output)}",
                f"params = {self.count} x {self.channels} = {self.count * self.channels:,}"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .token_torch import ClassToken as TorchClassToken

        return TorchClassToken(self.count, self.channels)
