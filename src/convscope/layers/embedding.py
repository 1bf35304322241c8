"""Embedding: integer token ids -> one learned vector each (``embedding``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from .base import (
    IDENTITY,
    Layer,
    ParamCount,
    RFRule,
    Saved,
    Shape,
    shape_str,
)
from .bridge import Item, Unsupported
from .fields import DIM, field


@dataclass(frozen=True)
class Embedding(Layer):
    """A lookup table: token index -> a learned vector of ``output_dim`` values."""

    kind: ClassVar[str] = "embedding"
    autocast_policy = "promote"  # float32 rows: a float32 output under autocast
    keras_classes: ClassVar[tuple[str, ...]] = ("Embedding",)
    refused: ClassVar[dict[str, str]] = {
        "pytorch": "no reader for aten.embedding: imported opaque, with its vocab x D params"}
    # a Gather of a recurrent layer's final states is one direction: onnx/plumbing.py
    onnx_ops: ClassVar[tuple[str, ...]] = ("Gather",)
    onnx_arity: ClassVar[dict[str, int]] = {"Gather": 2}
    onnx_any_first: ClassVar[tuple[str, ...]] = ("Gather",)
    summary: ClassVar[str] = "token indices (T,) -> vectors (T x D); vocab*D params"
    reads_indices: ClassVar[bool] = True

    input_dim: int
    output_dim: int

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Embedding:
        layer = cls(input_dim=args.integer("input_dim", aliases=("num_embeddings", "vocab")),
                    output_dim=args.integer("output_dim", aliases=("embedding_dim",)))
        args.finish()
        return layer

    def index_bound(self) -> int:
        """Indices must be below this (for example inputs)."""
        return self.input_dim

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        if len(inputs[0]) != 1:
            raise LayerRuleError(f"expects a sequence of token indices (T,); received "
                                 f"{shape_str(inputs[0])}")
        return (inputs[0][0], self.output_dim)

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        """vocabulary x dimension."""
        return ParamCount(self.input_dim * self.output_dim,
                          formula=f"{self.input_dim}x{self.output_dim}", tensors=1)

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        """Position t's vector depends on token t alone: the field is unchanged."""
        return IDENTITY

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """The int64 indices."""
        return Saved(extra_bytes=8 * inputs[0][0])

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        return [f"each of the {inputs[0][0]} token indices (below {self.input_dim}) selects a "
                f"row of a {self.input_dim} x {self.output_dim} table",
                f"output shape: {shape_str(output)}",
                f"params = vocab*D = {self.input_dim}*{self.output_dim} = "
                f"{self.input_dim * self.output_dim:,}", "MACs = 0 (a lookup, no arithmetic)"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .recurrent_torch import Embed

        return Embed(self.input_dim, self.output_dim)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        return {"type": "embedding", "input_dim": field(cfg, "input_dim", DIM),
                "output_dim": field(cfg, "output_dim", DIM)}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        return [layers.Embedding(self.input_dim, self.output_dim, name=name)]

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """Gather of data indices from a stored (vocab, D) table along axis 0."""
        table, indices = node.input[0], node.input[1]
        if reader.is_data(table) or not reader.is_data(indices) or \
                int(reader.attrs(node).get("axis", 0)) != 0 or len(reader.shape(table)) != 2:
            raise Unsupported("Gather other than an embedding lookup")
        vocab, dim = (int(d) for d in reader.shape(table))
        reader.emit(node, index, {"type": "embedding", "input_dim": vocab, "output_dim": dim},
                    [indices], layout="last", params=[table])


