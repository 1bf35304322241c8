"""Matrix product of two computed tensors (``torch.matmul``, Keras ``Dot``, ONNX ``MatMul``):
attention scores q k^T, attention-weighted values, bilinear pooling, non-local blocks.

* a (m x k) @ b (k x n) -> m x n: the matrices are convscope's first two axes (a sequence's
  positions and channels), e.g. 196x64 @ 64x196 -> 196x196.
* With a third axis (heads last, ``m x k x H``: PyTorch's (N, H, m, k)) one product per
  head; a head axis of size 1 broadcasts (NumPy rules).
* params 0; MACs = m x n x k per product, times the heads (torch.utils.flop_counter's
  ``bmm`` formula / 2).
* Receptive field: global (every output reads a whole row of a and a whole column of b).
* Autograd keeps both inputs; an input broadcast over the heads is kept as its expanded copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from .base import GLOBAL, Layer, RFRule, Saved, Shape, prod, shape_str
from .bridge import CannotExpress, Item, Unsupported
from .fields import FLAG, field


def heads_of(a: Shape, b: Shape) -> int:
    """The heads both inputs share (size 1 broadcasts); 1 for plain matrices."""
    ha, hb = (a[2] if len(a) == 3 else 1), (b[2] if len(b) == 3 else 1)
    if len(a) != len(b) or ha != hb and 1 not in (ha, hb):
        raise LayerRuleError(f"matmul takes two matrices (m x k and k x n) or two stacks of "
                             f"heads (m x k x H and k x n x H, H equal or 1); received "
                             f"{shape_str(a)} and {shape_str(b)}")
    return max(ha, hb)


@dataclass(frozen=True)
class MatMul(Layer):
    """a @ b, per head."""

    kind: ClassVar[str] = "matmul"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"bmm": {}}
    autocast_policy = "lower"  # matmul and bmm: in 16 bit under autocast (CPU and CUDA)
    aten_ops: ClassVar[tuple[str, ...]] = ("bmm",)
    keras_classes: ClassVar[tuple[str, ...]] = ("Dot",)
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2
    summary: ClassVar[str] = "matrix product of two computed tensors, m x k @ k x n (per head)"

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> MatMul:
        args.finish()
        return cls()

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        a, b = inputs
        if len(a) not in (2, 3):
            raise LayerRuleError(f"matmul multiplies matrices (m x k) or heads of them "
                                 f"(m x k x H); received a {len(a)}-axis input "
                                 f"{shape_str(a)}")
        heads = heads_of(a, b)
        if a[1] != b[0]:
            raise LayerRuleError(f"matmul: the columns of a ({shape_str(a)}: k = {a[1]}) must "
                                 f"equal the rows of b ({shape_str(b)}: {b[0]})")
        return (a[0], b[1], heads) if len(a) == 3 else (a[0], b[1])

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        """m x n x k per head (flop_counter's bmm: 2 x b x m x n x k FLOPs)."""
        return prod(output) * inputs[0][1]

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        return GLOBAL

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """Both inputs; one broadcast over the heads is kept as its expanded copy."""
        heads = output[2] if len(output) == 3 else 1
        copied = [i for i, s in enumerate(inputs) if len(s) == 3 and s[2] != heads]
        return Saved(inputs=tuple(i for i in range(2) if i not in copied),
                     extra_bytes=sum(prod(inputs[i]) * heads * itemsize for i in copied))

    def type_label(self) -> str:
        return "MatMul"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        (m, k, *_), (_, n, *_) = inputs
        heads = output[2] if len(output) == 3 else 1
        each = f"{heads} heads x " if heads > 1 else ""
        return [f"({m} x {k}) @ ({k} x {n}) -> {m} x {n}" + (f", for each of {heads} heads"
                                                             if heads > 1 else ""),
                f"MACs = {each}m x n x k = {each}{m} x {n} x {k} = "
                f"{self.macs(inputs, output):,} (FLOPs = 2 x MACs)", "params = 0"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .attention_torch import MatMul as TorchMatMul

        return TorchMatMul(len(inputs[0]))

    def torch_expression(self, inputs: tuple[Shape, ...], names: tuple[str, ...]) -> str:
        """Sequences are channels first in PyTorch, (N, k, m): the transposed matrices, so
        a @ b is ``b @ a`` there; heads, (N, H, m, k), multiply as they are."""
        a, b = names
        return f"torch.matmul({b}, {a})" if len(inputs[0]) == 2 else f"torch.matmul({a}, {b})"

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        """Dot(axes=[2, 1]) of two sequences (N, m, k) and (N, k, n); no normalisation."""
        axes = cfg.get("axes")
        if rank != 3 or axes not in ([2, 1], (2, 1)) or field(cfg, "normalize", FLAG, False):
            raise Unsupported(f"Dot with axes {axes!r} on {rank}-dim inputs (only a matrix "
                              "product, axes [2, 1] of two sequences, is a matmul)")
        return {"type": "matmul"}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        if len(inputs[0]) != 2:
            raise CannotExpress("Keras's Dot multiplies two sequences (axes [2, 1]); it has "
                                "no product per head")
        return [layers.Dot(axes=(2, 1), name=name)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """``bmm`` of two data sequences (N, n, k) @ (N, k, m): channels first, the
        transposed matrices, so it is matmul(a = its second input, b = its first)."""
        first, second = op.args[0], op.args[1]
        if not (op.is_data(first) and op.is_data(second)):
            return None  # by a learned or constant matrix: no kind (kept opaque)
        return {"type": "matmul"}, [second, first]

    # ---- ONNX bridge: Dense's reader hands MatMul nodes of two data tensors here ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """MatMul of two computed tensors: channels-first sequences (N, k, m) multiply
        transposed (convscope's a is the second input), heads (N, H, m, k) as they are,
        channels-last sequences (N, m, k) as they are."""
        a, b = (reader.values[i] for i in node.input[:2])
        if a.rank != b.rank or a.layout != b.layout or a.rank not in (3, 4) or \
                (a.layout, a.rank) not in (("first", 3), ("first", 4), ("last", 3)):
            raise Unsupported(f"MatMul of a {a.rank}-dim {a.layout} tensor and a {b.rank}-dim "
                              f"{b.layout} tensor")
        inputs = list(node.input[:2])
        if (a.layout, a.rank) == ("first", 3):
            inputs.reverse()
        reader.emit(node, index, {"type": "matmul"}, inputs, layout=a.layout)
