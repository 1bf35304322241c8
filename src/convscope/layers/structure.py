"""Layers that move values without computing: slicing and permuting axes.

* Slice (torch narrow / ``x[:, a:b]``, ``chunk``; Keras Cropping as a special case):
  keeps positions start, start+step, ... < stop of one axis (H x W x C order, -1 =
  channels). Receptive field along a sliced spatial axis: stride ``step``, offset
  ``start``.
* Permute (Keras Permute, torch permute / transpose): reorders the non-batch axes;
  ``dims`` is Keras's 1-based order. A permutation that moves spatial axes makes the
  receptive field global (positions change meaning).
params 0, other_ops 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from ..limits import shown
from .aten_args import arg, ints
from .base import IDENTITY, Layer, RFRule, RFStep, Saved, Shape, shape_str
from .bridge import ALIAS, Item, Unsupported, our_axis
from .fields import SIZES, field
from .merge import axis_label
from .onnx_read import optional_ints, permutation, value_axis
from .regrid import Regroup


def torch_dim(axis: int, rank: int) -> int:
    """An axis of the channels-last layout -> the dim of a channels-first tensor."""
    return 1 if axis == rank - 1 else axis + 2


@dataclass(frozen=True)
class Slice(Layer):
    """A strided range of one axis."""

    kind: ClassVar[str] = "slice"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"narrow": {}}
    aten_ops: ClassVar[tuple[str, ...]] = ("slice",)
    reads_channels_last: ClassVar[bool] = True  # its axis counted in the tensor's order
    onnx_ops: ClassVar[tuple[str, ...]] = ("Slice", "Split")
    onnx_arity: ClassVar[dict[str, int]] = {"Slice": 3}
    # Keras's Cropping1D/2D/3D read as slices (keras/composite.py: one per cropped axis)
    refused: ClassVar[dict[str, str]] = {"keras": "Keras has no Slice layer"}
    summary: ClassVar[str] = "keep a (strided) range of one axis"

    axis: int
    start: int = 0
    stop: int | None = None
    step: int = 1

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Slice:
        rank = len(inputs[0])
        axis = args.value("axis", -1)
        if axis == "channels":
            axis = -1
        if not isinstance(axis, int) or isinstance(axis, bool) or not -rank <= axis < rank:
            raise LayerRuleError(f"argument 'axis' must be an axis of the {rank}-axis input "
                                 f"(H x W x C order, -1 = channels); received {shown(axis)}")
        layer = cls(axis=axis % rank, start=args.integer("start", 0, minimum=0),
                    stop=args.optional_int("stop", minimum=1), step=args.integer("step", 1))
        args.finish()
        return layer

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = list(inputs[0])
        n = shape[self.axis]
        stop = n if self.stop is None else self.stop
        if self.start >= n or stop > n:
            raise LayerRuleError(f"range {self.start}:{stop} is outside axis "
                                 f"{axis_label(self.axis, len(shape))} of size {n} "
                                 f"(input {shape_str(inputs[0])})")
        shape[self.axis] = len(range(self.start, stop, self.step))
        if shape[self.axis] < 1:
            raise LayerRuleError(f"range {self.start}:{stop} keeps nothing of axis "
                                 f"{axis_label(self.axis, len(shape))}")
        return tuple(shape)

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        rank = len(inputs[0])
        if self.axis == rank - 1:
            return IDENTITY
        spatial = rank - 1
        return RFStep(kernel=(1,) * spatial,
                      stride=tuple(self.step if i == self.axis else 1 for i in range(spatial)),
                      offset=tuple(self.start if i == self.axis else 0 for i in range(spatial)))

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        return Saved(view=True)

    def type_label(self) -> str:
        return "Slice"

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .torch_modules import Slice as TorchSlice

        n = inputs[0][self.axis]
        return TorchSlice(torch_dim(self.axis, len(inputs[0])), self.start,
                          n if self.stop is None else self.stop, self.step)

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """x[:, a:b:k] along a non-batch dim (of a channels-last tensor too, a ViT's
        tokens: the axis in its own order); a slice that keeps everything is an alias.
        (split / chunk: one slice per output, pytorch/aten_map.py's split_items.)"""
        dim = arg(op, 1, "dim", 0) % x.dim()
        if tuple(out.shape) == tuple(x.shape):
            return ALIAS
        start, stop, step = slice(arg(op, 2, "start", None), arg(op, 3, "end", None),
                                  arg(op, 4, "step", 1)).indices(x.shape[dim])
        if dim == 0:
            return None
        return {"type": "slice", "axis": our_axis(dim, x.dim(), op.layout), "start": start,
                "stop": stop, "step": step}

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """Slice of one non-batch axis with a positive step; Split: one slice per output."""
        if node.op_type == "Split":
            onnx_split(reader, node, index)
            return
        x = reader.values[node.input[0]]
        starts = [int(v) for v in reader.const(node.input[1]).reshape(-1)]
        ends = [int(v) for v in reader.const(node.input[2]).reshape(-1)]
        axes = optional_ints(reader, node, 3)
        steps = optional_ints(reader, node, 4)
        axes = list(range(len(starts))) if axes is None else axes
        steps = [1] * len(starts) if steps is None else steps
        if len(axes) != 1:
            raise Unsupported("Slice of several axes")
        axis, n = axes[0] % x.rank, x.shape[axes[0] % x.rank]
        if axis == 0 or steps[0] < 1 or n is None:
            raise Unsupported("Slice of the batch axis or with a negative step")
        start = max(0, starts[0] + n if starts[0] < 0 else min(starts[0], n))
        stop = max(0, ends[0] + n if ends[0] < 0 else min(ends[0], n))
        reader.emit(node, index, {"type": "slice", "axis": value_axis(x, axis), "start": start,
                                  "stop": stop, "step": steps[0]}, [node.input[0]],
                    layout=x.layout)


def onnx_split(reader: Any, node: Any, index: int) -> None:
    """Split along one axis into parts of inferred sizes: one slice layer per output."""
    x = reader.values[node.input[0]]
    axis = int(reader.attrs(node).get("axis", 0)) % x.rank
    shapes = [reader.shape(o) for o in node.output]
    if any(len(s) != x.rank or s[axis] is None for s in shapes):
        raise Unsupported("Split into parts of unknown sizes")
    sizes = [int(s[axis]) for s in shapes]  # type: ignore[arg-type]
    start = 0
    for k, (out, size) in enumerate(zip(node.output, sizes, strict=True)):
        name = reader.unique(f"{reader.layer_name(node, index)}.{k}")
        reader.items.append({"type": "slice", "axis": value_axis(x, axis), "start": start,
                             "stop": start + size, "name": name, "inputs": [x.node]})
        reader.values[out] = type(x)(name, x.layout, reader.shape(out))
        start += size


@dataclass(frozen=True)
class Permute(Layer):
    """Reorders the axes (Keras's Permute: dims are 1-based, batch excluded)."""

    kind: ClassVar[str] = "permute"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"transpose": {}}
    aten_ops: ClassVar[tuple[str, ...]] = ("permute", "transpose")
    reads_channels_last: ClassVar[bool] = True  # one keeping the channels last
    keras_classes: ClassVar[tuple[str, ...]] = ("Permute",)
    onnx_ops: ClassVar[tuple[str, ...]] = ("Transpose",)
    summary: ClassVar[str] = "reorder the axes (Keras Permute, 1-based dims)"

    dims: tuple[int, ...]

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Permute:
        rank = len(inputs[0])
        value = args.value("dims")
        dims = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        if (not all(isinstance(d, int) and not isinstance(d, bool) for d in dims)
                or sorted(dims) != list(range(1, rank + 1))):
            raise LayerRuleError(f"argument 'dims' must order the axes 1..{rank} of the input "
                                 f"{shape_str(inputs[0])} (Keras's 1-based Permute), as "
                                 f"integers; received {shown(value)}")
        args.finish()
        return cls(dims=dims)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return tuple(inputs[0][d - 1] for d in self.dims)

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        """Each value keeps its field while its position moves between axes (regrid.py)."""
        if self.dims == tuple(range(1, len(self.dims) + 1)):
            return IDENTITY
        return Regroup(inputs[0], output, order=tuple(d - 1 for d in self.dims))

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        return Saved(view=True)

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        from .torch_modules import Permute as TorchPermute

        rank = len(inputs[0])
        order = [0] * (rank + 1)
        for out_axis, d in enumerate(self.dims):
            order[torch_dim(out_axis, rank)] = torch_dim(d - 1, rank)
        return TorchPermute(tuple(order))

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        return {"type": "permute", "dims": list(field(cfg, "dims", SIZES))}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        return [layers.Permute(self.dims, name=name)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """permute / transpose of the non-batch dims (the batch stays first); of a
        channels-last tensor, one that keeps the channels last (its dims are ours)."""
        rank = x.dim()
        order = [d % rank for d in ints(op.args[1])] if op.name == "permute" else \
            list(range(rank))
        if op.name == "transpose":
            a, b = op.args[1] % rank, op.args[2] % rank
            order[a], order[b] = order[b], order[a]
        if order[0] != 0:
            return None
        if op.layout == "last":
            return {"type": "permute", "dims": order[1:]} if order[-1] == rank - 1 else None
        to_ours = [our_axis(d, rank) for d in range(rank)]
        dims = [0] * (rank - 1)
        for out_dim, in_dim in enumerate(order):
            if out_dim:
                dims[to_ours[out_dim]] = to_ours[in_dim] + 1  # type: ignore[index,operator]
        return {"type": "permute", "dims": dims}

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """Transpose keeping the batch first: none when it only moves the channels to the
        end (or back: the value's layout changes), else a permute (recurrent layouts:
        onnx/plumbing.py)."""
        x = reader.values[node.input[0]]
        r = x.rank
        perm = permutation(reader, node, r)
        if x.layout not in ("first", "last") or perm[0] != 0:
            raise Unsupported(f"Transpose {perm} of a {x.layout} tensor")
        to_last, to_first = [0, *range(2, r), 1], [0, r - 1, *range(1, r - 1)]
        if x.layout == "first" and perm == to_last or x.layout == "last" and perm == to_first:
            reader.alias(node, node.input[0], "last" if x.layout == "first" else "first")
            return
        if perm == list(range(r)):
            reader.alias(node, node.input[0])
            return
        # a real permutation: Keras-style 1-based dims over the channels-last axes
        ours = [*range(2, r), 1] if x.layout == "first" else list(range(1, r))
        reader.emit(node, index, {"type": "permute",
                                  "dims": [ours.index(perm[k]) + 1 for k in ours]},
                    [node.input[0]], layout=x.layout)
