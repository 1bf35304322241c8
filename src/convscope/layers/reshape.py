"""Flatten and reshape: no parameters, no operations.

* Flatten: ``(H, W, C) -> (H*W*C,)`` (Keras Flatten, torch.flatten(x, 1); the
  element order differs between channels-last and channels-first frameworks,
  the counts do not). Receptive field: unchanged, each value is one position.
* Reshape: to ``target_shape`` in H x W x C order, one -1 allowed. With ``layout:
  channels_last`` (the default, Keras's Reshape) values are taken in H, W, C order;
  with ``channels_first`` in PyTorch's C, H, W order (``x.view(...)`` of imported
  models). Receptive field: global unless the shape is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from ..limits import MAX_DIM, MAX_RANK, shown
from .base import GLOBAL, IDENTITY, Layer, RFRule, Saved, Shape, prod, shape_str
from .bridge import CannotExpress, Item, Unsupported
from .fields import TARGET, field
from .keras_read import channels_last
from .regrid import Regroup
from .torch_util import nn


@dataclass(frozen=True)
class Flatten(Layer):
    """Flattens everything but the batch into one axis."""

    kind: ClassVar[str] = "flatten"
    keras_classes: ClassVar[tuple[str, ...]] = ("Flatten",)
    onnx_ops: ClassVar[tuple[str, ...]] = ("Flatten",)
    summary: ClassVar[str] = "flatten to a vector"

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Flatten:
        args.finish()
        return cls()

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return (prod(inputs[0]),)

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        return Saved(view=True)

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        return [f"{shape_str(inputs[0])} -> {'*'.join(map(str, inputs[0]))} = {output[0]:,} "
                "values", "params = 0"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        return nn().Flatten(1)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        channels_last(cfg)
        return {"type": "flatten"}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        return [layers.Flatten(name=name)]

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """Flatten from axis 1; of a vector: no layer."""
        x = reader.values[node.input[0]]
        if int(reader.attrs(node).get("axis", 1)) != 1:
            raise Unsupported("Flatten from an axis other than 1")
        if x.rank <= 2:
            reader.alias(node, node.input[0])
            return
        reader.emit(node, index, {"type": "flatten"}, [node.input[0]])


@dataclass(frozen=True)
class Reshape(Layer):
    """Reshape to a target shape with the same number of values."""

    kind: ClassVar[str] = "reshape"
    # every view of the data (flatten included: one reader tells them apart)
    aten_ops: ClassVar[tuple[str, ...]] = ("view", "_unsafe_view", "reshape", "unsqueeze",
                                           "squeeze", "flatten")
    reads_channels_last: ClassVar[bool] = True  # in the tensor's own order
    keras_classes: ClassVar[tuple[str, ...]] = ("Reshape",)
    onnx_ops: ClassVar[tuple[str, ...]] = ("Reshape", "Squeeze", "Unsqueeze")
    onnx_arity: ClassVar[dict[str, int]] = {"Reshape": 2}
    summary: ClassVar[str] = "reshape (target in H x W x C order, one -1 allowed)"

    target_shape: tuple[int, ...]
    layout: str = "channels_last"

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Reshape:
        value = args.value("target_shape", aliases=("shape",))
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if (not items or len(items) > MAX_RANK
                or any(not isinstance(v, int) or isinstance(v, bool) or v == 0 or v < -1
                       or v > MAX_DIM for v in items) or items.count(-1) > 1):
            raise LayerRuleError(f"argument 'target_shape' must be 1 to {MAX_RANK} sizes from 1 "
                                 f"to {MAX_DIM:,} with at most one -1; received {shown(value)}")
        layout = args.choice("layout", ("channels_last", "channels_first"), "channels_last")
        args.finish()
        return cls(target_shape=tuple(items), layout=layout)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        total = prod(inputs[0])
        known = prod(v for v in self.target_shape if v != -1)
        if -1 in self.target_shape:
            if total % known:
                raise LayerRuleError(f"cannot reshape {shape_str(inputs[0])} ({total:,} values) "
                                     f"to {self.target_shape}: {total:,} is not divisible by "
                                     f"{known:,}")
            return tuple(total // known if v == -1 else v for v in self.target_shape)
        if known != total:
            raise LayerRuleError(f"cannot reshape {shape_str(inputs[0])} ({total:,} values) to "
                                 f"{shape_str(self.target_shape)} ({known:,} values)")
        return self.target_shape

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        """Unchanged when the shape is; otherwise each value keeps its field while its
        position moves between axes (regrid.py: Swin's map to tokens and back); a reshape
        to or from a vector is global."""
        if output == inputs[0]:
            return IDENTITY
        if len(output) < 2 or len(inputs[0]) < 2:
            return GLOBAL
        return Regroup(inputs[0], output, torch_order=self.layout == "channels_first")

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """A view of its input when PyTorch can reshape in place: always in PyTorch's own
        order; in channels-last order only when there are no spatial axes to move."""
        return Saved(view=self.layout == "channels_first" or len(inputs[0]) == 1)

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .torch_modules import Reshape as TorchReshape

        return TorchReshape(self.output_shape(inputs), self.layout == "channels_last")

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """A view to (N, K) of a tensor with spatial axes is a flatten, any other view a
        reshape in PyTorch's (channels-first) order, or of a channels-last map in its order
        (Swin's (N, H, W, C) -> (N, H x W, C))."""
        if out.dim() == 2 and x.dim() > 2:
            return {"type": "flatten"}
        target = [int(n) for n in out.shape[1:]]
        if op.layout == "last":
            return {"type": "reshape", "target_shape": target, "layout": "channels_last"}
        ours = target if len(target) <= 1 else [*target[1:], target[0]]
        return {"type": "reshape", "target_shape": ours, "layout": "channels_first"}

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        return {"type": "reshape", "target_shape": list(field(cfg, "target_shape", TARGET))}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        if self.layout != "channels_last":
            raise CannotExpress("a channels_first reshape has no Keras layer")
        return [layers.Reshape(self.output_shape(inputs), name=name)]

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """Reshape / Squeeze / Unsqueeze to the inferred shape: none when it is the input's,
        a flatten to (N, K) of a channels-first map, else a reshape in the input's order
        (a recurrent output's views are onnx/plumbing.py's)."""
        x = reader.values[node.input[0]]
        out = reader.shape(node.output[0])
        if tuple(out) == tuple(x.shape):
            reader.alias(node, node.input[0])
            return
        if x.layout not in ("first", "last"):
            raise Unsupported(f"{node.op_type} of a {x.layout} tensor")
        if any(d is None for d in out[1:]):
            raise Unsupported("Reshape to an unknown shape")
        first = x.layout == "first" and x.rank > 2
        if len(out) == 2:
            reader.emit(node, index, {"type": "flatten"} if first else
                        {"type": "reshape", "target_shape": [int(out[1])]}, [node.input[0]])
            return
        dims = [int(d) for d in out[1:]]
        target = [*dims[1:], dims[0]] if first and len(dims) > 1 else dims
        reader.emit(node, index, {"type": "reshape", "target_shape": target,
                                  "layout": "channels_first" if first else "channels_last"},
                    [node.input[0]], layout="first" if first else "last")
