"""Scaled dot-product attention (Vaswani et al. 2017; ``F.scaled_dot_product_attention``):
out = softmax(q k^T x scale) v, with no learned weights (the q / k / v projections before
it are dense layers of their own).

* Inputs q (L x E), k (S x E), v (S x Ev), sequences of positions x channels, split into
  ``heads`` of E / heads channels each -> L x Ev. Or heads already apart, last
  (L x E x H: PyTorch's (N, H, L, E)) -> L x Ev x H.
* params 0. MACs = L x S x E + L x S x Ev (q k^T and the weighted sum of v, over every
  head: flop_counter's ``sdpa_flop_count`` / 2); other_ops: the scale, the softmax (about
  3 per score) and, causal, the mask.
* ``scale`` defaults to 1 / sqrt(E / heads); ``causal`` lets position i attend to
  positions <= i only (L x S mask).
* Receptive field: global (every output position reads every key and value).
* Built as PyTorch's ``F.scaled_dot_product_attention`` on its math backend; autograd then
  keeps q and k scaled (by sqrt(scale) each), v and the softmax weights (H x L x S).
* Read from PyTorch: a model's own ``F.scaled_dot_product_attention`` call on heads
  (N, H, L, E) (pytorch/composite.py, which sees the call before it decomposes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from .base import GLOBAL, Layer, RFRule, Saved, Shape, prod, shape_str


@dataclass(frozen=True)
class Attention(Layer):
    """softmax(q k^T x scale) v, per head."""

    kind: ClassVar[str] = "attention"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "scaled_dot_product_attention": {}, "sdpa": {}}
    autocast_policy = None  # a composite of matmul (16 bit) and softmax: not modelled
    min_inputs: ClassVar[int] = 3
    max_inputs: ClassVar[int | None] = 3
    refused: ClassVar[dict[str, str]] = {
        "onnx": "torch.onnx writes attention as its math (MatMul, Mul, Softmax nodes), read "
                "back as matmul, rescaling and softmax layers with the same totals",
        "keras": "Keras's Attention layer scales scores by a learned scalar or not at all "
                 "(never 1 / sqrt(d)) and takes [query, value, key]: no layer computes this"}
    summary: ClassVar[str] = "scaled dot-product attention softmax(q k^T x scale) v (0 params)"

    heads: int = 1
    scale: float | None = None
    causal: bool = False

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Attention:
        split = len(inputs[0]) == 2
        layer = cls(heads=args.integer("heads", 1, aliases=("num_heads",)) if split else 1,
                    scale=args.number("scale", low=0.0) if args.has("scale") else None,
                    causal=args.flag("causal", False, aliases=("is_causal",)))
        args.finish()
        return layer

    def _split(self, inputs: tuple[Shape, ...]) -> tuple[int, int, int, int, int]:
        """(heads, L, S, E, Ev) per head, after checking the three inputs agree."""
        q, k, v = inputs
        ranks = {len(q), len(k), len(v)}
        if ranks not in ({2}, {3}) or len(q) == 3 and not q[2] == k[2] == v[2]:
            raise LayerRuleError(f"attention takes q, k, v as sequences (L x E, S x E, "
                                 f"S x Ev) or heads of them (L x E x H, ...); received "
                                 f"{', '.join(shape_str(s) for s in inputs)}")
        if q[1] != k[1] or k[0] != v[0]:
            raise LayerRuleError(f"attention: q and k need the same channels and k and v the "
                                 f"same positions; received q {shape_str(q)}, k "
                                 f"{shape_str(k)}, v {shape_str(v)}")
        heads = q[2] if len(q) == 3 else self.heads
        if len(q) == 2 and (q[1] % heads or v[1] % heads):
            raise LayerRuleError(f"attention: {heads} heads must divide the channels of q "
                                 f"({q[1]}) and of v ({v[1]})")
        per = 1 if len(q) == 3 else heads
        return heads, q[0], k[0], q[1] // per, v[1] // per

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        heads, length, _, _, ev = self._split(inputs)
        return (length, ev, heads) if len(inputs[0]) == 3 else (length, ev * heads)

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        """heads x (L x S x E + L x S x Ev), per-head sizes (q k^T, then weights x v)."""
        heads, length, s, e, ev = self._split(inputs)
        return heads * length * s * (e + ev)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        """Scaling q and k, and the softmax: exp, sum and divide per score (and, causal, the
        mask)."""
        heads, length, s, _, _ = self._split(inputs)
        return prod(inputs[0]) + prod(inputs[1]) + (3 + int(self.causal)) * heads * length * s

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        return GLOBAL

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """v itself; q and k scaled, and the softmax weights (PyTorch's math backend)."""
        heads, length, s, _, _ = self._split(inputs)
        scores = heads * length * s
        return Saved(inputs=(2,), extra_bytes=(prod(inputs[0]) + prod(inputs[1]) + scores)
                     * itemsize)

    def scale_of(self, inputs: tuple[Shape, ...]) -> float:
        return self.scale if self.scale is not None else 1 / math.sqrt(self._split(inputs)[3])

    def type_label(self) -> str:
        return "Attention"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        heads, length, s, e, ev = self._split(inputs)
        return [f"{heads} head(s): softmax(q k^T x {self.scale_of(inputs):.4g}) v, q {length} x "
                f"{e}, k {s} x {e}, v {s} x {ev} per head -> {shape_str(output)}"
                + (" (causal)" if self.causal else ""),
                f"MACs = heads x (L x S x E + L x S x Ev) = {heads} x ({length} x {s} x {e} + "
                f"{length} x {s} x {ev}) = {self.macs(inputs, output):,} (FLOPs = 2 x MACs)",
                "params = 0"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .attention_torch import Attention as TorchAttention

        split = len(inputs[0]) == 2
        return TorchAttention(self.heads if split else 1, self.scale_of(inputs), self.causal,
                              split)
