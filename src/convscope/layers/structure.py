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
from .base import GLOBAL, IDENTITY, Layer, RFRule, RFStep, Saved, Shape, shape_str
from .bridge import Item
from .fields import SIZES, field
from .merge import axis_label


def torch_dim(axis: int, rank: int) -> int:
    """An axis of the channels-last layout -> the dim of a channels-first tensor."""
    return 1 if axis == rank - 1 else axis + 2


@dataclass(frozen=True)
class Slice(Layer):
    """A strided range of one axis."""

    kind: ClassVar[str] = "slice"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"narrow": {}}
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


@dataclass(frozen=True)
class Permute(Layer):
    """Reorders the axes (Keras's Permute: dims are 1-based, batch excluded)."""

    kind: ClassVar[str] = "permute"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {"transpose": {}}
    keras_classes: ClassVar[tuple[str, ...]] = ("Permute",)
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
        return IDENTITY if self.dims == tuple(range(1, len(self.dims) + 1)) else GLOBAL

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
