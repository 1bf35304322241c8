"""Upsampling by an integer factor (Keras UpSampling1D/2D/3D, PyTorch nn.Upsample).

* output per axis: n * factor (or the given ``size``).
* params 0, MACs 0; other_ops: nearest 0 (a copy), linear modes 2^ndim
  multiply-adds per output value.
* receptive field: stride 1/factor; nearest reads 1 input position, linear
  modes 2 neighbours (align_corners=False), the first one to the left. Nearest output
  o is given input o / factor's field: PyTorch reads floor(o / factor), so the size is
  exact everywhere and the start where o is a multiple of the factor (elsewhere the real
  field starts up to (factor - 1) / factor of the input's stride earlier; README,
  Conventions).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from ..errors import LayerRuleError
from ..limits import shown
from .base import Layer, RFRule, RFStep, Shape, prod, shape_str
from .bridge import CannotExpress, Item, Unsupported
from .fields import DIMS, TEXT, field
from .keras_read import channels_last, ndim_of
from .onnx_read import first_layout, text
from .torch_util import nn

LINEAR_MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}


@dataclass(frozen=True)
class Upsample(Layer):
    """Repeats (nearest) or interpolates (bilinear) to a larger map."""

    kind: ClassVar[str] = "upsample"
    autocast_policy = {"cuda": "float32", "cpu": "follow"}  # CUDA: upsampling in float32
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "upsampling": {}, **{f"{w}{n}d": {"ndim": n} for w in ("upsample", "upsampling")
                            for n in (1, 2, 3)}}
    aten_ops: ClassVar[tuple[str, ...]] = tuple(  # upsample_nearest2d, upsample_bilinear2d ...
        f"upsample_{mode}{n}d" for n in (1, 2, 3) for mode in ("nearest", LINEAR_MODES[n]))
    keras_classes: ClassVar[tuple[str, ...]] = ("UpSampling1D", "UpSampling2D", "UpSampling3D")
    onnx_ops: ClassVar[tuple[str, ...]] = ("Resize", "Upsample")
    summary: ClassVar[str] = "upsampling by an integer factor, nearest or (bi/tri)linear"

    scale_factor: tuple[int, ...]
    mode: str = "nearest"

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Upsample:
        ndim = args.ndim(inputs)
        spatial = inputs[0][:-1]
        if args.has("size") and args.has("scale_factor", "factor"):
            raise LayerRuleError("give either 'size' or 'scale_factor', not both")
        if args.has("size") and args.name.startswith("upsample"):
            size = args.ints("size", ndim)
            bad = [(n, o) for n, o in zip(spatial, size, strict=True) if o % n]
            if bad:
                raise LayerRuleError(f"size {'x'.join(map(str, size))} is not an integer "
                                     f"multiple of the input {shape_str(spatial)}")
            factor = tuple(o // n for n, o in zip(spatial, size, strict=True))
        else:
            # Keras's UpSampling2D calls the factor 'size'
            factor = args.ints("scale_factor", ndim, 2, aliases=("factor", "size"))
        mode = args.choice("mode", ("nearest", "linear", "bilinear", "trilinear"), "nearest",
                           aliases=("interpolation",))
        args.finish()
        return cls(scale_factor=factor, mode="nearest" if mode == "nearest" else "linear")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        *spatial, c = inputs[0]
        return (*(n * f for n, f in zip(spatial, self.scale_factor, strict=True)), c)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return 0 if self.mode == "nearest" else 2 ** len(self.scale_factor) * prod(output)

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        linear = self.mode != "nearest"
        return RFStep(kernel=tuple(2 if linear else 1 for _ in self.scale_factor),
                      stride=tuple(Fraction(1, f) for f in self.scale_factor),
                      offset=tuple(Fraction(-1 if linear else 0) for _ in self.scale_factor))

    def type_label(self) -> str:
        return f"UpSampling{len(self.scale_factor)}D"

    def hyper(self, inputs: tuple[Shape, ...], output: Shape) -> dict[str, str]:
        return {"filter": "x".join(map(str, self.scale_factor))}

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        return [f"each spatial axis is multiplied by its factor "
                f"{'x'.join(map(str, self.scale_factor))} ({self.mode}): "
                f"{shape_str(inputs[0])} -> {shape_str(output)}", "params = 0"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        n = len(self.scale_factor)
        mode = "nearest" if self.mode == "nearest" else LINEAR_MODES[n]
        return nn().Upsample(scale_factor=tuple(float(f) for f in self.scale_factor), mode=mode)

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """Upsampling by integer factors (read from the sizes: the call may give either)."""
        pairs = list(zip(out.shape[2:], x.shape[2:], strict=True))
        if any(o % n for o, n in pairs):
            return None
        return {"type": "upsample", "scale_factor": [o // n for o, n in pairs],
                "mode": "nearest" if "nearest" in op.name else "linear"}

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        channels_last(cfg)
        mode = field(cfg, "interpolation", TEXT, "nearest")
        if mode not in ("nearest", "bilinear"):
            raise Unsupported(f"interpolation {shown(mode)}")
        return {"type": f"upsample{ndim_of(class_name)}d",
                "scale_factor": field(cfg, "size", DIMS, 2),
                "mode": "linear" if mode == "bilinear" else mode}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        n = len(inputs[0]) - 1
        if n == 2:
            mode = "bilinear" if self.mode != "nearest" else "nearest"
            return [layers.UpSampling2D(size=self.scale_factor, interpolation=mode, name=name)]
        if self.mode != "nearest":
            raise CannotExpress(f"Keras's UpSampling{n}D is nearest-neighbour only")
        size = self.scale_factor if n > 1 else self.scale_factor[0]
        return [getattr(layers, f"UpSampling{n}D")(size=size, name=name)]

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """Resize / Upsample of a channels-first map by integer factors (from the inferred
        shapes); nearest, or linear for any other mode."""
        x = first_layout(reader, node.input[0], node.op_type)
        out = reader.shape(node.output[0])
        scales = []
        for n_in, n_out in zip(x.shape[2:], out[2:], strict=True):
            if n_out is None or n_in is None or n_out % n_in:
                raise Unsupported(f"{node.op_type} by a non-integer factor")
            scales.append(int(n_out // n_in))
        mode = text(reader.attrs(node).get("mode", "nearest"))
        reader.emit(node, index, {"type": f"upsample{x.rank - 2}d", "scale_factor": scales,
                                  "mode": "nearest" if mode == "nearest" else "linear"},
                    [node.input[0]])
