"""Global and adaptive pooling.

* GlobalPool: Keras's GlobalAveragePooling2D / GlobalMaxPooling2D, PyTorch's
  AdaptiveAvgPool2d(1) (+ flatten). Output ``(C,)``, or ``(1, 1, C)`` with
  ``keepdims``. params 0; other_ops: one per input value; receptive field: global.
* AdaptivePool: PyTorch's nn.AdaptiveAvgPoolNd / AdaptiveMaxPoolNd. Output
  window i along an axis of length n with o outputs spans
  [floor(i*n/o), ceil((i+1)*n/o)) (PyTorch's rule); params 0; other_ops: the sum
  of the window sizes times C.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from .aten_args import arg, ints
from .base import (
    GLOBAL,
    INDEX_BYTES,
    NOTHING_SAVED,
    Layer,
    RFRule,
    RFStep,
    Saved,
    Shape,
    prod,
    shape_str,
)
from .bridge import CannotExpress, Item, Unsupported
from .fields import FLAG, field
from .keras_read import channels_last
from .onnx_read import first_layout, optional_ints
from .torch_util import nn, sequential


def _aliases(words: dict[str, tuple[str, ...]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for mode, names in words.items():
        for word in names:
            out[word] = {"mode": mode}
            for n in (1, 2, 3):
                out[f"{word}{n}d"] = {"mode": mode, "ndim": n}
    return out


@dataclass(frozen=True)
class GlobalPool(Layer):
    """Average or max over every spatial position of each channel."""

    kind: ClassVar[str] = "global_pool"
    aliases: ClassVar[dict[str, dict[str, Any]]] = _aliases({
        "avg": ("gap", "global_avg_pool", "global_average_pooling", "globalaveragepooling"),
        "max": ("gmp", "global_max_pool", "global_max_pooling", "globalmaxpooling")})
    aten_ops: ClassVar[tuple[str, ...]] = ("mean", "amax")
    reads_channels_last: ClassVar[bool] = True  # over the positions, in the tensor's order
    keras_classes: ClassVar[tuple[str, ...]] = tuple(
        f"Global{word}{n}D" for word in ("AveragePooling", "AvgPool", "MaxPooling", "MaxPool")
        for n in (1, 2, 3))
    onnx_ops: ClassVar[tuple[str, ...]] = ("GlobalAveragePool", "GlobalMaxPool", "ReduceMean",
                                           "ReduceMax")
    summary: ClassVar[str] = "global average / max pooling: H x W x C -> C"

    mode: str
    ndim: int
    keepdims: bool = False

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> GlobalPool:
        layer = cls(mode=args.choice("mode", ("avg", "max")), ndim=args.ndim(inputs),
                    keepdims=args.flag("keepdims", False))
        args.finish()
        return layer

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        *spatial, channels = inputs[0]
        return (*(1 for _ in spatial), channels) if self.keepdims else (channels,)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return prod(inputs[0])

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        return GLOBAL

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """Average: nothing (a mean); max: the input and int64 indices (one per channel)."""
        if self.mode == "avg":
            return NOTHING_SAVED
        return Saved(inputs=(0,), extra_bytes=inputs[0][-1] * INDEX_BYTES)

    def linear(self) -> Layer:
        return replace(self, mode="avg")

    def type_label(self) -> str:
        word = "Average" if self.mode == "avg" else "Max"
        return f"Global{word}Pooling{self.ndim}D"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        *spatial, channels = inputs[0]
        return [f"each of the {channels} channels is reduced over its {'x'.join(map(str, spatial))}"
                f" positions -> {shape_str(output)}", "params = 0"]

    def autocast(self, device: str) -> str:
        """The CPU's autocast runs 3-d adaptive pooling in float32 (AdaptiveAvgPool3d,
        AdaptiveMaxPool3d); the rest follow their input."""
        return "float32" if device == "cpu" and self.ndim == 3 else "follow"

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        word = "Avg" if self.mode == "avg" else "Max"
        pool = getattr(nn(), f"Adaptive{word}Pool{self.ndim}d")(1)
        return sequential(pool, None if self.keepdims else nn().Flatten(1))

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        channels_last(cfg)
        return {"type": "global_pool", "mode": "max" if "Max" in class_name else "avg",
                "keepdims": field(cfg, "keepdims", FLAG, False)}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        word = "AveragePooling" if self.mode == "avg" else "MaxPooling"
        return [getattr(layers, f"Global{word}{self.ndim}D")(keepdims=self.keepdims, name=name)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """x.mean((2, 3)) / x.amax((2, 3)), kept or not: a global pool; over the positions
        of a channels-last tensor too (tokens averaged, ``x.mean(1)``; a map's
        ``x.mean((1, 2))``)."""
        dims = arg(op, 1, "dim", None)
        if dims is None or x.dim() < 3 or arg(op, 3, "dtype", None) is not None:
            return None
        positions = range(1, x.dim() - 1) if op.layout == "last" else range(2, x.dim())
        if sorted(d % x.dim() for d in ints(dims)) != list(positions):
            return None
        return {"type": "global_pool", "mode": "avg" if op.name == "mean" else "max",
                "keepdims": bool(arg(op, 2, "keepdim", False))}

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """GlobalAveragePool / GlobalMaxPool (dims kept); ReduceMean / ReduceMax over
        exactly the spatial axes of a channels-first tensor (axes: attribute or input)."""
        x = first_layout(reader, node.input[0], node.op_type)
        mode = "avg" if node.op_type in ("GlobalAveragePool", "ReduceMean") else "max"
        if node.op_type.startswith("Global"):
            reader.emit(node, index, {"type": "global_pool", "mode": mode, "keepdims": True},
                        [node.input[0]])
            return
        a = reader.attrs(node)
        axes = a.get("axes")
        if axes is None:
            axes = optional_ints(reader, node, 1)
        spatial = set(range(2, x.rank))
        if axes is None or {int(v) % x.rank for v in axes} != spatial or x.layout != "first":
            raise Unsupported(f"{node.op_type} over axes {axes}")
        reader.emit(node, index, {"type": "global_pool", "mode": mode,
                                  "keepdims": bool(a.get("keepdims", 1))}, [node.input[0]])


def adaptive_windows(n: int, o: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows: [floor(i*n/o), ceil((i+1)*n/o)) for i < o."""
    return [((i * n) // o, -(-((i + 1) * n) // o)) for i in range(o)]


@dataclass(frozen=True)
class AdaptivePool(Layer):
    """Pooling to a fixed output size, whatever the input size."""

    kind: ClassVar[str] = "adaptive_pool"
    aliases: ClassVar[dict[str, dict[str, Any]]] = _aliases({
        "avg": ("adaptive_avg_pool", "adaptiveavgpool"),
        "max": ("adaptive_max_pool", "adaptivemaxpool")})
    aten_ops: ClassVar[tuple[str, ...]] = (
        "adaptive_avg_pool1d", "_adaptive_avg_pool2d", "_adaptive_avg_pool3d",
        "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d")
    refused: ClassVar[dict[str, str]] = {
        "onnx": "ONNX has no adaptive pooling: torch.onnx writes output sizes that divide "
                "the input as fixed pools (GlobalAveragePool, MaxPool, AveragePool: read "
                "back as global_pool or pool) and refuses the others"}
    summary: ClassVar[str] = "adaptive average / max pooling to a fixed output size"

    mode: str
    output_size: tuple[int, ...]

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> AdaptivePool:
        ndim = args.ndim(inputs)
        layer = cls(mode=args.choice("mode", ("avg", "max")),
                    output_size=args.ints("output_size", ndim))
        args.finish()
        return layer

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return (*self.output_size, inputs[0][-1])

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        spans = [sum(b - a for a, b in adaptive_windows(n, o))
                 for n, o in zip(inputs[0][:-1], self.output_size, strict=True)]
        return prod(spans) * inputs[0][-1]

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        """Exact when o divides n (kernel = stride = n/o); otherwise the largest window
        and the mean stride n/o. A 1-position output sees everything: global."""
        from fractions import Fraction

        spatial = inputs[0][:-1]
        if all(o == 1 for o in self.output_size):
            return GLOBAL
        kernel = tuple(max(b - a for a, b in adaptive_windows(n, o))
                       for n, o in zip(spatial, self.output_size, strict=True))
        return RFStep(kernel=kernel,
                      stride=tuple(Fraction(n, o) for n, o in zip(spatial, self.output_size,
                                                                   strict=True)),
                      offset=tuple(Fraction(0) for _ in spatial))

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """The input (nothing when every output size is 1: a mean); max adds int64 indices."""
        if all(o == 1 for o in self.output_size):
            return GlobalPool(self.mode, len(self.output_size)).saved(inputs, output, itemsize)
        indices = prod(output) * INDEX_BYTES if self.mode == "max" else 0
        return Saved(inputs=(0,), extra_bytes=indices)

    def linear(self) -> Layer:
        return replace(self, mode="avg")

    def type_label(self) -> str:
        word = "Avg" if self.mode == "avg" else "Max"
        return f"Adaptive{word}Pool{len(self.output_size)}D"

    def autocast(self, device: str) -> str:
        """The CPU's autocast runs 3-d adaptive pooling in float32; the rest follow."""
        return "float32" if device == "cpu" and len(self.output_size) == 3 else "follow"

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        word = "Avg" if self.mode == "avg" else "Max"
        return getattr(nn(), f"Adaptive{word}Pool{len(self.output_size)}d")(self.output_size)

    # ---- Keras bridge ----
    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        """Keras has no adaptive pooling: a global pool (output 1) or a pool whose window
        divides the input."""
        spatial = inputs[0][:-1]
        n = len(spatial)
        if all(o == 1 for o in self.output_size):
            word = "GlobalAveragePooling" if self.mode == "avg" else "GlobalMaxPooling"
            return [getattr(layers, f"{word}{n}D")(keepdims=True, name=name)]
        if any(s % o for s, o in zip(spatial, self.output_size, strict=True)):
            raise CannotExpress("Keras has no adaptive pooling; the input does not divide into "
                                "the output size")
        size = tuple(s // o for s, o in zip(spatial, self.output_size, strict=True))
        word = "MaxPooling" if self.mode == "max" else "AveragePooling"
        return [getattr(layers, f"{word}{n}D")(pool_size=size, name=name)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """Adaptive pooling; to one position per channel, a global pool (kept dims)."""
        mode = "max" if "max" in op.name else "avg"
        if all(s == 1 for s in out.shape[2:]):
            return {"type": "global_pool", "mode": mode, "keepdims": True}
        return {"type": "adaptive_pool", "mode": mode, "output_size": ints(out.shape[2:])}
